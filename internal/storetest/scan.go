package storetest

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/sqlstore"
)

// The proof of an erasure (P66, P69): after it, no table and no file
// holds any of the distinctive values a test gave the person. Sealed
// columns are opened first, so that encrypted data is searched too.

// Finding is where a value was found: "table.column" or a file path.
type Finding struct {
	Where string
	Value string // the name of the needle
}

func (f Finding) String() string { return f.Value + " in " + f.Where }

// Tables lists the database's tables.
func Tables(tb testing.TB, db *sqlstore.DB) []string {
	tb.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1`
	if db.Dialect() == sqlstore.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1`
	}
	rows, err := db.SQL().QueryContext(context.Background(), q)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			tb.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// ScanTables searches every column of every row of every table for the
// needles (name to bytes); sealed columns (sqlstore.SealContext) are
// opened with keys and their plain text searched as well. skip, when it
// returns true for a row, leaves that row out (the marked legal records).
func ScanTables(tb testing.TB, db *sqlstore.DB, keys *keyring.Keyring, needles map[string][]byte, skip func(table string, row map[string]any) bool) []Finding {
	tb.Helper()
	ctx := context.Background()
	var out []Finding
	for _, table := range Tables(tb, db) {
		rows, err := db.SQL().QueryContext(ctx, `SELECT * FROM `+table)
		if err != nil {
			tb.Fatalf("scan %s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			tb.Fatal(err)
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatalf("scan %s: %v", table, err)
			}
			row := map[string]any{}
			for i, c := range cols {
				row[strings.ToLower(c)] = vals[i]
			}
			if skip != nil && skip(table, row) {
				continue
			}
			for i, c := range cols {
				c = strings.ToLower(c)
				b := asBytes(vals[i])
				if len(b) == 0 {
					continue
				}
				hay := [][]byte{b}
				if sctx, ok := sqlstore.SealContext(table, c); ok {
					if plain, err := keys.Open(sctx, string(b)); err == nil {
						hay = append(hay, plain)
					}
				}
				for name, n := range needles {
					for _, h := range hay {
						if bytes.Contains(h, n) {
							out = append(out, Finding{Where: table + "." + c, Value: name})
							break
						}
					}
				}
			}
		}
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
		rows.Close()
	}
	return dedupe(out)
}

func asBytes(v any) []byte {
	switch x := v.(type) {
	case nil:
		return nil
	case []byte:
		return x
	case string:
		return []byte(x)
	default:
		return fmt.Appendf(nil, "%v", x)
	}
}

// ScanFiles searches every file under dir for the needles.
func ScanFiles(tb testing.TB, dir string, needles map[string][]byte) []Finding {
	tb.Helper()
	var out []Finding
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for name, n := range needles {
			if bytes.Contains(b, n) {
				out = append(out, Finding{Where: path, Value: name})
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("scan %s: %v", dir, err)
	}
	return dedupe(out)
}

func dedupe(fs []Finding) []Finding {
	seen := map[Finding]bool{}
	var out []Finding
	for _, f := range fs {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
