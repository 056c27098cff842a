package consent

import (
	"strings"
	"testing"
)

// P68: the full policy, its version and effective date are available.
func TestCurrentPolicy(t *testing.T) {
	p := Current()
	if p.Version == "" || p.Effective.IsZero() {
		t.Fatalf("current policy has no version or date: %+v", p)
	}
	if !strings.Contains(p.Text, "Yuncan tracking privacy policy") {
		t.Error("current policy text is not the published text")
	}
}
