package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/tickets"
)

// Complaints, reports and requests (policy 6.5, 7c, 9; P67, P71, P73):
// a person's tickets, the staff queue, and the channels to reach the
// operator. The tickets area holds the rules; staff routes sit behind
// requireRole and the area checks the role again.

var errNoTickets = &yuncan.Error{Code: yuncan.Unavailable, Message: "feedback is not available on this server"}

// withTickets checks the tickets service is wired and passes the caller
// as its actor.
func (s *Server) withTickets(next func(w http.ResponseWriter, r *http.Request, a tickets.Actor)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.tickets == nil {
			s.writeError(w, r, errNoTickets)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next(w, r, tickets.ActorOf(authOf(r).User))
	})
}

type referenceJSON struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

type bilingualJSON struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// ticketMessageJSON is a reply as its owner sees it: staff are "staff",
// never named.
type ticketMessageJSON struct {
	ID        string `json:"id"`
	From      string `json:"from"` // you, staff
	Text      string `json:"text"`
	CreatedAt string `json:"created_at"`
}

// ticketJSON is a ticket as its owner sees it.
type ticketJSON struct {
	ID       string         `json:"id"`
	Category string         `json:"category"`
	Kind     *string        `json:"kind"`
	Status   string         `json:"status"`
	Channel  string         `json:"channel"`
	Text     string         `json:"text"`
	Ref      *referenceJSON `json:"reference"`
	// MinorPhoneMasked is the minor's number of a guardian's request.
	MinorPhoneMasked *string `json:"minor_phone_masked"`
	// StatusReason is a refusal's reason, or a closing's note.
	StatusReason *string `json:"status_reason"`
	// Regulator is where to complain after a refusal (P73); null
	// otherwise.
	Regulator    *bilingualJSON      `json:"regulator"`
	DueAt        string              `json:"due_at"`
	Overdue      bool                `json:"overdue"`
	WorkdaysLeft int                 `json:"workdays_left"`
	CreatedAt    string              `json:"created_at"`
	UpdatedAt    string              `json:"updated_at"`
	AnsweredAt   *string             `json:"answered_at"`
	ClosedAt     *string             `json:"closed_at"`
	Messages     []ticketMessageJSON `json:"messages"`
	URL          string              `json:"url"`
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func refOut(r tickets.Reference) *referenceJSON {
	if r.Kind == "" {
		return nil
	}
	return &referenceJSON{Kind: string(r.Kind), ID: r.ID}
}

func (s *Server) ticketOut(t tickets.Ticket) ticketJSON {
	j := ticketJSON{ID: t.ID, Category: string(t.Category), Kind: strOrNil(string(t.Kind)), Status: string(t.Status), Channel: string(t.Channel),
		Text: t.Text, Ref: refOut(t.Reference), StatusReason: strOrNil(t.StatusReason), DueAt: *timePtr(t.DueAt), Overdue: t.Overdue,
		WorkdaysLeft: s.tickets.WorkdaysLeft(t), CreatedAt: *timePtr(t.CreatedAt), UpdatedAt: *timePtr(t.UpdatedAt),
		AnsweredAt: timePtr(t.AnsweredAt), ClosedAt: timePtr(t.ClosedAt), Messages: []ticketMessageJSON{}, URL: "/api/v1/tickets/" + t.ID}
	if t.MinorPhone != "" {
		m := maskPhone(string(t.MinorPhone))
		j.MinorPhoneMasked = &m
	}
	if t.Status == tickets.StatusRefused {
		reg := s.tickets.ContactInfo().Regulator
		j.Regulator = &bilingualJSON{ZH: reg.ZH, EN: reg.EN}
	}
	for _, m := range t.Messages {
		from := "staff"
		if m.AuthorRole == tickets.RoleRequester {
			from = "you"
		}
		j.Messages = append(j.Messages, ticketMessageJSON{ID: m.ID, From: from, Text: m.Text, CreatedAt: *timePtr(m.CreatedAt)})
	}
	return j
}

// ticketSummaryJSON is a ticket in a list.
type ticketSummaryJSON struct {
	ID       string  `json:"id"`
	Category string  `json:"category"`
	Kind     *string `json:"kind"`
	Status   string  `json:"status"`
	Channel  string  `json:"channel"`
	// RequesterID is in the staff queue only.
	RequesterID *string `json:"requester_id,omitempty"`
	DueAt       string  `json:"due_at"`
	Overdue     bool    `json:"overdue"`
	CreatedAt   string  `json:"created_at"`
	UpdatedAt   string  `json:"updated_at"`
	URL         string  `json:"url"`
}

func summaryOut(t tickets.Summary, staff bool) ticketSummaryJSON {
	j := ticketSummaryJSON{ID: t.ID, Category: string(t.Category), Kind: strOrNil(string(t.Kind)), Status: string(t.Status),
		Channel: string(t.Channel), DueAt: *timePtr(t.DueAt), Overdue: t.Overdue, CreatedAt: *timePtr(t.CreatedAt),
		UpdatedAt: *timePtr(t.UpdatedAt), URL: "/api/v1/tickets/" + t.ID}
	if staff {
		j.URL = "/api/v1/staff/tickets/" + t.ID
		if t.RequesterID != "" {
			j.RequesterID = &t.RequesterID
		}
	}
	return j
}

// queryLimit reads the limit parameter; 0 when absent.
func queryLimit(r *http.Request) (int, error) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil {
		return 0, yuncan.FieldError("limit", "must be a whole number")
	}
	return n, nil
}

