package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/incidents"
)

// IncidentStore implements incidents.Store (migration 0015); the audit
// chain it shares is AuditStore's.
type IncidentStore struct {
	db *DB
	*AuditStore
}

// Incidents returns the incidents area's store.
func (db *DB) Incidents() *IncidentStore { return &IncidentStore{db: db, AuditStore: db.Audit()} }

var _ incidents.Store = (*IncidentStore)(nil)

const incidentColumns = `id, severity, status, occurred_at, discovered_at, declared_at, declared_by, affected_all, affected_count,
	progress_cursor, lease_until, notified_at, closed_at, closed_by, updated_at`

func scanIncident(r scanner) (incidents.Record, error) {
	var i incidents.Record
	var all int
	var occurred, discovered, declared, lease, notified, closed, updated int64
	err := r.Scan(&i.ID, &i.Severity, &i.Status, &occurred, &discovered, &declared, &i.DeclaredBy, &all, &i.AffectedCount,
		&i.Cursor, &lease, &notified, &closed, &i.ClosedBy, &updated)
	i.AffectedAll = all == 1
	i.OccurredAt, i.DiscoveredAt, i.DeclaredAt, i.LeaseUntil = fromTS(occurred), fromTS(discovered), fromTS(declared), fromTS(lease)
	i.NotifiedAt, i.ClosedAt, i.UpdatedAt = fromTS(notified), fromTS(closed), fromTS(updated)
	return i, err
}

func (s *IncidentStore) CreateIncident(ctx context.Context, r incidents.Record, texts []incidents.Text, rep incidents.Report,
	userIDs []string, ann *incidents.AnnouncementRecord) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		_, err := s.db.exec(ctx, tx, `INSERT INTO incidents (`+incidentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.Severity, r.Status, ts(r.OccurredAt), ts(r.DiscoveredAt), ts(r.DeclaredAt), r.DeclaredBy, boolInt(r.AffectedAll),
			r.AffectedCount, r.Cursor, ts(r.LeaseUntil), ts(r.NotifiedAt), ts(r.ClosedAt), r.ClosedBy, ts(r.UpdatedAt))
		if err != nil {
			return fmt.Errorf("sqlstore: create incident: %w", err)
		}
		for _, t := range texts {
			_, err := s.db.exec(ctx, tx, `INSERT INTO incident_texts (incident_id, lang, what_happened, impact, measures, advice, remedies)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, r.ID, t.Lang, t.WhatHappened, t.Impact, t.Measures, t.Advice, t.Remedies)
			if err != nil {
				return fmt.Errorf("sqlstore: incident text: %w", err)
			}
		}
		_, err = s.db.exec(ctx, tx, `INSERT INTO incident_reports (incident_id, authority, facts, created_at, submitted_at, submitted_by, reference)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, r.ID, rep.Authority, rep.Facts, ts(rep.CreatedAt), ts(rep.SubmittedAt), rep.SubmittedBy, rep.Reference)
		if err != nil {
			return fmt.Errorf("sqlstore: incident report: %w", err)
		}
		if err := s.addRecipients(ctx, tx, r.ID, userIDs); err != nil {
			return err
		}
		if ann != nil {
			_, err := s.db.exec(ctx, tx, `INSERT INTO announcements (id, incident_id, published_at) VALUES (?, ?, ?)`,
				ann.ID, ann.IncidentID, ts(ann.PublishedAt))
			if err != nil {
				return fmt.Errorf("sqlstore: announcement: %w", err)
			}
		}
		return nil
	})
}

