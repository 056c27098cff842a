package tickets

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
)

// The staff side: the queue sorted by deadline with overdue tickets
// flagged and counted, replies, status changes where a refusal always
// carries its reason, and requests logged from the other channels. Every
// action is an event with who and when; every read of a ticket's content
// goes to the audit log.

// QueueQuery selects the staff queue. Status "" means the tickets waiting
// for staff (open and in_progress), "all" every status.
type QueueQuery struct {
	Category string
	Status   string
	// Overdue keeps only tickets waiting past their deadline.
	Overdue bool
	Cursor  string
	Limit   int
}

// QueuePage is one page of the queue.
type QueuePage struct {
	Items []Summary
	// Next is the cursor of the next page; "" on the last.
	Next string
	// Overdue counts the tickets of the query's category waiting for
	// staff past their deadline, on every page.
	Overdue int
}

// Queue lists tickets for staff, soonest deadline first.
func (s *Service) Queue(ctx context.Context, a Actor, q QueueQuery) (QueuePage, error) {
	if !a.staff() {
		return QueuePage{}, errStaffOnly
	}
	e := yuncan.Errorf(yuncan.Invalid, "the query has invalid parameters")
	f := QueueFilter{Category: Category(q.Category)}
	if q.Category != "" && !f.Category.Valid() {
		e.WithField("category", "is not a category")
	}
	switch st := Status(q.Status); {
	case q.Status == "":
		f.Statuses = []Status{StatusOpen, StatusInProgress}
	case q.Status == "all":
	case st.Valid():
		f.Statuses = []Status{st}
	default:
		e.WithField("status", "must be a status or all")
	}
	limit, err := yuncan.PageLimit(q.Limit)
	if err != nil {
		e.WithField("limit", "must be 1 to 100")
	}
	after, err := yuncan.DecodeCursor(q.Cursor)
	if err != nil {
		e.WithField("cursor", "is not a cursor this list gave")
	}
	if len(e.Fields) > 0 {
		return QueuePage{}, e
	}
	now := s.now()
	page := QueuePage{Items: []Summary{}}
	if q.Overdue {
		// Overdue means waiting past the deadline: of the statuses asked
		// for, only the waiting ones.
		f.DueBy = now
		if q.Status == "all" {
			f.Statuses = []Status{StatusOpen, StatusInProgress}
		}
		f.Statuses = slices.DeleteFunc(f.Statuses, func(st Status) bool { return !st.Waiting() })
	}
	if !q.Overdue || len(f.Statuses) > 0 {
		if err := s.queuePage(ctx, f, after, limit, now, &page); err != nil {
			return QueuePage{}, err
		}
	}
	n, err := s.store.CountQueue(ctx, QueueFilter{Category: f.Category, Statuses: []Status{StatusOpen, StatusInProgress}, DueBy: now})
	if err != nil {
		return QueuePage{}, fmt.Errorf("tickets: queue: %w", err)
	}
	page.Overdue = n
	return page, nil
}

func (s *Service) queuePage(ctx context.Context, f QueueFilter, after Cursor, limit int, now time.Time, page *QueuePage) error {
	rs, err := s.store.Queue(ctx, f, after, limit+1)
	if err != nil {
		return fmt.Errorf("tickets: queue: %w", err)
	}
	for i, r := range rs {
		if i == limit {
			page.Next = Cursor{At: rs[i-1].DueAt, ID: rs[i-1].ID}.Encode()
			break
		}
		page.Items = append(page.Items, s.summary(r, now))
	}
	return nil
}

// StaffTicket is a ticket as staff see it: with its history.
type StaffTicket struct {
	Ticket
	Events []Event
}

// StaffGet returns any ticket with its thread and history, and records
// the read in the audit log (P52): a ticket holds personal data.
func (s *Service) StaffGet(ctx context.Context, a Actor, id string) (StaffTicket, error) {
	if !a.staff() {
		return StaffTicket{}, errStaffOnly
	}
	_, t, err := s.load(ctx, id)
	if err != nil {
		return StaffTicket{}, err
	}
	if err := s.audit(ctx, a, AuditRead, id, "handling the ticket"); err != nil {
		return StaffTicket{}, err
	}
	return s.staffView(ctx, t)
}

