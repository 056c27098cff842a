package notify

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
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

// DefaultFCMEndpoint is the base URL of the FCM HTTP v1 API.
const DefaultFCMEndpoint = "https://fcm.googleapis.com"

// fcmScope is the OAuth 2.0 scope that lets a service account send.
const fcmScope = "https://www.googleapis.com/auth/firebase.messaging"

// FCMCredentials is a Google service-account key file. It redacts the
// private key when printed or logged.
type FCMCredentials struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	TokenURI     string `json:"token_uri"`
}

// LogValue reports the credentials without the key.
func (c FCMCredentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("project_id", c.ProjectID), slog.String("client_email", c.ClientEmail))
}

// String reports the credentials without the key.
func (c FCMCredentials) String() string {
	return fmt.Sprintf("{ProjectID:%s ClientEmail:%s PrivateKeyID:%s PrivateKey:[redacted] TokenURI:%s}",
		c.ProjectID, c.ClientEmail, c.PrivateKeyID, c.TokenURI)
}

// GoString makes %#v as safe as %v.
func (c FCMCredentials) GoString() string { return "notify.FCMCredentials" + c.String() }

// ParseFCMCredentials reads a service-account JSON key.
func ParseFCMCredentials(b []byte) (FCMCredentials, error) {
	var c FCMCredentials
	if err := json.Unmarshal(b, &c); err != nil {
		return FCMCredentials{}, errors.New("notify: fcm: the credentials are not a JSON service-account key")
	}
	if c.Type != "service_account" || c.ProjectID == "" || c.ClientEmail == "" || c.PrivateKey == "" {
		return FCMCredentials{}, errors.New("notify: fcm: the credentials need type service_account, project_id, client_email and private_key")
	}
	if c.TokenURI == "" {
		c.TokenURI = "https://oauth2.googleapis.com/token"
	}
	return c, nil
}

// FCM pushes to Android devices through Firebase Cloud Messaging's HTTP
// v1 API, authorised with an OAuth 2.0 access token obtained by the JWT
// bearer grant (RFC 7523) and cached until shortly before it expires.
type FCM struct {
	creds    FCMCredentials
	key      *rsa.PrivateKey
	endpoint string
	client   *http.Client
	now      func() time.Time

	mu      sync.Mutex
	access  string
	expires time.Time
}

// NewFCM returns the adapter. endpoint "" means DefaultFCMEndpoint; a nil
// client gets one with a 10-second timeout.
func NewFCM(creds FCMCredentials, endpoint string, client *http.Client) (*FCM, error) {
	if endpoint == "" {
		endpoint = DefaultFCMEndpoint
	}
	for _, raw := range []string{endpoint, creds.TokenURI} {
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, errors.New("notify: fcm: the endpoint and token_uri must be http(s) URLs")
		}
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(creds.PrivateKey))
	if err != nil {
		return nil, errors.New("notify: fcm: the private_key is not an RSA key in PEM")
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &FCM{creds: creds, key: key, endpoint: strings.TrimSuffix(endpoint, "/"), client: client, now: time.Now}, nil
}

