package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are embedded, forward-only and numbered; each version has a
// file of the same name for each engine (migrations/<dialect>/NNNN_name.sql).
//
//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func (db *DB) migrations() ([]migration, error) {
	dir := "migrations/" + string(db.dialect)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("sqlstore: migration file %s is not named NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrationFS, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// SchemaVersion returns the newest migration applied (0 for an empty
// database) and the newest this binary knows.
func (db *DB) SchemaVersion(ctx context.Context) (applied, known int, err error) {
	ms, err := db.migrations()
	if err != nil {
		return 0, 0, err
	}
	known = ms[len(ms)-1].version
	applied, err = db.appliedVersion(ctx, db.sql)
	return applied, known, err
}

func (db *DB) appliedVersion(ctx context.Context, q querier) (int, error) {
	if _, err := db.exec(ctx, q, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return 0, fmt.Errorf("sqlstore: schema_migrations: %w", err)
	}
	var v sql.NullInt64
	if err := db.queryRow(ctx, q, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlstore: schema version: %w", err)
	}
	return int(v.Int64), nil
}

// Migrate applies the migrations the database lacks, each in its own
// transaction, and returns how many it applied. It refuses a database
// whose schema is newer than this binary knows. On PostgreSQL an advisory
// lock keeps replicas starting together from racing.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	ms, err := db.migrations()
	if err != nil {
		return 0, err
	}
	known := ms[len(ms)-1].version
	applied := 0
	for _, m := range ms {
		done := false
		err := db.tx(ctx, func(tx *sql.Tx) error {
			if db.dialect == Postgres {
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7262280)`); err != nil {
					return fmt.Errorf("sqlstore: migration lock: %w", err)
				}
			}
			cur, err := db.appliedVersion(ctx, tx)
			if err != nil {
				return err
			}
			if cur > known {
				return fmt.Errorf("sqlstore: the database schema is at version %d, newer than this binary knows (%d): upgrade yuncan", cur, known)
			}
			if cur >= m.version {
				done = true
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("sqlstore: migration %04d_%s: %w", m.version, m.name, err)
			}
			_, err = db.exec(ctx, tx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, time.Now().UnixNano())
			return err
		})
		if err != nil {
			return applied, err
		}
		if !done {
			applied++
		}
	}
	return applied, nil
}

// CheckSchema returns an error unless the database is fully migrated to
// exactly the schema this binary knows.
func (db *DB) CheckSchema(ctx context.Context) error {
	applied, known, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	switch {
	case applied > known:
		return fmt.Errorf("sqlstore: the database schema is at version %d, newer than this binary knows (%d): upgrade yuncan", applied, known)
	case applied < known:
		return fmt.Errorf("sqlstore: the database schema is at version %d, this binary needs %d: run yuncan migrate", applied, known)
	}
	return nil
}
