package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
)

func newTestSMTP(t testing.TB, rawURL string) *SMTP {
	t.Helper()
	cfg, err := ParseSMTPURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Timeout = 5 * time.Second
	s, err := NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testTLS returns a server config with a certificate for 127.0.0.1 and a
// pool that trusts it.
func testTLS(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return &tls.Config{Certificates: srv.TLS.Certificates}, pool
}

func receive(t testing.TB, f *fakeSMTP) fakeSession {
	t.Helper()
	select {
	case s := <-f.sessions:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("the fake SMTP server got no session")
		return fakeSession{}
	}
}

func TestSMTPSendMessage(t *testing.T) {
	f := startFakeSMTP(t, false, nil, nil)
	s := newTestSMTP(t, "smtp://127.0.0.1:"+f.Port+"?from="+url.QueryEscape("寻人 <noreply@example.com>"))
	subject := "您的验证码 / your code"
	body := "您好，\n验证码：482913\n.a line that starts with a dot\n" + strings.Repeat("很长的一行 ", 30) + "\nx=y\n"
	if err := s.Send(context.Background(), Message{To: "zhang@example.org", Subject: subject, Body: body, Code: "482913"}); err != nil {
		t.Fatal(err)
	}
	got := receive(t, f)
	for _, want := range []string{"MAIL FROM:<noreply@example.com>", "RCPT TO:<zhang@example.org>", "DATA"} {
		if !slices.Contains(got.Commands, want) {
			t.Errorf("commands %q lack %q", got.Commands, want)
		}
	}
	if slices.Contains(got.Commands, "AUTH") {
		t.Errorf("AUTH sent without a user: %q", got.Commands)
	}
	for _, line := range strings.Split(string(got.Data), "\n") {
		if len(line) > 78 || strings.ContainsFunc(line, func(r rune) bool { return r > 127 }) {
			t.Errorf("line not short 7-bit: %q", line)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "寻人" || from[0].Address != "noreply@example.com" {
		t.Errorf("From = %q (%v)", h.Get("From"), err)
	}
	if to, err := h.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "zhang@example.org" {
		t.Errorf("To = %q (%v)", h.Get("To"), err)
	}
	if !strings.HasPrefix(h.Get("Subject"), "=?UTF-8?q?") {
		t.Errorf("Subject not Q-encoded: %q", h.Get("Subject"))
	}
	if dec, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); err != nil || dec != subject {
		t.Errorf("Subject decodes to %q (%v)", dec, err)
	}
	if _, err := h.Date(); err != nil {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@example.com>") {
		t.Errorf("Message-ID = %q", id)
	}
	if h.Get("MIME-Version") != "1.0" || h.Get("Content-Transfer-Encoding") != "quoted-printable" {
		t.Errorf("MIME headers: %q", h)
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("Content-Type = %q", h.Get("Content-Type"))
	}
	decoded, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ReplaceAll(string(decoded), "\r\n", "\n"); got != body {
		t.Errorf("body = %q, want %q", got, body)
	}
}

func TestSMTPAuth(t *testing.T) {
	f := startFakeSMTP(t, true, nil, nil)
	s := newTestSMTP(t, "smtp://mailer:p%40ss%3Aword@127.0.0.1:"+f.Port+"?from=noreply@example.com")
	if err := s.Send(context.Background(), Message{To: "a@example.org", Subject: "hi", Body: "hello"}); err != nil {
		t.Fatal(err)
	}
	got := receive(t, f)
	if got.User != "mailer" || got.Password != "p@ss:word" {
		t.Errorf("AUTH got user %q password %q", got.User, got.Password)
	}
}

func TestSMTPStartTLS(t *testing.T) {
	serverTLS, pool := testTLS(t)
	f := startFakeSMTP(t, true, serverTLS, nil)
	s := newTestSMTP(t, "smtp://u:p@127.0.0.1:"+f.Port+"?from=noreply@example.com")
	s.rootCAs = pool
	if err := s.Send(context.Background(), Message{To: "a@example.org", Subject: "hi", Body: "hello"}); err != nil {
		t.Fatal(err)
	}
	got := receive(t, f)
	if !got.TLS || !slices.Contains(got.Commands, "STARTTLS") || got.User != "u" {
		t.Errorf("session TLS=%t user=%q commands=%q", got.TLS, got.User, got.Commands)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	serverTLS, pool := testTLS(t)
	f := startFakeSMTP(t, false, nil, serverTLS)
	s := newTestSMTP(t, "smtps://127.0.0.1:"+f.Port+"?from=noreply@example.com")
	s.rootCAs = pool
	if err := s.Send(context.Background(), Message{To: "a@example.org", Subject: "hi", Body: "hello"}); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, f); !got.TLS || len(got.Data) == 0 {
		t.Errorf("session TLS=%t data=%q", got.TLS, got.Data)
	}
}

func TestSMTPErrors(t *testing.T) {
	f := startFakeSMTP(t, false, nil, nil)
	s := newTestSMTP(t, "smtp://127.0.0.1:"+f.Port+"?from=noreply@example.com")
	err := s.Send(context.Background(), Message{To: "nobody@example.org", Subject: "hi", Body: "hello"})
	if yuncan.ErrorCode(err) != yuncan.Invalid || !strings.Contains(err.Error(), "550") || strings.Contains(err.Error(), "nobody@") {
		t.Errorf("refused recipient: %v", err)
	}
	if err := s.Send(context.Background(), Message{To: "not an address", Body: "x"}); yuncan.ErrorCode(err) != yuncan.Invalid {
		t.Errorf("bad address: %v", err)
	}

	port := silentListener(t)
	s = newTestSMTP(t, "smtp://127.0.0.1:"+port+"?from=noreply@example.com")
	s.cfg.Timeout = 100 * time.Millisecond
	start := time.Now()
	if err := s.Send(context.Background(), Message{To: "a@example.org", Body: "x"}); yuncan.ErrorCode(err) != yuncan.Unavailable {
		t.Errorf("silent server: %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("the timeout was not honoured")
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "127.0.0.1": true, "::1": true, "127.0.0.2": true,
		"smtp.example.com": false, "10.0.0.1": false,
	} {
		if isLoopback(host) != want {
			t.Errorf("isLoopback(%q) = %t", host, !want)
		}
	}
}

func TestParseSMTPURL(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want SMTPConfig // zero Host means an error is expected
	}{
		{"smtp://user:pass@mail.example.com?from=noreply@example.com",
			SMTPConfig{Host: "mail.example.com", Port: "587", Username: "user", Password: "pass", From: "noreply@example.com"}},
		{"smtps://user:pass@mail.example.com:465?from=noreply@example.com",
			SMTPConfig{Host: "mail.example.com", Port: "465", Username: "user", Password: "pass", From: "noreply@example.com", ImplicitTLS: true}},
		{"smtps://mail.example.com?from=noreply@example.com",
			SMTPConfig{Host: "mail.example.com", Port: "465", From: "noreply@example.com", ImplicitTLS: true}},
		{"smtp://127.0.0.1:2525/?from=Yuncan%20%3Cnoreply@example.com%3E",
			SMTPConfig{Host: "127.0.0.1", Port: "2525", From: "Yuncan <noreply@example.com>"}},
		{"smtp://mail.example.com", SMTPConfig{}},
		{"smtp://mail.example.com?from=not-an-address", SMTPConfig{}},
		{"smtp://mail.example.com?from=a@example.com&tls=off", SMTPConfig{}},
		{"http://mail.example.com?from=a@example.com", SMTPConfig{}},
		{"smtp:///?from=a@example.com", SMTPConfig{}},
		{"smtp://mail.example.com/path?from=a@example.com", SMTPConfig{}},
	} {
		got, err := ParseSMTPURL(tc.raw)
		if tc.want.Host == "" {
			if err == nil {
				t.Errorf("ParseSMTPURL(%q) = %v, want an error", tc.raw, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSMTPURL(%q) = %v, %v; want %v", tc.raw, got, err, tc.want)
		}
	}
}

func TestSMTPSecretsStayOut(t *testing.T) {
	_, err := ParseSMTPURL("smtp://user:hunter2%zz@mail.example.com?from=a@example.com")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad URL error = %v", err)
	}
	cfg := SMTPConfig{Host: "h", Port: "1", Username: "u", Password: "hunter2", From: "a@example.com"}
	out := fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg) + cfg.LogValue().String()
	if strings.Contains(out, "hunter2") {
		t.Errorf("password printed: %s", out)
	}
}

func TestBuildMessageCRLF(t *testing.T) {
	from, to := &mail.Address{Address: "a@example.com"}, &mail.Address{Address: "b@example.org"}
	msg, err := buildMessage(from, to, "line\r\nBcc: evil@example.net", "one\ntwo", time.Now(), "id")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bytes.ReplaceAll(msg, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("bare LF in %q", msg)
	}
	if bytes.Contains(msg, []byte("\r\nBcc:")) {
		t.Errorf("header injected: %q", msg)
	}
}
