package notify

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func aliyunEnv() map[string]string {
	return map[string]string{
		"YUNCAN_SMS_PROVIDER":             "aliyun",
		"YUNCAN_ALIYUN_ACCESS_KEY_ID":     "LTAI-id",
		"YUNCAN_ALIYUN_ACCESS_KEY_SECRET": "very-secret",
		"YUNCAN_ALIYUN_SMS_SIGN_NAME":     "寻人",
		"YUNCAN_ALIYUN_SMS_TEMPLATE_CODE": "SMS_1",
	}
}

func TestSMSFromEnvOutbox(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"", "outbox", " Outbox "} {
		s, name, err := SMSFromEnv(envOf(map[string]string{"YUNCAN_SMS_PROVIDER": p}), dir, nil)
		if err != nil {
			t.Fatalf("%q: %v", p, err)
		}
		o, ok := s.(*Outbox)
		want := filepath.Join(dir, "outbox", "sms.jsonl")
		if !ok || o.Path() != want || name != "outbox ("+want+")" {
			t.Errorf("%q: got %T %q", p, s, name)
		}
	}
}

func TestSMSFromEnvAliyun(t *testing.T) {
	env := aliyunEnv()
	env["YUNCAN_ALIYUN_SMS_ENDPOINT"] = "https://dysmsapi.ap-southeast-1.aliyuncs.com/"
	client := &http.Client{Timeout: time.Second}
	s, name, err := SMSFromEnv(envOf(env), t.TempDir(), client)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := s.(*Aliyun)
	if !ok || name != "aliyun" || a.client != client || a.cfg.Endpoint != env["YUNCAN_ALIYUN_SMS_ENDPOINT"] ||
		a.cfg.AccessKeySecret != "very-secret" || a.cfg.SignName != "寻人" || a.cfg.TemplateCode != "SMS_1" {
		t.Errorf("got %T %q %v", s, name, a)
	}
	delete(env, "YUNCAN_ALIYUN_SMS_ENDPOINT")
	if s, _, err := SMSFromEnv(envOf(env), t.TempDir(), nil); err != nil || s.(*Aliyun).cfg.Endpoint != DefaultAliyunEndpoint {
		t.Errorf("default endpoint: %v", err)
	}
}

func TestSMSFromEnvErrors(t *testing.T) {
	for _, missing := range []string{"YUNCAN_ALIYUN_ACCESS_KEY_ID", "YUNCAN_ALIYUN_ACCESS_KEY_SECRET",
		"YUNCAN_ALIYUN_SMS_SIGN_NAME", "YUNCAN_ALIYUN_SMS_TEMPLATE_CODE"} {
		env := aliyunEnv()
		delete(env, missing)
		_, _, err := SMSFromEnv(envOf(env), t.TempDir(), nil)
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("without %s: %v", missing, err)
		}
	}
	env := aliyunEnv()
	env["YUNCAN_ALIYUN_SMS_ENDPOINT"] = "not a url"
	if _, _, err := SMSFromEnv(envOf(env), t.TempDir(), nil); err == nil || strings.Contains(err.Error(), "very-secret") {
		t.Errorf("bad endpoint: %v", err)
	}
	_, _, err := SMSFromEnv(envOf(map[string]string{"YUNCAN_SMS_PROVIDER": "twilio"}), t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "twilio") {
		t.Errorf("unknown provider: %v", err)
	}
}

func TestEmailFromEnv(t *testing.T) {
	dir := t.TempDir()
	s, name, err := EmailFromEnv(envOf(nil), dir)
	want := filepath.Join(dir, "outbox", "email.jsonl")
	if o, ok := s.(*Outbox); err != nil || !ok || o.Path() != want || name != "outbox ("+want+")" {
		t.Errorf("outbox: %T %q %v", s, name, err)
	}

	for raw, wantName := range map[string]string{
		"smtp://u:hunter2@mail.example.com?from=noreply@example.com":       "smtp (mail.example.com:587)",
		"smtps://u:hunter2@mail.example.com:2465?from=noreply@example.com": "smtps (mail.example.com:2465)",
	} {
		s, name, err := EmailFromEnv(envOf(map[string]string{"YUNCAN_SMTP_URL": raw}), dir)
		if _, ok := s.(*SMTP); err != nil || !ok || name != wantName {
			t.Errorf("%s: %T %q %v", raw, s, name, err)
		}
	}

	_, _, err = EmailFromEnv(envOf(map[string]string{"YUNCAN_SMTP_URL": "smtp://u:hunter2@mail.example.com"}), dir)
	if err == nil || !strings.Contains(err.Error(), "YUNCAN_SMTP_URL") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad URL: %v", err)
	}
}
