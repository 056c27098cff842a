package notify

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// browser is the user agent's side of a Web Push subscription: its ECDH
// key pair and authentication secret (RFC 8291 §2).
type browser struct {
	priv *ecdh.PrivateKey
	auth []byte
}

func newBrowser(t testing.TB) browser {
	t.Helper()
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return browser{priv: priv, auth: auth}
}

func (b browser) subscription(endpoint string) *WebPushSubscription {
	return &WebPushSubscription{Endpoint: endpoint,
		P256DH: base64.RawURLEncoding.EncodeToString(b.priv.PublicKey().Bytes()),
		Auth:   base64.RawURLEncoding.EncodeToString(b.auth)}
}

// decrypt undoes RFC 8291 on an aes128gcm body (RFC 8188) as a browser
// does, independently of the sender's library: the standard library's
// ECDH, HKDF and AES-GCM.
func (b browser) decrypt(body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("body shorter than the aes128gcm header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if idlen != 65 || len(body) < 21+idlen {
		return nil, errors.New("keyid is not a 65-byte P-256 public key")
	}
	asPub, err := ecdh.P256().NewPublicKey(body[21 : 21+idlen])
	if err != nil {
		return nil, err
	}
	records := body[21+idlen:]
	if rs < 18 || len(records) > int(rs) {
		return nil, errors.New("more than one record, or a record size below 18")
	}
	shared, err := b.priv.ECDH(asPub)
	if err != nil {
		return nil, err
	}
	// IKM = HKDF(auth, shared, "WebPush: info" 0x00 ua_public as_public, 32)
	info := append([]byte("WebPush: info\x00"), b.priv.PublicKey().Bytes()...)
	info = append(info, asPub.Bytes()...)
	ikm, err := hkdf.Key(sha256.New, shared, b.auth, string(info), 32)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, nonce, records, nil)
	if err != nil {
		return nil, err
	}
	// The last record ends with the delimiter 0x02, then zero padding.
	end := len(plain) - 1
	for end >= 0 && plain[end] == 0 {
		end--
	}
	if end < 0 || plain[end] != 2 {
		return nil, errors.New("no last-record delimiter")
	}
	return plain[:end], nil
}

// pushService is a local push endpoint: it checks each request the way a
// push service does (VAPID, RFC 8292; headers, RFC 8030), decrypts the
// payload with the browser's keys and answers with reply's status.
type pushService struct {
	t       *testing.T
	srv     *httptest.Server
	browser browser
	vapid   VAPIDKeys
	subject string

	mu       sync.Mutex
	received []receivedPush
	reply    func(n int) (int, http.Header)
}

type receivedPush struct {
	Message pushMessage
	TTL     int
	Urgency string
	Topic   string
}

func newPushService(t *testing.T, vapid VAPIDKeys, subject string) *pushService {
	ps := &pushService{t: t, browser: newBrowser(t), vapid: vapid, subject: subject,
		reply: func(int) (int, http.Header) { return http.StatusCreated, nil }}
	ps.srv = httptest.NewTLSServer(http.HandlerFunc(ps.serve))
	t.Cleanup(ps.srv.Close)
	return ps
}

func (ps *pushService) endpoint() string { return ps.srv.URL + "/push/v2/SECRET-CAPABILITY-123" }

func (ps *pushService) serve(w http.ResponseWriter, r *http.Request) {
	t := ps.t
	fail := func(format string, args ...any) {
		t.Errorf("push service: "+format, args...)
		w.WriteHeader(http.StatusBadRequest)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/push/v2/SECRET-CAPABILITY-123" {
		fail("%s %s", r.Method, r.URL.Path)
		return
	}
	if r.Header.Get("Content-Encoding") != "aes128gcm" || r.Header.Get("Content-Type") != "application/octet-stream" {
		fail("content headers %v", r.Header)
		return
	}
	ttl, err := strconv.Atoi(r.Header.Get("TTL"))
	if err != nil || ttl < 0 {
		fail("TTL %q", r.Header.Get("TTL"))
		return
	}
	// RFC 8292 §3: Authorization: vapid t=<JWT>, k=<public key>.
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "vapid ")
	if !ok {
		fail("Authorization %q is not vapid", r.Header.Get("Authorization"))
		return
	}
	params := map[string]string{}
	for p := range strings.SplitSeq(auth, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		params[k] = v
	}
	if params["k"] != ps.vapid.PublicKey {
		fail("k = %q, want the VAPID public key", params["k"])
		return
	}
	pub, _ := base64.RawURLEncoding.DecodeString(params["k"])
	key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pub)
	if err != nil {
		fail("VAPID public key: %v", err)
		return
	}
	var claims jwt.RegisteredClaims
	_, err = jwt.ParseWithClaims(params["t"], &claims, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience(ps.srv.URL), jwt.WithExpirationRequired())
	if err != nil {
		fail("VAPID JWT: %v", err)
		return
	}
	if time.Until(claims.ExpiresAt.Time) > 24*time.Hour {
		fail("VAPID exp more than 24 hours ahead: %v", claims.ExpiresAt)
		return
	}
	if claims.Subject != ps.subject {
		fail("VAPID sub = %q, want %q", claims.Subject, ps.subject)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if len(body) > 4096 {
		fail("body of %d bytes, over the 4096 push services accept", len(body))
		return
	}
	plain, err := ps.browser.decrypt(body)
	if err != nil {
		fail("decrypt: %v", err)
		return
	}
	var m pushMessage
	if err := json.Unmarshal(plain, &m); err != nil {
		fail("payload %q is not JSON: %v", plain, err)
		return
	}
	ps.mu.Lock()
	ps.received = append(ps.received, receivedPush{Message: m, TTL: ttl, Urgency: r.Header.Get("Urgency"), Topic: r.Header.Get("Topic")})
	n := len(ps.received)
	ps.mu.Unlock()
	status, h := ps.reply(n)
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
}

