package notify

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
)

// VAPIDKeys is the application server's P-256 key pair (RFC 8292), each
// half base64url without padding: the public key uncompressed (65 bytes),
// the private key as its 32-byte scalar. LogValue and String leave the
// private key out.
type VAPIDKeys struct {
	PublicKey  string `json:"public_key"`
	PrivateKey string `json:"private_key"`
}

// LogValue logs the public key only.
func (k VAPIDKeys) LogValue() slog.Value {
	return slog.GroupValue(slog.String("public_key", k.PublicKey))
}

// String keeps %v from printing the private key.
func (k VAPIDKeys) String() string { return "{PublicKey:" + k.PublicKey + " PrivateKey:[redacted]}" }

// GoString makes %#v as safe as %v.
func (k VAPIDKeys) GoString() string { return "notify.VAPIDKeys" + k.String() }

// GenerateVAPIDKeys makes a fresh key pair.
func GenerateVAPIDKeys() (VAPIDKeys, error) {
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return VAPIDKeys{}, fmt.Errorf("notify: vapid keys: %w", err)
	}
	return VAPIDKeys{
		PublicKey:  base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()),
		PrivateKey: base64.RawURLEncoding.EncodeToString(priv.Bytes()),
	}, nil
}

// check verifies that the halves belong together.
func (k VAPIDKeys) check() error {
	raw, err := decodeKey(k.PrivateKey)
	if err != nil {
		return errors.New("the private key is not base64url")
	}
	priv, err := ecdh.P256().NewPrivateKey(raw)
	if err != nil {
		return errors.New("the private key is not a P-256 scalar")
	}
	if base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes()) != strings.TrimRight(k.PublicKey, "=") {
		return errors.New("the public key does not match the private key")
	}
	return nil
}

// LoadVAPIDKeys reads the key file at path (JSON, mode 0600), creating it
// and its folder (mode 0700) with a fresh pair on first start. Browsers
// bind each subscription to the public key: losing the file orphans every
// subscription.
func LoadVAPIDKeys(path string) (VAPIDKeys, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err := GenerateVAPIDKeys()
		if err != nil {
			return VAPIDKeys{}, err
		}
		js, _ := json.MarshalIndent(k, "", "  ")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return VAPIDKeys{}, fmt.Errorf("notify: vapid keys: %w", err)
		}
		// O_EXCL: two processes starting at once must not each write a
		// different pair; the loser reads the winner's.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return LoadVAPIDKeys(path)
		}
		if err != nil {
			return VAPIDKeys{}, fmt.Errorf("notify: vapid keys: %w", err)
		}
		if _, err := f.Write(append(js, '\n')); err != nil {
			f.Close()
			return VAPIDKeys{}, fmt.Errorf("notify: vapid keys: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return VAPIDKeys{}, fmt.Errorf("notify: vapid keys: %w", err)
		}
		return k, f.Close()
	}
	if err != nil {
		return VAPIDKeys{}, fmt.Errorf("notify: vapid keys: %w", err)
	}
	var k VAPIDKeys
	if err := json.Unmarshal(b, &k); err != nil {
		return VAPIDKeys{}, fmt.Errorf("notify: vapid keys %s: not JSON", path)
	}
	if err := k.check(); err != nil {
		return VAPIDKeys{}, fmt.Errorf("notify: vapid keys %s: %v", path, err)
	}
	return k, nil
}

// WebPushConfig is what the Web Push channel needs.
type WebPushConfig struct {
	Keys VAPIDKeys
	// Subject is the contact push services may write to about our
	// traffic (RFC 8292 §2.1): a mailto: or https: URL.
	Subject string
}

// WebPush pushes to browsers: the payload encrypted per RFC 8291
// (aes128gcm), authorised with a VAPID JWT (RFC 8292), sent per RFC 8030.
type WebPush struct {
	cfg    WebPushConfig
	client *http.Client
}

