package notify

import (
	"context"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
)

// Channel is a way of pushing to a device.
type Channel string

// Channels.
const (
	ChannelWebPush Channel = "webpush"
	ChannelAPNs    Channel = "apns"
	ChannelFCM     Channel = "fcm"
)

// Target is one device to push to. It holds the device's push token or
// Web Push subscription: LogValue leaves them out, and no error a pusher
// returns contains them.
type Target struct {
	DeviceID string
	Platform string // ios, android, web, other
	// Token is the APNs device token or FCM registration token.
	Token   string
	WebPush *WebPushSubscription
}

// LogValue logs the device id and platform only.
func (t Target) LogValue() slog.Value {
	return slog.GroupValue(slog.String("device_id", t.DeviceID), slog.String("platform", t.Platform))
}

// channel picks how to reach t: a browser subscription first, else the
// platform's service for the token; "" when the device cannot be pushed
// to.
func (t Target) channel() Channel {
	switch {
	case t.WebPush != nil:
		return ChannelWebPush
	case t.Token == "":
		return ""
	case t.Platform == "ios":
		return ChannelAPNs
	case t.Platform == "android":
		return ChannelFCM
	}
	return ""
}

// Urgency is how soon a push must reach the device (RFC 8030 §5.3).
type Urgency string

// Urgencies.
const (
	UrgencyLow    Urgency = "low"
	UrgencyNormal Urgency = "normal"
	UrgencyHigh   Urgency = "high"
)

// Payload is what a push carries: the notification's text and data.
type Payload struct {
	NotificationID string
	Kind           Kind
	Title          string
	Body           string
	Data           Data
	Urgency        Urgency
	// TTL is how long the push service may hold it for an offline device.
	TTL time.Duration
	// Collapse groups pushes about the same thing: a later one replaces
	// an earlier one on the device ("" none).
	Collapse string
}

// PayloadOf is the push for n.
func PayloadOf(n Notification) Payload {
	p := Payload{NotificationID: n.ID, Kind: n.Kind, Title: n.Title, Body: n.Body, Data: n.Data,
		Urgency: UrgencyNormal, TTL: 24 * time.Hour, Collapse: n.Data.CaseID}
	switch n.Kind {
	case KindSeekingAlert:
		// An alert is useful while the search is fresh.
		p.Urgency, p.TTL = UrgencyHigh, 6*time.Hour
	case KindSecurity:
		p.Urgency = UrgencyHigh
	case KindPolicyUpdated:
		p.TTL = 7 * 24 * time.Hour
	case KindMarketing:
		p.Urgency = UrgencyLow
	}
	return p
}

// message is the JSON a browser's service worker or an app receives.
type pushMessage struct {
	ID    string `json:"id"`
	Kind  Kind   `json:"kind"`
	Title string `json:"title"`
	Body  string `json:"body"`
	Data  Data   `json:"data"`
}

func (p Payload) message() pushMessage {
	return pushMessage{ID: p.NotificationID, Kind: p.Kind, Title: p.Title, Body: p.Body, Data: p.Data}
}

// stringData is the data as the flat string map FCM and some apps want.
func (p Payload) stringData() map[string]string {
	m := map[string]string{"notification_id": p.NotificationID, "kind": string(p.Kind)}
	if p.Data.CaseID != "" {
		m["case_id"] = p.Data.CaseID
	}
	if p.Data.Ring > 0 {
		m["ring"] = strconv.Itoa(p.Data.Ring)
	}
	if p.Data.DistanceKM > 0 {
		m["distance_km"] = strconv.Itoa(p.Data.DistanceKM)
	}
	if p.Data.Link != "" {
		m["link"] = p.Data.Link
	}
	return m
}

// collapseTopic turns a collapse key into at most 32 URL-safe characters,
// as the Web Push Topic header and APNs collapse ids allow.
func collapseTopic(key string) string {
	if key == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:24])
}

// Pusher sends a payload to one device over one channel. Errors are
// *PushError telling whether the token is gone and whether to retry.
type Pusher interface {
	Push(ctx context.Context, t Target, p Payload) error
}

// CrossBorder is implemented by pushers whose service is outside China:
// APNs, FCM, and the browsers' Web Push services. Personal data collected
// in China stays there unless the person gave a separate consent to the
// transfer (policy 4.1, PIPL Art. 39, P50), so the dispatcher pushes
// through them only to people who granted cross_border_push.
type CrossBorder interface {
	CrossBorder() bool
}

// ThirdParty is implemented by the senders and pushers that hand personal
// data to a third party the policy data declares (the SMS provider, the
// push services; the real-name certifier too): Recipient is its id in
// the policy data, Fields the names, in the policy data's terms, of what
// each message carries to it. The sharing ledger (internal/sharing)
// records every such hand-over before it happens (P33, P34); the
// development outboxes are not third parties, as nothing leaves the
// machine.
type ThirdParty interface {
	Recipient() string
	Fields() []string
}

// crossesBorder reports whether p sends abroad.
func crossesBorder(p Pusher) bool {
	c, ok := p.(CrossBorder)
	return ok && c.CrossBorder()
}

