package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const apnsToken = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"

// p8 makes a provider key as Apple hands it out: PKCS#8 P-256 in PEM.
func p8(t testing.TB) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// fakeAPNs is Apple's provider API over TLS and HTTP/2: it checks each
// request as APNs does and answers with reply's status and reason.
type fakeAPNs struct {
	t   *testing.T
	srv *httptest.Server
	key *ecdsa.PublicKey

	mu     sync.Mutex
	jwts   []string
	bodies []map[string]any
	heads  []http.Header
	reply  func(n int) (int, string)
}

func newFakeAPNs(t *testing.T, key *ecdsa.PublicKey) *fakeAPNs {
	f := &fakeAPNs{t: t, key: key, reply: func(int) (int, string) { return 200, "" }}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.EnableHTTP2 = true
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPNs) serve(w http.ResponseWriter, r *http.Request) {
	t := f.t
	answer := func(status int, reason string) {
		w.Header().Set("apns-id", "00000000-0000-0000-0000-000000000000")
		w.WriteHeader(status)
		if reason != "" {
			json.NewEncoder(w).Encode(map[string]string{"reason": reason})
		}
	}
	if r.ProtoMajor != 2 {
		t.Errorf("APNs: request over %s, want HTTP/2", r.Proto)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/3/device/"+apnsToken {
		answer(404, "BadPath")
		return
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("authorization"), "bearer ")
	if !ok {
		answer(403, "MissingProviderToken")
		return
	}
	var claims jwt.MapClaims
	tok, err := jwt.ParseWithClaims(bearer, &claims, func(*jwt.Token) (any, error) { return f.key, nil }, jwt.WithValidMethods([]string{"ES256"}))
	if err != nil || tok.Header["kid"] != "KEY123" || claims["iss"] != "TEAM456" {
		t.Errorf("APNs: provider token %v, kid %v, claims %v", err, tok.Header["kid"], claims)
		answer(403, "InvalidProviderToken")
		return
	}
	body, _ := io.ReadAll(r.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		answer(400, "PayloadEmpty")
		return
	}
	f.mu.Lock()
	f.jwts = append(f.jwts, bearer)
	f.bodies = append(f.bodies, m)
	f.heads = append(f.heads, r.Header.Clone())
	n := len(f.jwts)
	f.mu.Unlock()
	answer(f.reply(n))
}

func newTestAPNs(t *testing.T, f *fakeAPNs, key []byte, now func() time.Time) *APNs {
	t.Helper()
	a, err := NewAPNs(APNsConfig{Endpoint: f.srv.URL, Key: key, KeyID: "KEY123", TeamID: "TEAM456", Topic: "com.yuncan.app"}, f.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if now != nil {
		a.now = now
	}
	return a
}

var alertPayload = Payload{NotificationID: "0190a5b2-0000-7000-8000-000000000001", Kind: KindSeekingAlert, Title: "寻人", Body: "附近",
	Data: Data{CaseID: "case-1", Ring: 1, DistanceKM: 3}, Urgency: UrgencyHigh, TTL: 6 * time.Hour, Collapse: "case-1"}

func TestAPNsPush(t *testing.T) {
	priv, key := p8(t)
	f := newFakeAPNs(t, &priv.PublicKey)
	now := time.Now()
	a := newTestAPNs(t, f, key, func() time.Time { return now })
	ios := Target{DeviceID: "d-1", Platform: "ios", Token: apnsToken}
	for range 2 {
		if err := a.Push(context.Background(), ios, alertPayload); err != nil {
			t.Fatal(err)
		}
	}
	h := f.heads[0]
	for k, want := range map[string]string{
		"apns-topic": "com.yuncan.app", "apns-push-type": "alert", "apns-priority": "10",
		"apns-expiration": strconv.FormatInt(now.Add(6*time.Hour).Unix(), 10),
		"apns-id":         alertPayload.NotificationID, "apns-collapse-id": collapseTopic("case-1"),
	} {
		if h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, h.Get(k), want)
		}
	}
	aps := f.bodies[0]["aps"].(map[string]any)
	if alert := aps["alert"].(map[string]any); alert["title"] != "寻人" || alert["body"] != "附近" || aps["interruption-level"] != "time-sensitive" {
		t.Errorf("aps = %v", aps)
	}
	if f.bodies[0]["id"] != alertPayload.NotificationID || f.bodies[0]["data"].(map[string]any)["case_id"] != "case-1" {
		t.Errorf("custom data = %v", f.bodies[0])
	}
	// The provider token is reused, then renewed once it is 40 minutes
	// old (Apple refuses tokens older than an hour).
	if f.jwts[0] != f.jwts[1] {
		t.Error("the provider token was not reused")
	}
	now = now.Add(41 * time.Minute)
	if err := a.Push(context.Background(), ios, alertPayload); err != nil {
		t.Fatal(err)
	}
	if f.jwts[2] == f.jwts[1] {
		t.Error("an old provider token was reused")
	}
}