// addRecipients inserts recipient rows, many to a statement, skipping
// those the incident has. NotFound when an id is no account.
func (s *IncidentStore) addRecipients(ctx context.Context, q querier, incidentID string, userIDs []string) error {
	const chunk = 200
	for i := 0; i < len(userIDs); i += chunk {
		part := userIDs[i:min(i+chunk, len(userIDs))]
		args := make([]any, 0, 2*len(part))
		for _, id := range part {
			args = append(args, incidentID, id)
		}
		_, err := s.db.exec(ctx, q, `INSERT INTO incident_recipients (incident_id, user_id, notification_id, notified_at)
			VALUES `+strings.Repeat("(?, ?, '', 0), ", len(part)-1)+`(?, ?, '', 0) ON CONFLICT (incident_id, user_id) DO NOTHING`, args...)
		if err != nil {
			return fmt.Errorf("sqlstore: incident recipients: %w", notFoundIfFK(err, "account"))
		}
	}
	return nil
}

func (s *IncidentStore) IncidentByID(ctx context.Context, id string) (incidents.Record, error) {
	r, err := scanIncident(s.db.queryRow(ctx, s.db.sql, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
	return r, notFound(err, "incident")
}

func (s *IncidentStore) Incidents(ctx context.Context, st incidents.Status, after incidents.Cursor, limit int) ([]incidents.Record, error) {
	conds, args := []string{"1 = 1"}, []any{}
	if st != "" {
		conds, args = append(conds, "status = ?"), append(args, st)
	}
	if after.ID != "" {
		at := ts(after.At)
		conds, args = append(conds, "(declared_at < ? OR (declared_at = ? AND id < ?))"), append(args, at, at, after.ID)
	}
	return queryAll(ctx, s.db, scanIncident, s.db.sql, `SELECT `+incidentColumns+` FROM incidents WHERE `+strings.Join(conds, " AND ")+`
		ORDER BY declared_at DESC, id DESC LIMIT ?`, append(args, limit)...)
}

func scanIncidentText(r scanner) (incidents.Text, error) {
	var t incidents.Text
	err := r.Scan(&t.Lang, &t.WhatHappened, &t.Impact, &t.Measures, &t.Advice, &t.Remedies)
	return t, err
}

func (s *IncidentStore) Texts(ctx context.Context, incidentID string) ([]incidents.Text, error) {
	// Chinese first: 'en' < 'zh', so descending.
	return queryAll(ctx, s.db, scanIncidentText, s.db.sql, `SELECT lang, what_happened, impact, measures, advice, remedies
		FROM incident_texts WHERE incident_id = ? ORDER BY lang DESC`, incidentID)
}

func (s *IncidentStore) ReportOf(ctx context.Context, incidentID string) (incidents.Report, error) {
	var r incidents.Report
	var created, submitted int64
	err := s.db.queryRow(ctx, s.db.sql, `SELECT incident_id, authority, facts, created_at, submitted_at, submitted_by, reference
		FROM incident_reports WHERE incident_id = ?`, incidentID).Scan(&r.IncidentID, &r.Authority, &r.Facts, &created, &submitted,
		&r.SubmittedBy, &r.Reference)
	r.CreatedAt, r.SubmittedAt = fromTS(created), fromTS(submitted)
	return r, notFound(err, "incident report")
}

func (s *IncidentStore) SubmitReport(ctx context.Context, rep incidents.Report) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.db.exec(ctx, tx, `UPDATE incident_reports SET authority = ?, submitted_at = ?, submitted_by = ?, reference = ?
			WHERE incident_id = ? AND submitted_at = 0`, rep.Authority, ts(rep.SubmittedAt), rep.SubmittedBy, rep.Reference, rep.IncidentID)
		if err != nil {
			return fmt.Errorf("sqlstore: submit incident report: %w", err)
		}
		if rowsAffected(res) == 1 {
			_, err = s.db.exec(ctx, tx, `UPDATE incidents SET updated_at = ? WHERE id = ?`, ts(rep.SubmittedAt), rep.IncidentID)
			return err
		}
		var n int
		if err := s.db.queryRow(ctx, tx, `SELECT 1 FROM incident_reports WHERE incident_id = ?`, rep.IncidentID).Scan(&n); err != nil {
			return notFound(err, "incident report")
		}
		return &yuncan.Error{Code: yuncan.Conflict, Message: "the report was submitted already"}
	})
}

