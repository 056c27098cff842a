package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/rights"
)

// Cancellations (migration 0014) and the erasure of a person's rows.

var _ rights.CancelStore = (*RightsStore)(nil)

const cancelColumns = `id, user_id, status, requested_at, due_at, withdrawn_at, started_at, completed_at, attempts, lease_until, pending, held`

func scanCancellation(r scanner) (rights.Cancellation, error) {
	var c rights.Cancellation
	var req, due, wd, started, done, lease int64
	var pending, held string
	err := r.Scan(&c.ID, &c.UserID, &c.Status, &req, &due, &wd, &started, &done, &c.Attempts, &lease, &pending, &held)
	if err != nil {
		return c, err
	}
	c.RequestedAt, c.DueAt, c.WithdrawnAt, c.StartedAt, c.CompletedAt, c.LeaseUntil =
		fromTS(req), fromTS(due), fromTS(wd), fromTS(started), fromTS(done), fromTS(lease)
	if pending != "" {
		c.Pending = &rights.Pending{}
		if err := json.Unmarshal([]byte(pending), c.Pending); err != nil {
			return c, fmt.Errorf("sqlstore: cancellation %s: pending: %w", c.ID, err)
		}
	}
	if held != "" {
		if err := json.Unmarshal([]byte(held), &c.Held); err != nil {
			return c, fmt.Errorf("sqlstore: cancellation %s: held: %w", c.ID, err)
		}
	}
	return c, nil
}

// cancelJSON is what pending and held are stored as: "" for none.
func cancelJSON(c rights.Cancellation) (pending, held string, err error) {
	if c.Pending != nil {
		b, err := json.Marshal(c.Pending)
		if err != nil {
			return "", "", err
		}
		pending = string(b)
	}
	if len(c.Held) > 0 {
		b, err := json.Marshal(c.Held)
		if err != nil {
			return "", "", err
		}
		held = string(b)
	}
	return pending, held, nil
}

func (s *RightsStore) openCancellation(ctx context.Context, q querier, userID string) (rights.Cancellation, error) {
	return scanCancellation(s.db.queryRow(ctx, q, `SELECT `+cancelColumns+` FROM cancellations
		WHERE user_id = ? AND status IN (?, ?) ORDER BY requested_at DESC LIMIT 1`, userID, rights.CancelPending, rights.CancelErasing))
}

func (s *RightsStore) CreateCancellation(ctx context.Context, c rights.Cancellation) (rights.Cancellation, error) {
	var prev rights.Cancellation
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		// The account row is locked on PostgreSQL so that two requests
		// cannot both pass the check (the unique index would refuse the
		// second anyway).
		lock := `SELECT id FROM users WHERE id = ?`
		if s.db.dialect == Postgres {
			lock += ` FOR UPDATE`
		}
		var id string
		if err := s.db.queryRow(ctx, tx, lock, c.UserID).Scan(&id); err != nil {
			return notFound(err, "account")
		}
		p, err := s.openCancellation(ctx, tx, c.UserID)
		if err == nil {
			prev = p
			return &yuncan.Error{Code: yuncan.Conflict, Reason: "cancellation_open", Message: "the account's cancellation is already under way"}
		}
		if err != sql.ErrNoRows {
			return err
		}
		pending, held, err := cancelJSON(c)
		if err != nil {
			return err
		}
		_, err = s.db.exec(ctx, tx, `INSERT INTO cancellations (`+cancelColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.UserID, c.Status, ts(c.RequestedAt), ts(c.DueAt), ts(c.WithdrawnAt), ts(c.StartedAt), ts(c.CompletedAt),
			c.Attempts, ts(c.LeaseUntil), pending, held)
		return err
	})
	if err != nil {
		if yuncan.ErrorCode(err) == yuncan.Conflict || yuncan.ErrorCode(err) == yuncan.NotFound {
			return prev, err
		}
		return prev, fmt.Errorf("sqlstore: create cancellation: %w", err)
	}
	return c, nil
}

func (s *RightsStore) LatestCancellation(ctx context.Context, userID string) (rights.Cancellation, error) {
	c, err := scanCancellation(s.db.queryRow(ctx, s.db.sql, `SELECT `+cancelColumns+` FROM cancellations
		WHERE user_id = ? ORDER BY requested_at DESC, id DESC LIMIT 1`, userID))
	return c, notFound(err, "cancellation")
}

