package consent

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"time"
)

// The policy as data: every purpose with its data categories, basis,
// sensitivity and recipients; every category with its retention and the
// places it is stored; every third party; every cookie; the legal
// exemptions. The public inventory and the policy page are rendered from
// it, and tests hold the code to it.
//
//go:embed policy/datamap.json
var dataMapJSON []byte

// Text is a string in Chinese and English.
type Text struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// In returns the text in lang ("en" or anything else for Chinese).
func (t Text) In(lang string) string {
	if lang == "en" {
		return t.EN
	}
	return t.ZH
}

// Basis is why a purpose may process data.
type Basis string

// Bases.
const (
	// BasisNecessary: needed for the basic service; accepting the policy
	// covers it.
	BasisNecessary Basis = "necessary"
	// BasisConsent: only with the person's own, withdrawable consent.
	BasisConsent Basis = "consent"
)

// PurposeDecl declares a purpose.
type PurposeDecl struct {
	ID          Purpose `json:"id"`
	Name        Text    `json:"name"`
	Description Text    `json:"description"`
	Section     string  `json:"section"` // the policy clause
	Basis       Basis   `json:"basis"`
	// Sensitive purposes need their own separate consent: never granted
	// in bulk.
	Sensitive  bool     `json:"sensitive"`
	Categories []string `json:"categories"`
	Recipients []string `json:"recipients"`
	// AdultsOnly purposes stay off for minors (ads, marketing).
	AdultsOnly bool `json:"adults_only"`
	// GPC purposes are refused while the browser sends Sec-GPC: 1.
	GPC bool `json:"gpc"`
}

// Retention says how long a category is kept.
type Retention struct {
	// Rule: "account" (until the person deletes it or cancels),
	// "days" (Days after collection or last use), "hours" (Hours after
	// the last update), "session" (until the session or code ends),
	// "legal" (a legal minimum, in Days).
	Rule  string `json:"rule"`
	Days  int    `json:"days,omitempty"`
	Hours int    `json:"hours,omitempty"`
	Text  Text   `json:"text"`
}

// CategoryDecl declares a category of data.
type CategoryDecl struct {
	ID        string    `json:"id"`
	Name      Text      `json:"name"`
	Personal  bool      `json:"personal"`
	Sensitive bool      `json:"sensitive"`
	Retention Retention `json:"retention"`
	// Fields lists where the category is stored, as "table.column".
	Fields []string `json:"fields"`
}

// RecipientDecl declares a third party that receives data.
type RecipientDecl struct {
	ID           string   `json:"id"`
	Name         Text     `json:"name"`
	Purpose      Purpose  `json:"purpose"`
	Fields       []string `json:"fields"` // what it receives
	Deidentified bool     `json:"deidentified"`
	Region       string   `json:"region"` // where it processes data: CN
	// CrossBorder marks a recipient that processes data outside CN. The
	// policy (4.1, P50) allows that only with the person's separate
	// consent, so such a recipient must be declared as such.
	CrossBorder bool   `json:"cross_border,omitempty"`
	Assessed    string `json:"assessed"` // date of the last security assessment
}

// CookieDecl declares a cookie the service sets.
type CookieDecl struct {
	Name     string  `json:"name"`
	Purpose  Purpose `json:"purpose"`
	Kind     string  `json:"kind"` // auth_security, convenience, recommendation_ads
	Text     Text    `json:"text"`
	Lifetime Text    `json:"lifetime"`
}

// ExemptionDecl is one of the policy's legal exemptions from consent
// (section 1.8).
type ExemptionDecl struct {
	Code string `json:"code"`
	Text Text   `json:"text"`
}

// DataMap is the whole policy as data.
type DataMap struct {
	Purposes   []PurposeDecl   `json:"purposes"`
	Categories []CategoryDecl  `json:"categories"`
	Recipients []RecipientDecl `json:"recipients"`
	Cookies    []CookieDecl    `json:"cookies"`
	Exemptions []ExemptionDecl `json:"exemptions"`

	purposes   map[Purpose]*PurposeDecl
	exemptions map[string]bool
}

var fieldPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$`)

// LoadDataMap parses and checks the embedded policy data.
func LoadDataMap() (*DataMap, error) { return parseDataMap(dataMapJSON) }

func parseDataMap(b []byte) (*DataMap, error) {
	var m DataMap
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("consent: policy data: %w", err)
	}
	cats := map[string]bool{}
	for _, c := range m.Categories {
		if c.ID == "" || cats[c.ID] {
			return nil, fmt.Errorf("consent: policy data: category %q empty or repeated", c.ID)
		}
		cats[c.ID] = true
		switch c.Retention.Rule {
		case "account", "session":
		case "days", "legal":
			if c.Retention.Days <= 0 {
				return nil, fmt.Errorf("consent: policy data: category %s: retention %s needs days", c.ID, c.Retention.Rule)
			}
		case "hours":
			if c.Retention.Hours <= 0 {
				return nil, fmt.Errorf("consent: policy data: category %s: retention hours needs hours", c.ID)
			}
		default:
			return nil, fmt.Errorf("consent: policy data: category %s: unknown retention rule %q", c.ID, c.Retention.Rule)
		}
		for _, f := range c.Fields {
			if !fieldPattern.MatchString(f) {
				return nil, fmt.Errorf("consent: policy data: category %s: field %q is not table.column", c.ID, f)
			}
		}
	}
	recips := map[string]bool{}
	for _, r := range m.Recipients {
		recips[r.ID] = true
		if (r.Region != "CN") != r.CrossBorder {
			return nil, fmt.Errorf("consent: policy data: recipient %s: region %q and cross_border %v disagree (P50)", r.ID, r.Region, r.CrossBorder)
		}
	}
	m.purposes = map[Purpose]*PurposeDecl{}
	for i := range m.Purposes {
		p := &m.Purposes[i]
		if p.ID == "" || m.purposes[p.ID] != nil {
			return nil, fmt.Errorf("consent: policy data: purpose %q empty or repeated", p.ID)
		}
		if p.Basis != BasisNecessary && p.Basis != BasisConsent {
			return nil, fmt.Errorf("consent: policy data: purpose %s: basis %q", p.ID, p.Basis)
		}
		if p.Sensitive && p.Basis != BasisConsent {
			return nil, fmt.Errorf("consent: policy data: purpose %s is sensitive, so its basis must be consent", p.ID)
		}
		for _, c := range p.Categories {
			if !cats[c] {
				return nil, fmt.Errorf("consent: policy data: purpose %s: unknown category %q", p.ID, c)
			}
		}
		for _, r := range p.Recipients {
			if !recips[r] {
				return nil, fmt.Errorf("consent: policy data: purpose %s: unknown recipient %q", p.ID, r)
			}
		}
		m.purposes[p.ID] = p
	}
	for _, r := range m.Recipients {
		p := m.purposes[r.Purpose]
		if p == nil {
			return nil, fmt.Errorf("consent: policy data: recipient %s: unknown purpose %q", r.ID, r.Purpose)
		}
		// P50, PIPL Art. 39: a transfer abroad needs its own consent.
		if r.CrossBorder && !p.Sensitive {
			return nil, fmt.Errorf("consent: policy data: recipient %s is abroad, so its purpose %s must need a separate consent (P50)", r.ID, p.ID)
		}
	}
	for _, c := range m.Cookies {
		if m.purposes[c.Purpose] == nil {
			return nil, fmt.Errorf("consent: policy data: cookie %s: unknown purpose %q", c.Name, c.Purpose)
		}
	}
	m.exemptions = map[string]bool{}
	for _, e := range m.Exemptions {
		m.exemptions[e.Code] = true
	}
	return &m, nil
}

// Purpose returns the declaration of p, or nil when p is not declared.
func (m *DataMap) Purpose(p Purpose) *PurposeDecl { return m.purposes[p] }

// Limited lists the categories whose retention ends on its own (days,
// hours, or a legal period), as opposed to those kept for the life of
// the account or session. Each must have a job that applies it (P51).
func (m *DataMap) Limited() []CategoryDecl {
	var out []CategoryDecl
	for _, c := range m.Categories {
		switch c.Retention.Rule {
		case "days", "hours", "legal":
			out = append(out, c)
		}
	}
	return out
}

// RetentionOf is how long the category's data is kept when its rule has
// a period (days, hours or legal), else 0.
func (m *DataMap) RetentionOf(category string) time.Duration {
	for _, c := range m.Categories {
		if c.ID == category {
			return time.Duration(c.Retention.Days)*24*time.Hour + time.Duration(c.Retention.Hours)*time.Hour
		}
	}
	return 0
}

// Optional lists the purposes that need consent, in declaration order.
func (m *DataMap) Optional() []Purpose {
	var out []Purpose
	for _, p := range m.Purposes {
		if p.Basis == BasisConsent {
			out = append(out, p.ID)
		}
	}
	return out
}

// Fields lists every declared "table.column", sorted.
func (m *DataMap) Fields() []string {
	var out []string
	for _, c := range m.Categories {
		out = append(out, c.Fields...)
	}
	sort.Strings(out)
	return out
}

// Cookie returns the declaration of the named cookie, or nil.
func (m *DataMap) Cookie(name string) *CookieDecl {
	for i := range m.Cookies {
		if m.Cookies[i].Name == name {
			return &m.Cookies[i]
		}
	}
	return nil
}

// Exemption reports whether code is one of the policy's exemptions.
func (m *DataMap) Exemption(code string) bool { return m.exemptions[code] }