func (s *IncidentStore) CloseIncident(ctx context.Context, id string, at time.Time, by string) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.db.exec(ctx, tx, `UPDATE incidents SET status = ?, closed_at = ?, closed_by = ?, updated_at = ? WHERE id = ? AND status = ?`,
			incidents.StatusClosed, ts(at), by, ts(at), id, incidents.StatusNotified)
		if err != nil {
			return fmt.Errorf("sqlstore: close incident: %w", err)
		}
		if rowsAffected(res) == 1 {
			return nil
		}
		var st string
		if err := s.db.queryRow(ctx, tx, `SELECT status FROM incidents WHERE id = ?`, id).Scan(&st); err != nil {
			return notFound(err, "incident")
		}
		return &yuncan.Error{Code: yuncan.Conflict, Message: "the incident is " + st}
	})
}

func scanAnnouncement(r scanner) (incidents.AnnouncementRecord, error) {
	var a incidents.AnnouncementRecord
	var at int64
	err := r.Scan(&a.ID, &a.IncidentID, &at)
	a.PublishedAt = fromTS(at)
	return a, err
}

func (s *IncidentStore) AnnouncementOf(ctx context.Context, incidentID string) (incidents.AnnouncementRecord, error) {
	a, err := scanAnnouncement(s.db.queryRow(ctx, s.db.sql, `SELECT id, incident_id, published_at FROM announcements WHERE incident_id = ?`, incidentID))
	return a, notFound(err, "announcement")
}

func (s *IncidentStore) AnnouncementByID(ctx context.Context, id string) (incidents.AnnouncementRecord, error) {
	a, err := scanAnnouncement(s.db.queryRow(ctx, s.db.sql, `SELECT id, incident_id, published_at FROM announcements WHERE id = ?`, id))
	return a, notFound(err, "announcement")
}

func (s *IncidentStore) Announcements(ctx context.Context, after incidents.Cursor, limit int) ([]incidents.AnnouncementRecord, error) {
	if after.ID == "" {
		return queryAll(ctx, s.db, scanAnnouncement, s.db.sql, `SELECT id, incident_id, published_at FROM announcements
			ORDER BY published_at DESC, id DESC LIMIT ?`, limit)
	}
	at := ts(after.At)
	return queryAll(ctx, s.db, scanAnnouncement, s.db.sql, `SELECT id, incident_id, published_at FROM announcements
		WHERE published_at < ? OR (published_at = ? AND id < ?) ORDER BY published_at DESC, id DESC LIMIT ?`, at, at, after.ID, limit)
}

func scanID(r scanner) (string, error) {
	var id string
	err := r.Scan(&id)
	return id, err
}

func (s *IncidentStore) ExistingUsers(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return []string{}, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return queryAll(ctx, s.db, scanID, s.db.sql, `SELECT id FROM users WHERE id IN (?`+strings.Repeat(", ?", len(ids)-1)+`) ORDER BY id`, args...)
}

func (s *IncidentStore) CountUsersCreatedBy(ctx context.Context, t time.Time) (int, error) {
	var n int
	err := s.db.queryRow(ctx, s.db.sql, `SELECT COUNT(*) FROM users WHERE created_at <= ?`, ts(t)).Scan(&n)
	return n, err
}

func (s *IncidentStore) ClaimNotifying(ctx context.Context, now, leaseUntil time.Time) (incidents.Record, error) {
	var out incidents.Record
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		for {
			r, err := scanIncident(s.db.queryRow(ctx, tx, `SELECT `+incidentColumns+` FROM incidents
				WHERE status = ? AND lease_until < ? ORDER BY declared_at, id LIMIT 1`, incidents.StatusDeclared, ts(now)))
			if err != nil {
				return notFound(err, "incident to notify")
			}
			// The update repeats the condition: on PostgreSQL another job
			// may have claimed it since the select.
			res, err := s.db.exec(ctx, tx, `UPDATE incidents SET lease_until = ? WHERE id = ? AND status = ? AND lease_until < ?`,
				ts(leaseUntil), r.ID, incidents.StatusDeclared, ts(now))
			if err != nil {
				return err
			}
			if rowsAffected(res) == 1 {
				r.LeaseUntil = leaseUntil
				out = r
				return nil
			}
		}
	})
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return out, err
	}
	if err != nil {
		return out, fmt.Errorf("sqlstore: claim incident: %w", err)
	}
	return out, nil
}

