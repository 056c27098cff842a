package server

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
)

// findChromium returns the browser for the page journeys. Without one the
// test skips on a developer machine but fails in CI, so that it cannot
// pass there without running.
func findChromium(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; CI must run the browser tests")
	}
	t.Skip("chromium is not installed")
	return ""
}

// headlessBrowser starts Debian's Chromium headless with the flags this
// machine needs (no background networking: the network is closed), a
// fresh profile and a window of w×h, and returns its root context; it
// skips the test without Chromium, except in CI. Each person of a journey
// may get a browser context of their own from it (browserSession).
func headlessBrowser(t *testing.T, ctx context.Context, w, h int) context.Context {
	t.Helper()
	chrome := findChromium(t)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chrome),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("accept-lang", "zh-CN,zh"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(w, h),
	)
	t.Cleanup(cancelAlloc)
	bctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancel)
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start the browser: %v", err)
	}
	return bctx
}

// TestPageBrowserJourney drives headless Chromium through sign-up, the
// profile, the session list and logout, as a person would.
func TestPageBrowserJourney(t *testing.T) {
	e := newPageEnv(t, "")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bctx := headlessBrowser(t, ctx, 1000, 1000)

	do := func(step string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	read := func(a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(bctx, a)
		if err != nil {
			t.Fatalf("read the page: %v", err)
		}
		return v
	}
	text := func(sel string) string { t.Helper(); return read(chromedp.Text(chromedp.CSS(sel))) }
	path := func() string {
		t.Helper()
		u, err := url.Parse(read(chromedp.Location()))
		if err != nil {
			t.Fatal(err)
		}
		return u.Path
	}
	const phone = "13800138000"

	do("open the home page",
		chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#home-login")),
	)
	if lang, err := chromedp.Run(bctx, chromedp.AttributeValue(chromedp.CSS("html"), "lang")); err != nil || lang.Value != "zh-CN" {
		t.Errorf("home page lang = %q (%v), want zh-CN for a Chinese browser", lang.Value, err)
	}

	// P68: the policy, with its version, is one click away on every page.
	do("open the policy from the footer",
		chromedp.Click(chromedp.CSS("#footer-privacy")),
		chromedp.WaitVisible(chromedp.CSS("#policy-version")),
	)
	if got, want := text("#policy-version"), consent.Current().Version; !strings.Contains(got, want) {
		t.Errorf("policy page says %q, want version %s", got, want)
	}

	do("ask for a code",
		chromedp.Click(chromedp.CSS("#nav-login")),
		chromedp.WaitVisible(chromedp.CSS("#phone")),
		chromedp.SendKeys(chromedp.CSS("#phone"), phone),
		chromedp.Click(chromedp.CSS("#send-code")),
		chromedp.WaitVisible(chromedp.CSS("#code-sent")),
	)
	if kept := read(chromedp.Value(chromedp.CSS("#phone"))); kept != phone {
		t.Errorf("after sending the code the phone field holds %q, want %q", kept, phone)
	}

	// P68: a new account accepts the policy version it was shown.
	do("log in with the code",
		chromedp.SendKeys(chromedp.CSS("#code"), e.code("+86"+phone)),
		chromedp.Click(chromedp.CSS("#accept")),
		chromedp.SetValue(chromedp.CSS("#age-band"), "adult"),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#flash-welcome_created")),
	)
	if p := path(); p != "/me" {
		t.Fatalf("after login the browser is at %s, want /me", p)
	}

	// P65: the profile can be corrected, and an optional field cleared.
	do("edit the profile",
		chromedp.SetValue(chromedp.CSS("#nickname"), "寻亲志愿者"),
		chromedp.SetValue(chromedp.CSS("#region"), "浙江杭州"),
		chromedp.Click(chromedp.CSS("#save-profile")),
		chromedp.WaitVisible(chromedp.CSS("#flash-profile")),
		chromedp.Navigate(e.srv.URL+"/me"),
		chromedp.WaitVisible(chromedp.CSS("#profile")),
	)
	if nick, region := text("#show-nickname"), text("#show-region"); nick != "寻亲志愿者" || region != "浙江杭州" {
		t.Errorf("after saving: nickname %q, region %q", nick, region)
	}
	do("clear the region",
		chromedp.Clear(chromedp.CSS("#region")),
		chromedp.Click(chromedp.CSS("#save-profile")),
		chromedp.WaitVisible(chromedp.CSS("#flash-profile")),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS("#profile")),
	)
	if nick, region := text("#show-nickname"), text("#show-region"); nick != "寻亲志愿者" || region != translate(langZH, "common.not_set") {
		t.Errorf("after clearing the region: nickname %q, region %q", nick, region)
	}
	if file := os.Getenv("YUNCAN_PAGE_SCREENSHOT"); file != "" {
		do("open /me", chromedp.Navigate(e.srv.URL+"/me"), chromedp.WaitVisible(chromedp.CSS("#profile")))
		shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	do("open the session list",
		chromedp.Click(chromedp.CSS("#nav-sessions")),
		chromedp.WaitVisible(chromedp.CSS("#sessions")),
	)
	sessions, err := chromedp.Run(bctx, chromedp.Nodes(chromedp.CSSAll("#sessions .session")))
	if err != nil {
		t.Fatal(err)
	}
	if marker := text(".session.current #current-session"); len(sessions) != 1 || marker != translate(langZH, "sessions.current") {
		t.Errorf("session list: %d sessions, current marker %q; want 1 marked current", len(sessions), marker)
	}

	do("log out",
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#flash-logged_out")),
		chromedp.Navigate(e.srv.URL+"/me"),
		chromedp.WaitVisible(chromedp.CSS("#code-login")),
	)
	if p := path(); p != "/login" {
		t.Errorf("after logout /me went to %s, want /login", p)
	}
}

// TestPageCookieFlags checks the cookies the pages set.
func TestPageCookieFlags(t *testing.T) {
	t.Run("http", func(t *testing.T) {
		e := newPageEnv(t, "")
		c := e.client()
		r := c.get("/login")
		csrf := setCookie(r, csrfCookie)
		if csrf == nil || !csrf.HttpOnly || csrf.SameSite != http.SameSiteStrictMode || csrf.Secure || csrf.Path != "/" {
			t.Errorf("csrf cookie = %+v, want HttpOnly, SameSite=Strict, not Secure on http", csrf)
		}
		// P29: session cookie is HttpOnly and SameSite; Secure only over https.
		before := time.Now()
		r = c.login(e, "13900139000")
		sc := setCookie(r, sessionCookie)
		if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Secure || sc.Path != "/" {
			t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Lax, Path=/, not Secure on http", sc)
		}
		ttl := e.ids.Config().SessionTTL
		if sc.MaxAge != int(ttl.Seconds()) {
			t.Errorf("session cookie Max-Age = %d, want the session TTL %d", sc.MaxAge, int(ttl.Seconds()))
		}
		if want := before.Add(ttl); sc.Expires.Before(want.Add(-time.Minute)) || sc.Expires.After(want.Add(time.Minute)) {
			t.Errorf("session cookie expires %v, want about %v", sc.Expires, want)
		}
		if a, err := e.ids.Authenticate(t.Context(), sc.Value); err != nil || a.Session.Kind != identity.SessionWeb {
			t.Errorf("the cookie's session: %+v, %v; want a web session", a.Session, err)
		}
	})

	t.Run("https base URL", func(t *testing.T) {
		e := newPageEnv(t, "https://yuncan.example")
		c := e.client()
		r := c.get("/login")
		csrf := setCookie(r, csrfCookie)
		if csrf == nil || !csrf.Secure {
			t.Fatalf("csrf cookie = %+v, want Secure behind an https base URL", csrf)
		}
		// The jar keeps Secure cookies off plain http: send them by hand.
		c.header.Set("Cookie", csrfCookie+"="+csrf.Value)
		form := url.Values{"csrf": {csrf.Value}, "phone": {"13700137000"}}
		if r := c.post("/login/code", form); r.StatusCode != http.StatusOK {
			t.Fatalf("send code: %d", r.StatusCode)
		}
		form.Set("code", e.code("+8613700137000"))
		form.Set("accept_policy_version", consent.Current().Version)
		form.Set("age_band", "adult")
		r = c.post("/login", form)
		// P29: session cookie is HttpOnly, Secure, SameSite.
		sc := setCookie(r, sessionCookie)
		if r.StatusCode != http.StatusSeeOther || sc == nil || !sc.Secure || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode {
			t.Errorf("login: %d, session cookie %+v; want Secure, HttpOnly, SameSite=Lax", r.StatusCode, sc)
		}
	})
}

// TestPageCSRFMissingToken posts forms without the double-submit token.
func TestPageCSRFMissingToken(t *testing.T) {
	e := newPageEnv(t, "")
	c := e.client()
	c.login(e, "13900139000")
	nick := func() string {
		a, err := e.ids.Authenticate(t.Context(), c.cookie(sessionCookie))
		if err != nil {
			t.Fatalf("authenticate: %v", err)
		}
		return a.User.Nickname
	}
	before := nick()

	for name, tok := range map[string][]string{"missing": nil, "wrong": {strings.Repeat("A", csrfTokenLen)}, "empty": {""}} {
		form := url.Values{"nickname": {"改过的昵称"}}
		if tok != nil {
			form["csrf"] = tok
		}
		if r := c.post("/me", form); r.StatusCode != http.StatusForbidden {
			t.Errorf("%s token: POST /me = %d, want 403", name, r.StatusCode)
		}
	}
	if r := c.post("/logout", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("POST /logout without token = %d, want 403", r.StatusCode)
	}
	// The avatar form checks its token part before reading the image.
	if r := c.postAvatar(false, pagePNG(t)); r.StatusCode != http.StatusForbidden {
		t.Errorf("avatar upload without token = %d, want 403", r.StatusCode)
	}
	if got := nick(); got != before {
		t.Errorf("nickname changed to %q by a refused post", got)
	}
	if r := c.get("/me"); r.StatusCode != http.StatusOK {
		t.Errorf("still logged in: GET /me = %d, want 200", r.StatusCode)
	}

	// A client without the cookie cannot post either, whatever it sends.
	fresh := e.client()
	if r := fresh.post("/login/code", url.Values{"phone": {"13900139000"}, "csrf": {c.cookie(csrfCookie)}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("post without the cookie = %d, want 403", r.StatusCode)
	}
}

// TestPageCSRFCrossOrigin posts from another site with a valid token.
func TestPageCSRFCrossOrigin(t *testing.T) {
	e := newPageEnv(t, "")
	c := e.client()
	c.login(e, "13900139000")

	c.header.Set("Origin", "http://evil.example")
	c.header.Set("Sec-Fetch-Site", "cross-site")
	if r := c.submit("/me", url.Values{"nickname": {"被篡改"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST /me = %d, want 403", r.StatusCode)
	}
	if r := c.submit("/me/sessions/revoke-others", nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin revoke = %d, want 403", r.StatusCode)
	}

	c.header = http.Header{"Origin": {e.srv.URL}, "Sec-Fetch-Site": {"same-origin"}}
	if r := c.get("/me"); strings.Contains(r.Body, "被篡改") {
		t.Error("a cross-origin post changed the nickname")
	}
	if r := c.submit("/me", url.Values{"nickname": {"本站修改"}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin POST /me = %d, want 303", r.StatusCode)
	}
}

// TestPageGarbageSessionCookie sends cookies that name no session.
func TestPageGarbageSessionCookie(t *testing.T) {
	e := newPageEnv(t, "")
	u, _ := url.Parse(e.srv.URL)

	// P32: a garbage session cookie is cleared and the page renders logged out, no 5xx.
	c := e.client()
	c.jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "garbage-not-a-token"}, {Name: csrfCookie, Value: "short"}})
	r := c.get("/")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="nav-login"`) {
		t.Errorf("GET / with a garbage cookie: %d, logged-out nav %v", r.StatusCode, strings.Contains(r.Body, `id="nav-login"`))
	}
	if sc := setCookie(r, sessionCookie); sc == nil || sc.MaxAge >= 0 {
		t.Errorf("the garbage session cookie was not cleared: %+v", sc)
	}
	if csrf := setCookie(r, csrfCookie); csrf == nil || len(csrf.Value) != csrfTokenLen {
		t.Errorf("a malformed csrf cookie was not replaced: %+v", csrf)
	}
	c.jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: "yct_" + strings.Repeat("x", 43)}})
	for _, path := range []string{"/me", "/me/sessions"} {
		if r := c.get(path); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
			t.Errorf("GET %s with a garbage cookie: %d → %q, want 303 → /login", path, r.StatusCode, r.Header.Get("Location"))
		}
	}
	if r := c.submit("/me", url.Values{"nickname": {"x"}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("POST /me with a garbage cookie: %d → %q, want 303 → /login", r.StatusCode, r.Header.Get("Location"))
	}

	// P32: a cookie of a session that ended (logged out) works the same.
	c2 := e.client()
	c2.login(e, "13900139000")
	old := c2.cookie(sessionCookie)
	if r := c2.submit("/logout", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.StatusCode)
	}
	if c2.cookie(sessionCookie) != "" {
		t.Error("logout left the session cookie in place")
	}
	c2.jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: old}})
	if r := c2.get("/me"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("GET /me with a logged-out cookie: %d → %q, want 303 → /login", r.StatusCode, r.Header.Get("Location"))
	}
	if r := c2.get("/login"); r.StatusCode != http.StatusOK {
		t.Errorf("GET /login with a logged-out cookie: %d", r.StatusCode)
	}
}

// TestPageLanguage checks the language choice: Chinese unless the browser
// prefers English or the visitor switched.
func TestPageLanguage(t *testing.T) {
	e := newPageEnv(t, "")
	isEN := func(r pageResp) bool {
		t.Helper()
		en := strings.Contains(r.Body, `<html lang="en">`) && strings.Contains(r.Body, translate(langEN, "nav.login"))
		zh := strings.Contains(r.Body, `<html lang="zh-CN">`) && strings.Contains(r.Body, translate(langZH, "nav.login"))
		if en == zh {
			t.Fatalf("page is neither clearly English nor Chinese:\n%s", r.Body)
		}
		return en
	}
	for _, tc := range []struct {
		accept string
		en     bool
	}{
		{"", false},
		{"zh-CN,zh;q=0.9,en;q=0.8", false},
		{"en-US,en;q=0.9", true},
		{"en-GB,en;q=0.9,zh-CN;q=0.5", true},
		{"fr-FR,fr;q=0.9", false},
		{"zh-TW", false},
	} {
		c := e.client()
		if tc.accept != "" {
			c.header.Set("Accept-Language", tc.accept)
		}
		r := c.get("/")
		if got := isEN(r); got != tc.en {
			t.Errorf("Accept-Language %q: English %v, want %v", tc.accept, got, tc.en)
		}
		if want := map[bool]string{true: "en", false: "zh-CN"}[tc.en]; r.Header.Get("Content-Language") != want {
			t.Errorf("Accept-Language %q: Content-Language %q, want %q", tc.accept, r.Header.Get("Content-Language"), want)
		}
	}

	// The switch is remembered, and beats the browser's preference.
	c := e.client()
	r := c.get("/login?lang=en")
	if !isEN(r) {
		t.Error("?lang=en did not give English")
	}
	if lc := setCookie(r, langCookie); lc == nil || lc.Value != "en" || !lc.HttpOnly {
		t.Errorf("?lang=en set %+v, want yc_lang=en", lc)
	}
	if !isEN(c.get("/privacy")) {
		t.Error("the English choice was not remembered")
	}
	c.header.Set("Accept-Language", "en")
	c.get("/?lang=zh")
	if isEN(c.get("/privacy")) {
		t.Error("the Chinese choice lost to Accept-Language")
	}
	// Service errors show in the page's language.
	c.header.Del("Accept-Language")
	r = c.submit("/login/code", url.Values{"phone": {"12345"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, problemsZH["is not a valid phone number"]) {
		t.Errorf("Chinese field error: %d\n%s", r.StatusCode, r.Body)
	}
}

// TestPagePrivacy checks the policy page and the links to it.
func TestPagePrivacy(t *testing.T) {
	e := newPageEnv(t, "")
	c := e.client()
	p := consent.Current()
	// P68: the current text, version and effective date, without login.
	r := c.get("/privacy")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, p.Version) || !strings.Contains(r.Body, p.Effective.Format(time.DateOnly)) {
		t.Errorf("GET /privacy: %d, version %s or date missing", r.StatusCode, p.Version)
	}
	if first := strings.SplitN(p.Text, "\n", 2)[0]; !strings.Contains(r.Body, first) {
		t.Errorf("the policy text is missing (first line %q)", first)
	}
	// P68: the policy is linked from the registration page and every footer.
	for _, path := range []string{"/", "/login", "/privacy", "/no-such-page"} {
		if r := c.get(path); !strings.Contains(r.Body, `href="/privacy"`) {
			t.Errorf("%s does not link to /privacy", path)
		}
	}
	r = c.get("/login")
	if !strings.Contains(r.Body, `name="accept_policy_version" value="`+p.Version+`"`) {
		t.Error("the login form does not send the policy version it shows")
	}
}

// TestPageSecurityHeaders checks the headers every page carries.
func TestPageSecurityHeaders(t *testing.T) {
	e := newPageEnv(t, "")
	c := e.client()
	css := regexp.MustCompile(`href="(/static/site\.css\?v=[0-9a-f]+)"`)
	home := c.get("/")
	m := css.FindStringSubmatch(home.Body)
	if m == nil {
		t.Fatal("the home page links no stylesheet")
	}
	for _, path := range []string{"/", "/login", "/privacy", "/no-such-page", m[1], "/static/avatar.svg"} {
		r := c.get(path)
		h := r.Header
		if path == "/no-such-page" {
			if r.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %d, want 404", path, r.StatusCode)
			}
		} else if r.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, r.StatusCode)
		}
		if h.Get("Content-Security-Policy") != contentSecurityPolicy || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
	if r := c.get(m[1]); !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet content type %q", r.Header.Get("Content-Type"))
	}
	if r := c.get("/static/"); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /static/ = %d, want 404 (no listings)", r.StatusCode)
	}
	for _, ref := range regexp.MustCompile(`(?:src|href)="(https?:)?//`).FindAllString(home.Body, -1) {
		t.Errorf("home page refers to another site: %s", ref)
	}
}

// TestPageLoginErrors shows the service's refusals beside the fields.
func TestPageLoginErrors(t *testing.T) {
	e := newPageEnv(t, "")
	c := e.client()
	c.get("/login")

	r := c.submit("/login/code", url.Values{"phone": {"not a phone"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="phone-error"`) || !strings.Contains(r.Body, `value="not a phone"`) {
		t.Errorf("bad phone: %d, field error or kept value missing", r.StatusCode)
	}
	const phone = "15012345678"
	r = c.submit("/login/code", url.Values{"phone": {phone}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="code-sent"`) || !strings.Contains(r.Body, `value="`+phone+`"`) {
		t.Fatalf("send code: %d, code-sent note or kept phone missing", r.StatusCode)
	}
	code := e.code("+86" + phone)

	r = c.submit("/login", url.Values{"phone": {phone}, "code": {"000000"}})
	if code != "000000" && (r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="code-field-error"`)) {
		t.Errorf("wrong code: %d, code field error missing", r.StatusCode)
	}
	// A new account without the policy box ticked is refused, and the code
	// stays good for the retry.
	r = c.submit("/login", url.Values{"phone": {phone}, "code": {code}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="accept-error"`) {
		t.Errorf("sign-up without the policy: %d, policy error missing", r.StatusCode)
	}
	if c.cookie(sessionCookie) != "" {
		t.Error("a refused login set a session cookie")
	}
	r = c.submit("/login", url.Values{"phone": {phone}, "code": {code}, "accept_policy_version": {consent.Current().Version}, "age_band": {"adult"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/me?ok=welcome_created" {
		t.Errorf("sign-up: %d → %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := c.get("/login"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/me" {
		t.Errorf("GET /login logged in: %d → %q, want /me", r.StatusCode, r.Header.Get("Location"))
	}
}

// TestPageProfileEdit edits and clears the profile through the form.
func TestPageProfileEdit(t *testing.T) {
	e := newPageEnv(t, "")
	c := e.client()
	c.login(e, "13900139000")
	user := func() identity.User {
		a, err := e.ids.Authenticate(t.Context(), c.cookie(sessionCookie))
		if err != nil {
			t.Fatal(err)
		}
		return a.User
	}

	// P65: the profile fields can be corrected...
	r := c.submit("/me", url.Values{"nickname": {" 小云 "}, "gender": {"female"}, "birthday": {"1990-05-01"},
		"region": {"上海"}, "introduction": {"第一行\r\n第二行"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/me?ok=profile" {
		t.Fatalf("save: %d → %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	u := user()
	if u.Nickname != "小云" || u.Gender == nil || *u.Gender != "female" || u.Birthday == nil || *u.Birthday != "1990-05-01" ||
		u.Region == nil || *u.Region != "上海" || u.Introduction == nil || *u.Introduction != "第一行\n第二行" {
		t.Errorf("saved profile: %+v", u)
	}
	if r := c.get("/me?ok=profile"); !strings.Contains(r.Body, "上海") || !strings.Contains(r.Body, `id="flash-profile"`) {
		t.Error("the profile page does not show the saved region and the flash")
	}
	// ...and every optional one cleared by emptying it (P08: none is required).
	if r := c.submit("/me", url.Values{"nickname": {"小云"}, "gender": {""}, "birthday": {""}, "region": {" "}, "introduction": {""}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("clear: %d\n%s", r.StatusCode, r.Body)
	}
	if u := user(); u.Gender != nil || u.Birthday != nil || u.Region != nil || u.Introduction != nil {
		t.Errorf("cleared profile still holds %+v", u)
	}

	// Refusals come back beside the fields, with what was typed kept.
	r = c.submit("/me", url.Values{"nickname": {""}, "birthday": {"2999-01-01"}, "region": {"北京"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="nickname-error"`) ||
		!strings.Contains(r.Body, `id="birthday-error"`) || !strings.Contains(r.Body, `value="2999-01-01"`) {
		t.Errorf("invalid edit: %d\n%s", r.StatusCode, r.Body)
	}
	if u := user(); u.Nickname != "小云" || u.Region != nil {
		t.Errorf("a refused edit changed the profile: %+v", u)
	}
}

// TestPageAvatar uploads, shows and removes an avatar.
func TestPageAvatar(t *testing.T) {
	e := newPageEnv(t, "")
	c := e.client()
	c.login(e, "13900139000")

	r := c.postAvatar(true, pagePNG(t))
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/me?ok=avatar" {
		t.Fatalf("upload: %d → %q\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	m := regexp.MustCompile(`src="(/media/avatars/[^"]+)"`).FindStringSubmatch(c.get("/me").Body)
	if m == nil {
		t.Fatal("the profile page shows no uploaded avatar")
	}
	if r := c.get(m[1]); r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "image/") {
		t.Errorf("GET %s: %d %s", m[1], r.StatusCode, r.Header.Get("Content-Type"))
	}

	r = c.postAvatar(true, []byte("this is not an image"))
	if r.StatusCode < 400 || r.StatusCode >= 500 || !strings.Contains(r.Body, `id="avatar-error"`) {
		t.Errorf("non-image upload: %d, want a 4xx page with the avatar error", r.StatusCode)
	}

	if r := c.submit("/me/avatar/delete", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove: %d", r.StatusCode)
	}
	if r := c.get("/me"); strings.Contains(r.Body, "/media/avatars/") || !strings.Contains(r.Body, "/static/avatar.svg") {
		t.Error("the avatar is still shown after removal")
	}
	if r := c.get(m[1]); r.StatusCode != http.StatusNotFound {
		t.Errorf("removed avatar file: %d, want 404", r.StatusCode)
	}
}

// TestPagePasswordLogin sets a password on the profile page and logs in
// with it.
func TestPagePasswordLogin(t *testing.T) {
	e := newPageEnv(t, "")
	c := e.client()
	c.login(e, "18612345678")
	const pw = "Yun-can 2024 pass"

	r := c.submit("/me/password", url.Values{"password": {pw}, "password_confirm": {pw + "x"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="password-error"`) {
		t.Errorf("mismatched confirmation: %d", r.StatusCode)
	}
	// P53: a weak password is refused.
	r = c.submit("/me/password", url.Values{"password": {"abc"}, "password_confirm": {"abc"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.Body, `id="new-password-error"`) {
		t.Errorf("weak password: %d", r.StatusCode)
	}
	if r := c.submit("/me/password", url.Values{"password": {pw}, "password_confirm": {pw}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("set password: %d\n%s", r.StatusCode, r.Body)
	}
	if r := c.get("/me"); !strings.Contains(r.Body, `id="current_password"`) {
		t.Error("with a password set, changing it does not ask for the current one")
	}

	d := e.client()
	d.get("/login")
	r = d.submit("/login", url.Values{"method": {"password"}, "phone": {"18612345678"}, "password": {"wrong password here"}})
	if r.StatusCode != http.StatusUnauthorized || !strings.Contains(r.Body, `id="password-error"`) || !strings.Contains(r.Body, `id="password-login" open`) {
		t.Errorf("wrong password: %d", r.StatusCode)
	}
	r = d.submit("/login", url.Values{"method": {"password"}, "phone": {"18612345678"}, "password": {pw}})
	if r.StatusCode != http.StatusSeeOther || d.cookie(sessionCookie) == "" {
		t.Errorf("password login: %d", r.StatusCode)
	}
}

// TestPageSessions lists sessions and logs others out.
func TestPageSessions(t *testing.T) {
	e := newPageEnv(t, "")
	const phone = "13900139000"
	a, b, c := e.client(), e.client(), e.client()
	a.login(e, phone)
	b.login(e, phone)

	r := a.get("/me/sessions")
	rows := regexp.MustCompile(`data-session="([^"]+)"`).FindAllStringSubmatch(r.Body, -1)
	if len(rows) != 2 || strings.Count(r.Body, `id="current-session"`) != 1 {
		t.Fatalf("session list: %d rows, %d current\n%s", len(rows), strings.Count(r.Body, `id="current-session"`), r.Body)
	}
	bAuth, err := e.ids.Authenticate(t.Context(), b.cookie(sessionCookie))
	if err != nil {
		t.Fatal(err)
	}
	if r := a.submit("/me/sessions/"+bAuth.Session.ID+"/revoke", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.StatusCode)
	}
	if r := b.get("/me"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/login" {
		t.Errorf("revoked browser: GET /me = %d → %q, want /login", r.StatusCode, r.Header.Get("Location"))
	}
	if r := a.submit("/me/sessions/no-such-session/revoke", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("revoke unknown: %d, want 404", r.StatusCode)
	}

	c.login(e, phone)
	if r := a.submit("/me/sessions/revoke-others", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke others: %d", r.StatusCode)
	}
	if r := c.get("/me"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("after revoke-others the other browser is still in: %d", r.StatusCode)
	}
	if r := a.get("/me/sessions"); r.StatusCode != http.StatusOK || !strings.Contains(r.Body, `id="no-other-sessions"`) {
		t.Errorf("after revoke-others: %d", r.StatusCode)
	}
}

// TestPageMessages checks that every message a template names exists in
// both languages.
func TestPageMessages(t *testing.T) {
	for key, m := range messages {
		if strings.TrimSpace(m[0]) == "" || strings.TrimSpace(m[1]) == "" {
			t.Errorf("message %q lacks a language: %q", key, m)
		}
	}
	uses := regexp.MustCompile(`\.T "([^"]+)"`)
	entries, err := templateFS.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		b, err := templateFS.ReadFile("templates/" + en.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range uses.FindAllStringSubmatch(string(b), -1) {
			if !hasMessage(m[1]) {
				t.Errorf("%s uses unknown message %q", en.Name(), m[1])
			}
		}
	}
	for _, k := range []string{"me.gender.female", "me.gender.male", "me.gender.other", "sessions.kind.web", "sessions.kind.app"} {
		if !hasMessage(k) {
			t.Errorf("missing message %q", k)
		}
	}
}

// postAvatar uploads an image as the profile page's form does, with the
// token part first when withToken.
func (c *webClient) postAvatar(withToken bool, img []byte) pageResp {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if withToken {
		mw.WriteField("csrf", c.cookie(csrfCookie))
	}
	fw, err := mw.CreateFormFile("avatar", "me.png")
	if err != nil {
		c.t.Fatal(err)
	}
	fw.Write(img)
	mw.Close()
	req, err := http.NewRequest("POST", c.base+"/me/avatar", &body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

// pagePNG is a small picture to upload.
func pagePNG(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := range 48 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 160, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
