package notify

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
)

// DefaultAliyunEndpoint is the public Dysmsapi endpoint.
const DefaultAliyunEndpoint = "https://dysmsapi.aliyuncs.com/"

// AliyunConfig holds what the Alibaba Cloud SMS adapter needs. It redacts
// the secret when printed or logged.
type AliyunConfig struct {
	// Endpoint is the Dysmsapi URL; empty means DefaultAliyunEndpoint.
	Endpoint        string
	AccessKeyID     string
	AccessKeySecret string
	// SignName is the approved signature shown in brackets in the SMS.
	SignName string
	// TemplateCode is the approved template; it must take one variable,
	// ${code}.
	TemplateCode string
}

// LogValue reports the configuration without the secret.
func (c AliyunConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("endpoint", c.Endpoint),
		slog.String("access_key_id", c.AccessKeyID),
		slog.String("sign_name", c.SignName),
		slog.String("template_code", c.TemplateCode),
	)
}

// String reports the configuration without the secret, so that %v and %+v
// are safe.
func (c AliyunConfig) String() string {
	return fmt.Sprintf("{Endpoint:%s AccessKeyID:%s AccessKeySecret:[redacted] SignName:%s TemplateCode:%s}",
		c.Endpoint, c.AccessKeyID, c.SignName, c.TemplateCode)
}

// GoString makes %#v as safe as %v.
func (c AliyunConfig) GoString() string { return "notify.AliyunConfig" + c.String() }

// Aliyun sends SMS through Alibaba Cloud's Dysmsapi SendSms (RPC style,
// signature version 1.0).
type Aliyun struct {
	cfg    AliyunConfig
	client *http.Client
	now    func() time.Time
}

// NewAliyun returns an adapter for cfg. The client's Timeout bounds each
// request; a nil client gets one with a 10-second timeout.
func NewAliyun(cfg AliyunConfig, client *http.Client) (*Aliyun, error) {
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultAliyunEndpoint
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return nil, errors.New("notify: aliyun: endpoint must be an http(s) URL without a query")
	}
	for _, f := range [][2]string{
		{"access key id", cfg.AccessKeyID}, {"access key secret", cfg.AccessKeySecret},
		{"sign name", cfg.SignName}, {"template code", cfg.TemplateCode},
	} {
		if f[1] == "" {
			return nil, fmt.Errorf("notify: aliyun: %s is required", f[0])
		}
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Aliyun{cfg: cfg, client: client, now: time.Now}, nil
}

type aliyunResponse struct {
	Code      string
	Message   string
	RequestID string `json:"RequestId"`
}

// Send sends m.Code through the configured template. A refusal is an
// *yuncan.Error naming Aliyun's code and request id; it never contains the
// phone number or the one-time code. An invalid number is Invalid, Aliyun's
// per-number flow control is RateLimited, anything else is Unavailable.
func (a *Aliyun) Send(ctx context.Context, m Message) error {
	phone, err := aliyunPhone(m.To)
	if err != nil {
		return err
	}
	if m.Code == "" {
		return errors.New("notify: aliyun: the message has no code for the template")
	}
	param, err := json.Marshal(map[string]string{"code": m.Code})
	if err != nil {
		return fmt.Errorf("notify: aliyun: %w", err)
	}
	params := map[string]string{
		"AccessKeyId":      a.cfg.AccessKeyID,
		"Action":           "SendSms",
		"Format":           "JSON",
		"PhoneNumbers":     phone,
		"RegionId":         "cn-hangzhou",
		"SignName":         a.cfg.SignName,
		"SignatureMethod":  "HMAC-SHA1",
		"SignatureNonce":   rand.Text(),
		"SignatureVersion": "1.0",
		"TemplateCode":     a.cfg.TemplateCode,
		"TemplateParam":    string(param),
		"Timestamp":        a.now().UTC().Format("2006-01-02T15:04:05Z"),
		"Version":          "2017-05-25",
	}
	query := aliyunQuery(params)
	sig := aliyunSign("GET", query, a.cfg.AccessKeySecret)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		strings.TrimSuffix(a.cfg.Endpoint, "?")+"?Signature="+aliyunEncode(sig)+"&"+query, nil)
	if err != nil {
		return fmt.Errorf("notify: aliyun: %w", err)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		// The *url.Error text holds the whole URL, number and code
		// included: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return unavailable("aliyun", fmt.Errorf("notify: aliyun: SendSms: %w", err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return unavailable("aliyun", fmt.Errorf("notify: aliyun: SendSms: read response: %w", err))
	}
	var r aliyunResponse
	if err := json.Unmarshal(body, &r); err != nil || r.Code == "" {
		return unavailable("aliyun", fmt.Errorf("notify: aliyun: SendSms: HTTP %d without a JSON result", resp.StatusCode))
	}
	if r.Code == "OK" {
		return nil
	}
	// Message is left out: Aliyun sometimes echoes the number in it.
	cause := fmt.Errorf("notify: aliyun: SendSms returned %s (HTTP %d, request id %s)", r.Code, resp.StatusCode, r.RequestID)
	switch r.Code {
	case "isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT":
		return &yuncan.Error{Code: yuncan.Invalid, Message: "the phone number cannot receive SMS", Err: cause}
	case "isv.BUSINESS_LIMIT_CONTROL":
		return &yuncan.Error{Code: yuncan.RateLimited, Message: "too many messages to this number; try again later", Err: cause}
	}
	return unavailable("aliyun", cause)
}

func unavailable(provider string, cause error) *yuncan.Error {
	return &yuncan.Error{Code: yuncan.Unavailable, Message: "the " + provider + " message provider could not deliver the message", Err: cause}
}

// aliyunPhone turns an E.164 number into the form Aliyun expects:
// mainland numbers without a prefix, others as country code and number.
func aliyunPhone(e164 string) (string, error) {
	digits, ok := strings.CutPrefix(e164, "+")
	if !ok || len(digits) < 8 || len(digits) > 15 || strings.Trim(digits, "0123456789") != "" {
		return "", yuncan.FieldError("to", "must be an E.164 phone number")
	}
	if national, ok := strings.CutPrefix(digits, "86"); ok {
		return national, nil
	}
	return digits, nil
}

// aliyunQuery is the canonical query string: keys sorted, keys and values
// encoded with aliyunEncode.
func aliyunQuery(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(aliyunEncode(k))
		b.WriteByte('=')
		b.WriteString(aliyunEncode(params[k]))
	}
	return b.String()
}

// aliyunSign is the signature version 1.0 scheme: HMAC-SHA1 with key
// secret+"&" over method&%2F&encode(query), base64-encoded.
func aliyunSign(method, canonicalQuery, secret string) string {
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(method + "&" + aliyunEncode("/") + "&" + aliyunEncode(canonicalQuery)))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// aliyunEncode percent-encodes UTF-8 bytes as RFC 3986 does, which is what
// Aliyun's POP spec asks: only A-Z a-z 0-9 - _ . ~ are left as they are.
func aliyunEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// Recipient is the SMS provider's id in the policy data (ThirdParty).
func (a *Aliyun) Recipient() string { return "sms_provider" }

// Fields are what each message hands Alibaba Cloud: the number and the
// code (the template's one variable; the text is the approved template).
func (a *Aliyun) Fields() []string { return []string{"phone", "code"} }
