package server

import (
	"bufio"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/storetest"
)

// recordingPusher stands for APNs or FCM: it records which devices were
// pushed.
type recordingPusher struct {
	mu      sync.Mutex
	devices []string
}

func (p *recordingPusher) Push(_ context.Context, t notify.Target, _ notify.Payload) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.devices = append(p.devices, t.DeviceID)
	return nil
}

func (p *recordingPusher) pushed() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.devices)
}

// inboxEnv is the API with the notify area wired as cmd/yuncan wires it,
// but pushing to local fakes.
type inboxEnv struct {
	*apiEnv
	inbox *notify.Inbox
	disp  *notify.Dispatcher
	fcm   *recordingPusher
}

type inboxEnvOptions struct {
	webPush   notify.Pusher // nil: none
	heartbeat time.Duration // zero: 50ms
	// timeout, when set, is the HTTP server's read and write timeout.
	timeout time.Duration
}

func newInboxEnv(tb testing.TB, target storetest.Target, o inboxEnvOptions) *inboxEnv {
	tb.Helper()
	e := newAPIEnv(tb, target, apiEnvOptions{})
	inbox := notify.NewInbox(e.db.Notify(), notify.InboxConfig{}, nil)
	fcm := &recordingPusher{}
	pushers := map[notify.Channel]notify.Pusher{notify.ChannelFCM: fcm}
	if o.webPush != nil {
		pushers[notify.ChannelWebPush] = o.webPush
	}
	cfg := apiDispatcherConfig(e.consent)
	cfg.BaseDelay = time.Millisecond
	disp := notify.NewDispatcher(inbox, pushers, cfg, nil)
	if o.heartbeat == 0 {
		o.heartbeat = 50 * time.Millisecond
	}
	srv := New(Config{Version: "test"}, Deps{Logger: slog.New(slog.DiscardHandler), Identity: e.ident, Consent: e.consent,
		Versions: e.versions, Minors: e.minors, Media: e.media, DB: e.db, Inbox: inbox, Push: disp, StreamHeartbeat: o.heartbeat})
	ts := httptest.NewUnstartedServer(srv)
	ts.Config.ReadTimeout, ts.Config.WriteTimeout = o.timeout, o.timeout
	ts.Start()
	tb.Cleanup(ts.Close)
	tb.Cleanup(srv.StopStreams)
	e.srv, e.ts = srv, ts
	return &inboxEnv{apiEnv: e, inbox: inbox, disp: disp, fcm: fcm}
}

// registerDevice registers an Android phone and returns its id and token.
func (e *inboxEnv) registerDevice(tb testing.TB, platform string) (string, string) {
	tb.Helper()
	r := e.send(tb, "POST", "/api/v1/devices", "", map[string]string{"platform": platform, "model": "m", "os_version": "14",
		"app_version": "1.0", "push_token": "fcm-token-" + platform})
	apiWant(tb, r, http.StatusCreated)
	m := r.JSON(tb)
	return m["device"].(map[string]any)["id"].(string), m["token"].(string)
}

