package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/rights"
)

// RightsStore implements rights.Store (migration 0013).
type RightsStore struct{ db *DB }

// Rights returns the data rights store.
func (db *DB) Rights() *RightsStore { return &RightsStore{db: db} }

var _ rights.Store = (*RightsStore)(nil)

const exportColumns = `id, user_id, status, progress, attempts, lease_until, size_bytes, token_hash, token_expires_at,
	created_at, updated_at, ready_at, expires_at`

func scanExport(r scanner) (rights.ExportRecord, error) {
	var e rights.ExportRecord
	var lease, tokenExp, created, updated, ready, expires int64
	err := r.Scan(&e.ID, &e.UserID, &e.Status, &e.Progress, &e.Attempts, &lease, &e.SizeBytes, &e.TokenHash, &tokenExp,
		&created, &updated, &ready, &expires)
	e.LeaseUntil, e.TokenExpiresAt, e.CreatedAt, e.UpdatedAt, e.ReadyAt, e.ExpiresAt =
		fromTS(lease), fromTS(tokenExp), fromTS(created), fromTS(updated), fromTS(ready), fromTS(expires)
	return e, err
}

func (s *RightsStore) CreateExport(ctx context.Context, r rights.ExportRecord, since time.Time) (rights.ExportRecord, error) {
	var prev rights.ExportRecord
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		// The account row is locked on PostgreSQL so that two requests of
		// one person cannot both pass the weekly check; SQLite's
		// transactions are serial already (BEGIN IMMEDIATE).
		lock := `SELECT id FROM users WHERE id = ?`
		if s.db.dialect == Postgres {
			lock += ` FOR UPDATE`
		}
		var id string
		if err := s.db.queryRow(ctx, tx, lock, r.UserID).Scan(&id); err != nil {
			return notFound(err, "account")
		}
		p, err := scanExport(s.db.queryRow(ctx, tx, `SELECT `+exportColumns+` FROM export_requests
			WHERE user_id = ? AND created_at >= ? AND status <> ? ORDER BY created_at DESC LIMIT 1`, r.UserID, ts(since), rights.StatusFailed))
		if err == nil {
			prev = p
			return &yuncan.Error{Code: yuncan.Conflict, Message: "an export was requested recently"}
		}
		if err != sql.ErrNoRows {
			return err
		}
		_, err = s.db.exec(ctx, tx, `INSERT INTO export_requests (`+exportColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.UserID, r.Status, r.Progress, r.Attempts, ts(r.LeaseUntil), r.SizeBytes, r.TokenHash, ts(r.TokenExpiresAt),
			ts(r.CreatedAt), ts(r.UpdatedAt), ts(r.ReadyAt), ts(r.ExpiresAt))
		return err
	})
	if err != nil {
		return prev, fmt.Errorf("sqlstore: create export: %w", err)
	}
	return r, nil
}

func (s *RightsStore) ExportByID(ctx context.Context, id string) (rights.ExportRecord, error) {
	r, err := scanExport(s.db.queryRow(ctx, s.db.sql, `SELECT `+exportColumns+` FROM export_requests WHERE id = ?`, id))
	return r, notFound(err, "export")
}

