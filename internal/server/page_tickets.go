package server

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/tickets"
)

// "Help & feedback" (policy 6.5 "my → basic functions → user feedback";
// P67) and the staff ticket queue, the pages' twin of api_tickets.go.
// Anyone reads the help page and the channels; filing and following a
// ticket needs a web login; the queue needs the moderator or admin role
// (the tickets area checks it again).

// ticketPageNames are the pages of this file, parsed like the others
// (templates/<name>.html inside the layout).
var ticketPageNames = []string{"help", "help_ticket", "staff_tickets", "staff_ticket"}

// ticketPageRoutes parses the pages and registers their routes, framed
// as pageRoutes frames its own.
func (s *Server) ticketPageRoutes(mux *http.ServeMux) {
	for _, name := range ticketPageNames {
		s.pages.tmpl[name] = template.Must(template.New(name).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.pageForbidden(w, r) }))
	page := func(pattern string, h http.Handler) { mux.Handle(pattern, s.pageFrame(cop.Handler(h))) }
	form := func(pattern string, h http.Handler) { page(pattern, s.checkCSRF(h)) }
	login := func(h http.Handler) http.Handler { return s.requireWebLogin(s.ticketsReady(h)) }
	staff := func(h http.Handler) http.Handler { return login(s.requireTicketStaff(h)) }

	page("GET /help", s.ticketsReady(s.pageHelp()))
	form("POST /help/tickets", login(s.pageTicketCreate()))
	page("GET /help/tickets/{id}", login(s.pageTicketShow()))
	form("POST /help/tickets/{id}/replies", login(s.pageTicketReply()))
	form("POST /help/tickets/{id}/close", login(s.pageTicketClose()))

	page("GET /staff/tickets", staff(s.pageStaffTickets()))
	page("GET /staff/tickets/{id}", staff(s.pageStaffTicket()))
	form("POST /staff/tickets/{id}/replies", staff(s.pageStaffTicketReply()))
	form("POST /staff/tickets/{id}/status", staff(s.pageStaffTicketStatus()))
}