// accessToken returns the cached token, or asks for a new one when it
// expires within a minute or was refused (stale).
func (f *FCM) accessToken(ctx context.Context, stale string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	if f.access != "" && f.access != stale && now.Add(time.Minute).Before(f.expires) {
		return f.access, nil
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": f.creds.ClientEmail, "scope": fcmScope, "aud": f.creds.TokenURI,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	if f.creds.PrivateKeyID != "" {
		t.Header["kid"] = f.creds.PrivateKeyID
	}
	assertion, err := t.SignedString(f.key)
	if err != nil {
		return "", &PushError{Channel: ChannelFCM, Reason: "assertion", Err: err}
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.creds.TokenURI, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &PushError{Channel: ChannelFCM, Reason: "token_request"}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := f.client.Do(req)
	if err != nil {
		return "", networkError(ChannelFCM, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var r struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		Error       string `json:"error"`
	}
	json.Unmarshal(b, &r)
	if resp.StatusCode != http.StatusOK || r.AccessToken == "" {
		e := statusError(ChannelFCM, resp.StatusCode, "token "+r.Error, resp.Header.Get("Retry-After"))
		// The token endpoint's 4xx (invalid_grant: a revoked key) is our
		// configuration, never the device's.
		e.Gone = false
		return "", e
	}
	if r.ExpiresIn <= 0 {
		r.ExpiresIn = 3600
	}
	f.access, f.expires = r.AccessToken, now.Add(time.Duration(r.ExpiresIn)*time.Second)
	return f.access, nil
}

type fcmMessage struct {
	Message struct {
		Token        string            `json:"token"`
		Notification fcmNotification   `json:"notification"`
		Data         map[string]string `json:"data"`
		Android      fcmAndroid        `json:"android"`
	} `json:"message"`
}

type fcmNotification struct {
	Title string `json:"title"`
	Body  string `json:"body,omitempty"`
}

type fcmAndroid struct {
	Priority     string `json:"priority"`
	TTL          string `json:"ttl"`
	CollapseKey  string `json:"collapse_key,omitempty"`
	Notification struct {
		Tag string `json:"tag,omitempty"`
	} `json:"notification"`
}

type fcmError struct {
	Error struct {
		Code    int    `json:"code"`
		Status  string `json:"status"`
		Details []struct {
			Type      string `json:"@type"`
			ErrorCode string `json:"errorCode"`
		} `json:"details"`
	} `json:"error"`
}

// Push sends p to the registration token of t.
func (f *FCM) Push(ctx context.Context, t Target, p Payload) error {
	var m fcmMessage
	m.Message.Token = t.Token
	m.Message.Notification = fcmNotification{Title: p.Title, Body: p.Body}
	m.Message.Data = p.stringData()
	m.Message.Android.Priority = "NORMAL"
	if p.Urgency == UrgencyHigh {
		m.Message.Android.Priority = "HIGH"
	}
	m.Message.Android.TTL = strconv.Itoa(int(p.TTL.Seconds())) + "s"
	if c := collapseTopic(p.Collapse); c != "" {
		m.Message.Android.CollapseKey, m.Message.Android.Notification.Tag = c, c
	}
	body, err := json.Marshal(m)
	if err != nil {
		return &PushError{Channel: ChannelFCM, Reason: "payload", Err: err}
	}
	send := f.endpoint + "/v1/projects/" + url.PathEscape(f.creds.ProjectID) + "/messages:send"
	var stale string
	for try := 0; ; try++ {
		tok, err := f.accessToken(ctx, stale)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, send, bytes.NewReader(body))
		if err != nil {
			return &PushError{Channel: ChannelFCM, Reason: "request"}
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		resp, err := f.client.Do(req)
		if err != nil {
			return networkError(ChannelFCM, err)
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
		// An access token refused before its time (revoked) is fetched
		// again once.
		if resp.StatusCode == http.StatusUnauthorized && try == 0 {
			stale = tok
			continue
		}
		var fe fcmError
		json.Unmarshal(b, &fe)
		reason := fe.Error.Status
		for _, d := range fe.Error.Details {
			if d.ErrorCode != "" {
				reason = d.ErrorCode
			}
		}
		e := statusError(ChannelFCM, resp.StatusCode, reason, resp.Header.Get("Retry-After"))
		// UNREGISTERED (404) is the token gone: the app was uninstalled
		// or the token rotated.
		switch {
		case reason == "UNREGISTERED":
			e.Gone, e.Retry = true, false
		case resp.StatusCode == http.StatusNotFound && reason != "NOT_FOUND" && reason != "":
			e.Gone = false
		}
		return e
	}
}

// CrossBorder is true: the Firebase push service is outside China (P50).
func (f *FCM) CrossBorder() bool { return true }

// Recipient is FCM's id in the policy data (ThirdParty).
func (f *FCM) Recipient() string { return "fcm" }

// Fields are what each push hands Google: the registration token, the
// notification's title and body, and the data (notification id and
// kind, case id, ring, distance, link).
func (f *FCM) Fields() []string { return []string{"push_token", "title", "body", "data"} }