func (s *RightsStore) exports(ctx context.Context, where string, args ...any) ([]rights.ExportRecord, error) {
	out, err := queryAll(ctx, s.db, scanExport, s.db.sql, `SELECT `+exportColumns+` FROM export_requests WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: exports: %w", err)
	}
	return out, nil
}

func (s *RightsStore) ExportsOf(ctx context.Context, userID string) ([]rights.ExportRecord, error) {
	return s.exports(ctx, `user_id = ? ORDER BY created_at DESC, id DESC`, userID)
}

func (s *RightsStore) ExportsExpiring(ctx context.Context, now time.Time) ([]rights.ExportRecord, error) {
	return s.exports(ctx, `status = ? AND expires_at <= ? ORDER BY expires_at, id`, rights.StatusReady, ts(now))
}

func (s *RightsStore) ClaimExport(ctx context.Context, now, leaseUntil time.Time) (rights.ExportRecord, error) {
	var out rights.ExportRecord
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		for {
			r, err := scanExport(s.db.queryRow(ctx, tx, `SELECT `+exportColumns+` FROM export_requests
				WHERE status = ? OR (status = ? AND lease_until < ?) ORDER BY created_at, id LIMIT 1`,
				rights.StatusQueued, rights.StatusBuilding, ts(now)))
			if err != nil {
				return notFound(err, "export to build")
			}
			// The update repeats the condition: on PostgreSQL another
			// builder may have claimed it since the select.
			res, err := s.db.exec(ctx, tx, `UPDATE export_requests SET status = ?, attempts = attempts + 1, lease_until = ?, updated_at = ?
				WHERE id = ? AND (status = ? OR (status = ? AND lease_until < ?))`,
				rights.StatusBuilding, ts(leaseUntil), ts(now), r.ID, rights.StatusQueued, rights.StatusBuilding, ts(now))
			if err != nil {
				return err
			}
			if rowsAffected(res) == 1 {
				r.Status, r.Attempts, r.LeaseUntil, r.UpdatedAt = rights.StatusBuilding, r.Attempts+1, leaseUntil, now
				out = r
				return nil
			}
		}
	})
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return out, err
	}
	if err != nil {
		return out, fmt.Errorf("sqlstore: claim export: %w", err)
	}
	return out, nil
}

func (s *RightsStore) UpdateExport(ctx context.Context, r rights.ExportRecord) error {
	res, err := s.db.exec(ctx, s.db.sql, `UPDATE export_requests SET status = ?, progress = ?, attempts = ?, lease_until = ?,
		size_bytes = ?, token_hash = ?, token_expires_at = ?, updated_at = ?, ready_at = ?, expires_at = ? WHERE id = ?`,
		r.Status, r.Progress, r.Attempts, ts(r.LeaseUntil), r.SizeBytes, r.TokenHash, ts(r.TokenExpiresAt), ts(r.UpdatedAt),
		ts(r.ReadyAt), ts(r.ExpiresAt), r.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: update export: %w", err)
	}
	if rowsAffected(res) == 0 {
		return &yuncan.Error{Code: yuncan.NotFound, Message: "export not found"}
	}
	return nil
}

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// matchSQL turns a registry match into a condition on the table's rows.
// Names come from the registry in code, never from a request; they are
// checked all the same, since they are spliced into the query.
func matchSQL(m rights.Match, userID string) (string, []any, error) {
	if !identifier.MatchString(m.Column) || (m.KindColumn != "" && !identifier.MatchString(m.KindColumn)) {
		return "", nil, fmt.Errorf("sqlstore: bad registry column %q", m.Column)
	}
	var cond string
	var args []any
	switch {
	case m.In != nil:
		if !identifier.MatchString(m.In.Table) || !identifier.MatchString(m.In.Key) {
			return "", nil, fmt.Errorf("sqlstore: bad registry link %q.%q", m.In.Table, m.In.Key)
		}
		inner, a, err := matchSQL(m.In.Match, userID)
		if err != nil {
			return "", nil, err
		}
		cond, args = m.Column+` IN (SELECT `+m.In.Key+` FROM `+m.In.Table+` WHERE `+inner+`)`, a
	case m.KindColumn != "":
		cond = `((` + m.KindColumn + ` = 'user' AND ` + m.Column + ` = ?) OR (` + m.KindColumn + ` = 'device' AND ` +
			m.Column + ` IN (SELECT id FROM devices WHERE user_id = ?)))`
		args = []any{userID, userID}
	default:
		cond, args = m.Column+` = ?`, []any{userID}
	}
	for _, o := range m.Or {
		c, a, err := matchSQL(o, userID)
		if err != nil {
			return "", nil, err
		}
		cond, args = `(`+cond+` OR `+c+`)`, append(args, a...)
	}
	return cond, args, nil
}

func (s *RightsStore) PersonRows(ctx context.Context, t rights.Table, userID string) ([]rights.Row, error) {
	if !identifier.MatchString(t.Name) {
		return nil, fmt.Errorf("sqlstore: bad registry table %q", t.Name)
	}
	cond, args, err := matchSQL(t.Match, userID)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.query(ctx, s.db.sql, `SELECT * FROM `+t.Name+` WHERE `+cond+` ORDER BY 1`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: rows of %s: %w", t.Name, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []rights.Row
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("sqlstore: rows of %s: %w", t.Name, err)
		}
		r := make(rights.Row, len(cols))
		for i, c := range cols {
			r[strings.ToLower(c)] = vals[i]
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SealContext returns the keyring context of a sealed column from the one
// list of sealed columns (reseal.go), for the export to open its values.
func SealContext(table, column string) (string, bool) {
	for _, c := range sealedColumns {
		if c.Table == table && c.Column == column {
			return c.Context, true
		}
	}
	return "", false
}
