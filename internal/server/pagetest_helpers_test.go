package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/alert"
	"github.com/yuncan/yuncan/internal/certify"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/geo"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/location"
	"github.com/yuncan/yuncan/internal/media"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/queue"
	"github.com/yuncan/yuncan/internal/rights"
	"github.com/yuncan/yuncan/internal/seeking"
	"github.com/yuncan/yuncan/internal/sharing"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// pageEnv is a real server (SQLite store, keyring, SMS outbox, media
// files, people-seeking with real-name verification through the outbox
// certifier, the inbox and Web Push, the location index) listening on a
// local port, for the page tests.
type pageEnv struct {
	t      testing.TB
	srv    *httptest.Server
	ids    *identity.Service
	outbox string
	// The services behind the seeking pages, as cmd/yuncan wires them.
	consent    *consent.Service
	seeking    *seeking.Service
	realNames  *identity.RealNameVerifier
	inbox      *notify.Inbox
	push       *notify.Dispatcher
	positions  *location.Service
	certOutbox string
	// rights builds data exports (P65) and carries out cancellations
	// (P66) on its own clock.
	rights      *rights.Service
	rightsClock *offsetClock
}

// newPageEnv starts the server; base, when not "", is its public base URL.
func newPageEnv(t testing.TB, base string) *pageEnv {
	t.Helper()
	return newPageEnvWith(t, Config{}, base)
}

