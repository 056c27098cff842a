package certify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
)

const (
	testName    = "张三"
	testID      = identity.IDNumber("11010519491231002X")
	testPhone   = identity.Phone("+8613800138000")
	testAppCode = "0123456789abcdef0123456789abcdef"
)

// fakeAPI checks each request as the contract says, then answers with
// reply's status and body.
func fakeAPI(t *testing.T, reply func(req map[string]string) (int, string)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/verify" {
			t.Errorf("request %s %s, want POST /verify", r.Method, r.URL.Path)
		}
		if got := r.Header.Get("Authorization"); got != "APPCODE "+testAppCode {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" || params["charset"] != "utf-8" {
			t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
		}
		if r.URL.RawQuery != "" {
			t.Errorf("query %q: nothing personal goes in the URL", r.URL.RawQuery)
		}
		b, _ := io.ReadAll(r.Body)
		var req map[string]string
		dec := json.NewDecoder(strings.NewReader(string(b)))
		if err := dec.Decode(&req); err != nil {
			t.Errorf("body %q is not a JSON object of strings: %v", b, err)
		}
		status, body := reply(req)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Ca-Request-Id", "REQ-42")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newTestHTTP(t *testing.T, url string, sendPhone bool, timeout time.Duration) *HTTP {
	t.Helper()
	h, err := NewHTTP(HTTPConfig{URL: url + "/verify", AppCode: testAppCode, SendPhone: sendPhone}, &http.Client{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHTTPCertifierRequestShape(t *testing.T) {
	for _, sendPhone := range []bool{false, true} {
		t.Run(fmt.Sprintf("phone=%t", sendPhone), func(t *testing.T) {
			var got map[string]string
			srv := fakeAPI(t, func(req map[string]string) (int, string) {
				got = req
				return 200, `{"result":"match","reference":"ORDER-2025-0001"}`
			})
			c, err := newTestHTTP(t, srv.URL, sendPhone, 5*time.Second).Verify(context.Background(), testName, testID, testPhone)
			if err != nil {
				t.Fatal(err)
			}
			if !c.Match || c.Reference != "ORDER-2025-0001" {
				t.Errorf("Verify = %+v", c)
			}
			want := map[string]string{"name": testName, "id_number": string(testID)}
			if sendPhone {
				want["mobile"] = "13800138000"
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("body %v, want %v (the phone only for three elements)", got, want)
			}
		})
	}
}

func TestHTTPCertifierAnswers(t *testing.T) {
	for _, tc := range []struct {
		body  string
		match bool
		ref   string
	}{
		{`{"result":"match","reference":"R1"}`, true, "R1"},
		{`{"result":"mismatch","reference":"R2"}`, false, "R2"},
		{`{"result":"not_found","reference":"R3"}`, false, "R3"},
		{`{"result":"match","reference":"R4","message":"一致","extra":{"x":1}}`, true, "R4"},
		{`{"result":"match"}`, true, ""},
		// A reference that is not an id's shape, or carries the number, is
		// not kept.
		{`{"result":"match","reference":"张三 11010519491231002X"}`, true, ""},
		{`{"result":"match","reference":"X-11010519491231002X"}`, true, ""},
		{`{"result":"match","reference":"` + strings.Repeat("a", 200) + `"}`, true, ""},
	} {
		srv := fakeAPI(t, func(map[string]string) (int, string) { return 200, tc.body })
		c, err := newTestHTTP(t, srv.URL, false, 5*time.Second).Verify(context.Background(), testName, testID, testPhone)
		if err != nil || c.Match != tc.match || c.Reference != tc.ref {
			t.Errorf("answer %s: Verify = %+v, %v; want match %v, reference %q", tc.body, c, err, tc.match, tc.ref)
		}
	}
}

// Every failure is Unavailable, names what happened, and holds neither
// the name, the number, the phone nor the AppCode: the server logs it.
func TestHTTPCertifierErrors(t *testing.T) {
	echo := `{"result":"error","message":"张三 11010519491231002X 13800138000"}`
	for _, tc := range []struct {
		name     string
		appCode  string
		status   int
		body     string
		wantText string
	}{
		{"wrong appcode", "wrong-code", 0, "", "HTTP 401"},
		{"forbidden", testAppCode, 403, echo, "refused the AppCode (HTTP 403"},
		{"quota", testAppCode, 429, echo, "HTTP 429"},
		{"bad request", testAppCode, 400, echo, "HTTP 400"},
		{"server error", testAppCode, 500, echo, "HTTP 500"},
		{"redirect", testAppCode, 307, "", "HTTP 307"},
		{"not json", testAppCode, 200, "<html>张三 11010519491231002X</html>", "without a JSON answer"},
		{"unknown result", testAppCode, 200, echo, "unknown result"},
		{"no result", testAppCode, 200, `{}`, "unknown result"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakeAPI(t, func(map[string]string) (int, string) { return tc.status, tc.body })
			h, err := NewHTTP(HTTPConfig{URL: srv.URL + "/verify", AppCode: tc.appCode, SendPhone: true}, &http.Client{Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.Verify(context.Background(), testName, testID, testPhone)
			if yuncan.ErrorCode(err) != yuncan.Unavailable {
				t.Fatalf("code %q, want unavailable (%v)", yuncan.ErrorCode(err), err)
			}
			text := err.Error()
			if !strings.Contains(text, tc.wantText) {
				t.Errorf("error %q does not say %q", text, tc.wantText)
			}
			wantNoSecrets(t, text, tc.appCode)
		})
	}
}

func wantNoSecrets(t *testing.T, text, appCode string) {
	t.Helper()
	for _, s := range []string{testName, string(testID), string(testID)[6:14], "13800138000", appCode} {
		if strings.Contains(text, s) {
			t.Errorf("error %q leaks %q", text, s)
		}
	}
}

func TestHTTPCertifierTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	start := time.Now()
	_, err := newTestHTTP(t, srv.URL, true, 50*time.Millisecond).Verify(context.Background(), testName, testID, testPhone)
	if yuncan.ErrorCode(err) != yuncan.Unavailable {
		t.Fatalf("client timeout: code %q, want unavailable (%v)", yuncan.ErrorCode(err), err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the client timeout did not bound the call")
	}
	wantNoSecrets(t, err.Error(), testAppCode)

	// The caller's deadline bounds it too.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = newTestHTTP(t, srv.URL, true, time.Minute).Verify(ctx, testName, testID, testPhone)
	if yuncan.ErrorCode(err) != yuncan.Unavailable {
		t.Fatalf("context deadline: code %q, want unavailable (%v)", yuncan.ErrorCode(err), err)
	}
	wantNoSecrets(t, err.Error(), testAppCode)
}

func TestHTTPCertifierUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := newTestHTTP(t, url, false, time.Second).Verify(context.Background(), testName, testID, testPhone)
	if yuncan.ErrorCode(err) != yuncan.Unavailable {
		t.Fatalf("code %q, want unavailable (%v)", yuncan.ErrorCode(err), err)
	}
	wantNoSecrets(t, err.Error(), testAppCode)
}

func TestNewHTTPRejects(t *testing.T) {
	for name, cfg := range map[string]HTTPConfig{
		"plain http":         {URL: "http://certifier.example.com/verify", AppCode: "c"},
		"no url":             {AppCode: "c"},
		"other scheme":       {URL: "ftp://certifier.example.com/", AppCode: "c"},
		"credentials":        {URL: "https://u:p@certifier.example.com/", AppCode: "c"},
		"no appcode":         {URL: "https://certifier.example.com/"},
		"appcode with CRLF":  {URL: "https://certifier.example.com/", AppCode: "c\r\nX-Evil: 1"},
		"appcode with space": {URL: "https://certifier.example.com/", AppCode: "a b"},
	} {
		if _, err := NewHTTP(cfg, nil); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "X-Evil") {
			t.Errorf("%s: error repeats the AppCode: %v", name, err)
		}
	}
	for _, url := range []string{"https://certifier.example.com/verify", "http://127.0.0.1:8080/v", "http://localhost/v", "http://[::1]:9/v"} {
		if _, err := NewHTTP(HTTPConfig{URL: url, AppCode: "c"}, nil); err != nil {
			t.Errorf("%s: %v", url, err)
		}
	}
}

func TestHTTPConfigRedacts(t *testing.T) {
	cfg := HTTPConfig{URL: "https://certifier.example.com/", AppCode: "topsecret"}
	var b strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		b.WriteString(fmt.Sprintf(verb, cfg))
	}
	b.WriteString(cfg.LogValue().String())
	if strings.Contains(b.String(), "topsecret") {
		t.Errorf("AppCode printed: %s", b.String())
	}
}

