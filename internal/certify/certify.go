// Package certify holds the adapters that check a real name and ID number
// against the national identity records (policy 1.1.2, P10): an HTTP
// adapter for a real-name verification API (二要素/三要素核验) and an
// outbox for development. Both implement identity.Certifier.
package certify

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/yuncan/yuncan/internal/identity"
)

// FromEnv picks the certifier from YUNCAN_CERTIFIER: empty or "outbox"
// appends to <dataDir>/outbox/certifier.jsonl and answers a match (for
// development only); "http" calls the API at YUNCAN_CERTIFIER_URL with
// YUNCAN_CERTIFIER_APPCODE, sending the mobile number too when
// YUNCAN_CERTIFIER_ELEMENTS is 3 (default 2: name and ID number). client
// makes the requests; its Timeout bounds each. The string names the
// certifier for the start-up log and holds no secret.
func FromEnv(getenv func(string) string, dataDir string, client *http.Client) (identity.Certifier, string, error) {
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	switch p := strings.ToLower(env("YUNCAN_CERTIFIER")); p {
	case "", "outbox":
		path := filepath.Join(dataDir, "outbox", "certifier.jsonl")
		return NewOutbox(path, nil), "outbox (" + path + "; answers every check with a match: development only)", nil
	case "http":
		var missing []string
		for _, k := range []string{"YUNCAN_CERTIFIER_URL", "YUNCAN_CERTIFIER_APPCODE"} {
			if env(k) == "" {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return nil, "", fmt.Errorf("certify: YUNCAN_CERTIFIER=http needs %s", strings.Join(missing, ", "))
		}
		cfg := HTTPConfig{URL: env("YUNCAN_CERTIFIER_URL"), AppCode: env("YUNCAN_CERTIFIER_APPCODE")}
		switch e := env("YUNCAN_CERTIFIER_ELEMENTS"); e {
		case "", "2":
		case "3":
			cfg.SendPhone = true
		default:
			return nil, "", fmt.Errorf("certify: YUNCAN_CERTIFIER_ELEMENTS must be 2 or 3, not %q", e)
		}
		h, err := NewHTTP(cfg, client)
		if err != nil {
			return nil, "", err
		}
		elements := "2"
		if cfg.SendPhone {
			elements = "3"
		}
		return h, "http (" + h.host + ", " + elements + " elements)", nil
	default:
		return nil, "", fmt.Errorf("certify: unknown YUNCAN_CERTIFIER %q (want outbox or http)", p)
	}
}
