package notify

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPushFromEnvDevelopment(t *testing.T) {
	data := t.TempDir()
	base, _ := url.Parse("http://127.0.0.1:8080")
	wp, pushers, names, err := PushFromEnv(func(string) string { return "" }, data, base)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(data, "keys", "vapid.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("vapid.json: %v, %v", fi, err)
	}
	if wp.cfg.Subject != "mailto:push@127.0.0.1" || pushers[ChannelWebPush] != wp {
		t.Errorf("subject %q", wp.cfg.Subject)
	}
	for _, ch := range []Channel{ChannelAPNs, ChannelFCM} {
		if _, ok := pushers[ch].(*OutboxPusher); !ok {
			t.Errorf("%s is %T, want the outbox", ch, pushers[ch])
		}
	}
	if err := pushers[ChannelAPNs].Push(context.Background(), Target{DeviceID: "d-1", Token: "SECRET"}, Payload{Title: "寻人", Body: "b"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(data, "outbox", "push.jsonl"))
	var line map[string]string
	if err := json.Unmarshal(b, &line); err != nil || line["to"] != "device:d-1 (apns)" || line["subject"] != "寻人" || strings.Contains(string(b), "SECRET") {
		t.Errorf("outbox line %s (%v)", b, err)
	}
	if strings.Contains(strings.Join(names, " "), wp.cfg.Keys.PrivateKey) {
		t.Error("the descriptions hold the private key")
	}

	// Restarting keeps the keys: browsers' subscriptions are bound to them.
	again, _, _, err := PushFromEnv(func(string) string { return "" }, data, base)
	if err != nil || again.PublicKey() != wp.PublicKey() {
		t.Errorf("second start: %v, key changed %v", err, again.PublicKey() != wp.PublicKey())
	}
}

func TestPushFromEnvProviders(t *testing.T) {
	dir := t.TempDir()
	_, key := p8(t)
	keyFile := filepath.Join(dir, "AuthKey.p8")
	os.WriteFile(keyFile, key, 0o600)
	_, creds := serviceAccount(t, "")
	credFile := filepath.Join(dir, "sa.json")
	js, _ := json.Marshal(creds)
	os.WriteFile(credFile, js, 0o600)
	vars := map[string]string{
		"YUNCAN_APNS_KEY_FILE": keyFile, "YUNCAN_APNS_KEY_ID": "K", "YUNCAN_APNS_TEAM_ID": "T", "YUNCAN_APNS_TOPIC": "com.yuncan.app",
		"YUNCAN_APNS_ENDPOINT": "api.sandbox.push.apple.com", "YUNCAN_FCM_CREDENTIALS_FILE": credFile,
		"YUNCAN_VAPID_SUBJECT": "https://yuncan.example", "YUNCAN_VAPID_KEY_FILE": filepath.Join(dir, "v.json"),
	}
	wp, pushers, _, err := PushFromEnv(func(k string) string { return vars[k] }, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := pushers[ChannelAPNs].(*APNs)
	if !ok || a.cfg.Endpoint != "https://api.sandbox.push.apple.com" {
		t.Errorf("apns = %T %+v", pushers[ChannelAPNs], a)
	}
	if f, ok := pushers[ChannelFCM].(*FCM); !ok || f.endpoint != DefaultFCMEndpoint {
		t.Errorf("fcm = %T", pushers[ChannelFCM])
	}
	if wp.cfg.Subject != "https://yuncan.example" {
		t.Errorf("subject %q", wp.cfg.Subject)
	}

	for name, change := range map[string][2]string{
		"apns without team": {"YUNCAN_APNS_TEAM_ID", ""},
		"apns missing file": {"YUNCAN_APNS_KEY_FILE", filepath.Join(dir, "none.p8")},
		"apns bad key":      {"YUNCAN_APNS_KEY_FILE", credFile},
		"fcm bad file":      {"YUNCAN_FCM_CREDENTIALS_FILE", keyFile},
		"bad vapid subject": {"YUNCAN_VAPID_SUBJECT", "push@yuncan.example"},
	} {
		v := map[string]string{}
		for k, x := range vars {
			v[k] = x
		}
		v[change[0]] = change[1]
		if _, _, _, err := PushFromEnv(func(k string) string { return v[k] }, t.TempDir(), nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
