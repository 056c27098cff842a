package notify

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const fcmToken = "fcm-registration-token:APA91bSECRET"

// fakeGoogle is Google's OAuth token endpoint and the FCM v1 send API.
type fakeGoogle struct {
	t   *testing.T
	srv *httptest.Server
	key *rsa.PublicKey
	mu  sync.Mutex
	// tokens counts the access tokens handed out; messages holds the sent
	// messages.
	tokens   int
	messages []map[string]any
	auths    []string
	// refuse makes the token endpoint refuse every assertion quietly.
	refuse bool
	reply  func(n int) (int, string, http.Header)
}

func newFakeGoogle(t *testing.T, key *rsa.PublicKey) *fakeGoogle {
	g := &fakeGoogle{t: t, key: key, reply: func(int) (int, string, http.Header) { return 200, `{"name":"projects/p/messages/1"}`, nil }}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGoogle) serve(w http.ResponseWriter, r *http.Request) {
	t := g.t
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/token":
		r.ParseForm()
		var claims jwt.MapClaims
		tok, err := jwt.ParseWithClaims(r.PostForm.Get("assertion"), &claims, func(*jwt.Token) (any, error) { return g.key, nil },
			jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(g.srv.URL+"/token"), jwt.WithIssuer("push@p.iam.gserviceaccount.com"))
		if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || err != nil ||
			tok.Header["kid"] != "kid-1" || claims["scope"] != fcmScope {
			if !g.refuse {
				t.Errorf("token request: grant %q, assertion %v, claims %v", r.PostForm.Get("grant_type"), err, claims)
			}
			w.WriteHeader(400)
			w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		exp, _ := claims.GetExpirationTime()
		iat, _ := claims.GetIssuedAt()
		if exp == nil || iat == nil || exp.Sub(iat.Time) > time.Hour {
			t.Errorf("assertion iat %v, exp %v: more than an hour apart", iat, exp)
		}
		g.mu.Lock()
		g.tokens++
		n := g.tokens
		g.mu.Unlock()
		fmt.Fprintf(w, `{"access_token":"ya29.token-%d","expires_in":3599,"token_type":"Bearer"}`, n)
	case "/v1/projects/yuncan-p/messages:send":
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			w.WriteHeader(400)
			return
		}
		g.mu.Lock()
		g.messages = append(g.messages, m)
		g.auths = append(g.auths, r.Header.Get("Authorization"))
		n := len(g.messages)
		g.mu.Unlock()
		status, body, h := g.reply(n)
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	default:
		w.WriteHeader(404)
	}
}

// testRSAKey is made once: a 2048-bit key takes a while.
var testRSAKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func serviceAccount(t testing.TB, tokenURI string) (*rsa.PrivateKey, FCMCredentials) {
	t.Helper()
	k, err := testRSAKey()
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	js, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "yuncan-p", "private_key_id": "kid-1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "push@p.iam.gserviceaccount.com", "token_uri": tokenURI,
	})
	c, err := ParseFCMCredentials(js)
	if err != nil {
		t.Fatal(err)
	}
	return k, c
}

