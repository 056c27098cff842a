package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
)

// The example from Aliyun's SMS signature documentation.
func TestAliyunSignDocExample(t *testing.T) {
	params := map[string]string{
		"AccessKeyId":      "testId",
		"Action":           "SendSms",
		"Format":           "XML",
		"OutId":            "123",
		"PhoneNumbers":     "15300000001",
		"RegionId":         "cn-hangzhou",
		"SignName":         "阿里云短信测试专用",
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureNonce":   "45e25e9b-0a6f-4070-8c85-2956eda1b466",
		"SignatureVersion": "1.0",
		"TemplateCode":     "SMS_71390007",
		"TemplateParam":    `{"customer":"test"}`,
		"Timestamp":        "2017-07-12T02:42:19Z",
		"Version":          "2017-05-25",
	}
	if got, want := aliyunSign("GET", aliyunQuery(params), "testSecret"), "zJDF+Lrzhj/ThnlvIToysFRq6t4="; got != want {
		t.Errorf("signature = %q, want %q", got, want)
	}
}

func TestAliyunEncode(t *testing.T) {
	for in, want := range map[string]string{
		"a b": "a%20b", "*": "%2A", "~-_.": "~-_.", "+/=": "%2B%2F%3D", "云": "%E4%BA%91",
	} {
		if got := aliyunEncode(in); got != want {
			t.Errorf("aliyunEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAliyunPhone(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"+8613800138000", "13800138000"},
		{"+85291234567", "85291234567"},
		{"+886912345678", "886912345678"},
		{"+14155550100", "14155550100"},
		{"13800138000", ""},
		{"+86 138 0013 8000", ""},
		{"+", ""},
		{"", ""},
	} {
		got, err := aliyunPhone(tc.in)
		if tc.want == "" {
			if yuncan.ErrorCode(err) != yuncan.Invalid {
				t.Errorf("aliyunPhone(%q) error code = %q, want invalid", tc.in, yuncan.ErrorCode(err))
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("aliyunPhone(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// refEncode is a second, independent way to get Aliyun's percent-encoding,
// so the fake server does not check the adapter against itself.
func refEncode(s string) string {
	s = url.QueryEscape(s)
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(s)
}

// fakeDysms checks the signature and parameters of each request as Aliyun
// would, then answers with reply's status and body.
func fakeDysms(t *testing.T, secret string, reply func(q url.Values) (int, string)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		sig := q.Get("Signature")
		q.Del("Signature")
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		pairs := make([]string, len(keys))
		for i, k := range keys {
			pairs[i] = refEncode(k) + "=" + refEncode(q.Get(k))
		}
		mac := hmac.New(sha1.New, []byte(secret+"&"))
		mac.Write([]byte("GET&%2F&" + refEncode(strings.Join(pairs, "&"))))
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodGet || sig != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"Code":"SignatureDoesNotMatch","Message":"bad signature","RequestId":"R-SIG"}`))
			return
		}
		ts, err := time.Parse("2006-01-02T15:04:05Z", q.Get("Timestamp"))
		for k, want := range map[string]string{
			"Action": "SendSms", "Version": "2017-05-25", "SignatureMethod": "HMAC-SHA1",
			"SignatureVersion": "1.0", "Format": "JSON", "AccessKeyId": "LTAI-test",
			"SignName": "寻人", "TemplateCode": "SMS_123",
		} {
			if q.Get(k) != want {
				t.Errorf("%s = %q, want %q", k, q.Get(k), want)
			}
		}
		if err != nil || time.Since(ts).Abs() > time.Minute || len(q.Get("SignatureNonce")) < 16 {
			t.Errorf("timestamp %q or nonce %q wrong", q.Get("Timestamp"), q.Get("SignatureNonce"))
		}
		status, body := reply(q)
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newTestAliyun(t *testing.T, endpoint, secret string, timeout time.Duration) *Aliyun {
	t.Helper()
	a, err := NewAliyun(AliyunConfig{
		Endpoint: endpoint + "/", AccessKeyID: "LTAI-test", AccessKeySecret: secret,
		SignName: "寻人", TemplateCode: "SMS_123",
	}, &http.Client{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAliyunSendOK(t *testing.T) {
	srv := fakeDysms(t, "s3cret+/=", func(q url.Values) (int, string) {
		if got := q.Get("PhoneNumbers"); got != "13800138000" {
			t.Errorf("PhoneNumbers = %q", got)
		}
		if got := q.Get("TemplateParam"); got != `{"code":"482913"}` {
			t.Errorf("TemplateParam = %q", got)
		}
		return 200, `{"Message":"OK","RequestId":"R1","BizId":"B1","Code":"OK"}`
	})
	a := newTestAliyun(t, srv.URL, "s3cret+/=", 5*time.Second)
	if err := a.Send(context.Background(), Message{To: "+8613800138000", Body: "ignored", Code: "482913"}); err != nil {
		t.Fatal(err)
	}
}

func TestAliyunSendErrors(t *testing.T) {
	const phone, code = "+8613800138000", "482913"
	for _, tc := range []struct {
		name     string
		secret   string // the adapter's; the server expects "right"
		status   int
		body     string
		want     yuncan.Code
		wantText string
	}{
		{"flow control", "right", 200, `{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发分钟级流控 13800138000 482913","RequestId":"R2"}`,
			yuncan.RateLimited, "isv.BUSINESS_LIMIT_CONTROL"},
		{"bad number", "right", 200, `{"Code":"isv.MOBILE_NUMBER_ILLEGAL","Message":"非法手机号","RequestId":"R3"}`,
			yuncan.Invalid, "isv.MOBILE_NUMBER_ILLEGAL"},
		{"no money", "right", 200, `{"Code":"isv.AMOUNT_NOT_ENOUGH","Message":"余额不足","RequestId":"R4"}`,
			yuncan.Unavailable, "R4"},
		{"wrong secret", "wrong", 0, "", yuncan.Unavailable, "SignatureDoesNotMatch"},
		{"not json", "right", 502, `<html>bad gateway</html>`, yuncan.Unavailable, "HTTP 502"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakeDysms(t, "right", func(url.Values) (int, string) { return tc.status, tc.body })
			err := newTestAliyun(t, srv.URL, tc.secret, 5*time.Second).Send(context.Background(), Message{To: phone, Code: code})
			if yuncan.ErrorCode(err) != tc.want {
				t.Fatalf("code = %q, want %q (%v)", yuncan.ErrorCode(err), tc.want, err)
			}
			text := err.Error()
			if !strings.Contains(text, tc.wantText) {
				t.Errorf("error %q does not name %q", text, tc.wantText)
			}
			if strings.Contains(text, "13800138000") || strings.Contains(text, code) || strings.Contains(text, tc.secret) {
				t.Errorf("error %q leaks the number, code or secret", text)
			}
		})
	}
}

func TestAliyunSendNeedsCode(t *testing.T) {
	a := newTestAliyun(t, "http://127.0.0.1:1", "right", time.Second)
	if err := a.Send(context.Background(), Message{To: "+8613800138000", Body: "hello"}); err == nil {
		t.Error("a message without a code was accepted")
	}
}

func TestAliyunSendTimeoutHidesURL(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	err := newTestAliyun(t, srv.URL, "right", 50*time.Millisecond).Send(context.Background(), Message{To: "+8613800138000", Code: "482913"})
	if yuncan.ErrorCode(err) != yuncan.Unavailable {
		t.Fatalf("code = %q, want unavailable (%v)", yuncan.ErrorCode(err), err)
	}
	if text := err.Error(); strings.Contains(text, "13800138000") || strings.Contains(text, "482913") || strings.Contains(text, "Signature") {
		t.Errorf("error %q leaks the request URL", text)
	}
}

func TestNewAliyunRejects(t *testing.T) {
	good := AliyunConfig{AccessKeyID: "id", AccessKeySecret: "secret", SignName: "s", TemplateCode: "t"}
	for name, mutate := range map[string]func(*AliyunConfig){
		"no id":        func(c *AliyunConfig) { c.AccessKeyID = "" },
		"no secret":    func(c *AliyunConfig) { c.AccessKeySecret = "" },
		"no sign":      func(c *AliyunConfig) { c.SignName = "" },
		"no template":  func(c *AliyunConfig) { c.TemplateCode = "" },
		"bad endpoint": func(c *AliyunConfig) { c.Endpoint = "ftp://example.com/" },
	} {
		cfg := good
		mutate(&cfg)
		if _, err := NewAliyun(cfg, nil); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := NewAliyun(good, nil); err != nil {
		t.Errorf("good config: %v", err)
	}
}

func TestAliyunConfigRedacts(t *testing.T) {
	cfg := AliyunConfig{AccessKeyID: "id", AccessKeySecret: "topsecret", SignName: "s", TemplateCode: "t"}
	var b strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		b.WriteString(fmt.Sprintf(verb, cfg))
	}
	b.WriteString(cfg.LogValue().String())
	if strings.Contains(b.String(), "topsecret") {
		t.Errorf("secret printed: %s", b.String())
	}
}
