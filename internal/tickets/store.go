package tickets

import (
	"context"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/audit"
)

// Record is a ticket as stored: text and numbers sealed, each with
// keyring.Seal("<table>.<column without _sealed>", value).
type Record struct {
	ID          string
	RequesterID string // "" when none
	Channel     Channel
	Category    Category
	Kind        Kind
	Status      Status
	TextSealed  string
	Reference   Reference
	// MinorPhoneSealed and MinorPhoneIndex (keyring.BlindIndex("phone",
	// E.164)) are "" unless the ticket is a guardian's request.
	MinorPhoneSealed string
	MinorPhoneIndex  string
	// ContactSealed is "" when the requester has an account.
	ContactSealed string
	// GuardianAccessIndex is keyring.BlindIndex("guardian_request", id)
	// of the id the guardian form gave the guardian, the only key to the
	// ticket they hold; "" on other channels.
	GuardianAccessIndex string
	// IPIndex is keyring.BlindIndex("ip", client IP) of a guardian form
	// request, for its limit per network; blanked after a day.
	IPIndex      string
	StatusReason string
	DueAt        time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
	AnsweredAt   time.Time
	ClosedAt     time.Time
}

// MessageRecord is a reply as stored: its text sealed.
type MessageRecord struct {
	ID         string
	TicketID   string
	AuthorID   string
	AuthorRole Role
	TextSealed string
	CreatedAt  time.Time
}

// Cursor is a position in a list of tickets: the sort time and id of the
// last ticket seen. The zero Cursor is the start.
type Cursor = yuncan.Cursor

// QueueFilter selects the tickets of the staff queue. Empty fields do not
// filter.
type QueueFilter struct {
	Category Category
	// Statuses: any of these; empty means every status.
	Statuses []Status
	// DueBy keeps the tickets due at or before it; zero keeps all.
	DueBy time.Time
}

// Store is the storage tickets need. Methods return a *yuncan.Error with
// code NotFound when a row is absent and Conflict on a unique clash or a
// lost compare-and-set; other errors are failures of the database.
type Store interface {
	// CreateTicket inserts a ticket and its first event atomically.
	// Conflict when the id or the guardian access index exists.
	CreateTicket(ctx context.Context, t Record, ev Event) error
	// TicketByID returns a ticket. NotFound when there is none.
	TicketByID(ctx context.Context, id string) (Record, error)
	// TicketByGuardianAccess returns the ticket the guardian form filed
	// under the access index. NotFound when there is none.
	TicketByGuardianAccess(ctx context.Context, index string) (Record, error)
	// UpdateTicket writes t's status, reason, due, answered, closed and
	// updated times while the stored status is still from, and appends
	// msg (when not nil) and ev, atomically. NotFound when the ticket is
	// gone, Conflict when its status is no longer from.
	UpdateTicket(ctx context.Context, t Record, from Status, msg *MessageRecord, ev Event) error
	// AddEvent appends an event. NotFound when the ticket is gone.
	AddEvent(ctx context.Context, ev Event) error
	// TicketsByRequester lists an account's tickets newest first (by
	// CreatedAt, then ID), after the cursor, at most limit.
	TicketsByRequester(ctx context.Context, requesterID string, after Cursor, limit int) ([]Record, error)
	// Queue lists the tickets f selects by deadline, soonest first (by
	// DueAt, then ID), after the cursor, at most limit.
	Queue(ctx context.Context, f QueueFilter, after Cursor, limit int) ([]Record, error)
	// CountQueue counts the tickets f selects.
	CountQueue(ctx context.Context, f QueueFilter) (int, error)
	// Messages lists a ticket's replies, oldest first.
	Messages(ctx context.Context, ticketID string) ([]MessageRecord, error)
	// Events lists a ticket's history, oldest first.
	Events(ctx context.Context, ticketID string) ([]Event, error)
	// TicketTimesByRequesterSince lists when an account filed tickets at
	// or after since, oldest first.
	TicketTimesByRequesterSince(ctx context.Context, requesterID string, since time.Time) ([]time.Time, error)
	// MessageTimesByAuthorSince lists when an account wrote replies at or
	// after since, oldest first.
	MessageTimesByAuthorSince(ctx context.Context, authorID string, since time.Time) ([]time.Time, error)
	// CountTicketsByIPSince counts the tickets filed from an IP index at
	// or after since.
	CountTicketsByIPSince(ctx context.Context, ipIndex string, since time.Time) (int, error)
	// ForgetIPs blanks the IP index of tickets created before t and
	// returns how many it changed.
	ForgetIPs(ctx context.Context, before time.Time) (int, error)
	// DeleteEndedBefore deletes, with their thread and history, at most
	// limit tickets that no longer wait for staff (answered, refused,
	// closed) and were last updated before t; it returns how many.
	DeleteEndedBefore(ctx context.Context, before time.Time, limit int) (int, error)
	// The audit chain (internal/audit), shared with every area: the
	// service appends staff reads and actions to it through an
	// audit.Log.
	audit.Store
}
