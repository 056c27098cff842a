// Package sqlstore implements the areas' storage interfaces on SQLite (the
// embedded default) and PostgreSQL with one set of queries. Queries are
// written with ? placeholders in SQL both engines accept; the dialect seam
// (rebind, error mapping, migrations) is in this file and migrate.go.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/yuncan/yuncan"
)

// Dialect names a database engine.
type Dialect string

// Dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is a database handle shared by the area stores.
type DB struct {
	sql     *sql.DB
	dialect Dialect
	// Path is the SQLite file, "" on PostgreSQL.
	Path string
}

// Open opens the database: dsn "" means SQLite at <dataDir>/yuncan.db; a
// postgres:// or postgresql:// DSN means PostgreSQL. It does not migrate.
func Open(ctx context.Context, dsn, dataDir string) (*DB, error) {
	if dsn == "" {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlstore: data folder: %w", err)
		}
		return OpenSQLite(ctx, filepath.Join(dataDir, "yuncan.db"))
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
		}
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(10)
		db.SetConnMaxIdleTime(5 * time.Minute)
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlstore: connect postgres: %w", err)
		}
		return &DB{sql: db, dialect: Postgres}, nil
	}
	return nil, fmt.Errorf("sqlstore: --db must be empty (SQLite) or a postgres:// DSN")
}

// OpenSQLite opens (creating it if needed) the SQLite file at path. WAL
// with synchronous=FULL makes every acknowledged commit survive a crash of
// the process or the machine; BEGIN IMMEDIATE avoids upgrade deadlocks.
// secure_delete overwrites deleted content with zeros, so that an erasure
// (P66) leaves nothing in the file's free pages.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	q := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=secure_delete(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", "file:"+path+q)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: open sqlite %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	return &DB{sql: db, dialect: SQLite, Path: path}, nil
}

// Dialect is the engine behind db.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close closes the handle.
func (db *DB) Close() error { return db.sql.Close() }

// Ping checks that the database answers (for /readyz).
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

// SQL exposes the handle to tests that inspect raw storage.
func (db *DB) SQL() *sql.DB { return db.sql }

// rebind turns ? placeholders into $1, $2, ... for PostgreSQL.
func (db *DB) rebind(q string) string {
	if db.dialect != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	res, err := q.ExecContext(ctx, db.rebind(query), args...)
	return res, db.mapErr(err)
}

func (db *DB) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	rows, err := q.QueryContext(ctx, db.rebind(query), args...)
	return rows, db.mapErr(err)
}

func (db *DB) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, db.rebind(query), args...)
}

// tx runs fn in a transaction, committed when fn returns nil.
func (db *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return db.mapErr(err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return db.mapErr(tx.Commit())
}

// mapErr turns unique violations into Conflict errors.
func (db *DB) mapErr(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return &yuncan.Error{Code: yuncan.Conflict, Message: "already exists", Err: err}
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) && (sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return &yuncan.Error{Code: yuncan.Conflict, Message: "already exists", Err: err}
	}
	return err
}

// notFound maps sql.ErrNoRows to a NotFound error naming what was missing.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return &yuncan.Error{Code: yuncan.NotFound, Message: what + " not found", Err: err}
	}
	return err
}

// Times are stored as UTC Unix nanoseconds (BIGINT on both engines); the
// zero time is stored as 0.
func ts(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromTS(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// nullString stores nil as NULL.
func nullString(s *string) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *s, Valid: true}
}

func strPtr(ns sql.NullString) *string {
	if !ns.Valid {
		return nil
	}
	s := ns.String
	return &s
}

// emptyNull stores "" as NULL, for optional references.
func emptyNull(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func rowsAffected(res sql.Result) int {
	n, _ := res.RowsAffected()
	return int(n)
}

// queryAll runs a query and scans every row with scan: the one loop of the
// list queries. An empty result is an empty, non-nil slice.
func queryAll[T any](ctx context.Context, db *DB, scan func(scanner) (T, error), q querier, query string, args ...any) ([]T, error) {
	rows, err := db.query(ctx, q, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
