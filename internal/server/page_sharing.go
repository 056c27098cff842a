package server

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/yuncan/yuncan/internal/sharing"
)

// "Who received my data" in the privacy center (policy 3.1, P33): the
// person's sharing ledger, newest first, a page at a time. The rules are
// the sharing area's, as for the JSON API (api_sharing.go).

// sharingPageNames are the pages of this file, parsed like the others.
var sharingPageNames = []string{"privacy_disclosures"}

// sharingPageRoutes parses the pages and registers their routes, framed
// as pageRoutes frames its own.
func (s *Server) sharingPageRoutes(mux *http.ServeMux) {
	for _, name := range sharingPageNames {
		s.pages.tmpl[name] = template.Must(template.New(name).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.pageForbidden(w, r) }))
	page := func(pattern string, h http.Handler) { mux.Handle(pattern, s.pageFrame(cop.Handler(h))) }
	page("GET /me/privacy/disclosures", s.requireWebLogin(s.pageDisclosures()))
}

type disclosureRow struct {
	ID, At, Recipient, Purpose, Basis, Fields string
	Abroad                                    bool
}

type privacyDisclosuresView struct {
	pageBase
	Rows []disclosureRow
	// Older is the link to the next page, "" on the last; Paged is true
	// past the first page.
	Older string
	Paged bool
}

// pageDisclosures shows who received the person's data.
func (s *Server) pageDisclosures() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.sharing == nil {
			s.pageError(w, r, errNoSharing)
			return
		}
		v := &privacyDisclosuresView{pageBase: s.newBase(w, r, "sharing.title")}
		cursor := r.URL.Query().Get("cursor")
		es, next, err := s.sharing.Mine(r.Context(), authOf(r).User.ID, cursor, 0)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		for _, e := range es {
			v.Rows = append(v.Rows, s.disclosureRow(e, v.Lang))
		}
		v.Paged = cursor != ""
		if next != "" {
			v.Older = "/me/privacy/disclosures?cursor=" + url.QueryEscape(next)
		}
		w.Header().Set("Cache-Control", "no-store")
		s.render(w, r, http.StatusOK, "privacy_disclosures", v)
	})
}

func (s *Server) disclosureRow(e sharing.Entry, lang string) disclosureRow {
	j := s.disclosureOut(e, lang)
	row := disclosureRow{ID: e.ID, At: e.At.In(chinaTime).Format("2006-01-02 15:04") + " (UTC+8)", Recipient: j.RecipientName,
		Purpose: j.PurposeName, Abroad: j.Region != "" && j.Region != "CN"}
	var names []string
	for _, f := range e.Fields {
		if hasMessage("sharing.field." + f) {
			f = translate(lang, "sharing.field."+f)
		}
		names = append(names, f)
	}
	sep := "、"
	if lang == langEN {
		sep = ", "
	}
	row.Fields = strings.Join(names, sep)
	switch e.Basis {
	case sharing.BasisExemption:
		text := e.Exemption
		for _, x := range s.sharing.DataMap().Exemptions {
			if x.Code == e.Exemption {
				text = x.Text.In(lang)
			}
		}
		row.Basis = translate(lang, "sharing.basis.exemption", e.Exemption, text)
	case sharing.BasisConsent, sharing.BasisNecessary:
		row.Basis = translate(lang, "sharing.basis."+string(e.Basis))
	default:
		row.Basis = string(e.Basis)
	}
	return row
}