func (s *Service) staffView(ctx context.Context, t Ticket) (StaffTicket, error) {
	evs, err := s.store.Events(ctx, t.ID)
	if err != nil {
		return StaffTicket{}, fmt.Errorf("tickets: ticket %s: events: %w", t.ID, err)
	}
	return StaffTicket{Ticket: t, Events: evs}, nil
}

// staffLoad loads a ticket staff act on: not their own.
func (s *Service) staffLoad(ctx context.Context, a Actor, id string) (Record, Ticket, error) {
	if !a.staff() {
		return Record{}, Ticket{}, errStaffOnly
	}
	r, t, err := s.load(ctx, id)
	if err != nil {
		return Record{}, Ticket{}, err
	}
	if r.RequesterID != "" && r.RequesterID == a.UserID {
		return Record{}, Ticket{}, errOwn
	}
	return r, t, nil
}

// StaffReply adds a staff reply the person sees, and sets the status to
// answered (the default) or in_progress. The person is told in the inbox.
func (s *Service) StaffReply(ctx context.Context, a Actor, id, text string, status Status) (StaffTicket, error) {
	if status == "" {
		status = StatusAnswered
	}
	e := yuncan.Errorf(yuncan.Invalid, "the reply has invalid fields")
	if p := checkText(text, MaxText); p != "" {
		e.WithField("text", p)
	}
	if status != StatusAnswered && status != StatusInProgress {
		e.WithField("status", "must be answered or in_progress")
	}
	if !a.staff() {
		return StaffTicket{}, errStaffOnly
	}
	if len(e.Fields) > 0 {
		return StaffTicket{}, e
	}
	r, _, err := s.staffLoad(ctx, a, id)
	if err != nil {
		return StaffTicket{}, err
	}
	if r.Status == StatusClosed {
		return StaffTicket{}, errClosed
	}
	now := s.now()
	from := r.Status
	s.moveTo(&r, status, "", now)
	msg := &MessageRecord{ID: newID(), TicketID: r.ID, AuthorID: a.UserID, AuthorRole: a.role(),
		TextSealed: s.seal("ticket_messages.text", text), CreatedAt: now}
	ev := Event{ID: newID(), TicketID: r.ID, At: now, ActorID: a.UserID, ActorRole: a.role(), Action: ActionReplied, From: from, To: status}
	if err := s.update(ctx, r, from, msg, ev); err != nil {
		return StaffTicket{}, err
	}
	// The status, not the text: the reply may hold personal data.
	if err := s.audit(ctx, a, AuditReply, r.ID, string(status)); err != nil {
		return StaffTicket{}, err
	}
	s.logger.InfoContext(ctx, "tickets: staff replied", slog.String("ticket_id", r.ID), slog.String("staff_id", a.UserID),
		slog.String("status", string(status)))
	s.notifyRequester(ctx, r, ev, "您的反馈有了新回复", "工作人员回复了您的反馈，请打开查看。")
	return s.reload(ctx, id)
}

func (s *Service) reload(ctx context.Context, id string) (StaffTicket, error) {
	_, t, err := s.load(ctx, id)
	if err != nil {
		return StaffTicket{}, err
	}
	return s.staffView(ctx, t)
}

// moveTo sets r's status at now with its consequences: the answer time
// the first time staff answer or refuse, the closing time, the reason
// (kept only for a refusal or a closing), and a fresh deadline when the
// ticket comes back to staff after it stopped waiting.
func (s *Service) moveTo(r *Record, to Status, reason string, now time.Time) {
	if to.Waiting() && !r.Status.Waiting() {
		r.DueAt = s.cal.Deadline(now, s.cfg.DueWorkdays)
	}
	if (to == StatusAnswered || to == StatusRefused) && r.AnsweredAt.IsZero() {
		r.AnsweredAt = now
	}
	r.ClosedAt = time.Time{}
	if to == StatusClosed {
		r.ClosedAt = now
	}
	r.StatusReason = ""
	if to == StatusRefused || to == StatusClosed {
		r.StatusReason = reason
	}
	r.Status, r.UpdatedAt = to, now
}

