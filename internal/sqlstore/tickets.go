package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/tickets"
)

// TicketStore implements tickets.Store (migration 0011); the audit
// chain it shares is AuditStore's.
type TicketStore struct {
	db *DB
	*AuditStore
}

// Tickets returns the tickets area's store.
func (db *DB) Tickets() *TicketStore { return &TicketStore{db: db, AuditStore: db.Audit()} }

var _ tickets.Store = (*TicketStore)(nil)

const ticketColumns = `id, requester_id, channel, category, kind, status, text_sealed, reference_kind, reference_id,
	minor_phone_sealed, minor_phone_index, contact_sealed, guardian_access_index, ip_index, status_reason,
	due_at, created_at, updated_at, answered_at, closed_at`

func scanTicket(r scanner) (tickets.Record, error) {
	var t tickets.Record
	var access sql.NullString
	var due, created, updated, answered, closed int64
	err := r.Scan(&t.ID, &t.RequesterID, &t.Channel, &t.Category, &t.Kind, &t.Status, &t.TextSealed, &t.Reference.Kind, &t.Reference.ID,
		&t.MinorPhoneSealed, &t.MinorPhoneIndex, &t.ContactSealed, &access, &t.IPIndex, &t.StatusReason,
		&due, &created, &updated, &answered, &closed)
	t.GuardianAccessIndex = access.String
	t.DueAt, t.CreatedAt, t.UpdatedAt, t.AnsweredAt, t.ClosedAt = fromTS(due), fromTS(created), fromTS(updated), fromTS(answered), fromTS(closed)
	return t, err
}

func (s *TicketStore) CreateTicket(ctx context.Context, t tickets.Record, ev tickets.Event) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.db.exec(ctx, tx, `INSERT INTO tickets (`+ticketColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.RequesterID, t.Channel, t.Category, t.Kind, t.Status, t.TextSealed, t.Reference.Kind, t.Reference.ID,
			t.MinorPhoneSealed, t.MinorPhoneIndex, t.ContactSealed, emptyNull(t.GuardianAccessIndex), t.IPIndex, t.StatusReason,
			ts(t.DueAt), ts(t.CreatedAt), ts(t.UpdatedAt), ts(t.AnsweredAt), ts(t.ClosedAt))
		if err != nil {
			return fmt.Errorf("sqlstore: create ticket: %w", err)
		}
		return s.addEvent(ctx, tx, ev)
	})
}

func (s *TicketStore) addEvent(ctx context.Context, q querier, ev tickets.Event) error {
	_, err := s.db.exec(ctx, q, `INSERT INTO ticket_events (id, ticket_id, at, actor_id, actor_role, action, from_status, to_status, reason)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, ev.ID, ev.TicketID, ts(ev.At), ev.ActorID, ev.ActorRole, ev.Action, ev.From, ev.To, ev.Reason)
	if err != nil {
		return fmt.Errorf("sqlstore: ticket event: %w", notFoundIfFK(err, "ticket"))
	}
	return nil
}

func (s *TicketStore) AddEvent(ctx context.Context, ev tickets.Event) error {
	return s.addEvent(ctx, s.db.sql, ev)
}

func (s *TicketStore) TicketByID(ctx context.Context, id string) (tickets.Record, error) {
	t, err := scanTicket(s.db.queryRow(ctx, s.db.sql, `SELECT `+ticketColumns+` FROM tickets WHERE id = ?`, id))
	return t, notFound(err, "ticket")
}

func (s *TicketStore) TicketByGuardianAccess(ctx context.Context, index string) (tickets.Record, error) {
	if index == "" {
		return tickets.Record{}, &yuncan.Error{Code: yuncan.NotFound, Message: "ticket not found"}
	}
	t, err := scanTicket(s.db.queryRow(ctx, s.db.sql, `SELECT `+ticketColumns+` FROM tickets WHERE guardian_access_index = ?`, index))
	return t, notFound(err, "ticket")
}

func (s *TicketStore) UpdateTicket(ctx context.Context, t tickets.Record, from tickets.Status, msg *tickets.MessageRecord, ev tickets.Event) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.db.exec(ctx, tx, `UPDATE tickets SET status = ?, status_reason = ?, due_at = ?, updated_at = ?, answered_at = ?,
			closed_at = ? WHERE id = ? AND status = ?`,
			t.Status, t.StatusReason, ts(t.DueAt), ts(t.UpdatedAt), ts(t.AnsweredAt), ts(t.ClosedAt), t.ID, from)
		if err != nil {
			return fmt.Errorf("sqlstore: update ticket: %w", err)
		}
		if rowsAffected(res) == 0 {
			var st string
			if err := s.db.queryRow(ctx, tx, `SELECT status FROM tickets WHERE id = ?`, t.ID).Scan(&st); err != nil {
				return notFound(err, "ticket")
			}
			return &yuncan.Error{Code: yuncan.Conflict, Message: "the ticket's status changed"}
		}
		if msg != nil {
			_, err := s.db.exec(ctx, tx, `INSERT INTO ticket_messages (id, ticket_id, author_id, author_role, text_sealed, created_at)
				VALUES (?, ?, ?, ?, ?, ?)`, msg.ID, msg.TicketID, msg.AuthorID, msg.AuthorRole, msg.TextSealed, ts(msg.CreatedAt))
			if err != nil {
				return fmt.Errorf("sqlstore: ticket message: %w", notFoundIfFK(err, "ticket"))
			}
		}
		return s.addEvent(ctx, tx, ev)
	})
}

func (s *TicketStore) tickets(ctx context.Context, query string, args ...any) ([]tickets.Record, error) {
	return queryAll(ctx, s.db, scanTicket, s.db.sql, `SELECT `+ticketColumns+` FROM tickets `+query, args...)
}

func (s *TicketStore) TicketsByRequester(ctx context.Context, requesterID string, after tickets.Cursor, limit int) ([]tickets.Record, error) {
	if after.ID == "" {
		return s.tickets(ctx, `WHERE requester_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, requesterID, limit)
	}
	at := ts(after.At)
	return s.tickets(ctx, `WHERE requester_id = ? AND (created_at < ? OR (created_at = ? AND id < ?))
		ORDER BY created_at DESC, id DESC LIMIT ?`, requesterID, at, at, after.ID, limit)
}

