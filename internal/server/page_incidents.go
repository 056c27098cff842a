package server

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/incidents"
)

// The security incident console (policy 5f; P54), the page twin of
// api_incidents.go: admins declare an incident with the five elements and
// who is affected, follow the notification, mark the regulator report
// submitted and close it. And the public announcements, readable without
// a login. The incidents area checks the role again.

// incidentPageNames are the pages of this file, parsed like the others.
var incidentPageNames = []string{"staff_incidents", "staff_incidents_detail", "announcements", "announcements_detail"}

// incidentPageRoutes parses the pages and registers their routes, framed
// as pageRoutes frames its own.
func (s *Server) incidentPageRoutes(mux *http.ServeMux) {
	for _, name := range incidentPageNames {
		s.pages.tmpl[name] = template.Must(template.New(name).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.pageForbidden(w, r) }))
	page := func(pattern string, h http.Handler) { mux.Handle(pattern, s.pageFrame(cop.Handler(h))) }
	form := func(pattern string, h http.Handler) { page(pattern, s.checkCSRF(h)) }
	admin := func(h http.Handler) http.Handler {
		return s.requireWebLogin(s.requireIncidentAdmin(s.incidentsReady(h)))
	}

	page("GET /staff/incidents", admin(s.pageIncidents()))
	form("POST /staff/incidents", admin(s.pageIncidentDeclare()))
	page("GET /staff/incidents/{id}", admin(s.pageIncident()))
	form("POST /staff/incidents/{id}/regulator-report", admin(s.pageIncidentReport()))
	form("POST /staff/incidents/{id}/close", admin(s.pageIncidentClose()))

	page("GET /announcements", s.incidentsReady(s.pageAnnouncements()))
	page("GET /announcements/{id}", s.incidentsReady(s.pageAnnouncement()))
}

