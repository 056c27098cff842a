package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/alert"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/seeking"
)

// AlertStore implements alert.Store (migration 0010).
type AlertStore struct{ db *DB }

// Alert returns the alert area's store.
func (db *DB) Alert() *AlertStore { return &AlertStore{db: db} }

var _ alert.Store = (*AlertStore)(nil)

const alertColumns = `id, case_id, clue_id, category, centre_sealed, centre_at, created_at, closed_at, notified_at`

// inChunk bounds the ids of one IN (...) list.
const inChunk = 500

func scanAlert(r scanner) (alert.Alert, error) {
	var a alert.Alert
	var centre, created, closed, notified int64
	err := r.Scan(&a.ID, &a.CaseID, &a.ClueID, &a.Category, &a.CentreSealed, &centre, &created, &closed, &notified)
	a.CentreAt, a.CreatedAt, a.ClosedAt, a.NotifiedAt = fromTS(centre), fromTS(created), fromTS(closed), fromTS(notified)
	return a, err
}

func (s *AlertStore) CreateAlert(ctx context.Context, a alert.Alert) (alert.Alert, bool, error) {
	created := false
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.db.exec(ctx, tx, `INSERT INTO alerts (`+alertColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (case_id, clue_id) DO NOTHING`,
			a.ID, a.CaseID, a.ClueID, a.Category, a.CentreSealed, ts(a.CentreAt), ts(a.CreatedAt), ts(a.ClosedAt), ts(a.NotifiedAt))
		if err != nil {
			return notFoundIfFK(err, "case")
		}
		if rowsAffected(res) == 0 {
			return nil
		}
		created = true
		for _, r := range a.Rings {
			_, err := s.db.exec(ctx, tx, `INSERT INTO alert_rings (alert_id, ring, radius_km, due_at, opened_at, batches, recipients)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, a.ID, r.N, r.RadiusKm, ts(r.DueAt), ts(r.OpenedAt), r.Batches, r.Recipients)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return alert.Alert{}, false, fmt.Errorf("sqlstore: create alert: %w", err)
	}
	if created {
		return a, true, nil
	}
	got, err := s.alerts(ctx, `SELECT `+alertColumns+` FROM alerts WHERE case_id = ? AND clue_id = ?`, a.CaseID, a.ClueID)
	if err != nil {
		return alert.Alert{}, false, err
	}
	if len(got) == 0 {
		return alert.Alert{}, false, &yuncan.Error{Code: yuncan.NotFound, Message: "alert not found"}
	}
	return got[0], false, nil
}

