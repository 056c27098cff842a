// Package consent holds the privacy policy: its published versions now,
// and (with the consent issue) the purposes, the consent ledger and the
// gate every personal-data path goes through.
package consent

import (
	"embed"
	"fmt"
	"time"
)

// Policy is one published version of the privacy policy.
type Policy struct {
	Version   string
	Effective time.Time
	// Text is the policy as published. The 2021 text exists in English
	// only; a Chinese text is published with the next version.
	Text string
}

//go:embed policy/*.txt
var policyFS embed.FS

// policies lists the published versions, oldest first.
var policies = []struct {
	version, effective, file string
}{
	{"2021-05-01", "2021-05-01", "policy/2021-05-01.en.txt"},
}

// Policies returns every published version, oldest first.
func Policies() []Policy {
	out := make([]Policy, 0, len(policies))
	for _, p := range policies {
		b, err := policyFS.ReadFile(p.file)
		if err != nil {
			panic(fmt.Sprintf("consent: embedded policy %s missing: %v", p.file, err)) // a build error, caught by tests
		}
		eff, err := time.Parse(time.DateOnly, p.effective)
		if err != nil {
			panic(fmt.Sprintf("consent: policy %s: bad effective date: %v", p.version, err))
		}
		out = append(out, Policy{Version: p.version, Effective: eff, Text: string(b)})
	}
	return out
}

// Current returns the policy in force.
func Current() Policy {
	ps := Policies()
	return ps[len(ps)-1]
}
