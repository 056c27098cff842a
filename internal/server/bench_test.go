package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/storetest"
)

// benchSMS keeps the last code sent to each number in memory: the SMS
// provider is the outside world, and reading an outbox file back each
// iteration would measure the file, not the service.
type benchSMS struct {
	mu    sync.Mutex
	codes map[string]string
}

func (s *benchSMS) Send(_ context.Context, m notify.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[m.To] = m.Code
	return nil
}

func (s *benchSMS) code(to string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[to]
}

// benchServe sends one request straight to h and fails unless it answers
// want.
func benchServe(b *testing.B, h http.Handler, method, path, token, body string, want int) *httptest.ResponseRecorder {
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, path, nil)
	} else {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != want {
		b.Fatalf("%s %s: %d, want %d: %s", method, path, rec.Code, want, rec.Body)
	}
	return rec
}

// benchToken signs a new account up and returns its session token.
func benchToken(b *testing.B, e *apiEnv, sms *benchSMS) string {
	phone := apiPhone()
	benchServe(b, e.srv, "POST", "/api/v1/auth/sms-codes", "", `{"phone":"`+phone+`"}`, http.StatusAccepted)
	rec := benchServe(b, e.srv, "POST", "/api/v1/auth/login", "",
		`{"phone":"`+phone+`","code":"`+sms.code(apiE164(phone))+`","accept_policy_version":"`+consent.Current().Version+`","age_band":"adult"}`, http.StatusOK)
	var res struct{ Token string }
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || res.Token == "" {
		b.Fatalf("login: %s", rec.Body)
	}
	return res.Token
}

// newBenchEnv is a server on SQLite whose rate limits do not trip.
func newBenchEnv(b *testing.B) (*apiEnv, *benchSMS) {
	sms := &benchSMS{codes: map[string]string{}}
	e := newAPIEnv(b, storetest.Targets(b)[0], apiEnvOptions{sms: sms, identity: identity.Config{
		CodeResendInterval: time.Nanosecond, CodesPerPhoneDay: 1 << 30, CodesPerIPHour: 1 << 30,
	}})
	return e, sms
}

// BenchmarkCodeLogin: a sign-up by SMS code, two requests through the
// whole handler: send the code, log in (creating the account).
func BenchmarkCodeLogin(b *testing.B) {
	e, sms := newBenchEnv(b)
	b.ReportAllocs()
	for b.Loop() {
		benchToken(b, e, sms)
	}
}

// BenchmarkAuthenticatedNoop: what observe and requireAuth cost a request
// (session lookup, account read, phone unsealed) before any handler work.
func BenchmarkAuthenticatedNoop(b *testing.B) {
	e, sms := newBenchEnv(b)
	tok := benchToken(b, e, sms)
	h := e.srv.observe(e.srv.requireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	b.ReportAllocs()
	for b.Loop() {
		benchServe(b, h, "GET", "/noop", tok, "", http.StatusNoContent)
	}
}

// BenchmarkMe: GET /api/v1/me through the full handler.
func BenchmarkMe(b *testing.B) {
	e, sms := newBenchEnv(b)
	tok := benchToken(b, e, sms)
	b.ReportAllocs()
	for b.Loop() {
		benchServe(b, e.srv, "GET", "/api/v1/me", tok, "", http.StatusOK)
	}
}