// queueWhere is the WHERE clause of a queue filter, with its arguments.
func queueWhere(f tickets.QueueFilter) (string, []any) {
	conds, args := []string{"1 = 1"}, []any{}
	if f.Category != "" {
		conds = append(conds, "category = ?")
		args = append(args, f.Category)
	}
	if len(f.Statuses) > 0 {
		conds = append(conds, "status IN (?"+strings.Repeat(", ?", len(f.Statuses)-1)+")")
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	if !f.DueBy.IsZero() {
		conds = append(conds, "due_at <= ?")
		args = append(args, ts(f.DueBy))
	}
	return "WHERE " + strings.Join(conds, " AND "), args
}

func (s *TicketStore) Queue(ctx context.Context, f tickets.QueueFilter, after tickets.Cursor, limit int) ([]tickets.Record, error) {
	where, args := queueWhere(f)
	if after.ID != "" {
		at := ts(after.At)
		where += " AND (due_at > ? OR (due_at = ? AND id > ?))"
		args = append(args, at, at, after.ID)
	}
	return s.tickets(ctx, where+" ORDER BY due_at, id LIMIT ?", append(args, limit)...)
}

func (s *TicketStore) CountQueue(ctx context.Context, f tickets.QueueFilter) (int, error) {
	where, args := queueWhere(f)
	var n int
	err := s.db.queryRow(ctx, s.db.sql, `SELECT COUNT(*) FROM tickets `+where, args...).Scan(&n)
	return n, err
}

func (s *TicketStore) Messages(ctx context.Context, ticketID string) ([]tickets.MessageRecord, error) {
	rows, err := s.db.query(ctx, s.db.sql, `SELECT id, ticket_id, author_id, author_role, text_sealed, created_at
		FROM ticket_messages WHERE ticket_id = ? ORDER BY created_at, id`, ticketID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []tickets.MessageRecord{}
	for rows.Next() {
		var m tickets.MessageRecord
		var at int64
		if err := rows.Scan(&m.ID, &m.TicketID, &m.AuthorID, &m.AuthorRole, &m.TextSealed, &at); err != nil {
			return nil, err
		}
		m.CreatedAt = fromTS(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *TicketStore) Events(ctx context.Context, ticketID string) ([]tickets.Event, error) {
	rows, err := s.db.query(ctx, s.db.sql, `SELECT id, ticket_id, at, actor_id, actor_role, action, from_status, to_status, reason
		FROM ticket_events WHERE ticket_id = ? ORDER BY at, id`, ticketID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []tickets.Event{}
	for rows.Next() {
		var e tickets.Event
		var at int64
		if err := rows.Scan(&e.ID, &e.TicketID, &at, &e.ActorID, &e.ActorRole, &e.Action, &e.From, &e.To, &e.Reason); err != nil {
			return nil, err
		}
		e.At = fromTS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *TicketStore) times(ctx context.Context, query string, args ...any) ([]time.Time, error) {
	rows, err := s.db.query(ctx, s.db.sql, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []time.Time{}
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			return nil, err
		}
		out = append(out, fromTS(at))
	}
	return out, rows.Err()
}

func (s *TicketStore) TicketTimesByRequesterSince(ctx context.Context, requesterID string, since time.Time) ([]time.Time, error) {
	return s.times(ctx, `SELECT created_at FROM tickets WHERE requester_id = ? AND channel = 'app' AND created_at >= ?
		ORDER BY created_at`, requesterID, ts(since))
}

func (s *TicketStore) MessageTimesByAuthorSince(ctx context.Context, authorID string, since time.Time) ([]time.Time, error) {
	return s.times(ctx, `SELECT created_at FROM ticket_messages WHERE author_id = ? AND created_at >= ? ORDER BY created_at`,
		authorID, ts(since))
}

func (s *TicketStore) CountTicketsByIPSince(ctx context.Context, ipIndex string, since time.Time) (int, error) {
	var n int
	err := s.db.queryRow(ctx, s.db.sql, `SELECT COUNT(*) FROM tickets WHERE ip_index = ? AND created_at >= ?`,
		ipIndex, ts(since)).Scan(&n)
	return n, err
}

func (s *TicketStore) ForgetIPs(ctx context.Context, before time.Time) (int, error) {
	res, err := s.db.exec(ctx, s.db.sql, `UPDATE tickets SET ip_index = '' WHERE ip_index <> '' AND created_at < ?`, ts(before))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: forget ticket IPs: %w", err)
	}
	return rowsAffected(res), nil
}

func (s *TicketStore) DeleteEndedBefore(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := s.db.exec(ctx, s.db.sql, `DELETE FROM tickets WHERE id IN (SELECT id FROM tickets
		WHERE status IN ('answered', 'refused', 'closed') AND updated_at < ? ORDER BY updated_at, id LIMIT ?)`, ts(before), limit)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete old tickets: %w", err)
	}
	return rowsAffected(res), nil
}
