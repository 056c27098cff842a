package notify

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// PushFromEnv builds the push channels from the environment:
//
//   - Web Push always, with the VAPID key pair in YUNCAN_VAPID_KEY_FILE
//     (default <dataDir>/keys/vapid.json, made on first start) and the
//     contact YUNCAN_VAPID_SUBJECT (a mailto: or https: URL; default the
//     base URL when it is https, else mailto:push@<base host>).
//   - APNs when YUNCAN_APNS_KEY_FILE names a .p8 key; it needs
//     YUNCAN_APNS_KEY_ID, YUNCAN_APNS_TEAM_ID and YUNCAN_APNS_TOPIC (the
//     bundle id); YUNCAN_APNS_ENDPOINT defaults to api.push.apple.com.
//   - FCM when YUNCAN_FCM_CREDENTIALS_FILE names a service-account key;
//     YUNCAN_FCM_ENDPOINT defaults to fcm.googleapis.com.
//   - Without APNs or FCM, pushes to iOS or Android devices are appended
//     to <dataDir>/outbox/push.jsonl, as SMS and email are in development.
//
// The strings describe each channel for the start-up log and hold no
// secret.
func PushFromEnv(getenv func(string) string, dataDir string, base *url.URL) (*WebPush, map[Channel]Pusher, []string, error) {
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	var names []string
	pushers := map[Channel]Pusher{}

	keyFile := env("YUNCAN_VAPID_KEY_FILE")
	if keyFile == "" {
		keyFile = filepath.Join(dataDir, "keys", "vapid.json")
	}
	keys, err := LoadVAPIDKeys(keyFile)
	if err != nil {
		return nil, nil, nil, err
	}
	subject := env("YUNCAN_VAPID_SUBJECT")
	if subject == "" {
		subject = defaultVAPIDSubject(base)
	}
	wp, err := NewWebPush(WebPushConfig{Keys: keys, Subject: subject}, nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("YUNCAN_VAPID_SUBJECT: %w", err)
	}
	pushers[ChannelWebPush] = wp
	names = append(names, "webpush (vapid subject "+subject+")")

	outbox := filepath.Join(dataDir, "outbox", "push.jsonl")
	ob := NewOutbox(outbox, nil) // one, so that its lock orders both channels' lines
	if f := env("YUNCAN_APNS_KEY_FILE"); f != "" {
		var missing []string
		for _, k := range []string{"YUNCAN_APNS_KEY_ID", "YUNCAN_APNS_TEAM_ID", "YUNCAN_APNS_TOPIC"} {
			if env(k) == "" {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return nil, nil, nil, fmt.Errorf("notify: YUNCAN_APNS_KEY_FILE needs %s", strings.Join(missing, ", "))
		}
		key, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("YUNCAN_APNS_KEY_FILE: %w", err)
		}
		endpoint := env("YUNCAN_APNS_ENDPOINT")
		if endpoint != "" && !strings.Contains(endpoint, "://") {
			endpoint = "https://" + endpoint
		}
		a, err := NewAPNs(APNsConfig{Endpoint: endpoint, Key: key, KeyID: env("YUNCAN_APNS_KEY_ID"),
			TeamID: env("YUNCAN_APNS_TEAM_ID"), Topic: env("YUNCAN_APNS_TOPIC")}, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		pushers[ChannelAPNs] = a
		names = append(names, "apns ("+a.cfg.Endpoint+", topic "+a.cfg.Topic+")")
	} else {
		pushers[ChannelAPNs] = NewOutboxPusher(ob, ChannelAPNs)
		names = append(names, "apns: outbox ("+outbox+")")
	}
	if f := env("YUNCAN_FCM_CREDENTIALS_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("YUNCAN_FCM_CREDENTIALS_FILE: %w", err)
		}
		creds, err := ParseFCMCredentials(b)
		if err != nil {
			return nil, nil, nil, err
		}
		endpoint := env("YUNCAN_FCM_ENDPOINT")
		if endpoint != "" && !strings.Contains(endpoint, "://") {
			endpoint = "https://" + endpoint
		}
		fc, err := NewFCM(creds, endpoint, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		pushers[ChannelFCM] = fc
		names = append(names, "fcm (project "+creds.ProjectID+")")
	} else {
		pushers[ChannelFCM] = NewOutboxPusher(ob, ChannelFCM)
		names = append(names, "fcm: outbox ("+outbox+")")
	}
	return wp, pushers, names, nil
}

func defaultVAPIDSubject(base *url.URL) string {
	if base != nil && base.Scheme == "https" {
		return base.Scheme + "://" + base.Host
	}
	host := "localhost"
	if base != nil && base.Hostname() != "" {
		host = base.Hostname()
	}
	return "mailto:push@" + host
}
