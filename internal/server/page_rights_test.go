package server

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// P65: "Download my data" in the privacy center: ask (once a week), see
// progress, get a link; the link needs the owner's web session as well as
// its token.
func TestPrivacyExportPage(t *testing.T) {
	e := newPageEnv(t, "")
	c := e.client()
	c.login(e, "13900139031")
	if r := c.get("/me/privacy"); !strings.Contains(r.Body, `href="/me/privacy/export"`) {
		t.Fatalf("the privacy center has no link to the export page")
	}
	if r := c.post("/me/privacy/export", url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Errorf("POST without CSRF: %d", r.StatusCode)
	}
	r := c.submit("/me/privacy/export", url.Values{})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("request: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.get("/me/privacy/export"); !strings.Contains(r.Body, `data-status="queued"`) {
		t.Fatalf("queued request not shown:\n%s", r.Body)
	}
	if r := c.submit("/me/privacy/export", url.Values{}); r.StatusCode != http.StatusTooManyRequests || !strings.Contains(r.Body, `id="export-error"`) {
		t.Errorf("second request in the week: %d", r.StatusCode)
	}
	if err := e.rights.BuildExports(context.Background()); err != nil {
		t.Fatal(err)
	}
	r = c.get("/me/privacy/export")
	m := regexp.MustCompile(`action="(/me/privacy/export/[^/"]+/link)"`).FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no link form for the ready archive:\n%s", r.Body)
	}
	r = c.submit(m[1], url.Values{})
	dl := regexp.MustCompile(`href="(/me/privacy/export/[^"]+/download\?token=[^"]+)"`).FindStringSubmatch(r.Body)
	if r.StatusCode != http.StatusOK || dl == nil {
		t.Fatalf("link: %d\n%s", r.StatusCode, r.Body)
	}
	link := html.UnescapeString(dl[1])
	if r := c.get(link); r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/zip" {
		t.Errorf("download: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if r := c.get(link + "x"); r.StatusCode != http.StatusNotFound {
		t.Errorf("wrong token: %d", r.StatusCode)
	}
	// No login bypass: logged out, or someone else, the link does not serve.
	if r := e.client().get(link); r.StatusCode == http.StatusOK {
		t.Errorf("logged out: %d", r.StatusCode)
	}
	other := e.client()
	other.login(e, "13900139032")
	if r := other.get(link); r.StatusCode != http.StatusNotFound {
		t.Errorf("another person: %d", r.StatusCode)
	}
}