// requireIncidentAdmin lets only admins through; others get a 403 page.
// It runs inside requireWebLogin.
func (s *Server) requireIncidentAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if authOf(r).User.Role != identity.RoleAdmin {
			s.renderError(w, r, http.StatusForbidden, translate(pageReqOf(r).lang, "incidents.admin_only"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// incidentsReady answers 503 when the incidents service is not wired.
func (s *Server) incidentsReady(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.incidents == nil {
			s.pageError(w, r, errNoIncidents)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func incidentActor(r *http.Request) incidents.Actor { return incidents.ActorOf(authOf(r).User) }

// pageLang is the page language as the incidents area names it.
func pageLang(lang string) incidents.Lang {
	if lang == langEN {
		return incidents.LangEN
	}
	return incidents.LangZH
}

// elementRow is one of the five elements as a page shows it.
type elementRow struct {
	Field, Label, Value string
}

// elementRows are the five elements of t, labelled in the page's
// language.
func (b *pageBase) elementRows(t incidents.Text) []elementRow {
	var out []elementRow
	for _, el := range t.Elements() {
		out = append(out, elementRow{Field: el.Field, Label: b.T("incidents.element." + el.Field), Value: el.Value})
	}
	return out
}

// incidentRow is an incident in the list.
type incidentRow struct {
	ID, Severity, SeverityKey, Status, StatusKey, Declared, Scope, Summary, Progress string
	Done                                                                             bool
}

func (b *pageBase) incidentRow(i incidents.Incident) incidentRow {
	row := incidentRow{ID: i.ID, Severity: b.T("incidents.severity." + string(i.Severity)), SeverityKey: string(i.Severity),
		Status: b.T("incidents.status." + string(i.Status)), StatusKey: string(i.Status), Declared: pageTime(i.DeclaredAt),
		Summary: i.Text(pageLang(b.Lang)).WhatHappened, Done: i.Progress.Done,
		Progress: b.T("incidents.progress.counts", i.Progress.Notified, i.Progress.Affected, i.Progress.Pending)}
	if i.AffectedAll {
		row.Scope = b.T("incidents.scope.all", i.Progress.Affected)
	} else {
		row.Scope = b.T("incidents.scope.listed", i.Progress.Affected)
	}
	return row
}

// incidentForm is the declaration form as typed.
type incidentForm struct {
	Severity, OccurredAt, DiscoveredAt, Affected, AffectedIDs, Authority string
	// ZH and EN are the five elements by field name.
	ZH, EN map[string]string
}

// formText is the form's text in lang, and whether any of it was typed.
func (f incidentForm) formText(lang incidents.Lang, m map[string]string) (incidents.Text, bool) {
	t := incidents.Text{Lang: lang, WhatHappened: m["what_happened"], Impact: m["impact"], Measures: m["measures"],
		Advice: m["advice"], Remedies: m["remedies"]}
	for _, v := range m {
		if v != "" {
			return t, true
		}
	}
	return t, false
}

var idSeparators = regexp.MustCompile(`[\s,，;；]+`)

// input is the form as a declaration; langs are the languages of its
// texts in order, to put the area's field problems back on the form.
func (f incidentForm) input() (in incidents.Input, langs []incidents.Lang, err error) {
	in = incidents.Input{Severity: incidents.Severity(f.Severity), Authority: f.Authority}
	if t, ok := f.formText(incidents.LangZH, f.ZH); ok {
		in.Texts, langs = append(in.Texts, t), append(langs, incidents.LangZH)
	}
	if t, ok := f.formText(incidents.LangEN, f.EN); ok {
		in.Texts, langs = append(in.Texts, t), append(langs, incidents.LangEN)
	}
	switch f.Affected {
	case "all":
		in.Affected.All = true
	default:
		for _, id := range idSeparators.Split(f.AffectedIDs, -1) {
			if id != "" {
				in.Affected.UserIDs = append(in.Affected.UserIDs, id)
			}
		}
	}
	e := yuncan.Errorf(yuncan.Invalid, "the incident has invalid fields")
	var ok bool
	if in.OccurredAt, ok = parsePageTime(f.OccurredAt); !ok {
		e.WithField("occurred_at", "must be a date and time")
	}
	if in.DiscoveredAt, ok = parsePageTime(f.DiscoveredAt); !ok {
		e.WithField("discovered_at", "must be a date and time")
	}
	if len(e.Fields) > 0 {
		return in, langs, e
	}
	return in, langs, nil
}

var textsFieldRe = regexp.MustCompile(`^texts\[(\d+)\](?:\.(\w+))?$`)

// onForm renames the area's texts[i].element fields to the form's
// zh.element and en.element.
func onForm(fe formErrors, langs []incidents.Lang) formErrors {
	if len(fe.Fields) == 0 {
		return fe
	}
	out := make(map[string]string, len(fe.Fields))
	for k, v := range fe.Fields {
		if m := textsFieldRe.FindStringSubmatch(k); m != nil {
			if i, _ := strconv.Atoi(m[1]); i < len(langs) {
				k = string(langs[i])
				if m[2] != "" && m[2] != "lang" {
					k += "." + m[2]
				}
			}
		}
		out[k] = v
	}
	fe.Fields = out
	return fe
}

// elementInput is one element's textarea.
type elementInput struct {
	Name, ID, Label, Value, Error string
}

type incidentsView struct {
	pageBase
	Rows       []incidentRow
	More       string
	Form       incidentForm
	Err        formErrors
	Severities []option
	// ZH and EN are the five textareas of each language.
	ZH, EN       []elementInput
	TextsHint    string
	AffectedHint string
	Authority    string
	MaxAffected  int
	MaxElement   int
}

func (s *Server) newIncidentsView(w http.ResponseWriter, r *http.Request, f incidentForm, fe formErrors) (*incidentsView, error) {
	cursor := r.URL.Query().Get("cursor")
	if r.Method != http.MethodGet {
		cursor = ""
	}
	items, next, err := s.incidents.List(r.Context(), incidentActor(r), "", cursor, 20)
	if err != nil {
		return nil, err
	}
	v := &incidentsView{pageBase: s.newBase(w, r, "incidents.title"), Form: f, Err: fe, MaxAffected: incidents.MaxAffected,
		MaxElement: incidents.MaxElement}
	v.Path = "/staff/incidents"
	for _, i := range items {
		v.Rows = append(v.Rows, v.incidentRow(i))
	}
	if next != "" {
		v.More = "/staff/incidents?" + url.Values{"cursor": {next}}.Encode()
	}
	if f.Severity == "" {
		f.Severity = string(incidents.SeverityMedium)
	}
	for _, sev := range incidents.Severities {
		v.Severities = append(v.Severities, option{string(sev), v.T("incidents.severity." + string(sev)), string(sev) == f.Severity})
	}
	for _, el := range (incidents.Text{}).Elements() {
		label := v.T("incidents.element." + el.Field)
		v.ZH = append(v.ZH, elementInput{Name: "zh_" + el.Field, ID: "zh-" + el.Field, Label: label, Value: f.ZH[el.Field],
			Error: fe.Field("zh." + el.Field)})
		v.EN = append(v.EN, elementInput{Name: "en_" + el.Field, ID: "en-" + el.Field, Label: label, Value: f.EN[el.Field],
			Error: fe.Field("en." + el.Field)})
	}
	v.TextsHint = v.T("incidents.form.texts_hint", incidents.MaxElement, incidents.MaxNotice)
	v.AffectedHint = v.T("incidents.form.affected_hint", incidents.MaxAffected)
	v.Authority = v.T("incidents.form.authority_hint", s.incidents.Config().Authority)
	return v, nil
}

// pageIncidents lists the incidents and shows the declaration form.
func (s *Server) pageIncidents() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.newIncidentsView(w, r, incidentForm{Affected: "listed"}, formErrors{})
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "staff_incidents", v)
	})
}

// pageIncidentDeclare declares the form's incident.
func (s *Server) pageIncidentDeclare() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pf := r.PostForm
		f := incidentForm{Severity: pf.Get("severity"), OccurredAt: pf.Get("occurred_at"), DiscoveredAt: pf.Get("discovered_at"),
			Affected: pf.Get("affected"), AffectedIDs: strings.TrimSpace(pf.Get("affected_ids")), Authority: strings.TrimSpace(pf.Get("authority")),
			ZH: map[string]string{}, EN: map[string]string{}}
		for _, el := range (incidents.Text{}).Elements() {
			f.ZH[el.Field] = textField(pf, "zh_"+el.Field)
			f.EN[el.Field] = textField(pf, "en_"+el.Field)
		}
		in, langs, err := f.input()
		var i incidents.Incident
		if err == nil {
			i, err = s.incidents.Declare(r.Context(), incidentActor(r), in)
		}
		if err != nil {
			fe := onForm(s.formErr(r, pageReqOf(r).lang, err), langs)
			if fe.Status >= 500 || fe.Status == http.StatusUnauthorized || fe.Status == http.StatusForbidden {
				s.pageError(w, r, err)
				return
			}
			v, verr := s.newIncidentsView(w, r, f, fe)
			if verr != nil {
				s.pageError(w, r, verr)
				return
			}
			s.render(w, r, fe.Status, "staff_incidents", v)
			return
		}
		seeOther(w, r, "/staff/incidents/"+i.ID+"?ok=incident_declared")
	})
}

