package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
)

// ConsentStore implements consent.Store.
type ConsentStore struct{ db *DB }

// Consent returns the consent area's store.
func (db *DB) Consent() *ConsentStore { return &ConsentStore{db: db} }

var _ consent.Store = (*ConsentStore)(nil)

var errStateMoved = &yuncan.Error{Code: yuncan.Conflict, Reason: "consent_changed", Message: "the consent changed at the same time; try again"}

func (s *ConsentStore) AppendEvent(ctx context.Context, e consent.Event, prev string, purges []consent.Purge) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if prev == "" {
			res, err = s.db.exec(ctx, tx, `INSERT INTO consent_state (subject_kind, subject_id, purpose, last_event_id)
				VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, e.Subject.Kind, e.Subject.ID, e.Purpose, e.ID)
		} else {
			res, err = s.db.exec(ctx, tx, `UPDATE consent_state SET last_event_id = ?
				WHERE subject_kind = ? AND subject_id = ? AND purpose = ? AND last_event_id = ?`,
				e.ID, e.Subject.Kind, e.Subject.ID, e.Purpose, prev)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: consent state: %w", err)
		}
		if rowsAffected(res) != 1 {
			return errStateMoved
		}
		if _, err := s.db.exec(ctx, tx, `INSERT INTO consent_events (id, subject_kind, subject_id, purpose, action, policy_version, channel, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.Subject.Kind, e.Subject.ID, e.Purpose, e.Action, e.PolicyVersion, e.Channel, ts(e.At)); err != nil {
			return fmt.Errorf("sqlstore: consent event: %w", err)
		}
		if s.db.dialect == Postgres {
			// Delivered on commit to every replica's listener (ListenConsent).
			if _, err := s.db.exec(ctx, tx, `SELECT pg_notify(?, ?)`, consentChannel, string(e.Subject.Kind)+":"+e.Subject.ID); err != nil {
				return fmt.Errorf("sqlstore: consent notify: %w", err)
			}
		}
		for _, p := range purges {
			if _, err := s.db.exec(ctx, tx, `INSERT INTO consent_purges (id, subject_kind, subject_id, purpose, hook, created_at)
				VALUES (?, ?, ?, ?, ?, ?)`, p.ID, p.Subject.Kind, p.Subject.ID, p.Purpose, p.Hook, ts(p.CreatedAt)); err != nil {
				return fmt.Errorf("sqlstore: consent purge: %w", err)
			}
		}
		return nil
	})
}

const eventColumns = `e.id, e.subject_kind, e.subject_id, e.purpose, e.action, e.policy_version, e.channel, e.at`

func (s *ConsentStore) events(ctx context.Context, query string, args ...any) ([]consent.Event, error) {
	rows, err := s.db.query(ctx, s.db.sql, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []consent.Event
	for rows.Next() {
		var e consent.Event
		var at int64
		if err := rows.Scan(&e.ID, &e.Subject.Kind, &e.Subject.ID, &e.Purpose, &e.Action, &e.PolicyVersion, &e.Channel, &at); err != nil {
			return nil, err
		}
		e.At = fromTS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *ConsentStore) LastEvents(ctx context.Context, sub consent.Subject) ([]consent.Event, error) {
	return s.events(ctx, `SELECT `+eventColumns+` FROM consent_state st JOIN consent_events e ON e.id = st.last_event_id
		WHERE st.subject_kind = ? AND st.subject_id = ? ORDER BY e.purpose`, sub.Kind, sub.ID)
}

func (s *ConsentStore) Events(ctx context.Context, sub consent.Subject) ([]consent.Event, error) {
	return s.events(ctx, `SELECT `+eventColumns+` FROM consent_events e
		WHERE e.subject_kind = ? AND e.subject_id = ? ORDER BY e.at, e.id`, sub.Kind, sub.ID)
}

func (s *ConsentStore) LastTimes(ctx context.Context, sub consent.Subject) (map[consent.Purpose][2]time.Time, error) {
	rows, err := s.db.query(ctx, s.db.sql, `SELECT purpose, action, MAX(at) FROM consent_events
		WHERE subject_kind = ? AND subject_id = ? GROUP BY purpose, action`, sub.Kind, sub.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[consent.Purpose][2]time.Time{}
	for rows.Next() {
		var p consent.Purpose
		var a consent.Action
		var at int64
		if err := rows.Scan(&p, &a, &at); err != nil {
			return nil, err
		}
		t := out[p]
		if a == consent.Grant {
			t[0] = fromTS(at)
		} else {
			t[1] = fromTS(at)
		}
		out[p] = t
	}
	return out, rows.Err()
}

func (s *ConsentStore) PendingPurges(ctx context.Context, limit int) ([]consent.Purge, error) {
	rows, err := s.db.query(ctx, s.db.sql, `SELECT id, subject_kind, subject_id, purpose, hook, created_at, attempts
		FROM consent_purges WHERE done_at = 0 ORDER BY attempts, created_at, id LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []consent.Purge
	for rows.Next() {
		var p consent.Purge
		var created int64
		if err := rows.Scan(&p.ID, &p.Subject.Kind, &p.Subject.ID, &p.Purpose, &p.Hook, &created, &p.Attempts); err != nil {
			return nil, err
		}
		p.CreatedAt = fromTS(created)
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *ConsentStore) FinishPurge(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.exec(ctx, s.db.sql, `UPDATE consent_purges SET done_at = ? WHERE id = ?`, ts(at), id)
	return mustAffect(res, err, "purge")
}

func (s *ConsentStore) RetryPurge(ctx context.Context, id string) error {
	res, err := s.db.exec(ctx, s.db.sql, `UPDATE consent_purges SET attempts = attempts + 1 WHERE id = ?`, id)
	return mustAffect(res, err, "purge")
}
