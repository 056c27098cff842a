package sqlstore_test

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/location"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// Every column that holds sealed values is in the registry Reseal walks,
// with the context its area seals with: a migration adding a *_sealed
// column, or an area sealing under a new context, fails here until the
// registry has it.
func TestSealedColumnsRegistry(t *testing.T) {
	reg := map[string]sqlstore.SealedColumn{}
	contexts := map[string]bool{}
	for _, c := range sqlstore.SealedColumns() {
		reg[c.Table+"."+c.Column] = c
		contexts[c.Context] = true
		if want := c.Table + "." + strings.TrimSuffix(c.Column, "_sealed"); c.Context != want {
			t.Errorf("%s.%s has context %q, want %q (the convention the areas follow)", c.Table, c.Column, c.Context, want)
		}
	}
	for _, tg := range storetest.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			cols := columns(t, storetest.Open(t, tg))
			for _, col := range cols {
				if strings.HasSuffix(col, "_sealed") {
					if _, ok := reg[col]; !ok {
						t.Errorf("column %s holds sealed values but is missing from sqlstore's sealedColumns", col)
					}
				}
			}
			for name, c := range reg {
				if !slices.Contains(cols, name) {
					t.Errorf("registry names %s, which no table has", name)
				}
				for _, k := range c.Key {
					if !slices.Contains(cols, c.Table+"."+k) {
						t.Errorf("registry names key %s.%s, which no table has", c.Table, k)
					}
				}
			}
		})
	}
	used := sealContexts(t, filepath.Join("..", ".."))
	if len(used) < len(reg)*3/4 {
		t.Fatalf("found only %d seal contexts in the source: %v", len(used), used)
	}
	for _, ctx := range used {
		if !contexts[ctx] {
			t.Errorf("the source seals under %q, which no registered column has", ctx)
		}
	}
}

// sealContexts lists the "table.column" contexts that the non-test source
// passes to Seal (and to the areas' seal and reseal helpers), as string
// literals or as constants of the calling package.
func sealContexts(t *testing.T, root string) []string {
	t.Helper()
	shape := regexp.MustCompile(`^[a-z_]+\.[a-z_]+$`)
	byDir := map[string][]*ast.File{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		byDir[filepath.Dir(path)] = append(byDir[filepath.Dir(path)], f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, files := range byDir {
		consts := map[string]string{}
		for _, f := range files {
			for _, decl := range f.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.CONST {
					continue
				}
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if i < len(vs.Values) {
							if s, ok := stringLit(vs.Values[i]); ok {
								consts[name.Name] = s
							}
						}
					}
				}
			}
		}
		for _, f := range files {
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				var name string
				switch fn := call.Fun.(type) {
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				case *ast.Ident:
					name = fn.Name
				}
				if name != "Seal" && name != "seal" && name != "reseal" {
					return true
				}
				for _, arg := range call.Args {
					s, ok := stringLit(arg)
					if id, isIdent := arg.(*ast.Ident); !ok && isIdent {
						s, ok = consts[id.Name]
					}
					if ok && shape.MatchString(s) {
						seen[s] = true
					}
				}
				return true
			})
		}
	}
	var out []string
	for s := range seen {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// staleSealer writes a row between Reseal reading it and updating it, as
// a process still sealing under the old key would.
type staleSealer struct {
	*keyring.Keyring
	hook func()
}

func (s *staleSealer) Open(context, sealed string) ([]byte, error) {
	if s.hook != nil {
		s.hook()
		s.hook = nil
	}
	return s.Keyring.Open(context, sealed)
}

// Reseal moves every value to the active key across several batches,
// leaves a row a concurrent writer changed as it was written, and a
// second run finishes the job.
func TestReseal(t *testing.T) {
	for _, tg := range storetest.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := storetest.Open(t, tg)
			keys, err := keyring.New()
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC()
			var ids []string
			for i := range 5 {
				id := fmt.Sprintf("u%d", i)
				ids = append(ids, id)
				u := identity.UserRecord{ID: id, PhoneSealed: keys.Seal("users.phone", []byte(fmt.Sprintf("+86137000000%02d", i))),
					PhoneIndex: "idx" + id, Role: identity.RoleUser, Nickname: "n", AgeBand: identity.AgeAdult, CreatedAt: now, UpdatedAt: now}
				if err := db.Identity().CreateUser(ctx, u, identity.PolicyAcceptance{}); err != nil {
					t.Fatal(err)
				}
				if err := db.Location().SavePosition(ctx, location.Record{Subject: consent.User(id),
					Sealed: keys.Seal("location_positions.point", []byte(fmt.Sprintf("34.%d,113.6", i))), UpdatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
			stale := keys.Seal("users.phone", []byte("+8613799999999"))
			if n, err := db.NotUnderKey(ctx, "k1"); err != nil || total(n) != 0 {
				t.Fatalf("NotUnderKey before rotation = %v, %v", n, err)
			}
			if _, err := keys.Rotate(); err != nil {
				t.Fatal(err)
			}
			s := &staleSealer{Keyring: keys, hook: func() {
				if _, err := db.SQL().ExecContext(ctx, rebind(db, `UPDATE users SET phone_sealed = ? WHERE id = ?`), stale, ids[0]); err != nil {
					t.Error(err)
				}
			}}
			counts, err := db.ResealInBatches(ctx, s, 2)
			if err != nil {
				t.Fatal(err)
			}
			if got := count(counts, "users"); got != 4 {
				t.Errorf("first run resealed %d phones, want 4 (one was changed meanwhile)", got)
			}
			if got := count(counts, "location_positions"); got != 5 {
				t.Errorf("first run resealed %d positions, want 5", got)
			}
			left, err := db.NotUnderKey(ctx, keys.ActiveKeyID())
			if err != nil || total(left) != 1 || count(left, "users") != 1 {
				t.Fatalf("after the first run, not under the new key: %v, %v; want the changed phone", left, err)
			}
			counts, err = db.Reseal(ctx, keys)
			if err != nil || total(counts) != 1 {
				t.Fatalf("second run = %v, %v; want the changed phone", counts, err)
			}
			if left, err := db.NotUnderKey(ctx, keys.ActiveKeyID()); err != nil || total(left) != 0 {
				t.Fatalf("after the second run, not under the new key: %v, %v", left, err)
			}
			u, err := db.Identity().UserByID(ctx, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := keys.Open("users.phone", u.PhoneSealed); err != nil || string(pt) != "+8613799999999" {
				t.Errorf("the concurrent writer's phone became %q, %v", pt, err)
			}
			p, err := db.Location().Position(ctx, consent.User(ids[4]))
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := keys.Open("location_positions.point", p.Sealed); err != nil || string(pt) != "34.4,113.6" {
				t.Errorf("position after reseal: %q, %v", pt, err)
			}
		})
	}
}

func total(cs []sqlstore.ResealCount) int {
	n := 0
	for _, c := range cs {
		n += c.Resealed
	}
	return n
}

func count(cs []sqlstore.ResealCount, table string) int {
	n := 0
	for _, c := range cs {
		if c.Table == table {
			n += c.Resealed
		}
	}
	return n
}

func rebind(db *sqlstore.DB, q string) string {
	if db.Dialect() == sqlstore.Postgres {
		return strings.Replace(strings.Replace(q, "?", "$1", 1), "?", "$2", 1)
	}
	return q
}