// FuzzHTTPCertifierAnswer: whatever the API answers, the adapter gives a
// match only for "match", never panics, fails only as Unavailable, and
// neither its errors nor the kept reference carry the number.
func FuzzHTTPCertifierAnswer(f *testing.F) {
	for _, s := range []string{
		`{"result":"match","reference":"R1"}`, `{"result":"mismatch"}`, `{"result":"not_found","reference":"x"}`,
		`{"result":"MATCH"}`, `{"result":1}`, `{}`, `null`, `[]`, ``, `{"result":"match","reference":"11010519491231002X"}`,
		`{"result":"match","reference":"` + strings.Repeat("r", 300) + `"}`, "\xff",
	} {
		f.Add(200, "REQ-1", []byte(s))
	}
	f.Add(403, "", []byte(`{"message":"张三 11010519491231002X"}`))
	f.Add(429, "id with spaces 11010519491231002X", []byte{})
	h, err := NewHTTP(HTTPConfig{URL: "https://certifier.example.com/v", AppCode: testAppCode}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status int, rid string, body []byte) {
		c, err := h.answer(status, rid, body, testID)
		if err != nil {
			if yuncan.ErrorCode(err) != yuncan.Unavailable {
				t.Fatalf("answer: code %q (%v)", yuncan.ErrorCode(err), err)
			}
			wantNoSecrets(t, err.Error(), testAppCode)
			return
		}
		var r struct{ Result string }
		json.Unmarshal(body, &r)
		if status != 200 || c.Match != (r.Result == "match") {
			t.Fatalf("answer(%d, %q) = %+v", status, body, c)
		}
		if strings.Contains(c.Reference, string(testID)[:17]) || len(c.Reference) > 128 {
			t.Fatalf("kept reference %q", c.Reference)
		}
	})
}