// PushError is a failed push. Its text names the channel, the HTTP status
// and the provider's reason code, never the token or the payload.
type PushError struct {
	Channel Channel
	Status  int    // HTTP status; 0 when no answer came
	Reason  string // the provider's reason code, or "network"
	// Gone means the token or subscription is no longer valid: forget it.
	Gone bool
	// Retry means the same push may succeed later.
	Retry      bool
	RetryAfter time.Duration
	Err        error
}

func (e *PushError) Error() string {
	s := "notify: " + string(e.Channel) + " push failed"
	if e.Status != 0 {
		s += ": HTTP " + strconv.Itoa(e.Status)
	}
	if e.Reason != "" {
		s += " " + e.Reason
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *PushError) Unwrap() error { return e.Err }

// Code is the short code a delivery row records as its last error.
func (e *PushError) Code() string {
	switch {
	case e.Reason != "" && e.Status != 0:
		return strconv.Itoa(e.Status) + " " + e.Reason
	case e.Reason != "":
		return e.Reason
	case e.Status != 0:
		return "HTTP " + strconv.Itoa(e.Status)
	}
	return "error"
}

// asPushError reads err as a *PushError; any other error is retryable.
func asPushError(ch Channel, err error) *PushError {
	var pe *PushError
	if errors.As(err, &pe) {
		return pe
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &PushError{Channel: ch, Reason: "timeout", Retry: true, Err: err}
	}
	return &PushError{Channel: ch, Reason: "error", Retry: true, Err: err}
}

// networkError is a failure to reach the provider. The *url.Error text
// holds the whole URL, and a Web Push endpoint or APNs path carries the
// token: only the cause is kept.
func networkError(ch Channel, err error) *PushError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &PushError{Channel: ch, Reason: "network", Retry: true, Err: err}
}

// statusError classifies an HTTP answer the way every push service
// means it: 404 and 410 the token is gone, 429 and 5xx try again later,
// anything else is refused for good.
func statusError(ch Channel, status int, reason string, retryAfter string) *PushError {
	e := &PushError{Channel: ch, Status: status, Reason: reason}
	switch {
	case status == 404 || status == 410:
		e.Gone = true
	case status == 429 || status >= 500:
		e.Retry = true
		e.RetryAfter = parseRetryAfter(retryAfter, time.Now())
	}
	return e
}

// parseRetryAfter reads a Retry-After header (seconds or an HTTP date);
// zero when absent or unreadable. It is capped at an hour.
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(h); err == nil && n > 0 {
		d = time.Duration(n) * time.Second
	} else if t, err := time.Parse(time.RFC1123, h); err == nil {
		d = t.Sub(now)
	}
	if d < 0 {
		return 0
	}
	return min(d, time.Hour)
}

// WebPushSubscription is a browser's PushSubscription (endpoint and the
// keys of RFC 8291). The endpoint is a capability: LogValue and String
// leave it out.
type WebPushSubscription struct {
	Endpoint string
	// P256DH is the browser's P-256 public key, uncompressed, base64url.
	P256DH string
	// Auth is the 16-byte authentication secret, base64url.
	Auth string
}

// LogValue names only the push service's host.
func (s WebPushSubscription) LogValue() slog.Value {
	host := ""
	if u, err := url.Parse(s.Endpoint); err == nil {
		host = u.Host
	}
	return slog.GroupValue(slog.String("push_service", host))
}

// String keeps %v from printing the endpoint and keys.
func (s WebPushSubscription) String() string { return "WebPushSubscription[redacted]" }

// GoString makes %#v as safe as %v.
func (s WebPushSubscription) GoString() string { return s.String() }

// Validate checks a subscription a browser sent: an https endpoint and
// keys of the right size on the right curve.
func (s WebPushSubscription) Validate() error {
	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" || len(s.Endpoint) > 2048 {
		return yuncan.FieldError("endpoint", "must be the https URL of a push service")
	}
	pub, err := decodeKey(s.P256DH)
	if err != nil || len(pub) != 65 {
		return yuncan.FieldError("keys.p256dh", "must be an uncompressed P-256 public key in base64url")
	}
	if _, err := ecdh.P256().NewPublicKey(pub); err != nil {
		return yuncan.FieldError("keys.p256dh", "is not a point on P-256")
	}
	if auth, err := decodeKey(s.Auth); err != nil || len(auth) != 16 {
		return yuncan.FieldError("keys.auth", "must be 16 bytes in base64url")
	}
	return nil
}

// decodeKey reads base64url with or without padding, as browsers send
// both.
func decodeKey(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// OutboxPusher is the development push channel: it appends each push to
// an Outbox file (to "device:<id> (<channel>)"), so a person trying the
// service sees what would have gone out.
type OutboxPusher struct {
	outbox  *Outbox
	channel Channel
}

// NewOutboxPusher returns a pusher writing to o as channel.
func NewOutboxPusher(o *Outbox, channel Channel) *OutboxPusher {
	return &OutboxPusher{outbox: o, channel: channel}
}

// Push appends p to the outbox.
func (o *OutboxPusher) Push(ctx context.Context, t Target, p Payload) error {
	err := o.outbox.Send(ctx, Message{To: fmt.Sprintf("device:%s (%s)", t.DeviceID, o.channel), Subject: p.Title, Body: p.Body})
	if err != nil {
		return &PushError{Channel: o.channel, Reason: "outbox", Retry: true, Err: err}
	}
	return nil
}