// ticketsReady answers 503 when the tickets service is not wired.
func (s *Server) ticketsReady(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.tickets == nil {
			s.pageError(w, r, errNoTickets)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireTicketStaff lets moderators and admins through; others get a
// 403 page. It runs inside requireWebLogin.
func (s *Server) requireTicketStaff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if role := authOf(r).User.Role; role != identity.RoleModerator && role != identity.RoleAdmin {
			s.renderError(w, r, http.StatusForbidden, translate(pageReqOf(r).lang, "tickets.staff_only"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func webActor(r *http.Request) tickets.Actor { return tickets.ActorOf(authOf(r).User) }

// ticketFormErr is formErr, with the ticket's own words for a refused
// change of state (invalid_transition is also the seeking area's code).
func (s *Server) ticketFormErr(r *http.Request, lang string, err error) formErrors {
	fe := s.formErr(r, lang, err)
	if yuncan.ErrorReason(err) == "invalid_transition" {
		fe.Message = translate(lang, "tickets.invalid_transition")
	}
	return fe
}

// option is a choice of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// ticketForm is the filing form as typed.
type ticketForm struct {
	Category, Kind, Text, ReferenceKind, ReferenceID, MinorPhone string
}

func (f ticketForm) input() tickets.Input {
	return tickets.Input{Category: tickets.Category(f.Category), Kind: tickets.Kind(f.Kind), Text: f.Text,
		Reference: tickets.Reference{Kind: tickets.ReferenceKind(f.ReferenceKind), ID: f.ReferenceID}, MinorPhone: f.MinorPhone}
}

// ticketRow is a ticket in a list.
type ticketRow struct {
	ID, Category, Kind, Status, StatusKey, Channel, Due, Created string
	Requester                                                    string
	Overdue                                                      bool
}

// dueDay is the last day to answer, in China: a deadline is the midnight
// that ends it.
func dueDay(due time.Time) string {
	return due.Add(-time.Nanosecond).In(chinaTime).Format(time.DateOnly)
}

func (b *pageBase) ticketRow(t tickets.Summary) ticketRow {
	row := ticketRow{ID: t.ID, Category: b.T("tickets.category." + string(t.Category)), Status: b.T("tickets.status." + string(t.Status)),
		StatusKey: string(t.Status), Channel: b.T("tickets.channel." + string(t.Channel)), Due: dueDay(t.DueAt),
		Created: pageTime(t.CreatedAt), Requester: t.RequesterID, Overdue: t.Overdue}
	if t.Kind != "" {
		row.Kind = b.T("tickets.kind." + string(t.Kind))
	}
	return row
}

type helpView struct {
	pageBase
	Intro     string
	Channels  string
	Regulator string
	Form      ticketForm
	Err       formErrors
	// Choices of the form's selects.
	Categories, Kinds, ReferenceKinds []option
	Rows                              []ticketRow
	More                              string
}

func (s *Server) newHelpView(w http.ResponseWriter, r *http.Request, f ticketForm) (*helpView, error) {
	v := &helpView{pageBase: s.newBase(w, r, "tickets.help.title"), Form: f}
	v.Path = "/help"
	c := s.tickets.ContactInfo()
	v.Intro = v.T("tickets.help.lead", c.DueWorkdays)
	v.Channels = v.T("tickets.help.channels", c.Email, c.WeChat)
	v.Regulator = c.Regulator.ZH
	if v.Lang == langEN {
		v.Regulator = c.Regulator.EN
	}
	if f.Category == "" {
		f.Category = string(tickets.CategoryPrivacyComplaint)
	}
	for _, cat := range tickets.Categories {
		v.Categories = append(v.Categories, option{string(cat), v.T("tickets.category." + string(cat)), string(cat) == f.Category})
	}
	v.Kinds = []option{{"", v.T("tickets.kind.none"), f.Kind == ""}}
	for _, k := range []tickets.Kind{tickets.KindAccess, tickets.KindCorrection, tickets.KindDeletion, tickets.KindExplanation,
		tickets.KindWithdrawal, tickets.KindOther} {
		v.Kinds = append(v.Kinds, option{string(k), v.T("tickets.kind." + string(k)), string(k) == f.Kind})
	}
	v.ReferenceKinds = []option{{"", v.T("tickets.reference.none"), f.ReferenceKind == ""}}
	for _, k := range tickets.ReferenceKinds {
		v.ReferenceKinds = append(v.ReferenceKinds, option{string(k), v.T("tickets.reference." + string(k)), string(k) == f.ReferenceKind})
	}
	if v.User == nil {
		return v, nil
	}
	items, next, err := s.tickets.Mine(r.Context(), tickets.ActorOf(*v.User), r.URL.Query().Get("cursor"), 20)
	if err != nil {
		return nil, err
	}
	for _, t := range items {
		v.Rows = append(v.Rows, v.ticketRow(t))
	}
	if next != "" {
		v.More = "/help?cursor=" + url.QueryEscape(next)
	}
	return v, nil
}

// pageHelp shows the channels, the filing form and the person's tickets.
func (s *Server) pageHelp() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.newHelpView(w, r, ticketForm{})
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "help", v)
	})
}

// textField reads a textarea: browsers send line breaks as CRLF.
func textField(f url.Values, name string) string {
	return strings.TrimSpace(strings.ReplaceAll(f.Get(name), "\r\n", "\n"))
}

// pageTicketCreate files the form's ticket.
func (s *Server) pageTicketCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := r.PostForm
		form := ticketForm{Category: f.Get("category"), Kind: f.Get("kind"), Text: textField(f, "text"),
			ReferenceKind: f.Get("reference_kind"), ReferenceID: strings.TrimSpace(f.Get("reference_id")),
			MinorPhone: strings.TrimSpace(f.Get("minor_phone"))}
		t, err := s.tickets.File(r.Context(), webActor(r), form.input())
		if err != nil {
			v, verr := s.newHelpView(w, r, form)
			if verr != nil {
				s.pageError(w, r, verr)
				return
			}
			v.Err = s.ticketFormErr(r, v.Lang, err)
			s.render(w, r, v.Err.Status, "help", v)
			return
		}
		seeOther(w, r, "/help/tickets/"+t.ID+"?ok=ticket_filed")
	})
}

// ticketMessageRow is a reply as a page shows it.
type ticketMessageRow struct {
	ID, Who, Text, Created string
	Staff                  bool
}

// ticketDetail is a ticket as a page shows it, in the page's language.
type ticketDetail struct {
	ticketRow
	Text, Reference, MinorPhone, StatusReason, WorkdaysLeft string
	Refused, Closed, CanReply                               bool
	Messages                                                []ticketMessageRow
}