// SetStatus changes a ticket's status: in_progress (also to reopen),
// answered (after a staff reply), refused (with a reason, always: P73)
// or closed (a reason optional). The person is told of an answer, a
// refusal and a closing.
func (s *Service) SetStatus(ctx context.Context, a Actor, id string, to Status, reason string) (StaffTicket, error) {
	e := yuncan.Errorf(yuncan.Invalid, "the change has invalid fields")
	switch to {
	case StatusInProgress, StatusAnswered, StatusRefused, StatusClosed:
	default:
		e.WithField("status", "must be in_progress, answered, refused or closed")
	}
	switch {
	case to == StatusRefused && strings.TrimSpace(reason) == "":
		e.WithField("reason", "is required to refuse: say why")
	case reason != "":
		if p := checkText(reason, MaxReason); p != "" {
			e.WithField("reason", p)
		}
	}
	if !a.staff() {
		return StaffTicket{}, errStaffOnly
	}
	if len(e.Fields) > 0 {
		return StaffTicket{}, e
	}
	r, t, err := s.staffLoad(ctx, a, id)
	if err != nil {
		return StaffTicket{}, err
	}
	from := r.Status
	switch {
	case from == to:
		return StaffTicket{}, yuncan.Errorf(yuncan.Conflict, "the ticket is %s already", to).WithReason("invalid_transition")
	case from == StatusClosed && to != StatusInProgress:
		return StaffTicket{}, yuncan.Errorf(yuncan.Conflict, "a closed ticket can only be reopened (in_progress)").WithReason("invalid_transition")
	case to == StatusAnswered && !slices.ContainsFunc(t.Messages, func(m Message) bool { return m.AuthorRole.Staff() }):
		return StaffTicket{}, yuncan.Errorf(yuncan.Conflict, "reply first: an answer is a reply the person can read").WithReason("reply_first")
	}
	now := s.now()
	s.moveTo(&r, to, reason, now)
	ev := Event{ID: newID(), TicketID: r.ID, At: now, ActorID: a.UserID, ActorRole: a.role(), Action: ActionStatus, From: from, To: to, Reason: reason}
	if err := s.update(ctx, r, from, nil, ev); err != nil {
		return StaffTicket{}, err
	}
	// The statuses, not the reason: the ticket's history keeps it for
	// the person, and it may name people.
	if err := s.audit(ctx, a, AuditStatus, r.ID, string(from)+" → "+string(to)); err != nil {
		return StaffTicket{}, err
	}
	s.logger.InfoContext(ctx, "tickets: status changed", slog.String("ticket_id", r.ID), slog.String("staff_id", a.UserID),
		slog.String("from", string(from)), slog.String("to", string(to)))
	switch to {
	case StatusRefused:
		s.notifyRequester(ctx, r, ev, "您的请求未被受理", "我们说明了理由，以及您可以向监管部门投诉的途径，请打开查看。")
	case StatusClosed:
		s.notifyRequester(ctx, r, ev, "您的反馈已关闭", "工作人员关闭了您的反馈，请打开查看。")
	case StatusAnswered:
		s.notifyRequester(ctx, r, ev, "您的反馈已答复", "工作人员答复了您的反馈，请打开查看。")
	}
	return s.reload(ctx, id)
}