func (e *inboxEnv) alert(tb testing.TB, to notify.Subject, caseID string, km int) notify.Result {
	tb.Helper()
	r, err := e.disp.Dispatch(context.Background(), notify.Notification{Recipient: to, Kind: notify.KindSeekingAlert,
		DedupeKey: "alert:" + caseID + ":" + to.ID, Title: "附近有人走失", Body: "请留意",
		Data: notify.Data{CaseID: caseID, Ring: 1, DistanceKM: km, Link: "/cases/" + caseID}})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func (e *inboxEnv) inboxItems(tb testing.TB, token, device, query string) map[string]any {
	tb.Helper()
	r := e.do(tb, apiReq{Method: "GET", Path: "/api/v1/inbox" + query, Token: token, Device: device})
	apiWant(tb, r, http.StatusOK)
	return r.JSON(tb)
}

func itemIDs(page map[string]any) []string {
	var ids []string
	for _, it := range page["items"].([]any) {
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	return ids
}

// P04, P56: a device before login and then its account each have an
// inbox; items are read, opened and dismissed with reasons that shield.
func TestAPIInboxJourney(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newInboxEnv(t, target, inboxEnvOptions{})
		devID, dev := e.registerDevice(t, "android")

		// P04: without login, the device has its own inbox and pushes.
		first := e.alert(t, notify.Device(devID), "case-1", 37).Notification
		page := e.inboxItems(t, "", dev, "")
		if page["unread"] != 1.0 || page["next_cursor"] != nil {
			t.Errorf("device inbox: %v", page)
		}
		item := page["items"].([]any)[0].(map[string]any)
		data := item["data"].(map[string]any)
		if item["id"] != first.ID || item["kind"] != "seeking_alert" || data["case_id"] != "case-1" || data["ring"] != 1.0 ||
			data["distance_km"] != 37.0 || item["read_at"] != nil || len(item["dismiss_reasons"].([]any)) != 5 {
			t.Errorf("item = %v", item)
		}
		if got := e.fcm.pushed(); !slices.Equal(got, []string{devID}) {
			t.Errorf("pushed %v", got)
		}

		// Logging in on the device binds it: the account's pushes reach it.
		phone := apiPhone()
		code := e.sendCode(t, phone)
		r := e.do(t, apiReq{Method: "POST", Path: "/api/v1/auth/login", Device: dev, Body: map[string]string{"phone": phone, "code": code,
			"accept_policy_version": e.policyVersion(t), "age_band": "adult"}})
		apiWant(t, r, http.StatusOK)
		tok := r.JSON(t)["token"].(string)
		user := r.JSON(t)["user"].(map[string]any)["id"].(string)
		var ids []string
		for _, c := range []string{"case-2", "case-3", "case-4"} {
			ids = append(ids, e.alert(t, notify.User(user), c, 10).Notification.ID)
		}
		if got := e.fcm.pushed(); len(got) != 4 {
			t.Errorf("after login, pushed %v; want the device 4 times", got)
		}
		// The bearer token means the account's inbox, the device header
		// alone the device's.
		slices.Reverse(ids)
		page = e.inboxItems(t, tok, "", "?limit=2")
		next, _ := page["next_cursor"].(string)
		got := itemIDs(page)
		got = append(got, itemIDs(e.inboxItems(t, tok, "", "?limit=2&cursor="+next))...)
		if !slices.Equal(got, ids) {
			t.Errorf("account inbox pages = %v, want %v", got, ids)
		}
		if got := itemIDs(e.inboxItems(t, "", dev, "")); !slices.Equal(got, []string{first.ID}) {
			t.Errorf("device inbox = %v", got)
		}

		// Read, open; another subject's item is not found.
		apiWant(t, e.do(t, apiReq{Method: "POST", Path: "/api/v1/inbox/" + ids[0] + "/read", Token: tok}), http.StatusNoContent)
		apiWant(t, e.do(t, apiReq{Method: "POST", Path: "/api/v1/inbox/" + ids[1] + "/open", Token: tok}), http.StatusNoContent)
		apiWantError(t, e.do(t, apiReq{Method: "POST", Path: "/api/v1/inbox/" + first.ID + "/read", Token: tok}), http.StatusNotFound, "not_found")
		apiWantError(t, e.do(t, apiReq{Method: "POST", Path: "/api/v1/inbox/" + ids[0] + "/open", Device: dev}), http.StatusNotFound, "not_found")
		page = e.inboxItems(t, tok, "", "")
		if page["unread"] != 1.0 {
			t.Errorf("unread = %v, want 1", page["unread"])
		}
		alerted, opened, _ := e.inbox.Counts(context.Background(), notify.KindSeekingAlert, "case-3")
		if alerted != 1 || opened != 1 {
			t.Errorf("reach of case-3 = %d alerted, %d opened", alerted, opened)
		}

		// P56: the "X" with reasons; the shields list; undo.
		dismiss := func(id string, body any) apiResp {
			return e.do(t, apiReq{Method: "POST", Path: "/api/v1/inbox/" + id + "/dismiss", Token: tok, Body: body})
		}
		apiWantError(t, dismiss(ids[2], map[string]any{"reasons": []string{"boring"}}), http.StatusBadRequest, "invalid")
		apiWantError(t, dismiss(ids[2], map[string]any{"reason": "kind"}), http.StatusBadRequest, "unknown_field")
		apiWantError(t, dismiss(ids[2], map[string]any{"reasons": []string{"kind", "kind", "kind", "kind", "kind", "kind"}}), http.StatusBadRequest, "invalid")
		if n := len(e.get(t, "/api/v1/me/shields", tok).JSON(t)["shields"].([]any)); n != 0 {
			t.Fatalf("a refused dismissal left %d shields", n)
		}
		apiWant(t, dismiss(ids[2], map[string]any{"reasons": []string{"not_interested", "not_nearby"}}), http.StatusNoContent)
		sh := e.get(t, "/api/v1/me/shields", tok)
		apiWant(t, sh, http.StatusOK)
		shields := sh.JSON(t)["shields"].([]any)
		var reasons []string
		for _, s := range shields {
			s := s.(map[string]any)
			reasons = append(reasons, s["reason"].(string))
			if s["notification_id"] != ids[2] || s["kind"] != "seeking_alert" {
				t.Errorf("shield = %v", s)
			}
		}
		slices.Sort(reasons)
		if !slices.Equal(reasons, []string{"not_interested", "not_nearby"}) {
			t.Errorf("shields = %v", shields)
		}
		if got := e.alert(t, notify.User(user), "case-9", 50); got.Skipped != notify.SkippedShielded {
			t.Errorf("an alert 50 km away after not_nearby at 10 km: %+v", got)
		}
		shieldID := shields[0].(map[string]any)["id"].(string)
		apiWantError(t, e.do(t, apiReq{Method: "DELETE", Path: "/api/v1/me/shields/" + shieldID, Device: dev}), http.StatusNotFound, "not_found")
		apiWant(t, e.do(t, apiReq{Method: "DELETE", Path: "/api/v1/me/shields/" + shieldID, Token: tok}), http.StatusNoContent)
		apiWantError(t, e.do(t, apiReq{Method: "DELETE", Path: "/api/v1/me/shields/" + shieldID, Token: tok}), http.StatusNotFound, "not_found")
		page = e.inboxItems(t, tok, "", "")
		for _, it := range page["items"].([]any) {
			if it := it.(map[string]any); it["id"] == ids[2] && it["dismissed_at"] == nil {
				t.Errorf("the dismissed item shows no dismissed_at: %v", it)
			}
		}

		// Bad requests.
		apiWantError(t, e.get(t, "/api/v1/inbox?limit=abc", tok), http.StatusBadRequest, "invalid")
		apiWantError(t, e.get(t, "/api/v1/inbox?limit=500", tok), http.StatusBadRequest, "invalid")
		apiWantError(t, e.get(t, "/api/v1/inbox?cursor=%21%21", tok), http.StatusBadRequest, "invalid")
		apiWantError(t, e.get(t, "/api/v1/inbox", ""), http.StatusUnauthorized, "unauthenticated")
		apiWantError(t, e.get(t, "/api/v1/me/shields", "nonsense"), http.StatusUnauthorized, "unauthenticated")

		// Logging out reverts the device to its own pushes (P04).
		apiWant(t, e.do(t, apiReq{Method: "POST", Path: "/api/v1/auth/logout", Token: tok}), http.StatusNoContent)
		before := len(e.fcm.pushed())
		e.alert(t, notify.User(user), "case-10", 1)
		if len(e.fcm.pushed()) != before {
			t.Error("after logout, the account's alert reached the device")
		}
	})
}