// newFCMPair starts the fake and an adapter for it.
func newFCMPair(t *testing.T) (*fakeGoogle, *FCM) {
	t.Helper()
	g := newFakeGoogle(t, nil)
	k, creds := serviceAccount(t, g.srv.URL+"/token")
	g.key = &k.PublicKey
	f, err := NewFCM(creds, g.srv.URL, g.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return g, f
}

func TestFCMPush(t *testing.T) {
	g, f := newFCMPair(t)
	now := time.Now()
	f.now = func() time.Time { return now }
	android := Target{DeviceID: "d-1", Platform: "android", Token: fcmToken}
	for range 2 {
		if err := f.Push(context.Background(), android, alertPayload); err != nil {
			t.Fatal(err)
		}
	}
	if g.tokens != 1 || g.auths[0] != "Bearer ya29.token-1" || g.auths[1] != g.auths[0] {
		t.Errorf("%d token requests, auths %v; want one token reused", g.tokens, g.auths)
	}
	msg := g.messages[0]["message"].(map[string]any)
	if msg["token"] != fcmToken {
		t.Errorf("token = %v", msg["token"])
	}
	if n := msg["notification"].(map[string]any); n["title"] != "寻人" || n["body"] != "附近" {
		t.Errorf("notification = %v", n)
	}
	data := msg["data"].(map[string]any)
	for k, want := range map[string]string{"notification_id": alertPayload.NotificationID, "kind": "seeking_alert", "case_id": "case-1", "ring": "1", "distance_km": "3"} {
		if data[k] != want {
			t.Errorf("data[%s] = %v, want %q", k, data[k], want)
		}
	}
	if a := msg["android"].(map[string]any); a["priority"] != "HIGH" || a["ttl"] != "21600s" || a["collapse_key"] != collapseTopic("case-1") {
		t.Errorf("android = %v", a)
	}
	// The access token is cached until a minute before it expires.
	now = now.Add(59 * time.Minute)
	f.Push(context.Background(), android, alertPayload)
	if g.tokens != 2 {
		t.Errorf("%d token requests after the token expired, want 2", g.tokens)
	}
}

func TestFCMRefetchesARefusedToken(t *testing.T) {
	g, f := newFCMPair(t)
	g.reply = func(n int) (int, string, http.Header) {
		if n == 1 {
			return 401, `{"error":{"code":401,"status":"UNAUTHENTICATED"}}`, nil
		}
		return 200, `{}`, nil
	}
	if err := f.Push(context.Background(), Target{Token: fcmToken}, alertPayload); err != nil {
		t.Fatal(err)
	}
	if g.tokens != 2 || g.auths[1] != "Bearer ya29.token-2" {
		t.Errorf("%d tokens, auths %v; want a new token after the 401", g.tokens, g.auths)
	}
}

func TestFCMAnswers(t *testing.T) {
	fcmErr := func(code int, status, errorCode string) string {
		return fmt.Sprintf(`{"error":{"code":%d,"message":"Requested entity was not found. %s","status":%q,"details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":%q}]}}`,
			code, fcmToken, status, errorCode)
	}
	for _, tc := range []struct {
		name        string
		status      int
		body        string
		header      http.Header
		gone, retry bool
		after       time.Duration
		reason      string
	}{
		{"unregistered", 404, fcmErr(404, "NOT_FOUND", "UNREGISTERED"), nil, true, false, 0, "UNREGISTERED"},
		{"invalid", 400, fcmErr(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"), nil, false, false, 0, "INVALID_ARGUMENT"},
		{"sender mismatch", 403, fcmErr(403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"), nil, false, false, 0, "SENDER_ID_MISMATCH"},
		{"quota", 429, fcmErr(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), http.Header{"Retry-After": {"30"}}, false, true, 30 * time.Second, "QUOTA_EXCEEDED"},
		{"unavailable", 503, fcmErr(503, "UNAVAILABLE", "UNAVAILABLE"), nil, false, true, 0, "UNAVAILABLE"},
		{"internal", 500, `not json`, nil, false, true, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, f := newFCMPair(t)
			g.reply = func(int) (int, string, http.Header) { return tc.status, tc.body, tc.header }
			err := f.Push(context.Background(), Target{Token: fcmToken}, alertPayload)
			var pe *PushError
			if !errors.As(err, &pe) || pe.Gone != tc.gone || pe.Retry != tc.retry || pe.RetryAfter != tc.after || pe.Reason != tc.reason {
				t.Fatalf("got %+v (%v), want gone %v retry %v after %v reason %q", pe, err, tc.gone, tc.retry, tc.after, tc.reason)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
	t.Run("token endpoint refuses", func(t *testing.T) {
		g, f := newFCMPair(t)
		g.key, g.refuse = &rsa.PublicKey{N: g.key.N, E: 3}, true // every assertion fails to verify
		err := f.Push(context.Background(), Target{Token: fcmToken}, alertPayload)
		var pe *PushError
		if !errors.As(err, &pe) || pe.Gone || pe.Retry || len(g.messages) != 0 {
			t.Errorf("got %+v, want a permanent failure that is not the token's", pe)
		}
	})
}

func TestParseFCMCredentials(t *testing.T) {
	for name, js := range map[string]string{
		"not json":  "{",
		"no type":   `{"project_id":"p","client_email":"a@b","private_key":"k"}`,
		"user cred": `{"type":"authorized_user","project_id":"p","client_email":"a@b","private_key":"k"}`,
		"no email":  `{"type":"service_account","project_id":"p","private_key":"k"}`,
	} {
		if _, err := ParseFCMCredentials([]byte(js)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	_, c := serviceAccount(t, "")
	if c.TokenURI != "https://oauth2.googleapis.com/token" {
		t.Errorf("default token_uri = %q", c.TokenURI)
	}
	if s := c.String() + c.GoString(); strings.Contains(s, "PRIVATE KEY") {
		t.Errorf("String shows the key: %s", s)
	}
	c.PrivateKey = "not a key"
	if _, err := NewFCM(c, "", nil); err == nil {
		t.Error("NewFCM accepted a bad key")
	}
}