func (s *RightsStore) WithdrawCancellation(ctx context.Context, userID string, at time.Time) (rights.Cancellation, error) {
	var out rights.Cancellation
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		c, err := scanCancellation(s.db.queryRow(ctx, tx, `SELECT `+cancelColumns+` FROM cancellations
			WHERE user_id = ? AND status = ? LIMIT 1`, userID, rights.CancelPending))
		if err != nil {
			return notFound(err, "pending cancellation")
		}
		// The status is checked again: the eraser may have claimed it.
		res, err := s.db.exec(ctx, tx, `UPDATE cancellations SET status = ?, withdrawn_at = ? WHERE id = ? AND status = ?`,
			rights.CancelWithdrawn, ts(at), c.ID, rights.CancelPending)
		if err != nil {
			return err
		}
		if rowsAffected(res) == 0 {
			return &yuncan.Error{Code: yuncan.NotFound, Message: "pending cancellation not found"}
		}
		c.Status, c.WithdrawnAt = rights.CancelWithdrawn, at
		out = c
		return nil
	})
	if err != nil && yuncan.ErrorCode(err) != yuncan.NotFound {
		return out, fmt.Errorf("sqlstore: withdraw cancellation: %w", err)
	}
	return out, err
}

func (s *RightsStore) ClaimCancellation(ctx context.Context, now, leaseUntil time.Time) (rights.Cancellation, error) {
	var out rights.Cancellation
	const due = `(status = ? AND due_at <= ?) OR (status = ? AND lease_until < ?)`
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		for {
			c, err := scanCancellation(s.db.queryRow(ctx, tx, `SELECT `+cancelColumns+` FROM cancellations
				WHERE `+due+` ORDER BY due_at, id LIMIT 1`, rights.CancelPending, ts(now), rights.CancelErasing, ts(now)))
			if err != nil {
				return notFound(err, "cancellation to carry out")
			}
			started := c.StartedAt
			if started.IsZero() {
				started = now
			}
			res, err := s.db.exec(ctx, tx, `UPDATE cancellations SET status = ?, attempts = attempts + 1, lease_until = ?, started_at = ?
				WHERE id = ? AND (`+due+`)`, rights.CancelErasing, ts(leaseUntil), ts(started), c.ID,
				rights.CancelPending, ts(now), rights.CancelErasing, ts(now))
			if err != nil {
				return err
			}
			if rowsAffected(res) == 1 {
				c.Status, c.Attempts, c.LeaseUntil, c.StartedAt = rights.CancelErasing, c.Attempts+1, leaseUntil, started
				out = c
				return nil
			}
		}
	})
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return out, err
	}
	if err != nil {
		return out, fmt.Errorf("sqlstore: claim cancellation: %w", err)
	}
	return out, nil
}

func (s *RightsStore) SaveCancellation(ctx context.Context, c rights.Cancellation) error {
	pending, held, err := cancelJSON(c)
	if err != nil {
		return err
	}
	res, err := s.db.exec(ctx, s.db.sql, `UPDATE cancellations SET status = ?, due_at = ?, withdrawn_at = ?, started_at = ?,
		completed_at = ?, attempts = ?, lease_until = ?, pending = ?, held = ? WHERE id = ?`,
		c.Status, ts(c.DueAt), ts(c.WithdrawnAt), ts(c.StartedAt), ts(c.CompletedAt), c.Attempts, ts(c.LeaseUntil), pending, held, c.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: save cancellation: %w", err)
	}
	if rowsAffected(res) == 0 {
		return &yuncan.Error{Code: yuncan.NotFound, Message: "cancellation not found"}
	}
	return nil
}

func (s *RightsStore) ExpireCancellations(ctx context.Context, cutoff time.Time) (int, error) {
	res, err := s.db.exec(ctx, s.db.sql, `DELETE FROM cancellations WHERE (status = ? AND completed_at < ?) OR (status = ? AND withdrawn_at < ?)`,
		rights.CancelCompleted, ts(cutoff), rights.CancelWithdrawn, ts(cutoff))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: expire cancellations: %w", err)
	}
	return rowsAffected(res), nil
}

// eraseCond is the condition on t's rows that erasure reaches: the
// person's rows, and for a deleted table also what goes with them.
func eraseCond(t rights.Table, userID string) (string, []any, error) {
	if !identifier.MatchString(t.Name) {
		return "", nil, fmt.Errorf("sqlstore: bad registry table %q", t.Name)
	}
	cond, args, err := matchSQL(t.Match, userID)
	if err != nil {
		return "", nil, err
	}
	if t.Erase.Action == rights.Delete && t.Erase.Also != nil {
		c, a, err := matchSQL(*t.Erase.Also, userID)
		if err != nil {
			return "", nil, err
		}
		cond, args = `(`+cond+`) OR (`+c+`)`, append(args, a...)
	}
	return cond, args, nil
}