func (s *IncidentStore) ListedAfter(ctx context.Context, incidentID, after string, limit int) ([]string, error) {
	return queryAll(ctx, s.db, scanID, s.db.sql, `SELECT user_id FROM incident_recipients WHERE incident_id = ? AND user_id > ?
		ORDER BY user_id LIMIT ?`, incidentID, after, limit)
}

func (s *IncidentStore) UsersAfter(ctx context.Context, createdBy time.Time, after string, limit int) ([]string, error) {
	return queryAll(ctx, s.db, scanID, s.db.sql, `SELECT id FROM users WHERE created_at <= ? AND id > ? ORDER BY id LIMIT ?`,
		ts(createdBy), after, limit)
}

func (s *IncidentStore) AddRecipients(ctx context.Context, incidentID string, userIDs []string) error {
	return s.addRecipients(ctx, s.db.sql, incidentID, userIDs)
}

func (s *IncidentStore) MarkNotified(ctx context.Context, incidentID, userID, notificationID string, at time.Time) error {
	_, err := s.db.exec(ctx, s.db.sql, `UPDATE incident_recipients SET notification_id = ?, notified_at = ?
		WHERE incident_id = ? AND user_id = ? AND notified_at = 0`, notificationID, ts(at), incidentID, userID)
	if err != nil {
		return fmt.Errorf("sqlstore: mark incident recipient: %w", err)
	}
	return nil
}

func (s *IncidentStore) SaveProgress(ctx context.Context, st incidents.Step) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		set, args := `progress_cursor = ?, lease_until = ?, updated_at = ?`, []any{st.To, ts(st.LeaseUntil), ts(st.At)}
		if st.Done {
			set, args = set+`, status = ?, notified_at = ?`, append(args, incidents.StatusNotified, ts(st.At))
		}
		res, err := s.db.exec(ctx, tx, `UPDATE incidents SET `+set+` WHERE id = ? AND status = ? AND progress_cursor = ?`,
			append(args, st.IncidentID, incidents.StatusDeclared, st.From)...)
		if err != nil {
			return fmt.Errorf("sqlstore: incident progress: %w", err)
		}
		if rowsAffected(res) == 1 {
			return nil
		}
		var cur string
		if err := s.db.queryRow(ctx, tx, `SELECT progress_cursor FROM incidents WHERE id = ?`, st.IncidentID).Scan(&cur); err != nil {
			return notFound(err, "incident")
		}
		return &yuncan.Error{Code: yuncan.Conflict, Message: "the incident's notification moved on"}
	})
}

func (s *IncidentStore) CountNotified(ctx context.Context, incidentID string) (int, error) {
	var n int
	err := s.db.queryRow(ctx, s.db.sql, `SELECT COUNT(*) FROM incident_recipients WHERE incident_id = ? AND notified_at > 0`,
		incidentID).Scan(&n)
	return n, err
}

func (s *IncidentStore) DeleteRecipientsClosedBefore(ctx context.Context, t time.Time, limit int) (int, error) {
	res, err := s.db.exec(ctx, s.db.sql, `DELETE FROM incident_recipients WHERE (incident_id, user_id) IN (
		SELECT r.incident_id, r.user_id FROM incident_recipients r JOIN incidents i ON i.id = r.incident_id
		WHERE i.status = ? AND i.closed_at < ? ORDER BY r.incident_id, r.user_id LIMIT ?)`, incidents.StatusClosed, ts(t), limit)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: expire incident recipients: %w", err)
	}
	return rowsAffected(res), nil
}