func (s *Server) ticketDetail(b *pageBase, t tickets.Ticket, staff bool) ticketDetail {
	d := ticketDetail{ticketRow: b.ticketRow(tickets.Summary{ID: t.ID, RequesterID: t.RequesterID, Channel: t.Channel, Category: t.Category,
		Kind: t.Kind, Status: t.Status, DueAt: t.DueAt, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Overdue: t.Overdue}),
		Text: t.Text, StatusReason: t.StatusReason, Refused: t.Status == tickets.StatusRefused, Closed: t.Status == tickets.StatusClosed,
		CanReply: t.Status != tickets.StatusRefused && t.Status != tickets.StatusClosed}
	if t.Reference.Kind != "" {
		d.Reference = b.T("tickets.reference."+string(t.Reference.Kind)) + " " + t.Reference.ID
	}
	if t.MinorPhone != "" {
		d.MinorPhone = maskPhone(string(t.MinorPhone))
	}
	if t.Status.Waiting() && !t.Overdue {
		d.WorkdaysLeft = b.T("tickets.workdays_left", s.tickets.WorkdaysLeft(t))
	}
	for _, m := range t.Messages {
		row := ticketMessageRow{ID: m.ID, Text: m.Text, Created: pageTime(m.CreatedAt), Staff: m.AuthorRole.Staff()}
		switch {
		case staff:
			row.Who = b.T("tickets.role." + string(m.AuthorRole))
			if m.AuthorID != "" {
				row.Who += " " + m.AuthorID
			}
		case row.Staff:
			row.Who = b.T("tickets.from.staff")
		default:
			row.Who = b.T("tickets.from.you")
		}
		d.Messages = append(d.Messages, row)
	}
	return d
}

type helpTicketView struct {
	pageBase
	Ticket    ticketDetail
	Regulator string
	Reply     string
	Err       formErrors
}

func (s *Server) newHelpTicketView(w http.ResponseWriter, r *http.Request) (*helpTicketView, error) {
	t, err := s.tickets.Get(r.Context(), webActor(r), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	v := &helpTicketView{pageBase: s.newBase(w, r, "tickets.ticket.title")}
	v.Path = "/help/tickets/" + t.ID
	v.Ticket = s.ticketDetail(&v.pageBase, t, false)
	if v.Ticket.Refused {
		reg := s.tickets.ContactInfo().Regulator
		v.Regulator = reg.ZH
		if v.Lang == langEN {
			v.Regulator = reg.EN
		}
	}
	return v, nil
}

// pageTicketShow shows one of the person's tickets with its thread.
func (s *Server) pageTicketShow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.newHelpTicketView(w, r)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "help_ticket", v)
	})
}

// pageTicketReply adds the person's reply.
func (s *Server) pageTicketReply() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		text := textField(r.PostForm, "text")
		if _, err := s.tickets.Reply(r.Context(), webActor(r), r.PathValue("id"), text); err != nil {
			s.ticketPageRefused(w, r, err, func(v *helpTicketView) { v.Reply = text })
			return
		}
		seeOther(w, r, "/help/tickets/"+r.PathValue("id")+"?ok=ticket_replied")
	})
}

// ticketPageRefused shows the ticket again with why the form was refused;
// a ticket that is not the person's is a 404 page.
func (s *Server) ticketPageRefused(w http.ResponseWriter, r *http.Request, err error, keep func(*helpTicketView)) {
	v, verr := s.newHelpTicketView(w, r)
	if verr != nil {
		s.pageError(w, r, verr)
		return
	}
	keep(v)
	v.Err = s.ticketFormErr(r, v.Lang, err)
	s.render(w, r, v.Err.Status, "help_ticket", v)
}

// pageTicketClose closes the person's ticket.
func (s *Server) pageTicketClose() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.tickets.Close(r.Context(), webActor(r), r.PathValue("id")); err != nil {
			s.ticketPageRefused(w, r, err, func(*helpTicketView) {})
			return
		}
		seeOther(w, r, "/help/tickets/"+r.PathValue("id")+"?ok=ticket_closed")
	})
}

type staffTicketsView struct {
	pageBase
	Categories, Statuses []option
	Overdue              bool
	OverdueCount         int
	Rows                 []ticketRow
	More                 string
}

