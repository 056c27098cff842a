package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/audit"
	"github.com/yuncan/yuncan/internal/certify"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/geo"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/incidents"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/location"
	"github.com/yuncan/yuncan/internal/media"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/rights"
	"github.com/yuncan/yuncan/internal/seeking"
	"github.com/yuncan/yuncan/internal/sharing"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
	"github.com/yuncan/yuncan/internal/tickets"
)

// apiEnv is the server wired as cmd/yuncan wires it (real database, real
// keyring, outbox SMS, outbox certifier, file media store, the inbox with
// Web Push, the location index), served over HTTP by httptest.
// Every response that goes through it is checked against the OpenAPI
// document: its status must be documented for the route and its body
// must match the documented schema.
type apiEnv struct {
	target string
	srv    *Server
	ts     *httptest.Server
	db     *sqlstore.DB
	keys   *keyring.Keyring
	ident  *identity.Service
	// consent is the gate, restricted by versions as in cmd/yuncan.
	consent  *consent.Service
	versions *consent.Versions
	minors   *consent.Minors
	media    media.Store
	outbox   string
	// seeking is the people-seeking service, as cmd/yuncan wires it.
	seeking *seeking.Service
	// realNames verifies real names through the outbox certifier, whose
	// file is certOutbox; the real_name consent gates it and its
	// withdrawal deletes the verification.
	realNames  *identity.RealNameVerifier
	certOutbox string
	// inbox and push deliver notifications; Web Push is the only push
	// channel, and its client refuses to reach any network.
	inbox *notify.Inbox
	push  *notify.Dispatcher
	// positions is the location service, over a geo index.
	positions *location.Service
	// tickets holds complaints, reports and requests.
	tickets *tickets.Service
	// rights builds data exports (P65) into exportsDir; mediaDir is the
	// media store's folder.
	rights      *rights.Service
	rightsClock *offsetClock
	exportsDir  string
	mediaDir    string
}

// offsetClock is the time now plus an offset a test moves forward.
type offsetClock struct{ offset atomic.Int64 }

func (c *offsetClock) now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *offsetClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

type apiEnvOptions struct {
	logger   *slog.Logger    // nil: discard
	identity identity.Config // zero: the defaults production runs with
	sms      notify.Sender   // nil: an Outbox in a temporary folder
}