// localPushService is a browser's push service: it accepts encrypted
// Web Push requests (the decryption itself is tested in notify).
type localPushService struct {
	srv   *httptest.Server
	mu    sync.Mutex
	heads []http.Header
}

func newLocalPushService(t *testing.T) *localPushService {
	p := &localPushService{}
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		p.mu.Lock()
		p.heads = append(p.heads, r.Header.Clone())
		p.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *localPushService) count() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.heads) }

func TestAPIWebPushSubscription(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		ps := newLocalPushService(t)
		keys, err := notify.GenerateVAPIDKeys()
		if err != nil {
			t.Fatal(err)
		}
		wp, err := notify.NewWebPush(notify.WebPushConfig{Keys: keys, Subject: "mailto:push@yuncan.example"}, ps.srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		e := newInboxEnv(t, target, inboxEnvOptions{webPush: wp})
		r := e.get(t, "/api/v1/push/vapid-public-key", "")
		apiWant(t, r, http.StatusOK)
		if r.JSON(t)["public_key"] != keys.PublicKey {
			t.Errorf("vapid key = %s", r.Body)
		}

		devID, dev := e.registerDevice(t, "web")
		priv, _ := ecdh.P256().GenerateKey(rand.Reader)
		auth := make([]byte, 16)
		rand.Read(auth)
		sub := map[string]any{"endpoint": ps.srv.URL + "/wpush/abc",
			"keys": map[string]string{"p256dh": base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()), "auth": base64.RawURLEncoding.EncodeToString(auth)}}
		put := func(device string, body any) apiResp {
			return e.do(t, apiReq{Method: "PUT", Path: "/api/v1/devices/current/web-push", Device: device, Body: body})
		}
		apiWantError(t, put("", sub), http.StatusUnauthorized, "device_unknown")
		apiWantError(t, put(dev, map[string]any{"endpoint": "http://push.example/x", "keys": sub["keys"]}), http.StatusBadRequest, "invalid")
		apiWantError(t, put(dev, map[string]any{"endpoint": sub["endpoint"], "keys": map[string]string{"p256dh": "AAAA", "auth": "x"}}), http.StatusBadRequest, "invalid")
		apiWantError(t, put(dev, map[string]any{"endpoint": sub["endpoint"], "keys": sub["keys"], "expirationTime": nil}), http.StatusBadRequest, "unknown_field")
		apiWant(t, put(dev, sub), http.StatusNoContent)

		// P50: the browser's push service is abroad: nothing goes there
		// before the separate consent, though the inbox has the alert.
		e.alert(t, notify.Device(devID), "case-0", 3)
		if ps.count() != 0 {
			t.Fatalf("P50: the push service abroad got %d pushes without the consent", ps.count())
		}
		apiWant(t, e.do(t, apiReq{Method: "PUT", Path: "/api/v1/consents/" + string(consent.PurposeCrossBorderPush), Device: dev}), http.StatusNoContent)
		e.alert(t, notify.Device(devID), "case-1", 3)
		if ps.count() != 1 {
			t.Fatalf("the push service got %d pushes, want 1", ps.count())
		}
		h := ps.heads[0]
		if h.Get("Content-Encoding") != "aes128gcm" || h.Get("Urgency") != "high" || !strings.Contains(h.Get("Authorization"), "k="+keys.PublicKey) {
			t.Errorf("push headers %v", h)
		}
		apiWant(t, e.do(t, apiReq{Method: "DELETE", Path: "/api/v1/devices/current/web-push", Device: dev}), http.StatusNoContent)
		e.alert(t, notify.Device(devID), "case-2", 3)
		if ps.count() != 1 {
			t.Error("pushed after the subscription was deleted")
		}

		// Without Web Push wired, the key is unavailable.
		bare := newInboxEnv(t, target, inboxEnvOptions{})
		apiWantError(t, bare.get(t, "/api/v1/push/vapid-public-key", ""), http.StatusServiceUnavailable, "unavailable")
	})
}

