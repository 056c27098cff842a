// Package storetest is the storage conformance suite (after go-cloud's
// drivertest): every database the product runs on passes the same tests.
// SQLite always runs; PostgreSQL runs when YUNCAN_TEST_POSTGRES_DSN is
// set, each test in a fresh schema so tests can run in parallel.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"github.com/yuncan/yuncan/internal/sqlstore"
)

// PostgresEnv names the variable holding the test PostgreSQL DSN.
const PostgresEnv = "YUNCAN_TEST_POSTGRES_DSN"

// Target is a database the suite runs against.
type Target struct {
	Name string // "sqlite" or "postgres"
	// DSN opens a fresh, empty database: "" for SQLite (in DataDir) or a
	// postgres:// DSN pointing at a new schema.
	DSN     string
	DataDir string
}

// Targets returns the databases to test on, each fresh and removed when
// the test ends: SQLite always, PostgreSQL when the DSN is set.
func Targets(t testing.TB) []Target {
	ts := []Target{{Name: "sqlite", DataDir: t.TempDir()}}
	if base := os.Getenv(PostgresEnv); base != "" {
		ts = append(ts, Target{Name: "postgres", DSN: FreshPostgres(t, base), DataDir: t.TempDir()})
	}
	return ts
}

// FreshPostgres creates a new schema in the database base points at and
// returns a DSN whose search_path is that schema; the schema is dropped
// when the test ends.
func FreshPostgres(t testing.TB, base string) string {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("storetest: open postgres: %v", err)
	}
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatalf("storetest: create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: %s is not a URL: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens and migrates the target's database, closed when the test
// ends.
func Open(t testing.TB, target Target) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, target.DSN, target.DataDir)
	if err != nil {
		t.Fatalf("storetest: open %s: %v", target.Name, err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("storetest: migrate %s: %v", target.Name, err)
	}
	return db
}

// Run runs the conformance suite against every target: each subtest gets
// a fresh, migrated database from Open.
func Run(t *testing.T) {
	for _, target := range Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			t.Parallel()
			open := func(t *testing.T) *sqlstore.DB {
				tg := target
				if tg.DSN != "" {
					tg.DSN = FreshPostgres(t, os.Getenv(PostgresEnv))
				}
				tg.DataDir = filepath.Join(t.TempDir(), "data")
				return Open(t, tg)
			}
			for _, tc := range suite {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, open(t))
				})
			}
		})
	}
}

// suite lists the conformance tests; each area adds its own file.
var suite []struct {
	name string
	fn   func(t *testing.T, db *sqlstore.DB)
}

func register(name string, fn func(t *testing.T, db *sqlstore.DB)) {
	suite = append(suite, struct {
		name string
		fn   func(t *testing.T, db *sqlstore.DB)
	}{name, fn})
}
