package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultAPNsEndpoint is Apple's production push service; the sandbox is
// https://api.sandbox.push.apple.com.
const DefaultAPNsEndpoint = "https://api.push.apple.com"

// APNsConfig is what the APNs adapter needs: a token-based provider key
// (.p8) and the app's bundle id as topic. It redacts the key when printed
// or logged.
type APNsConfig struct {
	// Endpoint is the APNs base URL; empty means DefaultAPNsEndpoint.
	Endpoint string
	// Key is the .p8 file's content: a PKCS#8 P-256 key in PEM.
	Key    []byte
	KeyID  string
	TeamID string
	// Topic is the app's bundle id.
	Topic string
}

// LogValue reports the configuration without the key.
func (c APNsConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("endpoint", c.Endpoint), slog.String("key_id", c.KeyID),
		slog.String("team_id", c.TeamID), slog.String("topic", c.Topic))
}

// String reports the configuration without the key.
func (c APNsConfig) String() string {
	return fmt.Sprintf("{Endpoint:%s Key:[redacted] KeyID:%s TeamID:%s Topic:%s}", c.Endpoint, c.KeyID, c.TeamID, c.Topic)
}

// GoString makes %#v as safe as %v.
func (c APNsConfig) GoString() string { return "notify.APNsConfig" + c.String() }

// APNs pushes to iOS devices through Apple's HTTP/2 provider API with a
// provider authentication token (ES256 JWT).
type APNs struct {
	cfg    APNsConfig
	key    *ecdsa.PrivateKey
	client *http.Client
	now    func() time.Time

	mu      sync.Mutex
	token   string
	tokenAt time.Time
}

// apnsTokenAge is how long a provider token is reused: Apple refuses
// tokens older than an hour and throttles refreshes more often than every
// 20 minutes.
const apnsTokenAge = 40 * time.Minute

// NewAPNs returns the adapter. A nil client gets one that speaks only
// HTTP/2, as APNs requires, with a 10-second timeout.
func NewAPNs(cfg APNsConfig, client *http.Client) (*APNs, error) {
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultAPNsEndpoint
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, errors.New("notify: apns: the endpoint must be an https URL without a path")
	}
	cfg.Endpoint = strings.TrimSuffix(cfg.Endpoint, "/")
	for _, f := range [][2]string{{"key id", cfg.KeyID}, {"team id", cfg.TeamID}, {"topic", cfg.Topic}} {
		if f[1] == "" {
			return nil, fmt.Errorf("notify: apns: the %s is required", f[0])
		}
	}
	key, err := parseP8(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("notify: apns: %w", err)
	}
	if client == nil {
		protocols := new(http.Protocols)
		protocols.SetHTTP2(true)
		client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			Protocols: protocols, TLSHandshakeTimeout: 10 * time.Second, IdleConnTimeout: 5 * time.Minute,
		}}
	}
	return &APNs{cfg: cfg, key: key, client: client, now: time.Now}, nil
}

// parseP8 reads Apple's .p8 provider key.
func parseP8(b []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("the key is not a PEM PRIVATE KEY (.p8)")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, errors.New("the key is not PKCS#8")
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve.Params().Name != "P-256" {
		return nil, errors.New("the key is not a P-256 key")
	}
	return ec, nil
}

// providerToken returns the cached token, or signs a new one when it is
// older than apnsTokenAge or was refused (stale true).
func (a *APNs) providerToken(stale string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if a.token != "" && a.token != stale && now.Sub(a.tokenAt) < apnsTokenAge {
		return a.token, nil
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"iss": a.cfg.TeamID, "iat": now.Unix()})
	t.Header["kid"] = a.cfg.KeyID
	s, err := t.SignedString(a.key)
	if err != nil {
		return "", fmt.Errorf("notify: apns: sign provider token: %w", err)
	}
	a.token, a.tokenAt = s, now
	return s, nil
}

type apnsAlert struct {
	Title string `json:"title"`
	Body  string `json:"body,omitempty"`
}

type apnsAPS struct {
	Alert    apnsAlert `json:"alert"`
	Sound    string    `json:"sound,omitempty"`
	ThreadID string    `json:"thread-id,omitempty"`
	// InterruptionLevel "time-sensitive" lets an alert through Focus.
	InterruptionLevel string `json:"interruption-level,omitempty"`
}

