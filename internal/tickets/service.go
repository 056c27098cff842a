package tickets

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/audit"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/notify"
)

// Config holds the ticket rules an operator may tune; zero values take
// the defaults (docs/tickets.md).
type Config struct {
	// DueWorkdays is how many working days staff have to answer. 15.
	DueWorkdays int
	// TicketsPerDay bounds the tickets one account files in 24 hours. 10.
	TicketsPerDay int
	// RepliesPerDay bounds the replies one account writes in 24 hours. 50.
	RepliesPerDay int
	// Retention is how long a ticket that no longer waits for staff is
	// kept after its last change, as the record of how the request was
	// handled. 3 years (1095 days).
	Retention time.Duration
	// Contact is the channels of policy section 9 (P73); its zero fields
	// take the policy's.
	Contact Contact
	// Regulator is what a refusal says about complaining to the
	// regulator (P73); zero takes DefaultRegulator.
	Regulator Text
}

func (c Config) withDefaults() Config {
	defInt := func(d *int, v int) {
		if *d == 0 {
			*d = v
		}
	}
	defInt(&c.DueWorkdays, 15)
	defInt(&c.TicketsPerDay, 10)
	defInt(&c.RepliesPerDay, 50)
	if c.Retention == 0 {
		c.Retention = 1095 * 24 * time.Hour
	}
	if c.Contact.Email == "" {
		c.Contact.Email = DefaultContact.Email
	}
	if c.Contact.WeChat == "" {
		c.Contact.WeChat = DefaultContact.WeChat
	}
	if c.Regulator.ZH == "" || c.Regulator.EN == "" {
		c.Regulator = DefaultRegulator
	}
	return c
}

// Notifier tells a person about their ticket: notify.Inbox.
type Notifier interface {
	Deliver(ctx context.Context, n notify.Notification) (notify.Notification, bool, error)
}

// Accounts finds accounts: identity.Service. NotFound when there is none.
type Accounts interface {
	User(ctx context.Context, id string) (identity.User, error)
}

// Deps are what the service works with.
type Deps struct {
	Store Store
	Keys  *keyring.Keyring
	// Notifier may be nil: then nobody is told of replies.
	Notifier Notifier
	Accounts Accounts
	// Calendar counts working days; nil takes DefaultCalendar.
	Calendar *Calendar
	// Audit is the audit log staff reads and actions go to (P52); nil
	// means a log over Store.
	Audit *audit.Log
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service carries out the ticket rules.
type Service struct {
	store    Store
	keys     *keyring.Keyring
	notifier Notifier
	accounts Accounts
	cal      *Calendar
	log      *audit.Log
	now      func() time.Time
	cfg      Config
	logger   *slog.Logger
}

// NewService returns the tickets service.
func NewService(d Deps, cfg Config) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Calendar == nil {
		d.Calendar = DefaultCalendar()
	}
	if d.Audit == nil {
		d.Audit = audit.NewLog(d.Store, d.Now)
	}
	return &Service{log: d.Audit, store: d.Store, keys: d.Keys, notifier: d.Notifier, accounts: d.Accounts, cal: d.Calendar,
		now: d.Now, cfg: cfg.withDefaults(), logger: d.Logger}
}

// Config returns the rules in force, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// Calendar returns the working-day calendar the deadlines use.
func (s *Service) Calendar() *Calendar { return s.cal }

