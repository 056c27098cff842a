package server

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/audit"
	"github.com/yuncan/yuncan/internal/identity"
)

// The staff console's audit log (P52), the page twin of api_audit.go:
// admins filter the hash-chained log by actor, target and time, page
// through it newest first, and verify the chain. Each look at the log is
// itself written to it before anything is shown (audit.Log.Read), as
// for the API.

// auditPageNames are the pages of this file, parsed like the others.
var auditPageNames = []string{"staff_audit"}

// auditPageRoutes parses the page and registers its routes, framed as
// pageRoutes frames its own.
func (s *Server) auditPageRoutes(mux *http.ServeMux) {
	for _, name := range auditPageNames {
		s.pages.tmpl[name] = template.Must(template.New(name).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.pageForbidden(w, r) }))
	page := func(pattern string, h http.Handler) { mux.Handle(pattern, s.pageFrame(cop.Handler(h))) }
	form := func(pattern string, h http.Handler) { page(pattern, s.checkCSRF(h)) }
	admin := func(h http.Handler) http.Handler { return s.requireWebLogin(s.requireAdminPage(s.auditReady(h))) }

	page("GET /staff/audit", admin(s.pageAudit()))
	form("POST /staff/audit/verify", admin(s.pageAuditVerify()))
}

// requireAdminPage lets only admins through; others get a 403 page. It
// runs inside requireWebLogin. (The audit service checks the role again.)
func (s *Server) requireAdminPage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if authOf(r).User.Role != identity.RoleAdmin {
			s.renderError(w, r, http.StatusForbidden, translate(pageReqOf(r).lang, "audit.admin_only"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// auditReady answers 503 when the audit log is not wired.
func (s *Server) auditReady(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.audit == nil {
			s.pageError(w, r, errNoAudit)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Admin reports whether the logged-in person is an admin: the layout
// shows the audit log in the staff navigation to admins only.
func (b *pageBase) Admin() bool { return b.User != nil && b.User.Role == identity.RoleAdmin }

// auditFilterForm is the filter as typed, kept in the form and the
// paging links.
type auditFilterForm struct {
	Actor, TargetKind, TargetID, Since, Until string
}

// values are the filter's query parameters, the empty ones left out.
func (f auditFilterForm) values() url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"actor": f.Actor, "target_kind": f.TargetKind, "target_id": f.TargetID, "since": f.Since, "until": f.Until} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

// auditTargetKinds are the target kinds the form suggests.
var auditTargetKinds = []string{"case", "clue", "ticket", "audit_log"}

// auditRow is an entry as the page shows it.
type auditRow struct {
	Seq                                             int64
	At, ActorID, Role, Action, TargetKind, TargetID string
	Reason, Hash, ShortHash                         string
	// ActorLink and TargetLink filter the log by this actor or target.
	ActorLink, TargetLink string
}

// auditVerifyView is a verification as the page shows it.
type auditVerifyView struct {
	OK                                    bool
	Entries, BrokenAt, HeadSeq, AnchorSeq int64
	HeadHash, AnchorHash, AnchorPruned    string
	// BrokenLink lists the log from the broken entry down.
	BrokenLink string
}

type staffAuditView struct {
	pageBase
	Filter      auditFilterForm
	TargetKinds []string
	Rows        []auditRow
	More        string
	// Filtered: some filter is set (the page offers to clear it).
	Filtered bool
	Err      formErrors
	Verify   *auditVerifyView
}

// auditFilterOf reads the filter from the query: since and until as a
// datetime-local field sends them (China time) or RFC 3339, the cursor
// as the API's. Problems come back as one Invalid error with fields.
func auditFilterOf(q url.Values) (audit.Filter, auditFilterForm, error) {
	form := auditFilterForm{Actor: strings.TrimSpace(q.Get("actor")), TargetKind: strings.TrimSpace(q.Get("target_kind")),
		TargetID: strings.TrimSpace(q.Get("target_id")), Since: strings.TrimSpace(q.Get("since")), Until: strings.TrimSpace(q.Get("until"))}
	f := audit.Filter{ActorID: form.Actor, TargetKind: form.TargetKind, TargetID: form.TargetID, Limit: 50}
	e := yuncan.Errorf(yuncan.Invalid, "the filters are not valid")
	for name, v := range map[string]string{"actor": form.Actor, "target_kind": form.TargetKind, "target_id": form.TargetID} {
		if len(v) > 100 {
			e.WithField(name, "must have at most 100 characters")
		}
	}
	for _, p := range []struct {
		name, v string
		to      *time.Time
	}{{"since", form.Since, &f.Since}, {"until", form.Until, &f.Until}} {
		t, ok := parsePageTime(p.v)
		if !ok {
			t, ok = parseRFC3339(p.v)
		}
		if !ok {
			e.WithField(p.name, "is not a date and time")
		}
		*p.to = t
	}
	if c := q.Get("cursor"); c != "" {
		n, err := strconv.ParseInt(c, 10, 64)
		if err != nil || n <= 0 {
			e.WithField("cursor", "is not a cursor")
		}
		f.Before = n
	}
	if len(e.Fields) > 0 {
		return audit.Filter{}, form, e
	}
	return f, form, nil
}

func parseRFC3339(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// newAuditView reads the log as the query asks, through the audited
// read. A filter the log refuses comes back in Err (status 400), with
// nothing read and nothing written.
func (s *Server) newAuditView(w http.ResponseWriter, r *http.Request, q url.Values) (*staffAuditView, error) {
	v := &staffAuditView{pageBase: s.newBase(w, r, "audit.title"), TargetKinds: auditTargetKinds}
	v.Path = "/staff/audit"
	f, form, err := auditFilterOf(q)
	v.Filter = form
	v.Filtered = len(form.values()) > 0
	if err == nil {
		var p audit.Page
		p, err = s.audit.Read(r.Context(), s.auditActor(r), f)
		if err == nil {
			v.fill(p, form)
			return v, nil
		}
	}
	if yuncan.ErrorCode(err) != yuncan.Invalid {
		return nil, err
	}
	v.Err = s.formErr(r, v.Lang, err)
	return v, nil
}

// fill turns a page of the log into rows and the link to the next page.
func (v *staffAuditView) fill(p audit.Page, form auditFilterForm) {
	for _, e := range p.Entries {
		row := auditRow{Seq: e.Seq, At: e.At.In(chinaTime).Format("2006-01-02 15:04:05"), ActorID: e.ActorID, Action: e.Action,
			TargetKind: e.TargetKind, TargetID: e.TargetID, Reason: e.Reason, Hash: e.Hash, ShortHash: e.Hash}
		if len(row.ShortHash) > 12 {
			row.ShortHash = row.ShortHash[:12]
		}
		row.Role = v.T("audit.role.none")
		if k := "audit.role." + string(e.ActorRole); e.ActorRole != "" && hasMessage(k) {
			row.Role = v.T(k)
		} else if e.ActorRole != "" {
			row.Role = string(e.ActorRole)
		}
		row.ActorLink = "/staff/audit?" + url.Values{"actor": {e.ActorID}}.Encode()
		if e.TargetID != "" {
			row.TargetLink = "/staff/audit?" + url.Values{"target_kind": {e.TargetKind}, "target_id": {e.TargetID}}.Encode()
		}
		v.Rows = append(v.Rows, row)
	}
	if p.Next > 0 {
		more := form.values()
		more.Set("cursor", strconv.FormatInt(p.Next, 10))
		v.More = "/staff/audit?" + more.Encode()
	}
}

// pageAudit shows the log, filtered and paged; a refused filter is a 400
// page that keeps what was typed.
func (s *Server) pageAudit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.newAuditView(w, r, r.URL.Query())
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		status := http.StatusOK
		if v.Err.Any() {
			status = v.Err.Status
		}
		s.render(w, r, status, "staff_audit", v)
	})
}

// pageAuditVerify walks the chain and shows the result above the newest
// entries. It answers the post with the page itself: a verdict carried
// in a redirect's address could be forged by a link.
func (s *Server) pageAuditVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := s.audit.VerifyAs(r.Context(), s.auditActor(r))
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		v, err := s.newAuditView(w, r, url.Values{})
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		vv := &auditVerifyView{OK: res.OK, Entries: res.Entries, BrokenAt: res.BrokenAt, HeadSeq: res.HeadSeq, HeadHash: res.HeadHash,
			AnchorSeq: res.Anchor.Seq, AnchorHash: res.Anchor.Hash}
		if !res.Anchor.PrunedAt.IsZero() {
			vv.AnchorPruned = pageTime(res.Anchor.PrunedAt)
		}
		if !res.OK {
			vv.BrokenLink = "/staff/audit?" + url.Values{"cursor": {strconv.FormatInt(res.BrokenAt+1, 10)}}.Encode()
		}
		v.Verify = vv
		s.render(w, r, http.StatusOK, "staff_audit", v)
	})
}