type ticketCreateRequest struct {
	Category      string `json:"category"`
	Kind          string `json:"kind"`
	Text          string `json:"text"`
	ReferenceKind string `json:"reference_kind"`
	ReferenceID   string `json:"reference_id"`
	MinorPhone    string `json:"minor_phone"`
}

func (req ticketCreateRequest) input() tickets.Input {
	return tickets.Input{Category: tickets.Category(req.Category), Kind: tickets.Kind(req.Kind), Text: req.Text,
		Reference: tickets.Reference{Kind: tickets.ReferenceKind(req.ReferenceKind), ID: req.ReferenceID}, MinorPhone: req.MinorPhone}
}

// handleTicketCreate files a ticket for the caller (P67).
func (s *Server) handleTicketCreate() http.Handler {
	return s.withTickets(func(w http.ResponseWriter, r *http.Request, a tickets.Actor) {
		var req ticketCreateRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		t, err := s.tickets.File(r.Context(), a, req.input())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/tickets/"+t.ID)
		encode(w, http.StatusCreated, s.ticketOut(t))
	})
}

// handleTicketList lists the caller's tickets, newest first.
func (s *Server) handleTicketList() http.Handler {
	return s.withTickets(func(w http.ResponseWriter, r *http.Request, a tickets.Actor) {
		limit, err := queryLimit(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		items, next, err := s.tickets.Mine(r.Context(), a, r.URL.Query().Get("cursor"), limit)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := make([]ticketSummaryJSON, 0, len(items))
		for _, t := range items {
			out = append(out, summaryOut(t, false))
		}
		encode(w, http.StatusOK, map[string]any{"tickets": out, "next_cursor": strOrNil(next)})
	})
}

// handleTicketShow shows one of the caller's tickets with its thread;
// anyone else's is not found.
func (s *Server) handleTicketShow() http.Handler {
	return s.withTickets(func(w http.ResponseWriter, r *http.Request, a tickets.Actor) {
		t, err := s.tickets.Get(r.Context(), a, r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, s.ticketOut(t))
	})
}

type ticketReplyRequest struct {
	Text string `json:"text"`
}

// handleTicketReply adds the caller's reply to their ticket.
func (s *Server) handleTicketReply() http.Handler {
	return s.withTickets(func(w http.ResponseWriter, r *http.Request, a tickets.Actor) {
		var req ticketReplyRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		t, err := s.tickets.Reply(r.Context(), a, r.PathValue("id"), req.Text)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusCreated, s.ticketOut(t))
	})
}