// newAPIEnv builds a server on target's database. Everything is closed when
// the test ends.
func newAPIEnv(tb testing.TB, target storetest.Target, o apiEnvOptions) *apiEnv {
	tb.Helper()
	db := storetest.Open(tb, target)
	keys, err := keyring.New()
	if err != nil {
		tb.Fatal(err)
	}
	outbox := filepath.Join(tb.TempDir(), "outbox", "sms.jsonl")
	sms := o.sms
	if sms == nil {
		sms = notify.NewOutbox(outbox, nil)
	}
	logger := o.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dm, err := consent.LoadDataMap()
	if err != nil {
		tb.Fatal(err)
	}
	versions := consent.NewVersions(db.Policy(), dm, nil)
	if err := versions.Load(context.Background()); err != nil {
		tb.Fatal(err)
	}
	policyVersion := versions.CurrentVersion
	cs := consent.NewService(db.Consent(), dm, policyVersion, nil, logger)
	cs.Restrict(versions.RequireAccepted)
	ident := identity.NewService(db.Identity(), keys, sms, policyVersion, nil, o.identity)
	mediaDir := filepath.Join(tb.TempDir(), "media")
	ms := media.NewFileStore(mediaDir)
	// Complaints, reports and requests (P67): the guardian form files
	// tickets (P71), so the minors rules write through the tickets'
	// guardian channel, as cmd/yuncan wires them.
	inbox := notify.NewInbox(db.Notify(), notify.InboxConfig{}, nil)
	// P52: one audit log for every area, as cmd/yuncan wires it.
	auditLog := audit.NewLog(db.Audit(), nil)
	tk := tickets.NewService(tickets.Deps{Store: db.Tickets(), Keys: keys, Notifier: inbox, Accounts: ident, Audit: auditLog, Logger: logger}, tickets.Config{})
	minors := consent.NewMinors(tk.GuardianChannel(db.Minors()), db.Consent(), cs, ident, ms, keys, nil, consent.MinorsConfig{}, logger)
	sk := seeking.NewService(seeking.Deps{Store: db.Seeking(), RealNames: ident, Gate: cs, Media: ms, Keys: keys,
		Reach: func(ctx context.Context, id string) (int, int, error) {
			return inbox.Counts(ctx, notify.KindSeekingAlert, id)
		},
		Audit: auditLog, Logger: logger}, seeking.Config{})

	// P10: real-name verification asks the separate real_name consent
	// first, and withdrawing it deletes the verification (P63).
	certOutbox := filepath.Join(tb.TempDir(), "outbox", "certifier.jsonl")
	realNames := identity.NewRealNameVerifier(ident, certify.NewOutbox(certOutbox, nil), func(ctx context.Context, userID string) error {
		return cs.Require(ctx, consent.User(userID), consent.PurposeRealName)
	}, identity.RealNameConfig{})
	cs.OnWithdraw(consent.PurposeRealName, "identity.real_name", func(ctx context.Context, sub consent.Subject) error {
		if sub.Kind != consent.SubjectUser {
			return nil
		}
		return ident.DeleteRealName(ctx, sub.ID)
	})

	// The inbox, and Web Push with fresh VAPID keys.
	vapid, err := notify.GenerateVAPIDKeys()
	if err != nil {
		tb.Fatal(err)
	}
	wp, err := notify.NewWebPush(notify.WebPushConfig{Keys: vapid, Subject: "mailto:push@yuncan.example"}, &http.Client{Transport: apiNoNetwork{}})
	if err != nil {
		tb.Fatal(err)
	}
	push := notify.NewDispatcher(inbox, map[notify.Channel]notify.Pusher{notify.ChannelWebPush: wp}, apiDispatcherConfig(cs), logger)

	// Positions for people-seeking alerts, over the geo index.
	positions := location.NewService(db.Location(), &geo.Index{}, cs, keys, nil, location.Config{}, logger)
	if _, err := positions.Load(context.Background()); err != nil {
		tb.Fatal(err)
	}

	// Data export (P65), its archives in a folder of their own.
	exportsDir := filepath.Join(tb.TempDir(), "exports")
	// Cancellation (P66) as cmd/yuncan wires it; its clock runs ahead
	// when a test moves it (rightsClock), past the known-login wait and
	// the cooling-off.
	rightsClock := &offsetClock{}
	rs := rights.NewService(rights.Deps{Store: db.Rights(), Keys: keys, SealContext: sqlstore.SealContext, Media: ms, Dir: exportsDir, Logger: logger,
		Now: rightsClock.now, Codes: ident, Retention: dm.RetentionOf,
		Positions: positions, Consents: cs, Notifier: push}, rights.Config{})
	ident.CloseSignUpWhen(rs.Ceasing)

	// Security incidents (P54), told through the dispatcher, as
	// cmd/yuncan wires them; tests run the notification job through
	// srv.incidents.
	inc := incidents.NewService(incidents.Deps{Store: db.Incidents(), Notifier: push, Audit: auditLog, Logger: logger}, incidents.Config{})

	srv := New(Config{Version: "test"}, Deps{Logger: logger, Identity: ident, Consent: cs, Location: positions, Versions: versions, Minors: minors,
		Media: ms, DB: db, Seeking: sk, RealNames: realNames, Inbox: inbox, Push: push, Tickets: tk, Audit: auditLog, Rights: rs, Incidents: inc,
		// P33: the sharing ledger, as cmd/yuncan wires it (the outboxes
		// here disclose nothing, so nothing is wrapped).
		Sharing: sharing.NewLedger(sharing.Deps{Store: db.Sharing(), Consent: cs, Keys: keys, Logger: logger}, sharing.Config{})})
	ts := httptest.NewServer(srv)
	tb.Cleanup(ts.Close)
	// Registered after ts.Close, so it runs first: open streams end and
	// Close need not wait for them.
	tb.Cleanup(srv.StopStreams)
	return &apiEnv{target: target.Name, srv: srv, ts: ts, db: db, keys: keys, ident: ident, consent: cs, versions: versions, minors: minors, media: ms, outbox: outbox,
		seeking: sk, realNames: realNames, certOutbox: certOutbox, inbox: inbox, push: push, positions: positions, tickets: tk,
		rights: rs, rightsClock: rightsClock, exportsDir: exportsDir, mediaDir: mediaDir}
}