// LoggedInput is a request staff received by e-mail, WeChat, phone or
// letter (policy 9; P73) and log as a ticket, so that it runs on the same
// clock as in-app feedback.
type LoggedInput struct {
	Input
	Channel Channel
	// Contact is how to answer the requester: the address or account
	// the request came from.
	Contact string
	// RequesterID links the account of the requester, once staff have
	// checked it is theirs; "" when none. The person then follows the
	// ticket in the app too.
	RequesterID string
	// ReceivedAt is when the request arrived, which the deadline counts
	// from; zero means now. At most 30 days back.
	ReceivedAt time.Time
}

// LogRequest files a ticket for a request staff received on another
// channel.
func (s *Service) LogRequest(ctx context.Context, a Actor, in LoggedInput) (StaffTicket, error) {
	if !a.staff() {
		return StaffTicket{}, errStaffOnly
	}
	now := s.now()
	minor, err := in.validate()
	e := yuncan.Errorf(yuncan.Invalid, "the ticket has invalid fields")
	if err != nil {
		e = yuncan.AsError(err)
	}
	if !slices.Contains(StaffChannels, in.Channel) {
		e.WithField("channel", "must be email, wechat, phone or letter")
	}
	if p := checkText(in.Contact, MaxContact); p != "" {
		e.WithField("contact", p)
	} else if strings.ContainsAny(in.Contact, "\r\n") {
		e.WithField("contact", "must be one line")
	}
	at := in.ReceivedAt
	if at.IsZero() {
		at = now
	}
	if at.After(now.Add(time.Minute)) || at.Before(now.Add(-30*24*time.Hour)) {
		e.WithField("received_at", "must be within the last 30 days")
	}
	if in.RequesterID != "" {
		if _, err := s.accounts.User(ctx, in.RequesterID); yuncan.ErrorCode(err) == yuncan.NotFound {
			e.WithField("requester_id", "is not an account")
		} else if err != nil {
			return StaffTicket{}, fmt.Errorf("tickets: log request: %w", err)
		}
	}
	if in.RequesterID == a.UserID {
		e.WithField("requester_id", "must not be your own account")
	}
	if len(e.Fields) > 0 {
		return StaffTicket{}, e
	}
	r := s.newRecord(in.Input, minor, at.UTC())
	r.RequesterID, r.Channel, r.ContactSealed = in.RequesterID, in.Channel, s.seal("tickets.contact", in.Contact)
	ev := Event{ID: newID(), TicketID: r.ID, At: now, ActorID: a.UserID, ActorRole: a.role(), Action: ActionFiled, To: StatusOpen,
		Reason: "logged from " + string(in.Channel)}
	if err := s.store.CreateTicket(ctx, r, ev); err != nil {
		return StaffTicket{}, fmt.Errorf("tickets: log request: %w", err)
	}
	if err := s.audit(ctx, a, AuditLog, r.ID, string(in.Channel)); err != nil {
		return StaffTicket{}, err
	}
	s.logger.InfoContext(ctx, "tickets: request logged", slog.String("ticket_id", r.ID), slog.String("staff_id", a.UserID),
		slog.String("channel", string(r.Channel)))
	s.notifyRequester(ctx, r, ev, "您的请求已登记", "您通过其他渠道提出的请求已登记为反馈，可在“帮助与反馈”中查看进展。")
	return s.reload(ctx, r.ID)
}

// Expire applies the ticket retention (docs/tickets.md): client IP
// indexes of guardian form requests go after a day; a ticket no longer
// waiting for staff goes, with its thread and history, Retention after
// its last change. It is the hourly tickets.expire job.
func (s *Service) Expire(ctx context.Context) error {
	now := s.now()
	if _, err := s.store.ForgetIPs(ctx, now.Add(-24*time.Hour)); err != nil {
		return fmt.Errorf("tickets: expire: %w", err)
	}
	const batch = 500
	for {
		n, err := s.store.DeleteEndedBefore(ctx, now.Add(-s.cfg.Retention), batch)
		if err != nil {
			return fmt.Errorf("tickets: expire: %w", err)
		}
		if n > 0 {
			s.logger.InfoContext(ctx, "tickets: expired", slog.Int("tickets", n))
		}
		if n < batch {
			return nil
		}
	}
}
