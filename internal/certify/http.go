package certify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
)

// HTTPConfig holds what the HTTP adapter needs. It redacts the AppCode
// when printed or logged.
//
// The contract (docs/identity.md) is the shape of the ID-verification APIs
// sold on Alibaba Cloud Market, reduced to JSON:
//
//	POST <URL>
//	Authorization: APPCODE <AppCode>
//	Content-Type: application/json; charset=utf-8
//
//	{"name": "张三", "id_number": "11010119900307123X", "mobile": "13800138000"}
//
// mobile is sent only for three-element checks (SendPhone). The answer is
// HTTP 200 with
//
//	{"result": "match" | "mismatch" | "not_found", "reference": "<the certifier's id for the check>"}
//
// where not_found (no such ID number in the records) counts as a
// mismatch. Any other status or body is no answer.
type HTTPConfig struct {
	// URL is the API endpoint: https, or http to a loopback address (for
	// tests and a local proxy).
	URL     string
	AppCode string
	// SendPhone makes a three-element check (name, ID number, mobile
	// number): send the phone only when the API needs it.
	SendPhone bool
}

// LogValue reports the configuration without the AppCode.
func (c HTTPConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", c.URL), slog.Bool("send_phone", c.SendPhone))
}

// String reports the configuration without the AppCode, so that %v and
// %+v are safe.
func (c HTTPConfig) String() string {
	return fmt.Sprintf("{URL:%s AppCode:[redacted] SendPhone:%t}", c.URL, c.SendPhone)
}

// GoString makes %#v as safe as %v.
func (c HTTPConfig) GoString() string { return "certify.HTTPConfig" + c.String() }

// HTTP checks real names through a JSON-over-HTTPS API.
type HTTP struct {
	cfg    HTTPConfig
	host   string
	client *http.Client
}

// NewHTTP returns an adapter for cfg. The client's Timeout bounds each
// request; a nil client gets one with a 10-second timeout. Redirects are
// not followed: the request carries an ID number, and goes only where it
// was configured to.
func NewHTTP(cfg HTTPConfig, client *http.Client) (*HTTP, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return nil, errors.New("certify: YUNCAN_CERTIFIER_URL must be an https URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return nil, errors.New("certify: YUNCAN_CERTIFIER_URL must be https (http only to a loopback address)")
	}
	if cfg.AppCode == "" || strings.ContainsFunc(cfg.AppCode, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return nil, errors.New("certify: YUNCAN_CERTIFIER_APPCODE must be printable ASCII without spaces")
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &HTTP{cfg: cfg, host: u.Host, client: &c}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type httpRequest struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
	Mobile   string `json:"mobile,omitempty"`
}

type httpResponse struct {
	Result    string `json:"result"`
	Reference string `json:"reference"`
}

// Verify asks the API. Errors are Unavailable and name the status, the
// host and the gateway's request id; never the name, the number, the
// phone, the AppCode or the body (which may echo what was sent).
func (h *HTTP) Verify(ctx context.Context, name string, id identity.IDNumber, phone identity.Phone) (identity.Certification, error) {
	body := httpRequest{Name: name, IDNumber: string(id)}
	if h.cfg.SendPhone {
		body.Mobile = strings.TrimPrefix(strings.TrimPrefix(string(phone), "+86"), "+")
	}
	b, err := json.Marshal(body)
	if err != nil {
		return identity.Certification{}, h.unavailable(errors.New("encode request"))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.cfg.URL, bytes.NewReader(b))
	if err != nil {
		return identity.Certification{}, h.unavailable(errors.New("build request"))
	}
	req.Header.Set("Authorization", "APPCODE "+h.cfg.AppCode)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Accept", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		// *url.Error repeats the URL; keep the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return identity.Certification{}, h.unavailable(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return identity.Certification{}, h.unavailable(fmt.Errorf("read response: %w", err))
	}
	return h.answer(resp.StatusCode, resp.Header.Get("X-Ca-Request-Id"), raw, id)
}

// answer reads the API's answer: status, the gateway's request id, the
// body. Apart from Verify so that fuzzing reaches it.
func (h *HTTP) answer(status int, rid string, raw []byte, id identity.IDNumber) (identity.Certification, error) {
	if len(rid) > 128 || !isToken(rid) {
		rid = ""
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return identity.Certification{}, h.unavailable(fmt.Errorf("refused the AppCode (HTTP %d, request id %q)", status, rid))
	case status == http.StatusTooManyRequests:
		return identity.Certification{}, h.unavailable(fmt.Errorf("rate limit or quota reached (HTTP 429, request id %q)", rid))
	case status != http.StatusOK:
		return identity.Certification{}, h.unavailable(fmt.Errorf("HTTP %d (request id %q)", status, rid))
	}
	var r httpResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return identity.Certification{}, h.unavailable(fmt.Errorf("HTTP 200 without a JSON answer (request id %q)", rid))
	}
	if len(r.Reference) > 128 || !isToken(r.Reference) || len(id) == 18 && strings.Contains(r.Reference, string(id)[:17]) {
		// The reference is stored: keep it to an id's shape, and never
		// let it carry the number back in clear.
		r.Reference = ""
	}
	switch r.Result {
	case "match":
		return identity.Certification{Match: true, Reference: r.Reference}, nil
	case "mismatch", "not_found":
		return identity.Certification{Match: false, Reference: r.Reference}, nil
	}
	return identity.Certification{}, h.unavailable(fmt.Errorf("HTTP 200 with an unknown result (request id %q)", rid))
}

func (h *HTTP) unavailable(cause error) error {
	return &yuncan.Error{Code: yuncan.Unavailable, Message: "the real-name certifier gave no answer",
		Err: fmt.Errorf("certify: %s: %w", h.host, cause)}
}

// isToken reports whether s looks like an id: ASCII letters, digits and
// - _ . : only (what request ids and order numbers are made of).
func isToken(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)) {
			return false
		}
	}
	return true
}

// Recipient is the certifier's id in the policy data
// (notify.ThirdParty): the sharing ledger records each check first.
func (h *HTTP) Recipient() string { return "certifier" }

// Fields are what each check hands the certifier: the real name and the
// ID number, and the mobile number only for a three-element check.
func (h *HTTP) Fields() []string {
	if h.cfg.SendPhone {
		return []string{"real_name", "id_number", "phone"}
	}
	return []string{"real_name", "id_number"}
}
