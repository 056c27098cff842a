package notify

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
)

// SMSFromEnv picks the SMS provider from YUNCAN_SMS_PROVIDER: empty or
// "outbox" appends to <dataDir>/outbox/sms.jsonl; "aliyun" sends through
// Alibaba Cloud and needs YUNCAN_ALIYUN_ACCESS_KEY_ID,
// YUNCAN_ALIYUN_ACCESS_KEY_SECRET, YUNCAN_ALIYUN_SMS_SIGN_NAME and
// YUNCAN_ALIYUN_SMS_TEMPLATE_CODE (YUNCAN_ALIYUN_SMS_ENDPOINT is optional).
// client makes the provider's HTTP requests; its Timeout bounds each. The
// string names the provider for the start-up log and holds no secret.
func SMSFromEnv(getenv func(string) string, dataDir string, client *http.Client) (Sender, string, error) {
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	switch p := strings.ToLower(env("YUNCAN_SMS_PROVIDER")); p {
	case "", "outbox":
		path := filepath.Join(dataDir, "outbox", "sms.jsonl")
		return NewOutbox(path, nil), "outbox (" + path + ")", nil
	case "aliyun":
		vars := []string{"YUNCAN_ALIYUN_ACCESS_KEY_ID", "YUNCAN_ALIYUN_ACCESS_KEY_SECRET",
			"YUNCAN_ALIYUN_SMS_SIGN_NAME", "YUNCAN_ALIYUN_SMS_TEMPLATE_CODE"}
		var missing []string
		for _, k := range vars {
			if env(k) == "" {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return nil, "", fmt.Errorf("notify: YUNCAN_SMS_PROVIDER=aliyun needs %s", strings.Join(missing, ", "))
		}
		a, err := NewAliyun(AliyunConfig{
			Endpoint:        env("YUNCAN_ALIYUN_SMS_ENDPOINT"),
			AccessKeyID:     env(vars[0]),
			AccessKeySecret: env(vars[1]),
			SignName:        env(vars[2]),
			TemplateCode:    env(vars[3]),
		}, client)
		if err != nil {
			return nil, "", fmt.Errorf("YUNCAN_ALIYUN_SMS_ENDPOINT: %w", err)
		}
		return a, "aliyun", nil
	default:
		return nil, "", fmt.Errorf("notify: unknown YUNCAN_SMS_PROVIDER %q (want outbox or aliyun)", p)
	}
}

// EmailFromEnv picks the email provider from YUNCAN_SMTP_URL: empty
// appends to <dataDir>/outbox/email.jsonl; otherwise a URL that
// ParseSMTPURL accepts. The string names the provider for the start-up log
// and holds no secret.
func EmailFromEnv(getenv func(string) string, dataDir string) (Sender, string, error) {
	raw := strings.TrimSpace(getenv("YUNCAN_SMTP_URL"))
	if raw == "" {
		path := filepath.Join(dataDir, "outbox", "email.jsonl")
		return NewOutbox(path, nil), "outbox (" + path + ")", nil
	}
	cfg, err := ParseSMTPURL(raw)
	if err != nil {
		return nil, "", fmt.Errorf("YUNCAN_SMTP_URL: %w", err)
	}
	s, err := NewSMTP(cfg)
	if err != nil {
		return nil, "", fmt.Errorf("YUNCAN_SMTP_URL: %w", err)
	}
	scheme := "smtp"
	if cfg.ImplicitTLS {
		scheme = "smtps"
	}
	return s, scheme + " (" + net.JoinHostPort(cfg.Host, cfg.Port) + ")", nil
}