func (ps *pushService) got() []receivedPush {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]receivedPush(nil), ps.received...)
}

func newTestWebPush(t *testing.T, ps *pushService) *WebPush {
	t.Helper()
	wp, err := NewWebPush(WebPushConfig{Keys: ps.vapid, Subject: ps.subject}, ps.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return wp
}

func testVAPID(t testing.TB) VAPIDKeys {
	t.Helper()
	k, err := GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The whole path: encrypt per RFC 8291, sign per RFC 8292, post per RFC
// 8030; the push service decrypts what it got with the browser's key.
func TestWebPushEndToEnd(t *testing.T) {
	ps := newPushService(t, testVAPID(t), "mailto:push@yuncan.example")
	wp := newTestWebPush(t, ps)
	p := Payload{NotificationID: "n-1", Kind: KindSeekingAlert, Title: "寻人：附近有走失儿童", Body: "请留意身边",
		Data: Data{CaseID: "case-1", Ring: 2, DistanceKM: 37, Link: "/cases/case-1"}, Urgency: UrgencyHigh, TTL: 6 * time.Hour, Collapse: "case-1"}
	if err := wp.Push(context.Background(), Target{DeviceID: "d-1", Platform: "web", WebPush: ps.browser.subscription(ps.endpoint())}, p); err != nil {
		t.Fatal(err)
	}
	got := ps.got()
	if len(got) != 1 {
		t.Fatalf("the push service got %d pushes", len(got))
	}
	want := receivedPush{Message: p.message(), TTL: 6 * 3600, Urgency: "high", Topic: collapseTopic("case-1")}
	if got[0] != want {
		t.Errorf("received %+v, want %+v", got[0], want)
	}
	if len(want.Topic) > 32 || strings.ContainsAny(want.Topic, "+/=") {
		t.Errorf("Topic %q is not at most 32 URL-safe characters", want.Topic)
	}
	if wp.PublicKey() != ps.vapid.PublicKey {
		t.Error("PublicKey is not the VAPID public key")
	}
}

func TestWebPushAnswers(t *testing.T) {
	for _, tc := range []struct {
		status     int
		header     http.Header
		gone       bool
		retry      bool
		retryAfter time.Duration
	}{
		{http.StatusOK, nil, false, false, 0},
		{http.StatusNotFound, nil, true, false, 0},
		{http.StatusGone, nil, true, false, 0},
		{http.StatusTooManyRequests, http.Header{"Retry-After": {"7"}}, false, true, 7 * time.Second},
		{http.StatusServiceUnavailable, nil, false, true, 0},
		{http.StatusBadRequest, nil, false, false, 0},
		{http.StatusRequestEntityTooLarge, nil, false, false, 0},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			ps := newPushService(t, testVAPID(t), "https://yuncan.example")
			ps.reply = func(int) (int, http.Header) { return tc.status, tc.header }
			err := newTestWebPush(t, ps).Push(context.Background(), Target{WebPush: ps.browser.subscription(ps.endpoint())},
				Payload{NotificationID: "n-1", Kind: KindSecurity, Title: "t", TTL: time.Hour, Urgency: UrgencyNormal})
			if tc.status < 300 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var pe *PushError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *PushError", err)
			}
			if pe.Gone != tc.gone || pe.Retry != tc.retry || pe.RetryAfter != tc.retryAfter || pe.Status != tc.status {
				t.Errorf("got %+v, want gone %v retry %v after %v", pe, tc.gone, tc.retry, tc.retryAfter)
			}
			if strings.Contains(err.Error(), "SECRET-CAPABILITY") {
				t.Errorf("error %q shows the endpoint", err)
			}
		})
	}
}

