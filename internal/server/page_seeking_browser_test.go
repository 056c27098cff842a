package server

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/notify"
)

// The people-seeking pages in headless Chromium: a verified publisher
// publishes a case, a moderator approves it, it shows in the list and on
// the map; a second person consents to alert location on the privacy
// center, shares a nearby position, and sees an alert arrive live in the
// inbox with its "why" line, then dismisses it with a reason; once the
// case is resolved its page hides the name and photo.

// tileServer serves a blank map tile for every request and counts them:
// the pages' CSP must let the map load tiles from the configured host,
// and the test must not reach the internet.
func tileServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	for y := range 256 {
		for x := range 256 {
			img.Set(x, y, color.RGBA{225, 232, 236, 255})
		}
	}
	var buf strings.Builder
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	tile := buf.String()
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte(tile))
	}))
	t.Cleanup(ts.Close)
	return ts, &n
}

// browserSession opens a tab in a browser context of its own, logged in
// as c's web session (the login pages have their own journey).
func browserSession(t *testing.T, bctx context.Context, e *pageEnv, c *webClient) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	yes := true
	err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if c == nil {
			return nil
		}
		_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: sessionCookie, Value: c.cookie(sessionCookie),
			URL: e.srv.URL + "/", HTTPOnly: &yes, SameSite: network.CookieSameSiteLax})
		return err
	}))
	if err != nil {
		t.Fatalf("open a browser session: %v", err)
	}
	return ctx
}

// pageUser signs up through the login page (plain HTTP) and returns its
// client and account id.
func pageUser(t *testing.T, e *pageEnv, phone string, role identity.Role) (*webClient, string) {
	t.Helper()
	if role != identity.RoleUser {
		if _, err := e.ids.CreateUser(t.Context(), phone, role); err != nil {
			t.Fatal(err)
		}
	}
	c := e.client()
	c.login(e, phone)
	a, err := e.ids.Authenticate(t.Context(), c.cookie(sessionCookie))
	if err != nil {
		t.Fatal(err)
	}
	return c, a.User.ID
}

