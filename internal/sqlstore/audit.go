package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/yuncan/yuncan/internal/audit"
	"github.com/yuncan/yuncan/internal/identity"
)

// AuditStore implements audit.Store (migrations 0012 and 0017).
type AuditStore struct{ db *DB }

// Audit returns the audit log's store.
func (db *DB) Audit() *AuditStore { return &AuditStore{db: db} }

var _ audit.Store = (*AuditStore)(nil)

const auditColumns = `seq, at, actor_id, actor_role, action, target_kind, target_id, reason, prev_hash, hash`

func scanAudit(r scanner) (audit.Entry, error) {
	var e audit.Entry
	var at int64
	var role string
	err := r.Scan(&e.Seq, &at, &e.ActorID, &role, &e.Action, &e.TargetKind, &e.TargetID, &e.Reason, &e.PrevHash, &e.Hash)
	e.At, e.ActorRole = fromTS(at), identity.Role(role)
	return e, err
}

// chainTx runs fn in a transaction no other append or seal runs beside:
// on SQLite every write transaction is BEGIN IMMEDIATE (one writer); on
// PostgreSQL a transaction-scoped advisory lock. Without it two appends
// could read the same head and fork the chain (the primary key on seq
// would refuse the second, but as an error, not a wait).
func (s *AuditStore) chainTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		if s.db.dialect == Postgres {
			// An arbitrary key that only this lock uses.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(1498566209)`); err != nil {
				return fmt.Errorf("lock the audit chain: %w", err)
			}
		}
		return fn(tx)
	})
}

// head is the last entry; when there is none, the anchor as an entry
// (every entry was pruned), or the zero Entry.
func (s *AuditStore) head(ctx context.Context, tx *sql.Tx) (audit.Entry, error) {
	e, err := scanAudit(s.db.queryRow(ctx, tx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq DESC LIMIT 1`))
	if err == sql.ErrNoRows {
		return s.anchorEntry(ctx, tx)
	}
	return e, err
}

// anchorEntry is the anchor as the entry before the first one kept.
func (s *AuditStore) anchorEntry(ctx context.Context, tx *sql.Tx) (audit.Entry, error) {
	a, err := s.anchor(ctx, tx)
	return audit.Entry{Seq: a.Seq, At: a.At, Hash: a.Hash}, err
}

const anchorColumns = `seq, at, hash, pruned_at, entries`

// anchor is the anchor with the highest seq, or the zero Anchor.
func (s *AuditStore) anchor(ctx context.Context, q querier) (audit.Anchor, error) {
	var a audit.Anchor
	var at, pruned int64
	err := s.db.queryRow(ctx, q, `SELECT `+anchorColumns+` FROM audit_anchor ORDER BY seq DESC LIMIT 1`).
		Scan(&a.Seq, &at, &a.Hash, &pruned, &a.Entries)
	if err == sql.ErrNoRows {
		return audit.Anchor{}, nil
	}
	if err != nil {
		return audit.Anchor{}, fmt.Errorf("sqlstore: audit anchor: %w", err)
	}
	a.At, a.PrunedAt = fromTS(at), fromTS(pruned)
	return a, nil
}

func (s *AuditStore) Anchor(ctx context.Context) (audit.Anchor, error) {
	return s.anchor(ctx, s.db.sql)
}

func (s *AuditStore) PruneEntries(ctx context.Context, limit int, pick func(from audit.Anchor, es []audit.Entry) (audit.Anchor, error)) (int, error) {
	n := 0
	var pickErr error
	err := s.chainTx(ctx, func(tx *sql.Tx) error {
		n, pickErr = 0, nil
		from, err := s.anchor(ctx, tx)
		if err != nil {
			return err
		}
		es, err := queryAll(ctx, s.db, scanAudit, tx, `SELECT `+auditColumns+` FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`, from.Seq, limit)
		if err != nil {
			return fmt.Errorf("sqlstore: audit prune: %w", err)
		}
		to, perr := pick(from, es)
		pickErr = perr
		if to.Seq <= from.Seq {
			return nil
		}
		res, err := s.db.exec(ctx, tx, `DELETE FROM audit_log WHERE seq > ? AND seq <= ?`, from.Seq, to.Seq)
		if err != nil {
			return fmt.Errorf("sqlstore: audit prune: %w", err)
		}
		deleted, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlstore: audit prune: %w", err)
		}
		if _, err := s.db.exec(ctx, tx, `INSERT INTO audit_anchor (`+anchorColumns+`) VALUES (?, ?, ?, ?, ?)`,
			to.Seq, ts(to.At), to.Hash, ts(to.PrunedAt), to.Entries); err != nil {
			return fmt.Errorf("sqlstore: audit anchor: %w", err)
		}
		n = int(deleted)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, pickErr
}

func (s *AuditStore) AppendEntry(ctx context.Context, link func(head audit.Entry) (audit.Entry, error)) (audit.Entry, error) {
	var out audit.Entry
	err := s.chainTx(ctx, func(tx *sql.Tx) error {
		h, err := s.head(ctx, tx)
		if err != nil {
			return fmt.Errorf("sqlstore: audit head: %w", err)
		}
		e, err := link(h)
		if err != nil {
			return err
		}
		_, err = s.db.exec(ctx, tx, `INSERT INTO audit_log (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, ts(e.At), e.ActorID, string(e.ActorRole), e.Action, e.TargetKind, e.TargetID, e.Reason, e.PrevHash, e.Hash)
		if err != nil {
			return fmt.Errorf("sqlstore: audit append: %w", err)
		}
		out = e
		return nil
	})
	return out, err
}