// newPageEnvWith starts the server with cfg (Version is set here).
func newPageEnvWith(t testing.TB, cfg Config, base string) *pageEnv {
	t.Helper()
	db := storetest.Open(t, storetest.Targets(t)[0])
	keys, err := keyring.New()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	outbox := filepath.Join(dir, "outbox", "sms.jsonl")
	// A short resend interval lets one test log one number in twice.
	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	versions := consent.NewVersions(db.Policy(), dm, nil)
	if err := versions.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ids := identity.NewService(db.Identity(), keys, notify.NewOutbox(outbox, nil),
		versions.CurrentVersion, nil, identity.Config{CodeResendInterval: time.Millisecond})
	cfg.Version = "test"
	if base != "" {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		cfg.BaseURL = u
	}
	logger := slog.New(slog.NewTextHandler(pageTestLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cs := consent.NewService(db.Consent(), dm, versions.CurrentVersion, nil, logger)
	ms := media.NewFileStore(filepath.Join(dir, "media"))
	inbox := notify.NewInbox(db.Notify(), notify.InboxConfig{}, nil)
	hooks := &alert.Hooks{}
	sk := seeking.NewService(seeking.Deps{Store: db.Seeking(), RealNames: ids, Gate: cs, Media: ms, Keys: keys, Publisher: hooks,
		Reach: func(ctx context.Context, id string) (int, int, error) {
			return inbox.Counts(ctx, notify.KindSeekingAlert, id)
		},
		Logger: logger}, seeking.Config{})
	certOutbox := filepath.Join(dir, "outbox", "certifier.jsonl")
	realNames := identity.NewRealNameVerifier(ids, certify.NewOutbox(certOutbox, nil), func(ctx context.Context, userID string) error {
		return cs.Require(ctx, consent.User(userID), consent.PurposeRealName)
	}, identity.RealNameConfig{})
	push := notify.NewDispatcher(inbox, nil, notify.DispatcherConfig{}, logger)
	positions := location.NewService(db.Location(), &geo.Index{}, cs, keys, nil, location.Config{}, logger)
	if _, err := positions.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The alert engine as serve runs it: approving a case opens its first
	// ring, and workers deliver the batches from an embedded queue.
	q, err := queue.Open(context.Background(), queue.Config{Dir: filepath.Join(dir, "nats")})
	if err != nil {
		t.Fatal(err)
	}
	alerts := alert.NewService(alert.Deps{Store: db.Alert(), Cases: sk, Locator: positions, Gate: cs, Notifier: push, Queue: q, Keys: keys, Logger: logger}, alert.Config{})
	hooks.Bind(alerts)
	workCtx, stopWork := context.WithCancel(context.Background())
	worked := make(chan struct{})
	go func() {
		defer close(worked)
		if err := alerts.Run(workCtx); err != nil {
			t.Errorf("alert workers: %v", err)
		}
	}()
	t.Cleanup(func() {
		stopWork()
		<-worked
		q.Close()
	})
	// Export (P65) and cancellation (P66); the rights clock runs ahead
	// when a test moves it, past the known-login wait and the cooling-off.
	rightsClock := &offsetClock{}
	rs := rights.NewService(rights.Deps{Store: db.Rights(), Keys: keys, SealContext: sqlstore.SealContext, Media: ms, Dir: filepath.Join(t.TempDir(), "exports"), Logger: logger,
		Now: rightsClock.now, Codes: ids, Retention: dm.RetentionOf,
		Positions: positions, Consents: cs}, rights.Config{})
	s := New(cfg, Deps{Logger: logger, Identity: ids, Consent: cs, Versions: versions, Media: ms, DB: db,
		Seeking: sk, RealNames: realNames, Location: positions, Inbox: inbox, Push: push, StreamHeartbeat: time.Second, Rights: rs,
		Sharing: sharing.NewLedger(sharing.Deps{Store: db.Sharing(), Consent: cs, Keys: keys, Logger: logger}, sharing.Config{})})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	// After srv.Close in registration, so before it in running: open
	// event streams end and Close need not wait for them.
	t.Cleanup(s.StopStreams)
	return &pageEnv{t: t, srv: srv, ids: ids, outbox: outbox, consent: cs, seeking: sk, realNames: realNames, inbox: inbox, push: push,
		positions: positions, certOutbox: certOutbox, rights: rs, rightsClock: rightsClock}
}

// pageTestLog sends the server's warnings and errors to the test log.
type pageTestLog struct{ t testing.TB }

func (l pageTestLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// code returns the last code the outbox holds for phone (E.164).
func (e *pageEnv) code(phone string) string {
	e.t.Helper()
	f, err := os.Open(e.outbox)
	if err != nil {
		e.t.Fatalf("open outbox: %v", err)
	}
	defer f.Close()
	var code string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m struct{ To, Code string }
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			e.t.Fatalf("outbox line: %v", err)
		}
		if m.To == phone {
			code = m.Code
		}
	}
	if code == "" {
		e.t.Fatalf("no code for %s in the outbox", phone)
	}
	return code
}

// webClient is a browser stand-in: a cookie jar, and redirects left to
// the test so that each response's cookies can be checked.
type webClient struct {
	t    testing.TB
	base string
	jar  *cookiejar.Jar
	c    *http.Client
	// header is added to every request.
	header http.Header
}

func (e *pageEnv) client() *webClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &webClient{t: e.t, base: e.srv.URL, jar: jar, header: http.Header{},
		c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// pageResp is a response with its body read.
type pageResp struct {
	*http.Response
	Body string
}

func (c *webClient) do(req *http.Request) pageResp {
	c.t.Helper()
	for k, vs := range c.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	// P28: every cookie the pages set is declared with its purpose.
	for _, ck := range res.Cookies() {
		if _, ok := pageCookies[ck.Name]; !ok {
			c.t.Errorf("%s %s: undeclared cookie %q", req.Method, req.URL.Path, ck.Name)
		}
	}
	if res.StatusCode >= 500 {
		c.t.Errorf("%s %s: status %d", req.Method, req.URL.Path, res.StatusCode)
	}
	return pageResp{Response: res, Body: string(b)}
}

func (c *webClient) get(path string) pageResp {
	c.t.Helper()
	req, err := http.NewRequest("GET", c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// post sends an urlencoded form as it is (add "csrf" to pass the check).
func (c *webClient) post(path string, form url.Values) pageResp {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// submit posts a form with the CSRF token a page would carry.
func (c *webClient) submit(path string, form url.Values) pageResp {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", c.cookie(csrfCookie))
	return c.post(path, form)
}

// cookie returns the value the jar holds for name, "" when none.
func (c *webClient) cookie(name string) string {
	u, _ := url.Parse(c.base)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// login signs up or logs in with a code through the pages and returns
// the response to the login post.
func (c *webClient) login(e *pageEnv, phone string) pageResp {
	c.t.Helper()
	if r := c.get("/login"); r.StatusCode != http.StatusOK {
		c.t.Fatalf("GET /login: %d", r.StatusCode)
	}
	if r := c.submit("/login/code", url.Values{"phone": {phone}}); r.StatusCode != http.StatusOK {
		c.t.Fatalf("POST /login/code: %d\n%s", r.StatusCode, r.Body)
	}
	p, err := identity.ParsePhone(phone)
	if err != nil {
		c.t.Fatal(err)
	}
	r := c.submit("/login", url.Values{"phone": {phone}, "code": {e.code(string(p))},
		"accept_policy_version": {consent.Current().Version}, "age_band": {"adult"}})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") == "" || !strings.HasPrefix(r.Header.Get("Location"), "/me") {
		c.t.Fatalf("POST /login: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.Body)
	}
	return r
}

// setCookie returns the Set-Cookie of a response named name, nil if none.
func setCookie(r pageResp, name string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}