// apiNoNetwork is the transport of every push client in tests: nothing
// leaves the machine.
type apiNoNetwork struct{}

func (apiNoNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("tests reach no network (%s)", r.URL.Host)
}

// apiForEachTarget runs fn, in parallel, on every storage target: SQLite
// always, PostgreSQL when YUNCAN_TEST_POSTGRES_DSN is set.
func apiForEachTarget(t *testing.T, fn func(t *testing.T, target storetest.Target)) {
	t.Parallel()
	for _, target := range storetest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, target)
		})
	}
}

var apiPhoneSeq atomic.Int64

// apiPhone returns a valid mainland mobile number not used before in this
// process.
func apiPhone() string { return fmt.Sprintf("138%08d", apiPhoneSeq.Add(1)) }

// apiE164 is the stored form of a number made by apiPhone.
func apiE164(phone string) string { return "+86" + phone }

// apiResp is a response, read in full.
type apiResp struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map.
func (r apiResp) JSON(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		tb.Fatalf("body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// apiReq is one request. Body is sent as is when it is []byte or string,
// else marshalled as JSON (with Content-Type application/json unless
// CType says otherwise).
type apiReq struct {
	Method, Path string
	Token        string // bearer token
	Device       string // X-Device-Token
	CType        string
	Body         any
	Header       map[string]string
}

// do sends r, checks the response against the OpenAPI document and, for
// any 4xx or 5xx, the error shape.
func (e *apiEnv) do(tb testing.TB, r apiReq) apiResp {
	tb.Helper()
	var body io.Reader
	ctype := r.CType
	switch b := r.Body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case string:
		body = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		body = bytes.NewReader(j)
		if ctype == "" {
			ctype = "application/json"
		}
	}
	req, err := http.NewRequest(r.Method, e.ts.URL+r.Path, body)
	if err != nil {
		tb.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	if r.Device != "" {
		req.Header.Set(deviceHeader, r.Device)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	b, err := apiReadBody(res)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", r.Method, r.Path, err)
	}
	out := apiResp{Status: res.StatusCode, Header: res.Header, Body: b}
	if out.Status >= 400 && strings.HasPrefix(r.Path, "/api/") {
		apiCheckErrorShape(tb, r.Method+" "+r.Path, out)
	}
	apiCheckAgainstDoc(tb, r.Method, r.Path, out)
	return out
}

// apiReadBody reads a response in full and closes it. An event stream
// never ends: it is read up to the end of its first "ready" event (or
// for at most 10 seconds), then closed.
func apiReadBody(res *http.Response) ([]byte, error) {
	defer res.Body.Close()
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		return io.ReadAll(res.Body)
	}
	stop := time.AfterFunc(10*time.Second, func() { res.Body.Close() })
	defer stop.Stop()
	var out []byte
	ready := false
	br := bufio.NewReader(res.Body)
	for {
		line, err := br.ReadString('\n')
		out = append(out, line...)
		if err != nil {
			return out, fmt.Errorf("the event stream ended before its ready event: %w", err)
		}
		switch line = strings.TrimRight(line, "\r\n"); {
		case line == "event: ready":
			ready = true
		case line == "" && ready:
			return out, nil
		}
	}
}

// get, post and friends are short forms of do for JSON calls.
func (e *apiEnv) get(tb testing.TB, path, token string) apiResp {
	tb.Helper()
	return e.do(tb, apiReq{Method: "GET", Path: path, Token: token})
}

func (e *apiEnv) send(tb testing.TB, method, path, token string, body any) apiResp {
	tb.Helper()
	return e.do(tb, apiReq{Method: method, Path: path, Token: token, Body: body})
}

// apiWant fails unless r has status.
func apiWant(tb testing.TB, r apiResp, status int) {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
}

// apiErrorShape is the one error shape; decoding it strictly proves no
// other member is present.
type apiErrorShape struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
		Purpose string            `json:"purpose"`
	} `json:"error"`
}