func TestAPNsRenewsARefusedProviderToken(t *testing.T) {
	priv, key := p8(t)
	f := newFakeAPNs(t, &priv.PublicKey)
	f.reply = func(n int) (int, string) {
		if n == 1 {
			return 403, "ExpiredProviderToken"
		}
		return 200, ""
	}
	now := time.Now()
	a := newTestAPNs(t, f, key, func() time.Time { now = now.Add(time.Second); return now })
	if err := a.Push(context.Background(), Target{Token: apnsToken}, alertPayload); err != nil {
		t.Fatal(err)
	}
	if len(f.jwts) != 2 || f.jwts[0] == f.jwts[1] {
		t.Errorf("after ExpiredProviderToken: %d requests, want a second with a new token", len(f.jwts))
	}
}

func TestAPNsAnswers(t *testing.T) {
	priv, key := p8(t)
	for _, tc := range []struct {
		status      int
		reason      string
		gone, retry bool
	}{
		{410, "Unregistered", true, false},
		{410, "ExpiredToken", true, false},
		{400, "BadDeviceToken", false, false},
		{400, "DeviceTokenNotForTopic", false, false},
		{413, "PayloadTooLarge", false, false},
		{429, "TooManyRequests", false, true},
		{500, "InternalServerError", false, true},
		{503, "ServiceUnavailable", false, true},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			f := newFakeAPNs(t, &priv.PublicKey)
			f.reply = func(int) (int, string) { return tc.status, tc.reason }
			err := newTestAPNs(t, f, key, nil).Push(context.Background(), Target{Token: apnsToken}, alertPayload)
			var pe *PushError
			if !errors.As(err, &pe) || pe.Gone != tc.gone || pe.Retry != tc.retry || pe.Status != tc.status || pe.Reason != tc.reason {
				t.Fatalf("got %+v (%v), want gone %v retry %v", pe, err, tc.gone, tc.retry)
			}
			if strings.Contains(err.Error(), apnsToken) {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
	t.Run("malformed token", func(t *testing.T) {
		f := newFakeAPNs(t, &priv.PublicKey)
		err := newTestAPNs(t, f, key, nil).Push(context.Background(), Target{Token: "not-hex/../../x"}, alertPayload)
		var pe *PushError
		if !errors.As(err, &pe) || !pe.Gone || len(f.jwts) != 0 {
			t.Errorf("got %v after %d requests, want gone without asking Apple", err, len(f.jwts))
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		f := newFakeAPNs(t, &priv.PublicKey)
		a := newTestAPNs(t, f, key, nil)
		f.srv.Close()
		err := a.Push(context.Background(), Target{Token: apnsToken}, alertPayload)
		var pe *PushError
		if !errors.As(err, &pe) || !pe.Retry || pe.Reason != "network" || strings.Contains(err.Error(), apnsToken) {
			t.Errorf("got %v, want a retryable network error without the token", err)
		}
	})
}

func TestNewAPNsChecksConfig(t *testing.T) {
	_, key := p8(t)
	ok := APNsConfig{Key: key, KeyID: "K", TeamID: "T", Topic: "com.yuncan.app"}
	if a, err := NewAPNs(ok, nil); err != nil || a.cfg.Endpoint != DefaultAPNsEndpoint {
		t.Fatalf("NewAPNs = %v, %v", a, err)
	}
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte("x")})
	for name, mutate := range map[string]func(*APNsConfig){
		"no key id":     func(c *APNsConfig) { c.KeyID = "" },
		"no team":       func(c *APNsConfig) { c.TeamID = "" },
		"no topic":      func(c *APNsConfig) { c.Topic = "" },
		"not pem":       func(c *APNsConfig) { c.Key = []byte("nope") },
		"wrong pem":     func(c *APNsConfig) { c.Key = rsaPEM },
		"http endpoint": func(c *APNsConfig) { c.Endpoint = "http://api.push.apple.com" },
		"path":          func(c *APNsConfig) { c.Endpoint = "https://api.push.apple.com/3/device" },
	} {
		c := ok
		mutate(&c)
		if _, err := NewAPNs(c, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if s := ok.String() + ok.GoString(); strings.Contains(s, "PRIVATE KEY") {
		t.Errorf("String shows the key: %s", s)
	}
}