func TestPageSeekingBrowserJourney(t *testing.T) {
	tiles, tileHits := tileServer(t)
	e := newPageEnvWith(t, Config{TileURL: tiles.URL + "/{z}/{x}/{y}.png"}, "")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// A phone-width window: the pages must work there.
	bctx := headlessBrowser(t, ctx, 420, 900)

	// Each step has its own deadline, so that a stuck one says where,
	// and what the page showed.
	step := func(bc context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		browserStep(t, bc, what, steps...)
	}
	text := func(bc context.Context, sel string) string {
		t.Helper()
		return browserText(t, bc, sel)
	}
	count := func(bc context.Context, sel string) int {
		t.Helper()
		n, err := chromedp.Run(bc, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(sel)+`).length`))
		if err != nil {
			t.Fatalf("count %s: %v", sel, err)
		}
		return n
	}
	base := e.srv.URL
	// YUNCAN_SEEKING_SCREENSHOTS names a folder for a look at the pages at
	// phone width.
	shot := func(bc context.Context, name string) {
		t.Helper()
		dir := os.Getenv("YUNCAN_SEEKING_SCREENSHOTS")
		if dir == "" {
			return
		}
		b, err := chromedp.Run(bc, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The publisher: real name verified through the certifier (after its
	// separate consent), as the real-name API does.
	pubClient, pubID := pageUser(t, e, "13800138101", identity.RoleUser)
	if r := pubClient.submit("/me/privacy/consents/real_name/grant", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("grant real_name: %d", r.StatusCode)
	}
	if _, err := e.realNames.Verify(t.Context(), pubID, identity.RealNameRequest{RealName: "张三", IDNumber: rnID("19900307", "123")}); err != nil {
		t.Fatalf("verify the publisher's real name: %v", err)
	}
	modClient, _ := pageUser(t, e, "13800138102", identity.RoleModerator)
	watchClient, watchID := pageUser(t, e, "13800138103", identity.RoleUser)

	// (a) Publish: the form, a photo, the review.
	pub := browserSession(t, bctx, e, pubClient)
	const caseLat, caseLng = 30.259, 120.149
	lastSeen := time.Now().Add(-90 * time.Minute).In(chinaTime).Format("2006-01-02T15:04")
	step(pub, "fill the publish-a-case form",
		chromedp.Navigate(base+"/cases"),
		chromedp.WaitVisible(chromedp.CSS("#cases-empty")),
		chromedp.Click(chromedp.CSS("#cases-publish")),
		chromedp.WaitVisible(chromedp.CSS("#case-form")),
		chromedp.SetValue(chromedp.CSS("#category"), "child"),
		chromedp.SendKeys(chromedp.CSS("#full_name"), "王小明"),
		chromedp.SetValue(chromedp.CSS("#sex"), "male"),
		chromedp.SendKeys(chromedp.CSS("#age"), "7"),
		chromedp.SendKeys(chromedp.CSS("#clothing"), "红色外套"),
		chromedp.SendKeys(chromedp.CSS("#description"), "性格内向，听到“明明”会回应"),
		chromedp.SetValue(chromedp.CSS("#last_seen_at"), lastSeen),
		chromedp.SendKeys(chromedp.CSS("#place_name"), "西湖公园码头"),
		chromedp.SendKeys(chromedp.CSS("#lat"), "30.259"),
		chromedp.SendKeys(chromedp.CSS("#lng"), "120.149"),
		chromedp.SendKeys(chromedp.CSS("#relationship"), "父亲"),
		chromedp.SendKeys(chromedp.CSS("#contact_phone"), "13712345678"),
	)
	shot(pub, "case-form")
	step(pub, "save the draft",
		chromedp.Click(chromedp.CSS("#case-save")),
		chromedp.WaitVisible(chromedp.CSS("#flash-case_draft")),
	)
	loc, err := chromedp.Run(pub, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	caseID := strings.TrimPrefix(strings.SplitN(strings.TrimPrefix(loc, base), "?", 2)[0], "/cases/")
	if caseID == "" || strings.Contains(caseID, "/") {
		t.Fatalf("after saving, the browser is at %s", loc)
	}
	photo := filepath.Join(t.TempDir(), "photo.png")
	if err := os.WriteFile(photo, pagePNG(t), 0o600); err != nil {
		t.Fatal(err)
	}
	step(pub, "add a photo and send for review",
		chromedp.SetUploadFiles(chromedp.CSS("#case-photo"), []string{photo}),
		chromedp.Click(chromedp.CSS("#case-photo-upload")),
		chromedp.WaitVisible(chromedp.CSS("#flash-photo_added")),
		chromedp.WaitVisible(chromedp.CSS("#case-photos img.case-photo")),
		chromedp.Click(chromedp.CSS("#case-submit")),
		chromedp.WaitVisible(chromedp.CSS("#flash-case_submitted")),
		chromedp.WaitVisible(chromedp.CSS("#case-in-review")),
	)
	// The draft's photo showed to its reporter through the web login.
	if n, err := chromedp.Run(pub, chromedp.Evaluate[bool](`document.querySelector("#case-photos img.case-photo").naturalWidth > 0`)); err != nil || !n {
		t.Errorf("the reporter's photo did not load (%v)", err)
	}

	// (b) The second person: consent on the privacy center, a nearby
	// position from the browser, the inbox live.
	watch := browserSession(t, bctx, e, watchClient)
	step(watch, "the location page asks for the consent first",
		chromedp.Navigate(base+"/me/location"),
		chromedp.WaitVisible(chromedp.CSS("#location-consent-off")),
	)
	if n := count(watch, "#location-share"); n != 0 {
		t.Error("P05: the share button shows without the consent")
	}
	step(watch, "grant the alert location consent on the privacy center",
		chromedp.Click(chromedp.CSS("#location-consent-link")),
		chromedp.WaitVisible(chromedp.CSS("#grant-"+string(consent.PurposeAlertLocation))),
		chromedp.Click(chromedp.CSS("#grant-"+string(consent.PurposeAlertLocation))),
		chromedp.WaitVisible(chromedp.CSS("#flash-consent_granted")),
	)
	lat, lng, acc := 30.27, 120.16, 20.0
	if _, err := chromedp.Call(watch, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{Latitude: &lat, Longitude: &lng, Accuracy: &acc}); err != nil {
		t.Fatalf("geolocation override: %v", err)
	}
	bcID := chromedp.FromContext(watch).BrowserContextID
	if _, err := chromedp.CallBrowser(watch, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "geolocation"}, Setting: browser.PermissionSettingGranted,
		Origin: base, BrowserContextID: bcID}); err != nil {
		t.Fatalf("grant geolocation: %v", err)
	}
	step(watch, "share the position",
		chromedp.Navigate(base+"/me/location"),
		chromedp.WaitVisible(chromedp.CSS("#no-position")),
		chromedp.Click(chromedp.CSS("#location-share")),
		chromedp.WaitVisible(chromedp.CSS("#flash-location_saved")),
		chromedp.WaitVisible(chromedp.CSS("#position-coords")),
	)
	shot(watch, "location")
	if got := text(watch, "#position-coords"); got != "30.27000, 120.16000" {
		t.Errorf("the stored position reads %q", got)
	}
	matches, err := e.positions.Within(caseLat, caseLng, 100)
	if err != nil || len(matches) != 1 || matches[0].Subject != consent.User(watchID) {
		t.Fatalf("people within 100 km of the case: %+v (%v); want the second person only", matches, err)
	}

	step(watch, "open the inbox and wait for its live stream",
		chromedp.Navigate(base+"/"),
		chromedp.Click(chromedp.CSS("#nav-inbox")),
		chromedp.WaitVisible(chromedp.CSS("#inbox-empty")),
		chromedp.WaitReady(chromedp.CSS(`#inbox[data-live="true"]`)),
	)
	// With the second person watching their inbox, the moderator approves
	// the case: its first ring opens and the alert engine delivers.
	mod := browserSession(t, bctx, e, modClient)
	step(mod, "approve on the review queue",
		chromedp.Navigate(base+"/"),
		chromedp.Click(chromedp.CSS("#nav-review")),
		chromedp.WaitVisible(chromedp.CSS("#review-"+caseID)),
	)
	shot(mod, "staff-review")
	step(mod, "approve",
		chromedp.Click(chromedp.CSS("#approve-"+caseID)),
		chromedp.WaitVisible(chromedp.CSS("#flash-case_approved")),
		chromedp.WaitVisible(chromedp.CSS("#review-empty")),
	)

	step(pub, "find the case in the list and on the map",
		chromedp.Navigate(base+"/cases"),
		chromedp.WaitVisible(chromedp.CSS("#case-"+caseID)),
		chromedp.WaitVisible(chromedp.CSS(`#case-map[data-markers="1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.leaflet-marker-icon[data-case="`+caseID+`"]`)),
		chromedp.Click(chromedp.CSS(`.leaflet-marker-icon[data-case="`+caseID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(".leaflet-popup a.map-case-link")),
	)
	shot(pub, "cases")
	if got := text(pub, ".leaflet-popup a.map-case-link"); got != "王小明" {
		t.Errorf("the marker's popup says %q", got)
	}
	step(pub, "open the case from the map",
		chromedp.Click(chromedp.CSS(".leaflet-popup a.map-case-link")),
		chromedp.WaitVisible(chromedp.CSS("#case-name")),
	)
	shot(pub, "case")
	if got := text(pub, "#case-name"); got != "王小明" {
		t.Errorf("the case page is titled %q", got)
	}
	if got := text(pub, "#case-status"); got != translate(langZH, "seeking.status.published") {
		t.Errorf("the case page's status reads %q", got)
	}
	if tileHits.Load() == 0 {
		t.Error("the map loaded no tile from the configured tile server (CSP img-src?)")
	}

	step(watch, "the alert arrives without a reload",
		chromedp.WaitVisible(chromedp.CSS(`#inbox [id^="item-"]`)),
		chromedp.WaitNotPresent(chromedp.CSS("#inbox-empty")),
	)
	got, err := e.inbox.List(t.Context(), notify.User(watchID), "", 10)
	if err != nil || len(got.Items) != 1 || got.Items[0].Kind != notify.KindSeekingAlert || got.Items[0].Data.CaseID != caseID || got.Items[0].Data.Ring != 1 {
		t.Fatalf("the second person's inbox after the approval: %+v (%v); want one ring-1 alert about the case", got, err)
	}
	alertID := got.Items[0].ID
	if n := count(watch, "#item-"+alertID); n != 1 {
		t.Errorf("the page shows %d items for the alert", n)
	}
	if kept, err := chromedp.Run(watch, chromedp.Evaluate[bool](`performance.getEntriesByType("navigation").length === 1 && document.getElementById("inbox").dataset.live === "true"`)); err != nil || !kept {
		t.Errorf("the page reloaded to show the alert (%v)", err)
	}
	chromedp.Do(watch, chromedp.Click(chromedp.CSS("#dismiss-"+alertID)))
	shot(watch, "inbox")
	chromedp.Do(watch, chromedp.Click(chromedp.CSS("#dismiss-"+alertID)))
	why := text(watch, "#why-"+alertID)
	if want := translate(langZH, "inbox.why.ring_km", 1, int(math.Ceil(matches[0].DistanceKm))); why != want {
		t.Errorf("the why line reads %q, want %q", why, want)
	}
	step(watch, "dismiss it as too far away",
		chromedp.Click(chromedp.CSS("#dismiss-"+alertID)),
		chromedp.WaitVisible(chromedp.CSS("#reason-"+alertID+"-not_nearby")),
		chromedp.Click(chromedp.CSS("#reason-"+alertID+"-not_nearby")),
		chromedp.Click(chromedp.CSS("#dismiss-submit-"+alertID)),
		chromedp.WaitVisible(chromedp.CSS("#flash-dismissed")),
		chromedp.WaitNotPresent(chromedp.CSS("#item-"+alertID)),
	)
	shields, err := e.inbox.Shields(t.Context(), notify.User(watchID))
	if err != nil || len(shields) != 1 || shields[0].Reason != notify.ReasonNotNearby {
		t.Errorf("P56: shields after the X: %+v (%v); want one not_nearby", shields, err)
	}

	// The reporter sees how far the case went.
	step(pub, "the reporter's case page shows the reach",
		chromedp.Navigate(base+"/cases/"+caseID),
		chromedp.WaitVisible(chromedp.CSS("#reach-figures")),
	)
	if got, want := text(pub, "#reach-figures"), translate(langZH, "case.reach.figures", 1, 0, 0); got != want {
		t.Errorf("the reach reads %q, want %q", got, want)
	}

	// (c) Resolved: the public page keeps neither name nor photo.
	step(pub, "resolve the case as found safe",
		chromedp.Navigate(base+"/cases/"+caseID),
		chromedp.Click(chromedp.CSS("#resolve-title")),
		chromedp.SetValue(chromedp.CSS("#outcome"), "found_safe"),
		chromedp.Click(chromedp.CSS("#case-resolve")),
		chromedp.WaitVisible(chromedp.CSS("#flash-case_resolved")),
	)
	step(watch, "open the resolved case",
		chromedp.Navigate(base+"/cases/"+caseID),
		chromedp.WaitVisible(chromedp.CSS("#case-redacted")),
	)
	shot(watch, "case-resolved")
	html, err := chromedp.Run(watch, chromedp.OuterHTML(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, "王小明") || strings.Contains(html, "红色外套") || count(watch, "img") != count(watch, "header img") {
		t.Errorf("the resolved case page still shows the person:\n%s", html)
	}
	if got := text(watch, "#case-status"); got != translate(langZH, "seeking.status.found_safe") {
		t.Errorf("the resolved case's status reads %q", got)
	}
}

// jsString quotes s for a JavaScript expression.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
