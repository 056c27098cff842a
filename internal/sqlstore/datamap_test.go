package sqlstore_test

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// P02: every stored field appears in the policy data (the public
// inventory), and every field the inventory names is really stored. A
// migration that adds a column without declaring it fails here.
func TestEveryColumnIsDeclared(t *testing.T) {
	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	declared := dm.Fields()
	for _, tg := range storetest.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			db := storetest.Open(t, tg)
			cols := columns(t, db)
			if len(cols) < 10 {
				t.Fatalf("found only %d columns", len(cols))
			}
			for _, c := range cols {
				if !slices.Contains(declared, c) {
					t.Errorf("column %s is stored but not declared in consent/policy/datamap.json", c)
				}
			}
			for _, f := range declared {
				if !slices.Contains(cols, f) {
					t.Errorf("datamap.json declares %s, which no table has", f)
				}
			}
		})
	}
}

func columns(t *testing.T, db *sqlstore.DB) []string {
	ctx := context.Background()
	var rows *sql.Rows
	var err error
	if db.Dialect() == sqlstore.SQLite {
		rows, err = db.SQL().QueryContext(ctx, `SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY 1`)
	} else {
		rows, err = db.SQL().QueryContext(ctx, `SELECT table_name || '.' || column_name FROM information_schema.columns
			WHERE table_schema = current_schema() ORDER BY 1`)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}
