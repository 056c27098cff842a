package certify

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOutboxCertifier(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox", "certifier.jsonl")
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	o := NewOutbox(path, func() time.Time { return at })
	ctx := context.Background()

	c, err := o.Verify(ctx, testName, testID, testPhone)
	if err != nil || !c.Match || !strings.HasPrefix(c.Reference, "outbox-") {
		t.Fatalf("Verify = %+v, %v; want a match with an outbox reference", c, err)
	}
	c, err = o.Verify(ctx, MismatchName, testID, "")
	if err != nil || c.Match {
		t.Fatalf("Verify(%s) = %+v, %v; want a mismatch", MismatchName, c, err)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The file never holds the number, the name or the phone in clear.
	for _, s := range []string{string(testID), string(testID)[4:14], testName, "13800138000"} {
		if strings.Contains(string(raw), s) {
			t.Errorf("the outbox holds %q in clear:\n%s", s, raw)
		}
	}
	var lines []OutboxLine
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		var l OutboxLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2", len(lines))
	}
	if l := lines[0]; l.At != "2025-03-01T08:00:00Z" || l.NameMasked != "张*" || l.IDNumberMasked != "1101**********002X" || !l.WithPhone || !l.Match {
		t.Errorf("first line %+v", l)
	}
	if l := lines[1]; l.Match || l.WithPhone {
		t.Errorf("second line %+v", l)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("outbox mode %v, %v; want 0600", fi.Mode(), err)
	}
}

func TestFromEnv(t *testing.T) {
	dir := t.TempDir()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	c, name, err := FromEnv(env(nil), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := c.(*Outbox); !ok || o.Path() != filepath.Join(dir, "outbox", "certifier.jsonl") || !strings.Contains(name, "development") {
		t.Errorf("default = %T %q", c, name)
	}

	c, name, err = FromEnv(env(map[string]string{"YUNCAN_CERTIFIER": "HTTP", "YUNCAN_CERTIFIER_URL": "https://certifier.example.com/v",
		"YUNCAN_CERTIFIER_APPCODE": "topsecret", "YUNCAN_CERTIFIER_ELEMENTS": "3"}), dir, &http.Client{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := c.(*HTTP); !ok || !h.cfg.SendPhone || name != "http (certifier.example.com, 3 elements)" {
		t.Errorf("http = %T %q", c, name)
	}
	if strings.Contains(name, "topsecret") {
		t.Error("the description holds the AppCode")
	}

	for what, m := range map[string]map[string]string{
		"unknown":      {"YUNCAN_CERTIFIER": "smtp"},
		"no url":       {"YUNCAN_CERTIFIER": "http", "YUNCAN_CERTIFIER_APPCODE": "c"},
		"no appcode":   {"YUNCAN_CERTIFIER": "http", "YUNCAN_CERTIFIER_URL": "https://certifier.example.com/"},
		"plain http":   {"YUNCAN_CERTIFIER": "http", "YUNCAN_CERTIFIER_URL": "http://certifier.example.com/", "YUNCAN_CERTIFIER_APPCODE": "c"},
		"bad elements": {"YUNCAN_CERTIFIER": "http", "YUNCAN_CERTIFIER_URL": "https://certifier.example.com/", "YUNCAN_CERTIFIER_APPCODE": "c", "YUNCAN_CERTIFIER_ELEMENTS": "4"},
	} {
		if _, _, err := FromEnv(env(m), dir, nil); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
}
