package server

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/yuncan/yuncan/internal/consent"
)

// cookieRecorder sees every response a client gets, the login flow's
// included, and keeps the names of the cookies they set.
type cookieRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	set  map[string][]string // cookie name → "METHOD path" that set it
	bad  []string            // requests answered with a 5xx
}

func (c *cookieRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := c.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	what := req.Method + " " + req.URL.RequestURI()
	for _, ck := range res.Cookies() {
		c.set[ck.Name] = append(c.set[ck.Name], what)
	}
	if res.StatusCode >= 500 {
		c.bad = append(c.bad, what)
	}
	return res, nil
}

// recordCookies makes c's transport a recorder.
func recordCookies(c *webClient) *cookieRecorder {
	rec := &cookieRecorder{next: http.DefaultTransport, set: map[string][]string{}}
	c.c.Transport = rec
	return rec
}

// crawlPaths are the page routes, a page that does not exist, a static
// file, and the public documents a browser may fetch.
var crawlPaths = []string{
	"/", "/?lang=en", "/?lang=zh", "/login", "/privacy", "/me", "/me/sessions", "/me/privacy", "/privacy/history",
	"/privacy/inventory", "/privacy/versions/2021-05-01", "/no-such-page", "/static/site.css",
	"/.well-known/gpc.json", "/api/v1/privacy/policy", "/api/v1/privacy/inventory", "/api/v1/no-such-route",
	"/cases", "/cases?near=me", "/cases?lat=30.26&lng=120.15&radius_km=50", "/cases/new", "/cases/no-such-case",
	"/staff/review", "/inbox", "/me/location", "/me/real-name", "/me/privacy/disclosures", "/static/leaflet/leaflet.js", "/static/cases-map.js", "/api/v1/cases.geojson",
}

func (c *webClient) crawl(t *testing.T) {
	t.Helper()
	for _, p := range crawlPaths {
		r := c.get(p)
		if r.StatusCode >= 500 {
			t.Errorf("GET %s: %d", p, r.StatusCode)
		}
	}
}

// P28: every cookie the service sets is declared in the policy data (the
// cookie inventory of the public privacy inventory), with its purpose.
// The crawl covers every page logged out and logged in through the web
// login flow, the flow itself, and logout.
// P32: a browser that cleared its cookies (a fresh client, before and
// after a login elsewhere) never gets a 5xx.
func TestCookiesAreDeclared(t *testing.T) {
	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	e := newPageEnv(t, "")

	anon := e.client()
	rec := recordCookies(anon)
	anon.crawl(t)

	user := e.client()
	recUser := recordCookies(user)
	user.login(e, "13900139001")
	if r := user.get("/me"); r.StatusCode != http.StatusOK {
		t.Fatalf("GET /me logged in: %d", r.StatusCode)
	}
	user.crawl(t)
	if r := user.submit("/me", url.Values{"nickname": {"crawler"}}); r.StatusCode >= 500 {
		t.Errorf("POST /me: %d", r.StatusCode)
	}
	// With Global Privacy Control the same pages set no other cookie.
	user.header.Set("Sec-GPC", "1")
	user.crawl(t)
	user.header.Del("Sec-GPC")
	if r := user.submit("/logout", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("POST /logout: %d", r.StatusCode)
	}
	user.crawl(t)

	// P32: cookies cleared after a login: a fresh client, and the same
	// client with its jar emptied, get pages or redirects, never a 5xx.
	cleared := e.client()
	recCleared := recordCookies(cleared)
	cleared.crawl(t)
	for _, p := range []string{"/me", "/me/sessions"} {
		if r := cleared.get(p); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
			t.Errorf("GET %s without cookies: %d → %q; want 303 → /login", p, r.StatusCode, r.Header.Get("Location"))
		}
	}
	// A form posted without cookies is refused as a client error.
	if r := cleared.post("/me", url.Values{"nickname": {"x"}}); r.StatusCode >= 500 {
		t.Errorf("POST /me without cookies: %d", r.StatusCode)
	}

	seen := map[string][]string{}
	for _, r := range []*cookieRecorder{rec, recUser, recCleared} {
		for name, where := range r.set {
			seen[name] = append(seen[name], where...)
		}
		for _, b := range r.bad {
			t.Errorf("P32: %s answered 5xx", b)
		}
	}
	names := slices.Sorted(maps.Keys(seen))
	for _, name := range names {
		d := dm.Cookie(name)
		if d == nil {
			t.Errorf("P28: cookie %q (set by %v) is not declared in consent/policy/datamap.json", name, seen[name])
			continue
		}
		if dm.Purpose(d.Purpose) == nil || d.Kind == "" || d.Text.ZH == "" || d.Text.EN == "" {
			t.Errorf("P28: cookie %q is declared without a purpose, kind or text: %+v", name, d)
		}
	}
	// The crawl did reach the cookies it should have: the login session,
	// the CSRF token and the language choice.
	for _, want := range []string{sessionCookie, csrfCookie, langCookie} {
		if _, ok := seen[want]; !ok {
			t.Errorf("the crawl never saw cookie %q; does it still cover the pages?", want)
		}
	}
	// And every cookie the pages know of is in the inventory.
	for name := range pageCookies {
		if dm.Cookie(name) == nil {
			t.Errorf("P28: the pages set %q, which the data map does not declare", name)
		}
	}
}