// WorkdaysLeft counts the working days left until a ticket is due.
func (s *Service) WorkdaysLeft(t Ticket) int { return s.cal.WorkdaysLeft(s.now(), t.DueAt) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Actor is who calls: an account and its role.
type Actor struct {
	UserID string
	Role   identity.Role
}

// ActorOf is the actor of an account.
func ActorOf(u identity.User) Actor { return Actor{UserID: u.ID, Role: u.Role} }

// audit appends a staff read or action on a ticket to the audit log
// (P52). Reads are written before anything is shown; actions right after
// they commit.
func (s *Service) audit(ctx context.Context, a Actor, action, id, reason string) error {
	if _, err := s.log.Append(ctx, audit.Record{ActorID: a.UserID, ActorRole: a.Role, Action: action,
		TargetKind: "ticket", TargetID: id, Reason: reason}); err != nil {
		return fmt.Errorf("tickets: %w", err)
	}
	return nil
}

// Audit actions.
const (
	AuditRead   = "ticket.read"
	AuditReply  = "ticket.reply"
	AuditStatus = "ticket.status"
	AuditLog    = "ticket.log"
)

func (a Actor) staff() bool { return a.Role == identity.RoleModerator || a.Role == identity.RoleAdmin }

func (a Actor) role() Role {
	switch a.Role {
	case identity.RoleModerator:
		return RoleModerator
	case identity.RoleAdmin:
		return RoleAdmin
	}
	return RoleRequester
}

var (
	errNotFound  = yuncan.Errorf(yuncan.NotFound, "there is no such ticket")
	errStaffOnly = yuncan.Errorf(yuncan.Forbidden, "this is for staff only")
	errClosed    = yuncan.Errorf(yuncan.Conflict, "the ticket is closed; file a new one").WithReason("ticket_closed")
	errOwn       = yuncan.Errorf(yuncan.Forbidden, "staff do not handle their own tickets").WithReason("own_ticket")
)

// seal and open use the column a value is stored in as its context.
func (s *Service) seal(column, v string) string {
	if v == "" {
		return ""
	}
	return s.keys.Seal(column, []byte(v))
}

func (s *Service) open(column, sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	b, err := s.keys.Open(column, sealed)
	if err != nil {
		return "", fmt.Errorf("tickets: open %s: %w", column, err)
	}
	return string(b), nil
}

// overdue reports whether a ticket waits for staff past its deadline.
func overdue(st Status, due, now time.Time) bool { return st.Waiting() && !now.Before(due) }

func (s *Service) view(r Record, msgs []MessageRecord) (Ticket, error) {
	t := Ticket{ID: r.ID, RequesterID: r.RequesterID, Channel: r.Channel, Category: r.Category, Kind: r.Kind, Status: r.Status,
		Reference: r.Reference, StatusReason: r.StatusReason, DueAt: r.DueAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		AnsweredAt: r.AnsweredAt, ClosedAt: r.ClosedAt, Overdue: overdue(r.Status, r.DueAt, s.now()), Messages: []Message{}}
	var err error
	if t.Text, err = s.open("tickets.text", r.TextSealed); err != nil {
		return Ticket{}, err
	}
	minor, err := s.open("tickets.minor_phone", r.MinorPhoneSealed)
	if err != nil {
		return Ticket{}, err
	}
	t.MinorPhone = identity.Phone(minor)
	if t.Contact, err = s.open("tickets.contact", r.ContactSealed); err != nil {
		return Ticket{}, err
	}
	for _, m := range msgs {
		text, err := s.open("ticket_messages.text", m.TextSealed)
		if err != nil {
			return Ticket{}, err
		}
		t.Messages = append(t.Messages, Message{ID: m.ID, TicketID: m.TicketID, AuthorID: m.AuthorID, AuthorRole: m.AuthorRole,
			Text: text, CreatedAt: m.CreatedAt})
	}
	return t, nil
}

func (s *Service) summary(r Record, now time.Time) Summary {
	return Summary{ID: r.ID, RequesterID: r.RequesterID, Channel: r.Channel, Category: r.Category, Kind: r.Kind, Status: r.Status,
		DueAt: r.DueAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Overdue: overdue(r.Status, r.DueAt, now)}
}

// load returns a ticket with its thread.
func (s *Service) load(ctx context.Context, id string) (Record, Ticket, error) {
	if _, err := uuid.Parse(id); err != nil {
		return Record{}, Ticket{}, errNotFound
	}
	r, err := s.store.TicketByID(ctx, id)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return Record{}, Ticket{}, errNotFound
	}
	if err != nil {
		return Record{}, Ticket{}, fmt.Errorf("tickets: ticket %s: %w", id, err)
	}
	msgs, err := s.store.Messages(ctx, id)
	if err != nil {
		return Record{}, Ticket{}, fmt.Errorf("tickets: ticket %s: messages: %w", id, err)
	}
	t, err := s.view(r, msgs)
	return r, t, err
}

// dayAgo starts the window of the daily limits: the last 24 hours, so
// that waiting RetryAfter is enough.
func (s *Service) dayAgo() time.Time { return s.now().Add(-24*time.Hour + time.Nanosecond) }