func apiCheckErrorShape(tb testing.TB, what string, r apiResp) apiErrorShape {
	tb.Helper()
	var e apiErrorShape
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		tb.Fatalf("%s: status %d: body is not the error shape: %v\n%s", what, r.Status, err, r.Body)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		tb.Fatalf("%s: status %d: error without code or message: %s", what, r.Status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Fatalf("%s: error with Content-Type %q", what, ct)
	}
	return e
}

// apiWantError fails unless r is an error with status and code (a 4xx, in
// the error shape) and returns it.
func apiWantError(tb testing.TB, r apiResp, status int, code string) apiErrorShape {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("status %d, want %d (%s); body: %s", r.Status, status, code, r.Body)
	}
	e := apiCheckErrorShape(tb, "response", r)
	if e.Error.Code != code {
		tb.Fatalf("error code %q, want %q; body: %s", e.Error.Code, code, r.Body)
	}
	if status == http.StatusTooManyRequests {
		apiWantRetryAfter(tb, r)
	}
	return e
}

// apiWantRetryAfter checks Retry-After holds a positive number of seconds
// no longer than a day.
func apiWantRetryAfter(tb testing.TB, r apiResp) int {
	tb.Helper()
	var n int
	if _, err := fmt.Sscanf(r.Header.Get("Retry-After"), "%d", &n); err != nil || n < 1 || n > 86400 {
		tb.Fatalf("Retry-After %q is not a number of seconds", r.Header.Get("Retry-After"))
	}
	return n
}

// codeFor returns the last code the outbox holds for phone.
func (e *apiEnv) codeFor(tb testing.TB, phone string) string {
	tb.Helper()
	f, err := os.Open(e.outbox)
	if err != nil {
		tb.Fatalf("outbox: %v", err)
	}
	defer f.Close()
	code := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m struct{ To, Code string }
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			tb.Fatalf("outbox line: %v", err)
		}
		if m.To == apiE164(phone) {
			code = m.Code
		}
	}
	if code == "" {
		tb.Fatalf("no code in the outbox for %s", phone)
	}
	return code
}

