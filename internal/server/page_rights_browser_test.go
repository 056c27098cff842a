package server

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestPageExportBrowserJourney: P65 (PIPL Art. 45), issue 5 item 9: in
// headless Chromium a person signs up through the login page, names
// themselves, asks the privacy center for their data, watches the
// request wait, and once the export job has built it sees it ready, gets
// a download link and downloads the ZIP, which holds the README, the
// manifest and their account row with their nickname.
func TestPageExportBrowserJourney(t *testing.T) {
	e := newPageEnv(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bctx := headlessBrowser(t, ctx, 1000, 1000)
	base := e.srv.URL

	// Each step has its own deadline, so that a stuck one says where,
	// and what the page showed.
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browserStep(t, bctx, what, steps...)
	}
	text := func(sel string) string {
		t.Helper()
		return browserText(t, bctx, sel)
	}
	const phone, nickname = "13800138191", "寻亲导出测试员"

	step("sign up through the login page",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#phone")),
		chromedp.SendKeys(chromedp.CSS("#phone"), phone),
		chromedp.Click(chromedp.CSS("#send-code")),
		chromedp.WaitVisible(chromedp.CSS("#code-sent")),
	)
	step("log in with the code",
		chromedp.SendKeys(chromedp.CSS("#code"), e.code("+86"+phone)),
		chromedp.Click(chromedp.CSS("#accept")),
		chromedp.SetValue(chromedp.CSS("#age-band"), "adult"),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#flash-welcome_created")),
	)
	step("choose a nickname",
		chromedp.SetValue(chromedp.CSS("#nickname"), nickname),
		chromedp.Click(chromedp.CSS("#save-profile")),
		chromedp.WaitVisible(chromedp.CSS("#flash-profile")),
	)

	step("ask for my data from the privacy center",
		chromedp.Navigate(base+"/me/privacy"),
		chromedp.WaitVisible(chromedp.CSS("#export-link a")),
		chromedp.Click(chromedp.CSS("#export-link a")),
		chromedp.WaitVisible(chromedp.CSS("#exports-empty")),
		chromedp.Click(chromedp.CSS("#export-request button")),
		chromedp.WaitVisible(chromedp.CSS("#flash-export_requested")),
		chromedp.WaitVisible(chromedp.CSS(`#exports li[data-status="queued"] .progress`)),
	)
	if got, want := text(`#exports li[data-status="queued"] .progress`), translate(langZH, "privacy.export.progress", 0); got != want {
		t.Errorf("a queued request shows %q, want %q", got, want)
	}

	// The export job (rights.exports in serve) builds the archive.
	if err := e.rights.BuildExports(ctx); err != nil {
		t.Fatal(err)
	}
	step("refresh: the archive is ready",
		chromedp.Click(chromedp.CSS(`#exports li[data-status="queued"] a[href="/me/privacy/export"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#exports li[data-status="ready"]`)),
	)
	if got := text(`#exports li[data-status="ready"] strong`); got != translate(langZH, "privacy.export.status.ready") {
		t.Errorf("a ready archive is labelled %q", got)
	}
	step("get a download link",
		chromedp.Click(chromedp.CSS(`#exports li[data-status="ready"] form button`)),
		chromedp.WaitVisible(chromedp.CSS("#export-download")),
	)
	href, err := chromedp.Run(bctx, chromedp.AttributeValue(chromedp.CSS("#export-download"), "href"))
	if err != nil || !href.Exists {
		t.Fatalf("the download link has no address: %v", err)
	}
	u, err := url.Parse(href.Value)
	if err != nil || !strings.HasSuffix(u.Path, "/download") || u.Query().Get("token") == "" {
		t.Fatalf("download link %q", href.Value)
	}

	// The browser downloads it, with the person's session, into a folder
	// of the test's.
	dir := t.TempDir()
	progress := chromedp.Events(bctx, browser.DownloadProgress)
	step("download the archive",
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			yes := true
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &yes})
			return err
		}),
		chromedp.Click(chromedp.CSS("#export-download")),
	)
	var file string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("the download was canceled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			file = filepath.Join(dir, ev.GUID)
			break
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("the download is not a ZIP (%d bytes): %v", len(b), err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = data
	}
	for _, name := range []string{"README.md", "manifest.json", "data/users.json"} {
		if len(files[name]) == 0 {
			t.Errorf("the archive has no %s", name)
		}
	}
	var users []map[string]any
	if err := json.Unmarshal(files["data/users.json"], &users); err != nil {
		t.Fatalf("data/users.json: %v", err)
	}
	if len(users) != 1 || users[0]["nickname"] != nickname {
		t.Errorf("data/users.json = %s; want the one account with nickname %q", files["data/users.json"], nickname)
	}
	var m struct {
		UserID string `json:"user_id"`
	}
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil || m.UserID == "" || m.UserID != users[0]["id"] {
		t.Errorf("manifest.json names user %q (%v), the account is %v", m.UserID, err, users[0]["id"])
	}
}
