package rights_test

import (
	"context"
	"strings"
	"testing"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/rights"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// nonFileKeys are columns ending in _key that name no media file.
var nonFileKeys = map[string]bool{"notifications.dedupe_key": true}

// Issue 5, the mechanism first (P65, P66): every table holding a column of
// a personal category is registered, with how one person's rows are found
// and erased; every name the registry uses exists in the live schema; and
// every column holding a media key is a registered file location.
func TestRegistryCoversPersonalData(t *testing.T) {
	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	personal := map[string]string{} // table.column -> category
	for _, c := range dm.Categories {
		if c.Personal {
			for _, f := range c.Fields {
				personal[f] = c.ID
			}
		}
	}
	db := storetest.Open(t, storetest.Target{Name: "sqlite", DataDir: t.TempDir()})
	schema := liveSchema(t, db)

	registered := map[string]rights.Table{}
	for _, tb := range rights.Registry {
		if _, dup := registered[tb.Name]; dup {
			t.Errorf("registry: %s twice", tb.Name)
		}
		registered[tb.Name] = tb
	}
	for table, cols := range schema {
		for _, col := range cols {
			if cat, ok := personal[table+"."+col]; ok {
				if _, ok := registered[table]; !ok {
					t.Errorf("table %s holds personal data (%s.%s, category %s) but is not in the rights registry", table, table, col, cat)
				}
				break
			}
		}
	}
	media := map[string]bool{}
	for _, tb := range rights.Registry {
		cols, ok := schema[tb.Name]
		if !ok {
			t.Errorf("registry names table %s, which the schema does not have", tb.Name)
			continue
		}
		for _, c := range columnsOf(tb) {
			if !has(cols, c) {
				t.Errorf("registry names %s.%s, which the schema does not have", tb.Name, c)
			}
		}
		for _, l := range links(tb.Match) {
			for _, c := range append(columnsOfMatch(l.Match), l.Key) {
				if !has(schema[l.Table], c) {
					t.Errorf("registry %s: link names %s.%s, which the schema does not have", tb.Name, l.Table, c)
				}
			}
		}
		switch tb.Erase.Action {
		case rights.Delete:
		case rights.Anonymise:
			if len(tb.Erase.Columns) == 0 || tb.Erase.Basis == "" {
				t.Errorf("registry %s: anonymise needs columns and a basis", tb.Name)
			}
		case rights.Keep:
			if tb.Erase.Basis == "" || dm.RetentionOf(tb.Erase.Category) <= 0 {
				t.Errorf("registry %s: keep needs a legal basis and a category of the policy data with a period (%q)", tb.Name, tb.Erase.Category)
			}
		default:
			t.Errorf("registry %s: erasure %q", tb.Name, tb.Erase.Action)
		}
		// Every sealed value the export carries can be opened: its column
		// is in the one list of sealed columns (sqlstore/reseal.go).
		for _, c := range cols {
			if strings.HasSuffix(c, "_sealed") && !has(tb.Omit, c) {
				if _, ok := sqlstore.SealContext(tb.Name, c); !ok {
					t.Errorf("registry %s: sealed column %s is not in sqlstore's list of sealed columns", tb.Name, c)
				}
			}
		}
		for _, m := range tb.Media {
			media[tb.Name+"."+m] = true
		}
	}
	for table, cols := range schema {
		for _, c := range cols {
			f := table + "." + c
			if strings.HasSuffix(c, "_key") && !nonFileKeys[f] && !media[f] {
				t.Errorf("%s looks like a file location but is not a registered media column", f)
			}
		}
	}
}

func columnsOf(tb rights.Table) []string {
	out := columnsOfMatch(tb.Match)
	out = append(out, tb.Omit...)
	out = append(out, tb.Others...)
	out = append(out, tb.Media...)
	return append(out, tb.Erase.Columns...)
}

func columnsOfMatch(m rights.Match) []string {
	out := []string{m.Column}
	if m.KindColumn != "" {
		out = append(out, m.KindColumn)
	}
	for _, o := range m.Or {
		out = append(out, columnsOfMatch(o)...)
	}
	return out
}

func links(m rights.Match) []rights.Link {
	var out []rights.Link
	if m.In != nil {
		out = append(out, *m.In)
		out = append(out, links(m.In.Match)...)
	}
	for _, o := range m.Or {
		out = append(out, links(o)...)
	}
	return out
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// liveSchema reads table -> columns from the migrated SQLite database.
func liveSchema(t *testing.T, db *sqlstore.DB) map[string][]string {
	rows, err := db.SQL().QueryContext(context.Background(), `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY 1, p.cid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			t.Fatal(err)
		}
		out[table] = append(out[table], col)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