// sse reads server-sent events from a response.
type sse struct {
	t    *testing.T
	resp *http.Response
	ch   chan sseEvent
}

type sseEvent struct {
	ID, Event, Data string
	Comment         bool
}

func openStream(t *testing.T, e *inboxEnv, header map[string]string) *sse {
	t.Helper()
	req, _ := http.NewRequest("GET", e.ts.URL+"/api/v1/inbox/stream", nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("stream: %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	s := &sse{t: t, resp: resp, ch: make(chan sseEvent, 100)}
	go func() {
		defer close(s.ch)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev != (sseEvent{}) {
					s.ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				s.ch <- sseEvent{Comment: true}
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Data = line[6:]
			}
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return s
}

// next returns the next event that is not a comment (or a comment when
// comments is set).
func (s *sse) next(comments bool) sseEvent {
	s.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-s.ch:
			if !ok {
				s.t.Fatal("the stream ended")
			}
			if ev.Comment != comments {
				continue
			}
			return ev
		case <-timeout:
			s.t.Fatal("no event within 5 seconds")
		}
	}
}

func (s *sse) ended(t *testing.T) bool {
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-s.ch:
			if !ok {
				return true
			}
		case <-timeout:
			return false
		}
	}
}

func TestAPIInboxStream(t *testing.T) {
	apiForEachTarget(t, func(t *testing.T, target storetest.Target) {
		e := newInboxEnv(t, target, inboxEnvOptions{timeout: 300 * time.Millisecond})
		devID, dev := e.registerDevice(t, "android")
		sub := notify.Device(devID)
		hdr := map[string]string{deviceHeader: dev}

		s := openStream(t, e, hdr)
		if ev := s.next(false); ev.Event != "ready" {
			t.Fatalf("first event %+v, want ready", ev)
		}
		// The server's timeouts do not end the stream.
		time.Sleep(600 * time.Millisecond)
		n1 := e.alert(t, sub, "case-1", 3).Notification
		ev := s.next(false)
		var item map[string]any
		json.Unmarshal([]byte(ev.Data), &item)
		if ev.Event != "notification" || item["id"] != n1.ID || ev.ID != notify.PositionOf(n1).String() {
			t.Fatalf("event %+v, want notification %s", ev, n1.ID)
		}
		if c := s.next(true); !c.Comment {
			t.Error("no heartbeat")
		}
		// A repeated delivery is not sent again; another subject's is not
		// sent at all.
		e.alert(t, sub, "case-1", 3)
		e.alert(t, notify.Device("someone-else"), "case-1", 3)

		// Disconnect; two arrive meanwhile; reconnecting with the last
		// event id replays them in order.
		s.resp.Body.Close()
		waitFor(t, "the stream to unsubscribe", func() bool { return e.inbox.Subscribers(sub) == 0 })
		n2 := e.alert(t, sub, "case-2", 3).Notification
		n3 := e.alert(t, sub, "case-3", 3).Notification
		s = openStream(t, e, map[string]string{deviceHeader: dev, "Last-Event-ID": ev.ID})
		for _, want := range []notify.Notification{n2, n3} {
			got := s.next(false)
			if got.Event != "notification" || got.ID != notify.PositionOf(want).String() {
				t.Errorf("replayed %+v, want %s", got, want.ID)
			}
		}
		if got := s.next(false); got.Event != "ready" || got.ID != notify.PositionOf(n3).String() {
			t.Errorf("after the replay: %+v", got)
		}
		s.resp.Body.Close()

		// An id this server never gave: re-sync.
		s = openStream(t, e, map[string]string{deviceHeader: dev, "Last-Event-ID": "!!"})
		if got := s.next(false); got.Event != "resync" {
			t.Errorf("a bad Last-Event-ID gave %+v", got)
		}
		if got := s.next(false); got.Event != "ready" || got.ID != notify.PositionOf(n3).String() {
			t.Errorf("after resync: %+v", got)
		}

		// Shutting down ends open streams.
		e.srv.StopStreams()
		if !s.ended(t) {
			t.Error("the stream outlived StopStreams")
		}
	})
}