func (s *RightsStore) ErasePerson(ctx context.Context, c rights.Cancellation, order []rights.Table, hold func(t rights.Table, rows int) rights.Hold) (rights.Cancellation, error) {
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		p := rights.Pending{Subjects: []rights.Subject{{Kind: "user", ID: c.UserID}}}
		devices, err := queryAll(ctx, s.db, scanString, tx, `SELECT id FROM devices WHERE user_id = ? ORDER BY id`, c.UserID)
		if err != nil {
			return err
		}
		for _, d := range devices {
			p.Subjects = append(p.Subjects, rights.Subject{Kind: "device", ID: d})
		}
		if p.Exports, err = queryAll(ctx, s.db, scanString, tx, `SELECT id FROM export_requests WHERE user_id = ? ORDER BY id`, c.UserID); err != nil {
			return err
		}
		// First what needs the links still in place: file keys and the
		// counts of kept rows.
		var held []rights.Hold
		for _, t := range order {
			cond, args, err := eraseCond(t, c.UserID)
			if err != nil {
				return err
			}
			if t.Erase.Action == rights.Keep {
				var n int
				if err := s.db.queryRow(ctx, tx, `SELECT COUNT(*) FROM `+t.Name+` WHERE `+cond, args...).Scan(&n); err != nil {
					return fmt.Errorf("count %s: %w", t.Name, err)
				}
				if n > 0 {
					held = append(held, hold(t, n))
				}
				continue
			}
			for _, col := range t.Media {
				if !identifier.MatchString(col) {
					return fmt.Errorf("sqlstore: bad registry column %q", col)
				}
				keys, err := queryAll(ctx, s.db, scanString, tx, `SELECT `+col+` FROM `+t.Name+` WHERE (`+cond+`) AND `+col+` <> ''`, args...)
				if err != nil {
					return fmt.Errorf("files of %s: %w", t.Name, err)
				}
				p.Media = append(p.Media, keys...)
			}
		}
		// Then the rows, in order: each table before those its match
		// reads.
		for _, t := range order {
			cond, args, err := eraseCond(t, c.UserID)
			if err != nil {
				return err
			}
			switch t.Erase.Action {
			case rights.Delete:
				if _, err := s.db.exec(ctx, tx, `DELETE FROM `+t.Name+` WHERE `+cond, args...); err != nil {
					return fmt.Errorf("erase %s: %w", t.Name, err)
				}
			case rights.Anonymise:
				sets := make([]string, len(t.Erase.Columns))
				for i, col := range t.Erase.Columns {
					if !identifier.MatchString(col) {
						return fmt.Errorf("sqlstore: bad registry column %q", col)
					}
					sets[i] = col + ` = ''`
				}
				if _, err := s.db.exec(ctx, tx, `UPDATE `+t.Name+` SET `+strings.Join(sets, ", ")+` WHERE `+cond, args...); err != nil {
					return fmt.Errorf("anonymise %s: %w", t.Name, err)
				}
			}
		}
		// Other replicas drop their cached consent states of the subjects.
		if s.db.dialect == Postgres {
			for _, sub := range p.Subjects {
				if _, err := s.db.exec(ctx, tx, `SELECT pg_notify(?, ?)`, consentChannel, sub.Kind+":"+sub.ID); err != nil {
					return err
				}
			}
		}
		c.Pending, c.Held = &p, held
		pending, heldJSON, err := cancelJSON(c)
		if err != nil {
			return err
		}
		res, err := s.db.exec(ctx, tx, `UPDATE cancellations SET pending = ?, held = ? WHERE id = ?`, pending, heldJSON, c.ID)
		if err != nil {
			return err
		}
		if rowsAffected(res) == 0 {
			return &yuncan.Error{Code: yuncan.NotFound, Message: "cancellation not found"}
		}
		return nil
	})
	if err != nil {
		return c, fmt.Errorf("sqlstore: erase account %s: %w", c.UserID, err)
	}
	// SQLite: the write-ahead log still holds the pages as they were
	// before; a checkpoint copies the zeroed pages (secure_delete) into the
	// file and empties the log. Readers may hold it back for a moment: it
	// is tried again on the next erasure, and SQLite checkpoints by itself.
	// PostgreSQL: the old row versions are unreachable at once and go at
	// the next (auto)vacuum.
	if s.db.dialect == SQLite {
		if _, err := s.db.sql.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return c, fmt.Errorf("sqlstore: erase account %s: checkpoint: %w", c.UserID, err)
		}
	}
	return c, nil
}

func scanString(r scanner) (string, error) {
	var s string
	err := r.Scan(&s)
	return s, err
}