// outboxLines counts the messages sent so far.
func (e *apiEnv) outboxLines(tb testing.TB) int {
	tb.Helper()
	b, err := os.ReadFile(e.outbox)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		tb.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

// sendCode asks for a code for phone and returns it, read from the outbox.
func (e *apiEnv) sendCode(tb testing.TB, phone string) string {
	tb.Helper()
	apiWant(tb, e.send(tb, "POST", "/api/v1/auth/sms-codes", "", map[string]string{"phone": phone}), http.StatusAccepted)
	return e.codeFor(tb, phone)
}

// policyVersion is the version GET /api/v1/privacy/policy names.
func (e *apiEnv) policyVersion(tb testing.TB) string {
	tb.Helper()
	r := e.get(tb, "/api/v1/privacy/policy", "")
	apiWant(tb, r, http.StatusOK)
	return r.JSON(tb)["version"].(string)
}

// signUp creates an account for phone the way an app does and returns the
// session token and the login response.
func (e *apiEnv) signUp(tb testing.TB, phone string) (string, map[string]any) {
	tb.Helper()
	code := e.sendCode(tb, phone)
	r := e.send(tb, "POST", "/api/v1/auth/login", "", map[string]string{"phone": phone, "code": code, "accept_policy_version": e.policyVersion(tb), "age_band": "adult"})
	apiWant(tb, r, http.StatusOK)
	m := r.JSON(tb)
	if m["created"] != true {
		tb.Fatalf("sign-up did not create the account: %s", r.Body)
	}
	return m["token"].(string), m
}

// userRecord reads the account of phone straight from the store.
func (e *apiEnv) userRecord(tb testing.TB, phone string) (identity.UserRecord, error) {
	tb.Helper()
	return e.db.Identity().UserByPhoneIndex(context.Background(), e.keys.BlindIndex("phone", apiE164(phone)))
}

// wantNoAccount fails when phone has an account.
func (e *apiEnv) wantNoAccount(tb testing.TB, phone string) {
	tb.Helper()
	if _, err := e.userRecord(tb, phone); yuncan.ErrorCode(err) != yuncan.NotFound {
		tb.Fatalf("an account exists for %s (err %v)", phone, err)
	}
}

// apiSyncBuffer is a buffer a logger and a test may share.
type apiSyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *apiSyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *apiSyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// The OpenAPI document, parsed once.
var (
	apiDocOnce sync.Once
	apiDoc     map[string]any
	apiDocErr  error
)

func openAPIDoc(tb testing.TB) map[string]any {
	tb.Helper()
	apiDocOnce.Do(func() { apiDocErr = json.Unmarshal(openapiDoc, &apiDoc) })
	if apiDocErr != nil {
		tb.Fatalf("openapi.json is not JSON: %v", apiDocErr)
	}
	return apiDoc
}

// apiDocOperation finds the documented operation for a concrete path, with
// {param} segments matching any one segment.
func apiDocOperation(tb testing.TB, method, path string) (map[string]any, bool) {
	paths, _ := openAPIDoc(tb)["paths"].(map[string]any)
	segs := strings.Split(path, "/")
	// As a router does, a concrete segment wins over a {param}: of the
	// templates that match, take the one with the most concrete segments.
	var best map[string]any
	bestLiteral := -1
	for tmpl, item := range paths {
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		match, literal := true, 0
		for i := range ts {
			switch {
			case ts[i] == segs[i]:
				literal++
			case strings.HasPrefix(ts[i], "{") && strings.HasSuffix(ts[i], "}") && segs[i] != "":
			default:
				match = false
			}
		}
		if match && literal > bestLiteral {
			best, bestLiteral = item.(map[string]any), literal
		}
	}
	op, ok := best[strings.ToLower(method)].(map[string]any)
	return op, ok
}

// apiCheckAgainstDoc fails when a response to a documented operation has
// an undocumented status, lacks a required header, or has a body that
// does not match the documented schema. Paths the document does not know
// (unknown routes, /media) are not checked here.
func apiCheckAgainstDoc(tb testing.TB, method, path string, r apiResp) {
	tb.Helper()
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	op, ok := apiDocOperation(tb, method, path)
	if !ok {
		return
	}
	what := fmt.Sprintf("%s %s → %d", method, path, r.Status)
	responses, _ := op["responses"].(map[string]any)
	resp, ok := responses[fmt.Sprint(r.Status)]
	if !ok {
		tb.Fatalf("%s: status not documented in openapi.json; body: %s", what, r.Body)
	}
	rm := apiResolve(tb, resp).(map[string]any)
	if hs, ok := rm["headers"].(map[string]any); ok {
		for name, h := range hs {
			if req, _ := apiResolve(tb, h).(map[string]any)["required"].(bool); req && r.Header.Get(name) == "" {
				tb.Fatalf("%s: documented header %s is missing", what, name)
			}
		}
	}
	content, _ := rm["content"].(map[string]any)
	if len(content) == 0 {
		if len(r.Body) != 0 {
			tb.Fatalf("%s: documented without a body, got %q", what, r.Body)
		}
		return
	}
	mt := strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0])
	media, ok := content[mt].(map[string]any)
	if !ok {
		tb.Fatalf("%s: Content-Type %q not documented", what, mt)
	}
	schema, ok := media["schema"]
	if !ok || mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return
	}
	var v any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		tb.Fatalf("%s: body is not JSON: %v", what, err)
	}
	if errs := apiValidate(tb, schema, v, "$"); len(errs) > 0 {
		tb.Fatalf("%s: body does not match openapi.json:\n  %s\nbody: %s", what, strings.Join(errs, "\n  "), r.Body)
	}
}