// alerts runs a query of alert rows and adds their rings.
func (s *AlertStore) alerts(ctx context.Context, query string, args ...any) ([]alert.Alert, error) {
	out, err := queryAll(ctx, s.db, scanAlert, s.db.sql, query, args...)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Rings, err = s.rings(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *AlertStore) rings(ctx context.Context, alertID string) ([]alert.RingState, error) {
	rows, err := s.db.query(ctx, s.db.sql, `SELECT ring, radius_km, due_at, opened_at, batches, recipients FROM alert_rings
		WHERE alert_id = ? ORDER BY ring`, alertID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alert.RingState
	for rows.Next() {
		r := alert.RingState{AlertID: alertID}
		var dueAt, opened int64
		if err := rows.Scan(&r.N, &r.RadiusKm, &dueAt, &opened, &r.Batches, &r.Recipients); err != nil {
			return nil, err
		}
		r.DueAt, r.OpenedAt = fromTS(dueAt), fromTS(opened)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *AlertStore) AlertByID(ctx context.Context, id string) (alert.Alert, error) {
	got, err := s.alerts(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id)
	if err != nil {
		return alert.Alert{}, err
	}
	if len(got) == 0 {
		return alert.Alert{}, &yuncan.Error{Code: yuncan.NotFound, Message: "alert not found"}
	}
	return got[0], nil
}

func (s *AlertStore) AlertsOfCase(ctx context.Context, caseID string) ([]alert.Alert, error) {
	return s.alerts(ctx, `SELECT `+alertColumns+` FROM alerts WHERE case_id = ? ORDER BY created_at, id`, caseID)
}

func (s *AlertStore) DueAlerts(ctx context.Context, now time.Time, limit int) ([]alert.Alert, error) {
	return s.alerts(ctx, `SELECT `+alertColumns+` FROM alerts a WHERE a.closed_at = 0 AND EXISTS (
			SELECT 1 FROM alert_rings r WHERE r.alert_id = a.id AND r.opened_at = 0 AND r.due_at <= ?)
		ORDER BY a.created_at, a.id LIMIT ?`, ts(now), limit)
}

func (s *AlertStore) SetRingBatches(ctx context.Context, alertID string, ring, n int) (int, error) {
	var got int
	err := s.db.queryRow(ctx, s.db.sql, `UPDATE alert_rings SET batches = CASE WHEN batches < ? THEN ? ELSE batches END
		WHERE alert_id = ? AND ring = ? RETURNING batches`, n, n, alertID, ring).Scan(&got)
	return got, notFound(err, "ring")
}

func (s *AlertStore) MarkRingsOpened(ctx context.Context, alertID string, ring, recipients int, at time.Time) error {
	_, err := s.db.exec(ctx, s.db.sql, `UPDATE alert_rings SET opened_at = ?, recipients = CASE WHEN ring = ? THEN ? ELSE recipients END
		WHERE alert_id = ? AND ring <= ? AND opened_at = 0`, ts(at), ring, recipients, alertID, ring)
	return err
}

func (s *AlertStore) CloseAlerts(ctx context.Context, caseID string, at time.Time) error {
	_, err := s.db.exec(ctx, s.db.sql, `UPDATE alerts SET closed_at = ? WHERE case_id = ? AND closed_at = 0`, ts(at), caseID)
	return err
}

func (s *AlertStore) MarkNotified(ctx context.Context, caseID string, at time.Time) error {
	_, err := s.db.exec(ctx, s.db.sql, `UPDATE alerts SET notified_at = ? WHERE case_id = ? AND notified_at = 0`, ts(at), caseID)
	return err
}

func (s *AlertStore) ids(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.db.query(ctx, s.db.sql, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (s *AlertStore) PublishedWithoutAlert(ctx context.Context, limit int) ([]string, error) {
	return s.ids(ctx, `SELECT c.id FROM cases c WHERE c.status = ? AND NOT EXISTS (
			SELECT 1 FROM alerts a WHERE a.case_id = c.id AND a.clue_id = '')
		ORDER BY c.published_at, c.id LIMIT ?`, seeking.StatusPublished, limit)
}

func (s *AlertStore) VerifiedCluesWithoutAlert(ctx context.Context, limit int) ([]alert.ClueRef, error) {
	rows, err := s.db.query(ctx, s.db.sql, `SELECT cl.case_id, cl.id FROM clues cl JOIN cases c ON c.id = cl.case_id
		WHERE c.status = ? AND cl.status = ? AND cl.point_sealed <> '' AND NOT EXISTS (
			SELECT 1 FROM alerts a WHERE a.case_id = cl.case_id AND a.clue_id = cl.id)
		ORDER BY cl.reviewed_at, cl.id LIMIT ?`, seeking.StatusPublished, seeking.ClueVerified, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alert.ClueRef
	for rows.Next() {
		var r alert.ClueRef
		if err := rows.Scan(&r.CaseID, &r.ClueID); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *AlertStore) ResolvedWithOpenAlerts(ctx context.Context, limit int) ([]string, error) {
	return s.ids(ctx, `SELECT DISTINCT a.case_id FROM alerts a JOIN cases c ON c.id = a.case_id
		WHERE a.closed_at = 0 AND c.status <> ? ORDER BY a.case_id LIMIT ?`, seeking.StatusPublished, limit)
}

func (s *AlertStore) PendingResolutions(ctx context.Context, limit int) ([]string, error) {
	return s.ids(ctx, `SELECT DISTINCT case_id FROM alerts WHERE closed_at > 0 AND notified_at = 0 ORDER BY case_id LIMIT ?`, limit)
}

func (s *AlertStore) AlertedSubjects(ctx context.Context, caseID string) ([]consent.Subject, error) {
	return s.subjects(ctx, `SELECT subject_kind, subject_id FROM alert_recipients WHERE case_id = ?`, caseID)
}

func (s *AlertStore) UnresolvedRecipients(ctx context.Context, caseID string) ([]consent.Subject, error) {
	return s.subjects(ctx, `SELECT subject_kind, subject_id FROM alert_recipients WHERE case_id = ? AND resolution_at = 0
		ORDER BY subject_kind, subject_id`, caseID)
}

func (s *AlertStore) subjects(ctx context.Context, query string, args ...any) ([]consent.Subject, error) {
	rows, err := s.db.query(ctx, s.db.sql, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []consent.Subject
	for rows.Next() {
		var sub consent.Subject
		if err := rows.Scan(&sub.Kind, &sub.ID); err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, rows.Err()
}

// byKind groups subjects by kind, each group in chunks for IN lists.
func byKind(subs []consent.Subject) map[consent.SubjectKind][][]any {
	groups := map[consent.SubjectKind][]any{}
	for _, sub := range subs {
		groups[sub.Kind] = append(groups[sub.Kind], sub.ID)
	}
	out := map[consent.SubjectKind][][]any{}
	for k, ids := range groups {
		for i := 0; i < len(ids); i += inChunk {
			out[k] = append(out[k], ids[i:min(i+inChunk, len(ids))])
		}
	}
	return out
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

const recipientColumns = `case_id, subject_kind, subject_id, alert_id, ring, distance_km, quiet, alerted_at, resolution_at`

func (s *AlertStore) Recipients(ctx context.Context, caseID string, subs []consent.Subject) ([]alert.Recipient, error) {
	var out []alert.Recipient
	for kind, chunks := range byKind(subs) {
		for _, ids := range chunks {
			args := append([]any{caseID, kind}, ids...)
			rows, err := s.db.query(ctx, s.db.sql, `SELECT `+recipientColumns+` FROM alert_recipients
				WHERE case_id = ? AND subject_kind = ? AND subject_id IN (`+placeholders(len(ids))+`)`, args...)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var r alert.Recipient
				var quiet int
				var alerted, resolved int64
				if err := rows.Scan(&r.CaseID, &r.Subject.Kind, &r.Subject.ID, &r.AlertID, &r.Ring, &r.DistanceKm, &quiet, &alerted, &resolved); err != nil {
					rows.Close()
					return nil, err
				}
				r.Quiet, r.AlertedAt, r.ResolvedAt = quiet == 1, fromTS(alerted), fromTS(resolved)
				out = append(out, r)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func (s *AlertStore) AlertCounts(ctx context.Context, subs []consent.Subject, since time.Time) (map[consent.Subject]int, error) {
	out := map[consent.Subject]int{}
	for kind, chunks := range byKind(subs) {
		for _, ids := range chunks {
			args := append([]any{kind}, ids...)
			args = append(args, ts(since))
			rows, err := s.db.query(ctx, s.db.sql, `SELECT subject_id, COUNT(*) FROM alert_recipients
				WHERE subject_kind = ? AND subject_id IN (`+placeholders(len(ids))+`) AND alerted_at >= ?
				GROUP BY subject_id`, args...)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var id string
				var n int
				if err := rows.Scan(&id, &n); err != nil {
					rows.Close()
					return nil, err
				}
				out[consent.Subject{Kind: kind, ID: id}] = n
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func (s *AlertStore) AddRecipient(ctx context.Context, r alert.Recipient) (bool, error) {
	res, err := s.db.exec(ctx, s.db.sql, `INSERT INTO alert_recipients (`+recipientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (case_id, subject_kind, subject_id) DO NOTHING`,
		r.CaseID, r.Subject.Kind, r.Subject.ID, r.AlertID, r.Ring, r.DistanceKm, boolInt(r.Quiet), ts(r.AlertedAt), ts(r.ResolvedAt))
	if err != nil {
		return false, fmt.Errorf("sqlstore: add alert recipient: %w", notFoundIfFK(err, "case"))
	}
	return rowsAffected(res) == 1, nil
}

func (s *AlertStore) DeleteRecipient(ctx context.Context, caseID string, sub consent.Subject) error {
	_, err := s.db.exec(ctx, s.db.sql, `DELETE FROM alert_recipients WHERE case_id = ? AND subject_kind = ? AND subject_id = ?`,
		caseID, sub.Kind, sub.ID)
	return err
}

func (s *AlertStore) MarkResolved(ctx context.Context, caseID string, sub consent.Subject, at time.Time) error {
	_, err := s.db.exec(ctx, s.db.sql, `UPDATE alert_recipients SET resolution_at = ?
		WHERE case_id = ? AND subject_kind = ? AND subject_id = ? AND resolution_at = 0`, ts(at), caseID, sub.Kind, sub.ID)
	return err
}

func (s *AlertStore) DeleteSubject(ctx context.Context, sub consent.Subject) error {
	_, err := s.db.exec(ctx, s.db.sql, `DELETE FROM alert_recipients WHERE subject_kind = ? AND subject_id = ?`, sub.Kind, sub.ID)
	return err
}

func (s *AlertStore) DeleteRecipientsBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := s.db.exec(ctx, s.db.sql, `DELETE FROM alert_recipients WHERE alerted_at < ?`, ts(t))
	if err != nil {
		return 0, err
	}
	return rowsAffected(res), nil
}
