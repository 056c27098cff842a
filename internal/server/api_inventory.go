package server

import (
	"net/http"

	"github.com/yuncan/yuncan/internal/consent"
)

type inventoryPurpose struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Section     string   `json:"policy_section"`
	Basis       string   `json:"basis"`
	Necessary   bool     `json:"necessary"`
	Sensitive   bool     `json:"sensitive"`
	Categories  []string `json:"categories"`
	Recipients  []string `json:"recipients"`
}

type inventoryCategory struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Personal  bool   `json:"personal"`
	Sensitive bool   `json:"sensitive"`
	Retention string `json:"retention"`
	RetDays   int    `json:"retention_days,omitempty"`
	RetHours  int    `json:"retention_hours,omitempty"`
	Rule      string `json:"retention_rule"`
}

type inventoryRecipient struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Purpose      string   `json:"purpose"`
	Fields       []string `json:"fields"`
	Deidentified bool     `json:"deidentified"`
	Region       string   `json:"region"`
	Assessed     string   `json:"security_assessed"`
}

type inventoryCookie struct {
	Name     string `json:"name"`
	Purpose  string `json:"purpose"`
	Kind     string `json:"kind"`
	Text     string `json:"description"`
	Lifetime string `json:"lifetime"`
}

type inventoryExemption struct {
	Code string `json:"code"`
	Text string `json:"text"`
}

type inventoryJSON struct {
	PolicyVersion string               `json:"policy_version"`
	Purposes      []inventoryPurpose   `json:"purposes"`
	Categories    []inventoryCategory  `json:"categories"`
	Recipients    []inventoryRecipient `json:"recipients"`
	Cookies       []inventoryCookie    `json:"cookies"`
	Exemptions    []inventoryExemption `json:"exemptions"`
}

// inventory renders the policy data in one language.
func inventory(m *consent.DataMap, version, lang string) inventoryJSON {
	inv := inventoryJSON{PolicyVersion: version}
	for _, p := range m.Purposes {
		inv.Purposes = append(inv.Purposes, inventoryPurpose{ID: string(p.ID), Name: p.Name.In(lang), Description: p.Description.In(lang),
			Section: p.Section, Basis: string(p.Basis), Necessary: p.Basis == consent.BasisNecessary, Sensitive: p.Sensitive,
			Categories: nonNil(p.Categories), Recipients: nonNil(p.Recipients)})
	}
	for _, c := range m.Categories {
		inv.Categories = append(inv.Categories, inventoryCategory{ID: c.ID, Name: c.Name.In(lang), Personal: c.Personal, Sensitive: c.Sensitive,
			Retention: c.Retention.Text.In(lang), RetDays: c.Retention.Days, RetHours: c.Retention.Hours, Rule: c.Retention.Rule})
	}
	for _, r := range m.Recipients {
		inv.Recipients = append(inv.Recipients, inventoryRecipient{ID: r.ID, Name: r.Name.In(lang), Purpose: string(r.Purpose),
			Fields: r.Fields, Deidentified: r.Deidentified, Region: r.Region, Assessed: r.Assessed})
	}
	for _, c := range m.Cookies {
		inv.Cookies = append(inv.Cookies, inventoryCookie{Name: c.Name, Purpose: string(c.Purpose), Kind: c.Kind, Text: c.Text.In(lang), Lifetime: c.Lifetime.In(lang)})
	}
	for _, e := range m.Exemptions {
		inv.Exemptions = append(inv.Exemptions, inventoryExemption{Code: e.Code, Text: e.Text.In(lang)})
	}
	return inv
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// handleInventory serves the public inventory (no login; P02): every
// purpose with its data, basis and recipients, every category with its
// retention, every third party, cookie and legal exemption.
func (s *Server) handleInventory() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, inventory(s.consent.DataMap(), s.currentPolicy().Version, apiLang(r)))
	})
}
