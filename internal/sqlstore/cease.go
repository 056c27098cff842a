package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/rights"
)

// Ceasing operations (migration 0018, P69).

var _ rights.CeaseStore = (*RightsStore)(nil)

const ceaseColumns = `declared_at, purge_at, notice_zh, notice_en, told_through, told_at, purged_at`

func (s *RightsStore) DeclareCease(ctx context.Context, c rights.Cease) error {
	_, err := s.db.exec(ctx, s.db.sql, `INSERT INTO cease_operations (id, `+ceaseColumns+`) VALUES (1, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, ts(c.DeclaredAt), ts(c.PurgeAt), c.NoticeZH, c.NoticeEN, c.ToldThrough, ts(c.ToldAt), ts(c.PurgedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: declare cease: %w", err)
	}
	got, err := s.CeaseState(ctx)
	if err != nil {
		return err
	}
	if !got.DeclaredAt.Equal(c.DeclaredAt) {
		return &yuncan.Error{Code: yuncan.Conflict, Message: "operations are already ceasing"}
	}
	return nil
}

func (s *RightsStore) CeaseState(ctx context.Context) (rights.Cease, error) {
	var c rights.Cease
	var declared, purge, told, purged int64
	err := s.db.queryRow(ctx, s.db.sql, `SELECT `+ceaseColumns+` FROM cease_operations WHERE id = 1`).
		Scan(&declared, &purge, &c.NoticeZH, &c.NoticeEN, &c.ToldThrough, &told, &purged)
	if err != nil {
		return c, notFound(err, "cease declaration")
	}
	c.DeclaredAt, c.PurgeAt, c.ToldAt, c.PurgedAt = fromTS(declared), fromTS(purge), fromTS(told), fromTS(purged)
	return c, nil
}

func (s *RightsStore) SaveCease(ctx context.Context, c rights.Cease) error {
	res, err := s.db.exec(ctx, s.db.sql, `UPDATE cease_operations SET told_through = ?, told_at = ?, purged_at = ? WHERE id = 1`,
		c.ToldThrough, ts(c.ToldAt), ts(c.PurgedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: save cease: %w", err)
	}
	if rowsAffected(res) == 0 {
		return &yuncan.Error{Code: yuncan.NotFound, Message: "cease declaration not found"}
	}
	return nil
}

func (s *RightsStore) AccountsAfter(ctx context.Context, after string, limit int) ([]string, error) {
	out, err := queryAll(ctx, s.db, scanString, s.db.sql, `SELECT id FROM users WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: accounts: %w", err)
	}
	return out, nil
}

func (s *RightsStore) EraseEverything(ctx context.Context, order []rights.Table) ([]string, error) {
	var keys []string
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		keys = nil
		for _, t := range order {
			if !identifier.MatchString(t.Name) {
				return fmt.Errorf("sqlstore: bad registry table %q", t.Name)
			}
			if t.Erase.Action != rights.Delete {
				continue
			}
			for _, col := range t.Media {
				if !identifier.MatchString(col) {
					return fmt.Errorf("sqlstore: bad registry column %q", col)
				}
				k, err := queryAll(ctx, s.db, scanString, tx, `SELECT `+col+` FROM `+t.Name+` WHERE `+col+` <> ''`)
				if err != nil {
					return fmt.Errorf("files of %s: %w", t.Name, err)
				}
				keys = append(keys, k...)
			}
		}
		for _, t := range order {
			switch t.Erase.Action {
			case rights.Delete:
				if _, err := s.db.exec(ctx, tx, `DELETE FROM `+t.Name); err != nil {
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
				if _, err := s.db.exec(ctx, tx, `UPDATE `+t.Name+` SET `+strings.Join(sets, ", ")); err != nil {
					return fmt.Errorf("anonymise %s: %w", t.Name, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: erase everything: %w", err)
	}
	if s.db.dialect == SQLite {
		if _, err := s.db.sql.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return keys, fmt.Errorf("sqlstore: erase everything: checkpoint: %w", err)
		}
	}
	return keys, nil
}