// apiResolve follows a local $ref.
func apiResolve(tb testing.TB, v any) any {
	tb.Helper()
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v
		}
		v = apiPointer(tb, ref)
	}
	tb.Fatalf("openapi.json: $ref chain too long")
	return nil
}

// apiPointer returns what a "#/a/b" reference points at.
func apiPointer(tb testing.TB, ref string) any {
	tb.Helper()
	if !strings.HasPrefix(ref, "#/") {
		tb.Fatalf("openapi.json: only local references are used, got %q", ref)
	}
	var cur any = openAPIDoc(tb)
	for part := range strings.SplitSeq(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			tb.Fatalf("openapi.json: $ref %q does not resolve", ref)
		}
		if cur, ok = m[part]; !ok {
			tb.Fatalf("openapi.json: $ref %q does not resolve", ref)
		}
	}
	return cur
}

// apiValidate checks v against the subset of JSON Schema 2020-12 the
// document uses. A keyword it does not know fails the test, so that the
// document cannot grow a constraint the tests silently skip.
func apiValidate(tb testing.TB, schema, v any, at string) []string {
	tb.Helper()
	s, ok := schema.(map[string]any)
	if !ok {
		tb.Fatalf("openapi.json: schema at %s is not an object", at)
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	for kw, arg := range s {
		switch kw {
		case "description", "title", "examples", "contentMediaType", "default":
		case "$ref":
			errs = append(errs, apiValidate(tb, apiPointer(tb, arg.(string)), v, at)...)
		case "type":
			var types []any
			if t, ok := arg.(string); ok {
				types = []any{t}
			} else {
				types = arg.([]any)
			}
			if !slices.ContainsFunc(types, func(t any) bool { return apiIsType(v, t.(string)) }) {
				fail("%v is not of type %v", v, arg)
			}
		case "properties":
			if m, ok := v.(map[string]any); ok {
				for name, ps := range arg.(map[string]any) {
					if pv, ok := m[name]; ok {
						errs = append(errs, apiValidate(tb, ps, pv, at+"."+name)...)
					}
				}
			}
		case "required":
			if m, ok := v.(map[string]any); ok {
				for _, name := range arg.([]any) {
					if _, ok := m[name.(string)]; !ok {
						fail("required member %q is missing", name)
					}
				}
			}
		case "additionalProperties":
			m, ok := v.(map[string]any)
			if !ok {
				break
			}
			props, _ := s["properties"].(map[string]any)
			for name, pv := range m {
				if _, known := props[name]; known {
					continue
				}
				switch a := arg.(type) {
				case bool:
					if !a {
						fail("member %q is not documented", name)
					}
				default:
					errs = append(errs, apiValidate(tb, a, pv, at+"."+name)...)
				}
			}
		case "items":
			if a, ok := v.([]any); ok {
				for i, item := range a {
					errs = append(errs, apiValidate(tb, arg, item, fmt.Sprintf("%s[%d]", at, i))...)
				}
			}
		case "enum":
			if !slices.ContainsFunc(arg.([]any), func(x any) bool { return x == v }) {
				fail("%v is not one of %v", v, arg)
			}
		case "const":
			if v != arg {
				fail("%v is not %v", v, arg)
			}
		case "pattern":
			if str, ok := v.(string); ok && !regexp.MustCompile(arg.(string)).MatchString(str) {
				fail("%q does not match %s", str, arg)
			}
		case "minLength", "maxLength":
			if str, ok := v.(string); ok {
				n, lim := len([]rune(str)), int(arg.(float64))
				if kw == "minLength" && n < lim || kw == "maxLength" && n > lim {
					fail("length %d breaks %s %d", n, kw, lim)
				}
			}
		case "minItems":
			if a, ok := v.([]any); ok && len(a) < int(arg.(float64)) {
				fail("%d items, want at least %v", len(a), arg)
			}
		case "maxItems":
			if a, ok := v.([]any); ok && len(a) > int(arg.(float64)) {
				fail("%d items, want at most %v", len(a), arg)
			}
		case "minimum":
			if f, ok := v.(float64); ok && f < arg.(float64) {
				fail("%v is below %v", f, arg)
			}
		case "maximum":
			if f, ok := v.(float64); ok && f > arg.(float64) {
				fail("%v is above %v", f, arg)
			}
		case "exclusiveMinimum":
			if f, ok := v.(float64); ok && f <= arg.(float64) {
				fail("%v is not above %v", f, arg)
			}
		case "exclusiveMaximum":
			if f, ok := v.(float64); ok && f >= arg.(float64) {
				fail("%v is not below %v", f, arg)
			}
		case "format":
			if !slices.Contains([]string{"date-time", "date", "uuid", "uri-reference", "uri"}, arg.(string)) {
				tb.Fatalf("openapi.json: format %q at %s is not checked by apiValidate; teach apiFormatOK", arg, at)
			}
			if str, ok := v.(string); ok && !apiFormatOK(arg.(string), str) {
				fail("%q is not a %s", str, arg)
			}
		case "oneOf":
			n := 0
			for _, sub := range arg.([]any) {
				if len(apiValidate(tb, sub, v, at)) == 0 {
					n++
				}
			}
			if n != 1 {
				fail("matches %d of the oneOf schemas, want 1", n)
			}
		default:
			tb.Fatalf("openapi.json: schema keyword %q at %s is not checked by apiValidate; teach it", kw, at)
		}
	}
	return errs
}

func apiIsType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	}
	return false
}