// handleTicketClose closes the caller's ticket.
func (s *Server) handleTicketClose() http.Handler {
	return s.withTickets(func(w http.ResponseWriter, r *http.Request, a tickets.Actor) {
		t, err := s.tickets.Close(r.Context(), a, r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, s.ticketOut(t))
	})
}

// staffMessageJSON is a reply as staff see it: who wrote it.
type staffMessageJSON struct {
	ID         string  `json:"id"`
	AuthorID   *string `json:"author_id"`
	AuthorRole string  `json:"author_role"`
	Text       string  `json:"text"`
	CreatedAt  string  `json:"created_at"`
}

type ticketEventJSON struct {
	ID        string  `json:"id"`
	At        string  `json:"at"`
	ActorID   *string `json:"actor_id"`
	ActorRole string  `json:"actor_role"`
	Action    string  `json:"action"`
	From      *string `json:"from"`
	To        string  `json:"to"`
	Reason    *string `json:"reason"`
}

// staffTicketJSON is a ticket as staff see it: who filed it, how to
// answer them, every reply's author and the history. Its messages hide
// the owner's view of them.
type staffTicketJSON struct {
	ticketJSON
	RequesterID *string            `json:"requester_id"`
	Contact     *string            `json:"contact"`
	Messages    []staffMessageJSON `json:"messages"`
	Events      []ticketEventJSON  `json:"events"`
}

func (s *Server) staffTicketOut(t tickets.StaffTicket) staffTicketJSON {
	j := staffTicketJSON{ticketJSON: s.ticketOut(t.Ticket), RequesterID: strOrNil(t.RequesterID), Contact: strOrNil(t.Contact),
		Messages: []staffMessageJSON{}, Events: []ticketEventJSON{}}
	j.URL = "/api/v1/staff/tickets/" + t.ID
	for _, m := range t.Messages {
		j.Messages = append(j.Messages, staffMessageJSON{ID: m.ID, AuthorID: strOrNil(m.AuthorID), AuthorRole: string(m.AuthorRole),
			Text: m.Text, CreatedAt: *timePtr(m.CreatedAt)})
	}
	for _, e := range t.Events {
		j.Events = append(j.Events, ticketEventJSON{ID: e.ID, At: *timePtr(e.At), ActorID: strOrNil(e.ActorID), ActorRole: string(e.ActorRole),
			Action: string(e.Action), From: strOrNil(string(e.From)), To: string(e.To), Reason: strOrNil(e.Reason)})
	}
	return j
}

// handleStaffTicketQueue lists tickets by deadline, overdue ones flagged
// and counted (P67).
func (s *Server) handleStaffTicketQueue() http.Handler {
	return s.withTickets(func(w http.ResponseWriter, r *http.Request, a tickets.Actor) {
		q := r.URL.Query()
		limit, err := queryLimit(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		overdue := false
		switch q.Get("overdue") {
		case "", "false":
		case "true":
			overdue = true
		default:
			s.writeError(w, r, yuncan.FieldError("overdue", "must be true or false"))
			return
		}
		p, err := s.tickets.Queue(r.Context(), a, tickets.QueueQuery{Category: q.Get("category"), Status: q.Get("status"),
			Overdue: overdue, Cursor: q.Get("cursor"), Limit: limit})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := make([]ticketSummaryJSON, 0, len(p.Items))
		for _, t := range p.Items {
			out = append(out, summaryOut(t, true))
		}
		encode(w, http.StatusOK, map[string]any{"tickets": out, "next_cursor": strOrNil(p.Next), "overdue_count": p.Overdue})
	})
}

// handleStaffTicketShow shows any ticket to staff; the read is audited.
func (s *Server) handleStaffTicketShow() http.Handler {
	return s.withTickets(func(w http.ResponseWriter, r *http.Request, a tickets.Actor) {
		t, err := s.tickets.StaffGet(r.Context(), a, r.PathValue("id"))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, s.staffTicketOut(t))
	})
}