// limitDay refuses when times (oldest first, within the last day) already
// hold max entries, saying when the oldest leaves the window.
func (s *Service) limitDay(times []time.Time, max int, what string) error {
	if len(times) < max {
		return nil
	}
	wait := times[len(times)-max].Add(24 * time.Hour).Sub(s.now())
	if wait < time.Second {
		wait = time.Second
	}
	return &yuncan.Error{Code: yuncan.RateLimited, Reason: "ticket_limit",
		Message:    fmt.Sprintf("at most %d %s a day; try again later", max, what),
		RetryAfter: wait.Round(time.Second)}
}

// File files a ticket for the caller (P67): in-app feedback, a report, a
// rights request or a guardian's request. Its deadline is DueWorkdays
// working days away.
func (s *Service) File(ctx context.Context, a Actor, in Input) (Ticket, error) {
	minor, err := in.validate()
	if err != nil {
		return Ticket{}, err
	}
	now := s.now()
	times, err := s.store.TicketTimesByRequesterSince(ctx, a.UserID, s.dayAgo())
	if err != nil {
		return Ticket{}, fmt.Errorf("tickets: file: %w", err)
	}
	if err := s.limitDay(times, s.cfg.TicketsPerDay, "tickets"); err != nil {
		return Ticket{}, err
	}
	r := s.newRecord(in, minor, now)
	r.RequesterID, r.Channel = a.UserID, ChannelApp
	ev := Event{ID: newID(), TicketID: r.ID, At: now, ActorID: a.UserID, ActorRole: RoleRequester, Action: ActionFiled, To: StatusOpen}
	if err := s.store.CreateTicket(ctx, r, ev); err != nil {
		return Ticket{}, fmt.Errorf("tickets: file: %w", err)
	}
	s.logger.InfoContext(ctx, "tickets: filed", slog.String("ticket_id", r.ID), slog.String("category", string(r.Category)),
		slog.String("channel", string(r.Channel)))
	return s.view(r, nil)
}

// newRecord is a new open ticket made of in, due DueWorkdays working
// days after at.
func (s *Service) newRecord(in Input, minor identity.Phone, at time.Time) Record {
	r := Record{ID: newID(), Category: in.Category, Kind: in.Kind, Status: StatusOpen,
		TextSealed: s.seal("tickets.text", in.Text), Reference: in.Reference,
		DueAt: s.cal.Deadline(at, s.cfg.DueWorkdays), CreatedAt: at, UpdatedAt: at}
	if minor != "" {
		r.MinorPhoneSealed = s.seal("tickets.minor_phone", string(minor))
		r.MinorPhoneIndex = s.keys.BlindIndex("phone", string(minor))
	}
	return r
}

// Get returns one of the caller's own tickets with its thread. Anyone
// else's answers NotFound, staff's too: they use StaffGet.
func (s *Service) Get(ctx context.Context, a Actor, id string) (Ticket, error) {
	r, t, err := s.load(ctx, id)
	if err != nil {
		return Ticket{}, err
	}
	if r.RequesterID == "" || r.RequesterID != a.UserID {
		return Ticket{}, errNotFound
	}
	return t, nil
}

// Mine lists the caller's tickets, newest first, limit (1 to 100; 20
// when 0) after cursor; next is "" on the last page.
func (s *Service) Mine(ctx context.Context, a Actor, cursor string, limit int) (items []Summary, next string, err error) {
	limit, err = yuncan.PageLimit(limit)
	if err != nil {
		return nil, "", err
	}
	after, err := yuncan.DecodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	rs, err := s.store.TicketsByRequester(ctx, a.UserID, after, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("tickets: mine: %w", err)
	}
	now := s.now()
	items = []Summary{}
	for i, r := range rs {
		if i == limit {
			next = Cursor{At: rs[i-1].CreatedAt, ID: rs[i-1].ID}.Encode()
			break
		}
		items = append(items, s.summary(r, now))
	}
	return items, next, nil
}