type apnsPayload struct {
	APS apnsAPS `json:"aps"`
	pushMessage
}

// Push sends p to the device token of t. A token that is not hex is gone
// without asking Apple.
func (a *APNs) Push(ctx context.Context, t Target, p Payload) error {
	if len(t.Token) < 32 || len(t.Token) > 200 {
		return &PushError{Channel: ChannelAPNs, Reason: "malformed_token", Gone: true}
	}
	if _, err := hex.DecodeString(t.Token); err != nil {
		return &PushError{Channel: ChannelAPNs, Reason: "malformed_token", Gone: true}
	}
	aps := apnsAPS{Alert: apnsAlert{Title: p.Title, Body: p.Body}, Sound: "default", ThreadID: p.Data.CaseID}
	priority := "5"
	if p.Urgency == UrgencyHigh {
		aps.InterruptionLevel, priority = "time-sensitive", "10"
	}
	body, err := json.Marshal(apnsPayload{APS: aps, pushMessage: p.message()})
	if err != nil {
		return &PushError{Channel: ChannelAPNs, Reason: "payload", Err: err}
	}
	if len(body) > 4096 {
		return &PushError{Channel: ChannelAPNs, Reason: "PayloadTooLarge"}
	}
	var stale string
	for try := 0; ; try++ {
		tok, err := a.providerToken(stale)
		if err != nil {
			return &PushError{Channel: ChannelAPNs, Reason: "provider_token", Err: err}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.Endpoint+"/3/device/"+t.Token, bytes.NewReader(body))
		if err != nil {
			return &PushError{Channel: ChannelAPNs, Reason: "request"}
		}
		h := req.Header
		h.Set("authorization", "bearer "+tok)
		h.Set("content-type", "application/json")
		h.Set("apns-topic", a.cfg.Topic)
		h.Set("apns-push-type", "alert")
		h.Set("apns-priority", priority)
		h.Set("apns-expiration", strconv.FormatInt(a.now().Add(p.TTL).Unix(), 10))
		if p.NotificationID != "" {
			h.Set("apns-id", p.NotificationID)
		}
		if c := collapseTopic(p.Collapse); c != "" {
			h.Set("apns-collapse-id", c)
		}
		resp, err := a.client.Do(req)
		if err != nil {
			return networkError(ChannelAPNs, err)
		}
		var r struct {
			Reason string `json:"reason"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		json.Unmarshal(b, &r)
		// A refused provider token is signed again once, at once.
		if resp.StatusCode == http.StatusForbidden && (r.Reason == "ExpiredProviderToken" || r.Reason == "InvalidProviderToken") && try == 0 {
			stale = tok
			continue
		}
		return apnsError(resp.StatusCode, r.Reason, resp.Header.Get("Retry-After"))
	}
}

// apnsError maps Apple's answer: 410 (Unregistered, ExpiredToken) means
// the token is gone; 429 and 5xx are worth retrying. 400 BadDeviceToken
// and DeviceTokenNotForTopic are refused but the token is kept: they also
// follow from our own configuration (sandbox against production, a wrong
// topic), and clearing every token for that would be worse.
func apnsError(status int, reason, retryAfter string) *PushError {
	e := statusError(ChannelAPNs, status, reason, retryAfter)
	switch reason {
	case "Unregistered", "ExpiredToken":
		e.Gone, e.Retry = true, false
	case "ExpiredProviderToken", "TooManyProviderTokenUpdates", "TooManyRequests", "InternalServerError", "ServiceUnavailable", "Shutdown":
		e.Retry = true
	}
	if status == http.StatusNotFound {
		// BadPath is a request we built wrong, not a gone token.
		e.Gone = reason != "BadPath"
	}
	return e
}

// CrossBorder is true: the Apple push service is outside China (P50).
func (a *APNs) CrossBorder() bool { return true }

// Recipient is APNs' id in the policy data (ThirdParty).
func (a *APNs) Recipient() string { return "apns" }

// Fields are what each push hands Apple: the device token (in the path),
// the alert's title and body, and the data (notification id and kind,
// case id, ring, distance, link).
func (a *APNs) Fields() []string { return []string{"push_token", "title", "body", "data"} }