type staffReplyRequest struct {
	Text   string `json:"text"`
	Status string `json:"status"`
}

// handleStaffTicketReply adds a staff reply; the person is told in the
// inbox.
func (s *Server) handleStaffTicketReply() http.Handler {
	return s.withTickets(func(w http.ResponseWriter, r *http.Request, a tickets.Actor) {
		var req staffReplyRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		t, err := s.tickets.StaffReply(r.Context(), a, r.PathValue("id"), req.Text, tickets.Status(req.Status))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusCreated, s.staffTicketOut(t))
	})
}

type staffStatusRequest struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// handleStaffTicketStatus changes a ticket's status; a refusal needs a
// reason (P73).
func (s *Server) handleStaffTicketStatus() http.Handler {
	return s.withTickets(func(w http.ResponseWriter, r *http.Request, a tickets.Actor) {
		var req staffStatusRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		t, err := s.tickets.SetStatus(r.Context(), a, r.PathValue("id"), tickets.Status(req.Status), req.Reason)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, s.staffTicketOut(t))
	})
}

// staffLogRequest is flat, as the decoder wants: the fields of a
// ticket, and where it came from.
type staffLogRequest struct {
	Category      string `json:"category"`
	Kind          string `json:"kind"`
	Text          string `json:"text"`
	ReferenceKind string `json:"reference_kind"`
	ReferenceID   string `json:"reference_id"`
	MinorPhone    string `json:"minor_phone"`
	Channel       string `json:"channel"`
	Contact       string `json:"contact"`
	RequesterID   string `json:"requester_id"`
	ReceivedAt    string `json:"received_at"`
}

// handleStaffTicketLog logs a request that came by e-mail, WeChat, phone
// or letter as a ticket (P73).
func (s *Server) handleStaffTicketLog() http.Handler {
	return s.withTickets(func(w http.ResponseWriter, r *http.Request, a tickets.Actor) {
		var req staffLogRequest
		if err := decode(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
		ticket := ticketCreateRequest{Category: req.Category, Kind: req.Kind, Text: req.Text, ReferenceKind: req.ReferenceKind,
			ReferenceID: req.ReferenceID, MinorPhone: req.MinorPhone}
		in := tickets.LoggedInput{Input: ticket.input(), Channel: tickets.Channel(req.Channel), Contact: req.Contact, RequesterID: req.RequesterID}
		if req.ReceivedAt != "" {
			at, err := time.Parse(time.RFC3339, req.ReceivedAt)
			if err != nil {
				s.writeError(w, r, yuncan.FieldError("received_at", "must be a date-time (RFC 3339)"))
				return
			}
			in.ReceivedAt = at
		}
		t, err := s.tickets.LogRequest(r.Context(), a, in)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/staff/tickets/"+t.ID)
		encode(w, http.StatusCreated, s.staffTicketOut(t))
	})
}

type contactJSON struct {
	HelpPage     string        `json:"help_page"`
	TicketsAPI   string        `json:"tickets_api"`
	GuardianForm string        `json:"guardian_form"`
	Email        string        `json:"email"`
	WeChat       string        `json:"wechat"`
	Workdays     int           `json:"answer_within_working_days"`
	Regulator    bilingualJSON `json:"regulator"`
}

// handlePrivacyContact lists the ways to reach the operator about
// personal information (policy 9; P73): every one ends in the same
// ticket queue.
func (s *Server) handlePrivacyContact() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.tickets == nil {
			s.writeError(w, r, errNoTickets)
			return
		}
		c := s.tickets.ContactInfo()
		encode(w, http.StatusOK, contactJSON{HelpPage: "/help", TicketsAPI: "/api/v1/tickets", GuardianForm: "/api/v1/guardian-requests",
			Email: c.Email, WeChat: c.WeChat, Workdays: c.DueWorkdays, Regulator: bilingualJSON{ZH: c.Regulator.ZH, EN: c.Regulator.EN}})
	})
}