// Reply adds the caller's reply to their own ticket. A reply after an
// answer sends the ticket back to staff with a fresh deadline; a refused
// or closed ticket takes no more replies.
func (s *Service) Reply(ctx context.Context, a Actor, id, text string) (Ticket, error) {
	if p := checkText(text, MaxText); p != "" {
		return Ticket{}, yuncan.FieldError("text", p)
	}
	r, _, err := s.load(ctx, id)
	if err != nil {
		return Ticket{}, err
	}
	if r.RequesterID == "" || r.RequesterID != a.UserID {
		return Ticket{}, errNotFound
	}
	if r.Status == StatusRefused || r.Status == StatusClosed {
		return Ticket{}, errClosed
	}
	now := s.now()
	times, err := s.store.MessageTimesByAuthorSince(ctx, a.UserID, s.dayAgo())
	if err != nil {
		return Ticket{}, fmt.Errorf("tickets: reply: %w", err)
	}
	if err := s.limitDay(times, s.cfg.RepliesPerDay, "replies"); err != nil {
		return Ticket{}, err
	}
	from := r.Status
	if from == StatusAnswered {
		// The person waits for staff again, for a full period.
		r.Status, r.DueAt = StatusOpen, s.cal.Deadline(now, s.cfg.DueWorkdays)
	}
	r.UpdatedAt = now
	msg := &MessageRecord{ID: newID(), TicketID: r.ID, AuthorID: a.UserID, AuthorRole: RoleRequester,
		TextSealed: s.seal("ticket_messages.text", text), CreatedAt: now}
	ev := Event{ID: newID(), TicketID: r.ID, At: now, ActorID: a.UserID, ActorRole: RoleRequester, Action: ActionReplied, From: from, To: r.Status}
	if err := s.update(ctx, r, from, msg, ev); err != nil {
		return Ticket{}, err
	}
	_, t, err := s.load(ctx, id)
	return t, err
}

// update stores a change made from status from, naming a lost race.
func (s *Service) update(ctx context.Context, r Record, from Status, msg *MessageRecord, ev Event) error {
	err := s.store.UpdateTicket(ctx, r, from, msg, ev)
	switch yuncan.ErrorCode(err) {
	case "":
		return nil
	case yuncan.NotFound:
		return errNotFound
	case yuncan.Conflict:
		return yuncan.Errorf(yuncan.Conflict, "the ticket changed meanwhile; reload it").WithReason("ticket_changed")
	}
	return fmt.Errorf("tickets: update %s: %w", r.ID, err)
}

// Close closes the caller's own ticket.
func (s *Service) Close(ctx context.Context, a Actor, id string) (Ticket, error) {
	r, _, err := s.load(ctx, id)
	if err != nil {
		return Ticket{}, err
	}
	if r.RequesterID == "" || r.RequesterID != a.UserID {
		return Ticket{}, errNotFound
	}
	if r.Status == StatusClosed {
		return Ticket{}, yuncan.Errorf(yuncan.Conflict, "the ticket is closed already").WithReason("ticket_closed")
	}
	now := s.now()
	from := r.Status
	r.Status, r.ClosedAt, r.UpdatedAt = StatusClosed, now, now
	ev := Event{ID: newID(), TicketID: r.ID, At: now, ActorID: a.UserID, ActorRole: RoleRequester, Action: ActionStatus, From: from, To: StatusClosed}
	if err := s.update(ctx, r, from, nil, ev); err != nil {
		return Ticket{}, err
	}
	_, t, err := s.load(ctx, id)
	return t, err
}

// notifyRequester tells the ticket's owner, in the inbox, that staff did
// something they should read (P67). A failure is logged: the change it
// follows is committed already.
func (s *Service) notifyRequester(ctx context.Context, r Record, ev Event, title, body string) {
	if s.notifier == nil || r.RequesterID == "" {
		return
	}
	n := notify.Notification{Recipient: notify.User(r.RequesterID), Kind: NotifyKind, DedupeKey: "ticket:" + r.ID + ":" + ev.ID,
		Title: title, Body: body, Data: notify.Data{Link: "/help/tickets/" + r.ID}}
	if _, _, err := s.notifier.Deliver(ctx, n); err != nil {
		s.logger.ErrorContext(ctx, "tickets: tell the requester", slog.String("ticket_id", r.ID), slog.Any("err", err))
	}
}

// NotifyKind is the kind of the inbox notifications about tickets.
const NotifyKind notify.Kind = "ticket_reply"