func TestAPIInboxStreamAuth(t *testing.T) {
	t.Parallel()
	target := storetest.Targets(t)[0]
	e := newInboxEnv(t, target, inboxEnvOptions{})
	r := e.get(t, "/api/v1/inbox/stream", "")
	apiWantError(t, r, http.StatusUnauthorized, "unauthenticated")
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	apiWantError(t, e.do(t, apiReq{Method: "GET", Path: "/api/v1/inbox/stream", Device: "ycd_nonsense"}), http.StatusUnauthorized, "device_unknown")

	// A web page's EventSource sends the session cookie.
	tok, m := e.signUp(t, apiPhone())
	user := m["user"].(map[string]any)["id"].(string)
	s := openStream(t, e, map[string]string{"Cookie": sessionCookie + "=" + tok})
	s.next(false)
	n := e.alert(t, notify.User(user), "case-1", 1).Notification
	if ev := s.next(false); ev.Event != "notification" || !strings.Contains(ev.Data, n.ID) {
		t.Errorf("cookie stream got %+v", ev)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func FuzzDismissRequest(f *testing.F) {
	f.Add([]byte(`{"reasons":["not_interested","kind"]}`))
	f.Add([]byte(`{"reasons":[]}`))
	f.Add([]byte(`{"reasons":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req dismissRequest
		if decodeJSON(body, &req) == nil {
			req.Validate()
		}
	})
}

func FuzzWebPushRequest(f *testing.F) {
	f.Add([]byte(`{"endpoint":"https://fcm.googleapis.com/fcm/send/x","keys":{"p256dh":"BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM","auth":"tBHItJI5svbpez7KI4CCXg"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req webPushRequest
		if decodeJSON(body, &req) == nil {
			req.subscription().Validate()
		}
	})
}