// textsView is the notice in one language, labelled in the page's.
type textsView struct {
	Lang     string
	Elements []elementRow
}

type incidentView struct {
	pageBase
	Incident      incidentRow
	Occurred      string
	Discovered    string
	DeclaredBy    string
	ClosedAt      string
	ClosedBy      string
	NotifiedAt    string
	Announcement  string
	Texts         []textsView
	Report        incidents.Report
	ReportCreated string
	ReportAt      string
	CanClose      bool
	IsClosed      bool
	Reference     string
	ReportErr     formErrors
	CloseErr      formErrors
}

func (s *Server) newIncidentView(w http.ResponseWriter, r *http.Request) (*incidentView, error) {
	i, err := s.incidents.Get(r.Context(), incidentActor(r), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	v := &incidentView{pageBase: s.newBase(w, r, "incidents.detail.title"), Occurred: pageTime(i.OccurredAt),
		Discovered: pageTime(i.DiscoveredAt), DeclaredBy: i.DeclaredBy, ClosedAt: pageTime(i.ClosedAt), ClosedBy: i.ClosedBy,
		NotifiedAt: pageTime(i.NotifiedAt), Report: i.Report, ReportCreated: pageTime(i.Report.CreatedAt), ReportAt: pageTime(i.Report.SubmittedAt),
		CanClose: i.Status == incidents.StatusNotified, IsClosed: i.Status == incidents.StatusClosed}
	v.Path = "/staff/incidents/" + i.ID
	v.Incident = v.incidentRow(i)
	if i.AnnouncementID != "" {
		v.Announcement = incidents.AnnouncementLink(i.AnnouncementID)
	}
	for _, t := range i.Texts {
		v.Texts = append(v.Texts, textsView{Lang: v.T("lang." + string(t.Lang)), Elements: v.elementRows(t)})
	}
	return v, nil
}

// pageIncident shows an incident with its progress, texts and report.
func (s *Server) pageIncident() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.newIncidentView(w, r)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "staff_incidents_detail", v)
	})
}