// An endpoint is a URL a browser (or an attacker) chose: the default
// client never connects inside the network, and the error never shows the
// endpoint.
func TestWebPushRefusesPrivateAddresses(t *testing.T) {
	wp, err := NewWebPush(WebPushConfig{Keys: testVAPID(t), Subject: "mailto:a@b.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hit := false
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hit = true }))
	defer srv.Close()
	b := newBrowser(t)
	for _, endpoint := range []string{srv.URL + "/SECRET-CAPABILITY", "https://[::1]:9/SECRET-CAPABILITY", "https://10.1.2.3:9/SECRET-CAPABILITY"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := wp.Push(ctx, Target{WebPush: b.subscription(endpoint)}, Payload{Title: "t", TTL: time.Minute})
		cancel()
		var pe *PushError
		if !errors.As(err, &pe) || !pe.Gone || pe.Reason != "private_address" {
			t.Errorf("%s: got %v, want a gone private_address error", endpoint, err)
		}
		if err != nil && strings.Contains(err.Error(), "SECRET-CAPABILITY") {
			t.Errorf("error %q shows the endpoint", err)
		}
	}
	if hit {
		t.Error("the private server was reached")
	}
}

func TestWebPushSubscriptionValidate(t *testing.T) {
	b := newBrowser(t)
	good := *b.subscription("https://fcm.googleapis.com/fcm/send/abc")
	if err := good.Validate(); err != nil {
		t.Fatalf("a good subscription: %v", err)
	}
	padded := good
	padded.Auth = base64.URLEncoding.EncodeToString(b.auth)
	if err := padded.Validate(); err != nil {
		t.Errorf("padded base64url keys: %v", err)
	}
	offCurve := make([]byte, 65)
	offCurve[0] = 4
	for name, mutate := range map[string]func(*WebPushSubscription){
		"http endpoint":     func(s *WebPushSubscription) { s.Endpoint = "http://push.example/x" },
		"no host":           func(s *WebPushSubscription) { s.Endpoint = "https:///x" },
		"userinfo":          func(s *WebPushSubscription) { s.Endpoint = "https://a:b@push.example/x" },
		"long endpoint":     func(s *WebPushSubscription) { s.Endpoint = "https://push.example/" + strings.Repeat("x", 2048) },
		"short p256dh":      func(s *WebPushSubscription) { s.P256DH = s.P256DH[:40] },
		"p256dh off curve":  func(s *WebPushSubscription) { s.P256DH = base64.RawURLEncoding.EncodeToString(offCurve) },
		"p256dh not base64": func(s *WebPushSubscription) { s.P256DH = "!!" + s.P256DH[2:] },
		"short auth":        func(s *WebPushSubscription) { s.Auth = "AAAA" },
	} {
		s := good
		mutate(&s)
		if err := s.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if s := good.String() + good.GoString(); strings.Contains(s, "fcm") || strings.Contains(s, good.Auth) {
		t.Errorf("String shows the subscription: %s", s)
	}
}

func TestLoadVAPIDKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "vapid.json")
	k, err := LoadVAPIDKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700 | os.ModeDir} {
		if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v, %v; want %v", p, fi.Mode(), err, want)
		}
	}
	again, err := LoadVAPIDKeys(path)
	if err != nil || again != k {
		t.Fatalf("second load = %v, %v; want the same keys", again, err)
	}
	pub, _ := base64.RawURLEncoding.DecodeString(k.PublicKey)
	if len(pub) != 65 || pub[0] != 4 {
		t.Errorf("public key is %d bytes, not an uncompressed point", len(pub))
	}
	if strings.Contains(k.String()+k.GoString(), k.PrivateKey) {
		t.Error("String shows the private key")
	}

	other := testVAPID(t)
	for name, content := range map[string]string{
		"not json":   "{",
		"mismatched": `{"public_key":"` + other.PublicKey + `","private_key":"` + k.PrivateKey + `"}`,
		"bad scalar": `{"public_key":"` + k.PublicKey + `","private_key":"` + base64.RawURLEncoding.EncodeToString(new(big.Int).SetInt64(0).FillBytes(make([]byte, 32))) + `"}`,
	} {
		p := filepath.Join(t.TempDir(), "vapid.json")
		os.WriteFile(p, []byte(content), 0o600)
		if _, err := LoadVAPIDKeys(p); err == nil {
			t.Errorf("%s: loaded", name)
		} else if strings.Contains(err.Error(), k.PrivateKey) {
			t.Errorf("%s: error shows the private key", name)
		}
	}
}

func TestNewWebPushNeedsContact(t *testing.T) {
	if _, err := NewWebPush(WebPushConfig{Keys: testVAPID(t), Subject: "push@yuncan.example"}, nil); err == nil {
		t.Error("a subject without mailto: or https: was accepted")
	}
}
