package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/audit"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/sqlstore"
)

// appendEntry appends e to the chain as the audit log does.
func appendEntry(t testing.TB, s audit.Store, e audit.Entry) audit.Entry {
	t.Helper()
	got, err := s.AppendEntry(context.Background(), func(head audit.Entry) (audit.Entry, error) { return audit.Link(head, e), nil })
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func init() {
	// P52: the audit log is a hash chain; parallel appends never fork it.
	register("AuditChainUnderConcurrency", func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		log := audit.NewLog(db.Audit(), nil)
		const n = 16
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := log.Append(ctx, audit.Record{ActorID: fmt.Sprintf("mod-%d", i%3), ActorRole: identity.RoleModerator,
					Action: "case.private.read", TargetKind: "case", TargetID: fmt.Sprintf("c%d", i), Reason: "review"})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		res, err := log.Verify(ctx)
		if err != nil || !res.OK || res.Entries != n || res.HeadSeq != n || res.HeadHash == "" {
			t.Fatalf("Verify after %d parallel appends = %+v, %v", n, res, err)
		}
		chain, err := db.Audit().Chain(ctx, 0, 100)
		if err != nil || len(chain) != n {
			t.Fatalf("Chain = %d entries, %v", len(chain), err)
		}
		for i, e := range chain {
			if e.Seq != int64(i+1) {
				t.Fatalf("sequence not dense: entry %d has seq %d", i, e.Seq)
			}
		}
	})

	// P52: changing or removing an entry shows, at that entry.
	register("AuditTamperingShows", func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		for _, tc := range []struct {
			name, sql string
			broken    int64
		}{
			{"reason changed", `UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 3`, 3},
			{"actor changed", `UPDATE audit_log SET actor_id = 'someone-else' WHERE seq = 2`, 2},
			{"row deleted", `DELETE FROM audit_log WHERE seq = 4`, 4},
			{"first row deleted", `DELETE FROM audit_log WHERE seq = 1`, 1},
			{"hash blanked", `UPDATE audit_log SET hash = '' WHERE seq = 2`, 2},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := db.SQL().ExecContext(ctx, `DELETE FROM audit_log`); err != nil {
					t.Fatal(err)
				}
				log := audit.NewLog(db.Audit(), nil)
				for i := range 5 {
					if _, err := log.Append(ctx, audit.Record{ActorID: "mod", ActorRole: identity.RoleModerator, Action: "clue.read",
						TargetKind: "clue", TargetID: fmt.Sprint(i), Reason: "check"}); err != nil {
						t.Fatal(err)
					}
				}
				if res, err := log.Verify(ctx); err != nil || !res.OK {
					t.Fatalf("Verify before tampering = %+v, %v", res, err)
				}
				if _, err := db.SQL().ExecContext(ctx, tc.sql); err != nil {
					t.Fatal(err)
				}
				res, err := log.Verify(ctx)
				if err != nil || res.OK || res.BrokenAt != tc.broken {
					t.Fatalf("Verify after %s = %+v, %v; want broken at %d", tc.name, res, err, tc.broken)
				}
			})
		}
	})

	// Rows carried over from the unchained audit_events (migration 0012
	// copies them with no hash) are chained before the first append.
	register("AuditSealsCarriedOverRows", func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
		for i := 1; i <= 3; i++ {
			if _, err := db.SQL().ExecContext(ctx, rebind(db, `INSERT INTO audit_log (seq, at, actor_id, actor_role, action, target_kind,
				target_id, reason, prev_hash, hash) VALUES (?, ?, 'mod', '', 'case.private.read', 'case', 'c', 'old', '', '')`),
				i, t0.Add(time.Duration(i)*time.Minute).UnixNano()); err != nil {
				t.Fatal(err)
			}
		}
		log := audit.NewLog(db.Audit(), nil)
		e, err := log.Append(ctx, audit.Record{ActorID: "adm", ActorRole: identity.RoleAdmin, Action: "case.approve", TargetKind: "case", TargetID: "c"})
		if err != nil || e.Seq != 4 {
			t.Fatalf("Append after carried-over rows = %+v, %v", e, err)
		}
		res, err := log.Verify(ctx)
		if err != nil || !res.OK || res.Entries != 4 {
			t.Fatalf("Verify = %+v, %v", res, err)
		}
		if n, err := log.Seal(ctx); n != 0 || err != nil {
			t.Fatalf("Seal again = %d, %v", n, err)
		}
	})

	register("AuditListFilters", func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := db.Audit()
		t0 := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
		appendEntry(t, s, audit.Entry{At: t0, ActorID: "mod", ActorRole: identity.RoleModerator, Action: "case.private.read", TargetKind: "case", TargetID: "c"})
		appendEntry(t, s, audit.Entry{At: t0.Add(time.Hour), ActorID: "pol", Action: "clue.read", TargetKind: "clue", TargetID: "k"})
		appendEntry(t, s, audit.Entry{At: t0.Add(2 * time.Hour), ActorID: "mod", Action: "case.approve", TargetKind: "case", TargetID: "c"})
		seqs := func(f audit.Filter) []int64 {
			t.Helper()
			if f.Limit == 0 {
				f.Limit = 10
			}
			es, err := s.Entries(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			out := []int64{}
			for _, e := range es {
				out = append(out, e.Seq)
			}
			return out
		}
		same(t, "all", seqs(audit.Filter{}), []int64{3, 2, 1})
		same(t, "actor", seqs(audit.Filter{ActorID: "mod"}), []int64{3, 1})
		same(t, "target", seqs(audit.Filter{TargetKind: "case", TargetID: "c"}), []int64{3, 1})
		same(t, "time range", seqs(audit.Filter{Since: t0.Add(time.Hour), Until: t0.Add(2 * time.Hour)}), []int64{2})
		same(t, "page", seqs(audit.Filter{Before: 3, Limit: 1}), []int64{2})
		es, _ := s.Entries(ctx, audit.Filter{Limit: 1})
		if len(es) != 1 || !es[0].At.Equal(t0.Add(2*time.Hour)) || es[0].ActorID != "mod" || es[0].Hash == "" || es[0].PrevHash == "" {
			t.Fatalf("entry as stored = %+v", es)
		}
		first, _ := s.Entries(ctx, audit.Filter{Before: 2, Limit: 1})
		if len(first) != 1 || first[0].ActorRole != identity.RoleModerator || first[0].PrevHash != "" {
			t.Fatalf("first entry = %+v", first)
		}
	})
}

// rebind turns ? into $n on PostgreSQL, for raw statements.
func rebind(db *sqlstore.DB, q string) string {
	if db.Dialect() != sqlstore.Postgres {
		return q
	}
	out, n := []byte{}, 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			out = append(out, fmt.Sprintf("$%d", n)...)
			continue
		}
		out = append(out, q[i])
	}
	return string(out)
}