func (s *AuditStore) SealEntries(ctx context.Context, link func(prev, e audit.Entry) audit.Entry) (int, error) {
	n := 0
	err := s.chainTx(ctx, func(tx *sql.Tx) error {
		// Only entries after the last hashed one: a hash blanked in the
		// middle of the chain stays blank, and Verify reports it.
		prev, err := scanAudit(s.db.queryRow(ctx, tx, `SELECT `+auditColumns+` FROM audit_log WHERE hash <> '' ORDER BY seq DESC LIMIT 1`))
		if err == sql.ErrNoRows {
			prev, err = s.anchorEntry(ctx, tx)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: audit seal: %w", err)
		}
		rows, err := s.db.query(ctx, tx, `SELECT `+auditColumns+` FROM audit_log WHERE hash = '' AND seq > ? ORDER BY seq`, prev.Seq)
		if err != nil {
			return fmt.Errorf("sqlstore: audit seal: %w", err)
		}
		var todo []audit.Entry
		for rows.Next() {
			e, err := scanAudit(rows)
			if err != nil {
				rows.Close()
				return err
			}
			todo = append(todo, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, e := range todo {
			e = link(prev, e)
			if _, err := s.db.exec(ctx, tx, `UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ? AND hash = ''`,
				e.PrevHash, e.Hash, e.Seq); err != nil {
				return fmt.Errorf("sqlstore: audit seal %d: %w", e.Seq, err)
			}
			prev = e
			n++
		}
		return nil
	})
	return n, err
}

func (s *AuditStore) Entries(ctx context.Context, f audit.Filter) ([]audit.Entry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.ActorID != "" {
		add("actor_id = ?", f.ActorID)
	}
	if f.TargetKind != "" {
		add("target_kind = ?", f.TargetKind)
	}
	if f.TargetID != "" {
		add("target_id = ?", f.TargetID)
	}
	if !f.Since.IsZero() {
		add("at >= ?", ts(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", ts(f.Until))
	}
	if f.Before > 0 {
		add("seq < ?", f.Before)
	}
	q := `SELECT ` + auditColumns + ` FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	return s.list(ctx, q+` ORDER BY seq DESC LIMIT ?`, args...)
}

func (s *AuditStore) Chain(ctx context.Context, after int64, limit int) ([]audit.Entry, error) {
	return s.list(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
}

func (s *AuditStore) list(ctx context.Context, q string, args ...any) ([]audit.Entry, error) {
	out, err := queryAll(ctx, s.db, scanAudit, s.db.sql, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: audit entries: %w", err)
	}
	return out, nil
}