// pageStaffTickets is the queue, soonest deadline first, with filters.
func (s *Server) pageStaffTickets() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		query := tickets.QueueQuery{Category: q.Get("category"), Status: q.Get("status"), Overdue: q.Get("overdue") == "true",
			Cursor: q.Get("cursor")}
		p, err := s.tickets.Queue(r.Context(), webActor(r), query)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		v := &staffTicketsView{pageBase: s.newBase(w, r, "tickets.staff.title"), Overdue: query.Overdue, OverdueCount: p.Overdue}
		v.Path = "/staff/tickets"
		v.Categories = []option{{"", v.T("tickets.filter.any_category"), query.Category == ""}}
		for _, c := range tickets.Categories {
			v.Categories = append(v.Categories, option{string(c), v.T("tickets.category." + string(c)), string(c) == query.Category})
		}
		v.Statuses = []option{{"", v.T("tickets.filter.waiting"), query.Status == ""}, {"all", v.T("tickets.filter.all"), query.Status == "all"}}
		for _, st := range tickets.Statuses {
			v.Statuses = append(v.Statuses, option{string(st), v.T("tickets.status." + string(st)), string(st) == query.Status})
		}
		for _, t := range p.Items {
			v.Rows = append(v.Rows, v.ticketRow(t))
		}
		if p.Next != "" {
			more := url.Values{"cursor": {p.Next}}
			for _, k := range []string{"category", "status", "overdue"} {
				if q.Get(k) != "" {
					more.Set(k, q.Get(k))
				}
			}
			v.More = "/staff/tickets?" + more.Encode()
		}
		s.render(w, r, http.StatusOK, "staff_tickets", v)
	})
}

// ticketEventRow is an entry of the history, for staff.
type ticketEventRow struct {
	At, Who, What, Reason string
}

type staffTicketView struct {
	pageBase
	Ticket     ticketDetail
	Contact    string
	Events     []ticketEventRow
	Reply      string
	ReplyErr   formErrors
	Reason     string
	StatusErr  formErrors
	StatusOpts []option
	Own        bool
}

func (s *Server) newStaffTicketView(w http.ResponseWriter, r *http.Request) (*staffTicketView, error) {
	t, err := s.tickets.StaffGet(r.Context(), webActor(r), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	v := &staffTicketView{pageBase: s.newBase(w, r, "tickets.staff.ticket_title"), Contact: t.Contact,
		Own: t.RequesterID != "" && t.RequesterID == webActor(r).UserID}
	v.Path = "/staff/tickets/" + t.ID
	v.Ticket = s.ticketDetail(&v.pageBase, t.Ticket, true)
	v.Ticket.CanReply = t.Status != tickets.StatusClosed
	for _, st := range []tickets.Status{tickets.StatusInProgress, tickets.StatusAnswered, tickets.StatusRefused, tickets.StatusClosed} {
		if st != t.Status {
			v.StatusOpts = append(v.StatusOpts, option{Value: string(st), Label: v.T("tickets.status." + string(st))})
		}
	}
	for _, e := range t.Events {
		who := v.T("tickets.role." + string(e.ActorRole))
		if e.ActorID != "" {
			who += " " + e.ActorID
		}
		what := v.T("tickets.action."+string(e.Action), v.T("tickets.status."+string(e.To)))
		v.Events = append(v.Events, ticketEventRow{At: pageTime(e.At), Who: who, What: what, Reason: e.Reason})
	}
	return v, nil
}

// pageStaffTicket shows a ticket to staff; the read is audited.
func (s *Server) pageStaffTicket() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.newStaffTicketView(w, r)
		if err != nil {
			s.pageError(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "staff_ticket", v)
	})
}

// staffPageRefused shows the ticket again with why a form was refused.
func (s *Server) staffPageRefused(w http.ResponseWriter, r *http.Request, err error, keep func(*staffTicketView, formErrors)) {
	v, verr := s.newStaffTicketView(w, r)
	if verr != nil {
		s.pageError(w, r, verr)
		return
	}
	fe := s.ticketFormErr(r, v.Lang, err)
	keep(v, fe)
	s.render(w, r, fe.Status, "staff_ticket", v)
}

// pageStaffTicketReply adds a staff reply.
func (s *Server) pageStaffTicketReply() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		text := textField(r.PostForm, "text")
		_, err := s.tickets.StaffReply(r.Context(), webActor(r), r.PathValue("id"), text, tickets.Status(r.PostForm.Get("status")))
		if err != nil {
			s.staffPageRefused(w, r, err, func(v *staffTicketView, fe formErrors) { v.Reply, v.ReplyErr = text, fe })
			return
		}
		seeOther(w, r, "/staff/tickets/"+r.PathValue("id")+"?ok=ticket_staff_replied")
	})
}

// pageStaffTicketStatus changes the status; a refusal needs its reason.
func (s *Server) pageStaffTicketStatus() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reason := textField(r.PostForm, "reason")
		_, err := s.tickets.SetStatus(r.Context(), webActor(r), r.PathValue("id"), tickets.Status(r.PostForm.Get("status")), reason)
		if err != nil {
			s.staffPageRefused(w, r, err, func(v *staffTicketView, fe formErrors) { v.Reason, v.StatusErr = reason, fe })
			return
		}
		seeOther(w, r, "/staff/tickets/"+r.PathValue("id")+"?ok=ticket_status")
	})
}
