package server

import (
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/yuncan/yuncan/internal/consent"
)

// The public privacy pages: every policy version (P72, P68) and the
// inventory of what we hold and why (P02), rendered from the same
// services and policy data as GET /api/v1/privacy/policy/history and GET
// /api/v1/privacy/inventory. No login.

type policyHistoryView struct {
	pageBase
	Versions []policyVersionRow
}

type policyVersionRow struct {
	Version   string
	Effective string
	Summary   string
	InForce   bool
	Upcoming  bool
	// ReducesRights and AddsPurposes mark versions that wait for each
	// person's acceptance; Changed names the purposes concerned.
	ReducesRights bool
	AddsPurposes  bool
	Changed       string
}

// policyVersionRow describes p; cur is the version in force, so a later
// one is still to come.
func (s *Server) policyVersionRow(p, cur consent.Policy, lang string) policyVersionRow {
	row := policyVersionRow{Version: p.Version, Effective: p.Effective.UTC().Format(time.DateOnly), Summary: p.Summary.In(lang),
		InForce: p.Version == cur.Version, Upcoming: p.Effective.After(cur.Effective), ReducesRights: p.ReducesRights, AddsPurposes: p.AddsPurposes}
	var names []string
	for _, pu := range p.ChangedPurposes {
		if d := s.consent.DataMap().Purpose(pu); d != nil {
			names = append(names, d.Name.In(lang))
		}
	}
	row.Changed = strings.Join(names, listSep(lang))
	return row
}

// pagePolicyHistory lists every version, newest first, including one
// published to take effect later.
func (s *Server) pagePolicyHistory() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := &policyHistoryView{pageBase: s.newBase(w, r, "privacy.history.title")}
		cur := s.versions.Current()
		for _, p := range s.versions.History() {
			v.Versions = append(v.Versions, s.policyVersionRow(p, cur, v.Lang))
		}
		s.render(w, r, http.StatusOK, "privacy_center_history", v)
	})
}

type policyVersionView struct {
	pageBase
	policyVersionRow
	// TextLang is the lang attribute of the text: "en" when it has no
	// Chinese in it (the 2021 text), "" to inherit the page's.
	TextLang   string
	Paragraphs []policyParagraph
}

// textLang tells an English-only text from one with Chinese in it.
func textLang(text string) string {
	if strings.ContainsFunc(text, func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
		return ""
	}
	return "en"
}

// pagePolicyVersion shows one version with its full text; an unknown
// version is a 404.
func (s *Server) pagePolicyVersion() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.versions.Version(r.Context(), r.PathValue("version"))
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		v := &policyVersionView{pageBase: s.newBase(w, r, "privacy.version.title"), TextLang: textLang(p.Text),
			Paragraphs: policyParagraphs(p.Text)}
		v.policyVersionRow = s.policyVersionRow(p, s.versions.Current(), v.Lang)
		v.Title = v.T("privacy.version.title_of", p.Version)
		s.render(w, r, http.StatusOK, "privacy_center_version", v)
	})
}

type inventoryView struct {
	pageBase
	PolicyVersion string
	Purposes      []inventoryPurposeRow
	Recipients    []inventoryRecipientRow
	Cookies       []inventoryCookieRow
	Exemptions    []inventoryExemption
}

type inventoryPurposeRow struct {
	ID          string
	Name        string
	Description string
	Section     string
	Necessary   bool
	Sensitive   bool
	AdultsOnly  bool
	Categories  []inventoryCategoryRow
	Recipients  []string
}

type inventoryCategoryRow struct {
	Name      string
	Sensitive bool
	Retention string
}

type inventoryRecipientRow struct {
	ID           string
	Name         string
	Purpose      string
	Fields       []string
	Deidentified bool
	Region       string
	Assessed     string
}

type inventoryCookieRow struct {
	Name, Purpose, Text, Lifetime string
}

// regionName names where a third party processes data.
func regionName(lang, region string) string {
	if region == "CN" {
		return translate(lang, "privacy.inventory.region_cn")
	}
	return region
}

// pageInventory shows what we hold and why (P02), from the policy data.
func (s *Server) pageInventory() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := &inventoryView{pageBase: s.newBase(w, r, "privacy.inventory.title"), PolicyVersion: s.currentPolicy().Version}
		lang, dm := v.Lang, s.consent.DataMap()
		cats := map[string]consent.CategoryDecl{}
		for _, c := range dm.Categories {
			cats[c.ID] = c
		}
		recips := map[string]string{}
		for _, rc := range dm.Recipients {
			recips[rc.ID] = rc.Name.In(lang)
		}
		purposeName := func(p consent.Purpose) string {
			if d := dm.Purpose(p); d != nil {
				return d.Name.In(lang)
			}
			return string(p)
		}
		for _, p := range dm.Purposes {
			row := inventoryPurposeRow{ID: string(p.ID), Name: p.Name.In(lang), Description: p.Description.In(lang), Section: p.Section,
				Necessary: p.Basis == consent.BasisNecessary, Sensitive: p.Sensitive, AdultsOnly: p.AdultsOnly}
			for _, id := range p.Categories {
				c := cats[id]
				row.Categories = append(row.Categories, inventoryCategoryRow{Name: c.Name.In(lang), Sensitive: c.Sensitive, Retention: c.Retention.Text.In(lang)})
			}
			for _, id := range p.Recipients {
				row.Recipients = append(row.Recipients, recips[id])
			}
			v.Purposes = append(v.Purposes, row)
		}
		for _, rc := range dm.Recipients {
			v.Recipients = append(v.Recipients, inventoryRecipientRow{ID: rc.ID, Name: rc.Name.In(lang), Purpose: purposeName(rc.Purpose),
				Fields: rc.Fields, Deidentified: rc.Deidentified, Region: regionName(lang, rc.Region), Assessed: rc.Assessed})
		}
		for _, c := range dm.Cookies {
			v.Cookies = append(v.Cookies, inventoryCookieRow{Name: c.Name, Purpose: purposeName(c.Purpose), Text: c.Text.In(lang), Lifetime: c.Lifetime.In(lang)})
		}
		for _, e := range dm.Exemptions {
			v.Exemptions = append(v.Exemptions, inventoryExemption{Code: e.Code, Text: e.Text.In(lang)})
		}
		s.render(w, r, http.StatusOK, "privacy_center_inventory", v)
	})
}