// incidentRefused shows the incident again with why a form was refused.
func (s *Server) incidentRefused(w http.ResponseWriter, r *http.Request, err error, keep func(*incidentView, formErrors)) {
	fe := s.formErr(r, pageReqOf(r).lang, err)
	if fe.Status >= 500 || fe.Status == http.StatusUnauthorized || fe.Status == http.StatusNotFound {
		s.pageError(w, r, err)
		return
	}
	v, verr := s.newIncidentView(w, r)
	if verr != nil {
		s.pageError(w, r, verr)
		return
	}
	keep(v, fe)
	s.render(w, r, fe.Status, "staff_incidents_detail", v)
}

// pageIncidentReport marks the regulator report submitted.
func (s *Server) pageIncidentReport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pf := r.PostForm
		ref := strings.TrimSpace(pf.Get("reference"))
		at, ok := parsePageTime(pf.Get("submitted_at"))
		var err error
		if !ok {
			err = yuncan.FieldError("submitted_at", "must be a date and time")
		} else {
			_, err = s.incidents.SubmitReport(r.Context(), incidentActor(r), r.PathValue("id"), ref, at, strings.TrimSpace(pf.Get("authority")))
		}
		if err != nil {
			s.incidentRefused(w, r, err, func(v *incidentView, fe formErrors) { v.Reference, v.ReportErr = ref, fe })
			return
		}
		seeOther(w, r, "/staff/incidents/"+r.PathValue("id")+"?ok=incident_reported")
	})
}

// pageIncidentClose closes the incident.
func (s *Server) pageIncidentClose() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.incidents.Close(r.Context(), incidentActor(r), r.PathValue("id")); err != nil {
			s.incidentRefused(w, r, err, func(v *incidentView, fe formErrors) { v.CloseErr = fe })
			return
		}
		seeOther(w, r, "/staff/incidents/"+r.PathValue("id")+"?ok=incident_closed")
	})
}

// announcementRow is an announcement as a page shows it: in the page's
// language when it has that text, else in the other.
type announcementRow struct {
	ID, Published, Occurred, Severity, Headline, Lang string
	Elements                                          []elementRow
}

func (b *pageBase) announcementRow(a incidents.Announcement) announcementRow {
	t := a.Text(pageLang(b.Lang))
	row := announcementRow{ID: a.ID, Published: pageTime(a.PublishedAt), Occurred: pageTime(a.OccurredAt),
		Severity: b.T("incidents.severity." + string(a.Severity)), Headline: t.WhatHappened, Elements: b.elementRows(t)}
	if string(t.Lang) != b.Lang {
		row.Lang = htmlLang(string(t.Lang))
	}
	return row
}

type announcementsView struct {
	pageBase
	Rows []announcementRow
	More string
}

// pageAnnouncements lists the public announcements, newest first.
func (s *Server) pageAnnouncements() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		items, next, err := s.incidents.Announcements(r.Context(), r.URL.Query().Get("cursor"), 20)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		v := &announcementsView{pageBase: s.newBase(w, r, "announcements.title")}
		v.Path = "/announcements"
		for _, a := range items {
			v.Rows = append(v.Rows, v.announcementRow(a))
		}
		if next != "" {
			v.More = "/announcements?" + url.Values{"cursor": {next}}.Encode()
		}
		s.render(w, r, http.StatusOK, "announcements", v)
	})
}

type announcementView struct {
	pageBase
	Announcement announcementRow
}

// pageAnnouncement shows one announcement: where an incident notice's
// link leads.
func (s *Server) pageAnnouncement() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.incidents.Announcement(r.Context(), r.PathValue("id"))
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		v := &announcementView{pageBase: s.newBase(w, r, "announcements.detail_title")}
		v.Path = fmt.Sprintf("/announcements/%s", a.ID)
		v.Announcement = v.announcementRow(a)
		s.render(w, r, http.StatusOK, "announcements_detail", v)
	})
}