func apiFormatOK(format, s string) bool {
	switch format {
	case "date-time":
		_, err := time.Parse(time.RFC3339, s)
		return err == nil
	case "date":
		_, err := time.Parse(time.DateOnly, s)
		return err == nil
	case "uuid":
		_, err := uuid.Parse(s)
		return err == nil && len(s) == 36
	case "uri-reference":
		return s != "" && !strings.ContainsAny(s, " \n")
	case "uri":
		u, err := url.Parse(s)
		return err == nil && u.Scheme != "" && !strings.ContainsAny(s, " \n")
	}
	return true
}

// apiDispatcherConfig wires the dispatcher's consent gates as serve does:
// marketing pushes need marketing_push (P60), push services abroad need
// cross_border_push (P50).
func apiDispatcherConfig(cs *consent.Service) notify.DispatcherConfig {
	granted := func(p consent.Purpose) func(context.Context, notify.Subject) (bool, error) {
		return func(ctx context.Context, s notify.Subject) (bool, error) {
			return cs.Granted(ctx, consent.Subject{Kind: consent.SubjectKind(s.Kind), ID: s.ID}, p)
		}
	}
	return notify.DispatcherConfig{MarketingAllowed: granted(consent.PurposeMarketingPush), CrossBorderAllowed: granted(consent.PurposeCrossBorderPush)}
}