// NewWebPush returns the Web Push channel. A nil client gets
// PublicHTTPClient: endpoints come from browsers, so the server must not
// be steered at its own network.
func NewWebPush(cfg WebPushConfig, client *http.Client) (*WebPush, error) {
	if err := cfg.Keys.check(); err != nil {
		return nil, fmt.Errorf("notify: web push: %v", err)
	}
	if !strings.HasPrefix(cfg.Subject, "mailto:") && !strings.HasPrefix(cfg.Subject, "https:") {
		return nil, errors.New("notify: web push: the VAPID subject must be a mailto: or https: URL")
	}
	if client == nil {
		client = PublicHTTPClient(10 * time.Second)
	}
	return &WebPush{cfg: cfg, client: client}, nil
}

// PublicKey is the VAPID public key browsers subscribe with
// (applicationServerKey).
func (w *WebPush) PublicKey() string { return w.cfg.Keys.PublicKey }

// Push encrypts p for t's subscription and posts it to the endpoint.
func (w *WebPush) Push(ctx context.Context, t Target, p Payload) error {
	if t.WebPush == nil {
		return &PushError{Channel: ChannelWebPush, Reason: "no_subscription", Gone: true}
	}
	msg, err := json.Marshal(p.message())
	if err != nil {
		return &PushError{Channel: ChannelWebPush, Reason: "payload", Err: err}
	}
	sub := &webpush.Subscription{Endpoint: t.WebPush.Endpoint, Keys: webpush.Keys{P256dh: t.WebPush.P256DH, Auth: t.WebPush.Auth}}
	// webpush-go adds "mailto:" to any subject that is not https.
	subject := strings.TrimPrefix(w.cfg.Subject, "mailto:")
	resp, err := webpush.SendNotificationWithContext(ctx, msg, sub, &webpush.Options{
		HTTPClient:      w.client,
		Subscriber:      subject,
		TTL:             int(p.TTL.Seconds()),
		Urgency:         webpush.Urgency(p.Urgency),
		Topic:           collapseTopic(p.Collapse),
		VAPIDPublicKey:  w.cfg.Keys.PublicKey,
		VAPIDPrivateKey: w.cfg.Keys.PrivateKey,
	})
	if err != nil {
		var ue *url.Error
		switch {
		case errors.Is(err, errPrivateAddress):
			// Endpoints come from browsers: one inside our network is
			// an attempt to steer the server, never a push service.
			return &PushError{Channel: ChannelWebPush, Reason: "private_address", Gone: true}
		case errors.As(err, &ue) && ue.Op != "parse":
			return networkError(ChannelWebPush, err)
		case errors.Is(err, webpush.ErrMaxPadExceeded):
			return &PushError{Channel: ChannelWebPush, Reason: "payload_too_large", Err: err}
		}
		// Encryption failed: the subscription's keys (checked when it
		// was stored) or endpoint cannot be used.
		return &PushError{Channel: ChannelWebPush, Reason: "bad_subscription", Gone: true}
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return statusError(ChannelWebPush, resp.StatusCode, "", resp.Header.Get("Retry-After"))
}

// errPrivateAddress refuses a connection to a non-public address.
var errPrivateAddress = errors.New("refusing to connect to a private or local address")

// PublicHTTPClient returns a client that connects only to public unicast
// addresses (checked on the resolved address, so DNS cannot steer it
// inside), follows no redirect and uses no proxy, each request bounded by
// timeout. It is for URLs that users supply, such as Web Push endpoints.
func PublicHTTPClient(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, Control: func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return errPrivateAddress
		}
		ip := ap.Addr().Unmap()
		if !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() ||
			// 100.64.0.0/10, carrier-grade NAT, is not public either.
			netip.MustParsePrefix("100.64.0.0/10").Contains(ip) {
			return errPrivateAddress
		}
		return nil
	}}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext: d.DialContext, ForceAttemptHTTP2: true, TLSHandshakeTimeout: timeout,
			MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// CrossBorder is true: the browsers' push service is outside China (P50).
func (w *WebPush) CrossBorder() bool { return true }

// Recipient is the browsers' push services' id in the policy data
// (ThirdParty).
func (w *WebPush) Recipient() string { return "web_push_services" }

// Fields are what each push hands the browser's push service: the
// subscription's endpoint, and the message encrypted for the browser
// (RFC 8291), which the service cannot read.
func (w *WebPush) Fields() []string { return []string{"push_endpoint", "encrypted_payload"} }
