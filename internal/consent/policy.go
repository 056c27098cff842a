// Package consent holds the privacy policy: its published versions now,
// and (with the consent issue) the purposes, the consent ledger and the
// gate every personal-data path goes through.
package consent

import (
	"embed"
	"fmt"
	"time"
)

// Policy is one published version of the privacy policy. The base
// version is embedded in the binary; later ones are published by staff
// into the database (Versions, in versions.go).
type Policy struct {
	Version   string
	Effective time.Time
	// Text is the policy as published. The 2021 text exists in English
	// only; a Chinese text is published with the next version.
	Text string
	// PublishedAt is when staff published the version (the effective
	// day for the embedded base); PublishedBy is the staff account, ""
	// for the base.
	PublishedAt time.Time
	PublishedBy string
	// Summary says what changed, shown with the in-app notice (P72).
	Summary Text
	// ChangedPurposes lists the purposes whose processing the version
	// changes. When ReducesRights or AddsPurposes is set, processing for
	// them waits until the person accepts the version (P72, P25).
	ChangedPurposes []Purpose
	ReducesRights   bool
	AddsPurposes    bool
}

// NeedsAcceptance reports whether the version holds back its changed
// purposes until each person accepts it.
func (p Policy) NeedsAcceptance() bool { return p.ReducesRights || p.AddsPurposes }

//go:embed policy/*.txt
var policyFS embed.FS

// policies lists the embedded versions, oldest first. Only the base is
// embedded: later versions live in the database.
var policies = []struct {
	version, effective, file string
	summary                  Text
}{
	{"2021-05-01", "2021-05-01", "policy/2021-05-01.en.txt",
		Text{ZH: "云寻隐私政策首次发布。", EN: "The first published Yuncan privacy policy."}},
}

// Policies returns every embedded version, oldest first.
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
		out = append(out, Policy{Version: p.version, Effective: eff, Text: string(b), PublishedAt: eff, Summary: p.summary})
	}
	return out
}

// Base returns the embedded version: the first entry of every
// database's version history, seeded by Versions.Load.
func Base() Policy {
	ps := Policies()
	return ps[len(ps)-1]
}

// Current returns the embedded base version. The version in force is
// Versions.Current, which also knows the versions published since; code
// that serves people should ask it, not this.
func Current() Policy { return Base() }
