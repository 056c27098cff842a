package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
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

// auditClock is the fake clock of the pruning tests.
type auditClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *auditClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *auditClock) set(t time.Time)     { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *auditClock) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// auditRetention is the audit_record retention of the policy data.
const auditRetention = 1095 * 24 * time.Hour

// appendAt appends a staff read at the clock's time.
func appendAt(t *testing.T, log *audit.Log, target string) audit.Entry {
	t.Helper()
	e, err := log.Append(context.Background(), audit.Record{ActorID: "mod", ActorRole: identity.RoleModerator, Action: "case.private.read",
		TargetKind: "case", TargetID: target, Reason: "review"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func init() {
	// P52, P51: audit records older than their legal period are pruned
	// from the start of the chain; the anchor keeps the chain verifiable
	// and tampering with what is kept still shows.
	register("AuditPruneKeepsAnAnchor", func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		t0 := time.Date(2021, 1, 10, 8, 0, 0, 0, time.UTC)
		clk := &auditClock{t: t0}
		log := audit.NewLog(db.Audit(), clk.now)
		var old []audit.Entry
		for i := range 4 { // four old entries, a day apart
			old = append(old, appendAt(t, log, fmt.Sprint("old-", i)))
			clk.add(24 * time.Hour)
		}
		clk.set(t0.Add(2 * 365 * 24 * time.Hour))
		for i := range 3 { // three fresh ones
			appendAt(t, log, fmt.Sprint("new-", i))
			clk.add(time.Hour)
		}
		// Three years and two days after the first: entries 1 and 2 are
		// past the retention, 3 and 4 not yet.
		clk.set(t0.Add(auditRetention + 36*time.Hour))
		if n, err := log.Prune(ctx, 0); err == nil || n != 0 {
			t.Fatalf("Prune with no retention = %d, %v; want an error", n, err)
		}
		n, err := log.Prune(ctx, auditRetention)
		if err != nil || n != 2 {
			t.Fatalf("Prune = %d, %v; want the 2 entries past three years", n, err)
		}
		a, err := db.Audit().Anchor(ctx)
		if err != nil || a.Seq != 2 || a.Hash != old[1].Hash || !a.At.Equal(old[1].At) || a.Entries != 2 || !a.PrunedAt.Equal(clk.now()) {
			t.Fatalf("anchor = %+v, %v; want entry 2 (%s)", a, err, old[1].Hash)
		}
		chain, err := db.Audit().Chain(ctx, 0, 100)
		if err != nil || len(chain) != 5 || chain[0].Seq != 3 || chain[0].TargetID != "old-2" {
			t.Fatalf("after prune the chain holds %+v, %v", chain, err)
		}
		res, err := log.Verify(ctx)
		if err != nil || !res.OK || res.Anchor.Seq != 2 || res.Entries != 5 || res.HeadSeq != 7 {
			t.Fatalf("Verify after prune = %+v, %v", res, err)
		}
		// Nothing more is due: a second run removes nothing.
		if n, err := log.Prune(ctx, auditRetention); n != 0 || err != nil {
			t.Fatalf("Prune again = %d, %v", n, err)
		}
		// The chain goes on after the prune.
		if e := appendAt(t, log, "after"); e.Seq != 8 {
			t.Fatalf("append after prune: seq %d", e.Seq)
		}
		// A year later the other two old ones go; the anchor moves.
		clk.add(365 * 24 * time.Hour)
		if n, err := log.Prune(ctx, auditRetention); n != 2 || err != nil {
			t.Fatalf("Prune a year later = %d, %v", n, err)
		}
		res, err = log.Verify(ctx)
		if err != nil || !res.OK || res.Anchor.Seq != 4 || res.Anchor.Hash != old[3].Hash || res.Entries != 4 || res.HeadSeq != 8 {
			t.Fatalf("Verify after the second prune = %+v, %v", res, err)
		}
	})

	// P52: after a prune, tampering with what is kept, or with the
	// anchor, still shows.
	register("AuditPrunedTamperingShows", func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		for _, tc := range []struct {
			name, sql string
			broken    int64
		}{
			{"first kept entry changed", `UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 5`, 5},
			{"first kept entry deleted", `DELETE FROM audit_log WHERE seq = 5`, 5},
			{"a later entry deleted", `DELETE FROM audit_log WHERE seq = 6`, 6},
			{"anchor hash changed", `UPDATE audit_anchor SET hash = 'abcd'`, 5},
			{"anchor deleted", `DELETE FROM audit_anchor`, 1},
			{"anchor moved on", `UPDATE audit_anchor SET seq = 5`, 6},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, q := range []string{`DELETE FROM audit_log`, `DELETE FROM audit_anchor`} {
					if _, err := db.SQL().ExecContext(ctx, q); err != nil {
						t.Fatal(err)
					}
				}
				t0 := time.Date(2021, 1, 10, 8, 0, 0, 0, time.UTC)
				clk := &auditClock{t: t0}
				log := audit.NewLog(db.Audit(), clk.now)
				for i := range 8 {
					appendAt(t, log, fmt.Sprint(i))
					if i == 3 {
						clk.add(365 * 24 * time.Hour)
					}
				}
				clk.add(auditRetention - 24*time.Hour)
				if n, err := log.Prune(ctx, auditRetention); n != 4 || err != nil {
					t.Fatalf("Prune = %d, %v", n, err)
				}
				if res, err := log.Verify(ctx); err != nil || !res.OK || res.Anchor.Seq != 4 {
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

	// Pruning never removes the evidence: it stops before a broken link,
	// says where, and Verify still reports it.
	register("AuditPruneStopsAtTampering", func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		t0 := time.Date(2020, 5, 1, 8, 0, 0, 0, time.UTC)
		clk := &auditClock{t: t0}
		log := audit.NewLog(db.Audit(), clk.now)
		for i := range 5 {
			appendAt(t, log, fmt.Sprint(i))
			clk.add(time.Hour)
		}
		if _, err := db.SQL().ExecContext(ctx, `UPDATE audit_log SET target_id = 'someone-else' WHERE seq = 3`); err != nil {
			t.Fatal(err)
		}
		clk.add(auditRetention)
		n, err := log.Prune(ctx, auditRetention)
		if n != 2 || yuncan.ErrorCode(err) != yuncan.Conflict || yuncan.ErrorReason(err) != audit.ReasonChainBroken {
			t.Fatalf("Prune over a changed entry = %d, %v; want 2 removed and a Conflict", n, err)
		}
		res, err := log.Verify(ctx)
		if err != nil || res.OK || res.BrokenAt != 3 || res.Anchor.Seq != 2 {
			t.Fatalf("Verify after the stopped prune = %+v, %v; want broken at 3", res, err)
		}
		if n, err := log.Prune(ctx, auditRetention); n != 0 || yuncan.ErrorReason(err) != audit.ReasonChainBroken {
			t.Fatalf("Prune again = %d, %v", n, err)
		}
	})

	// When every entry is past its period the anchor is the head: the
	// next append links to it.
	register("AuditPruneEverything", func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		clk := &auditClock{t: time.Date(2020, 5, 1, 8, 0, 0, 0, time.UTC)}
		log := audit.NewLog(db.Audit(), clk.now)
		var last audit.Entry
		for i := range 3 {
			last = appendAt(t, log, fmt.Sprint(i))
		}
		clk.add(auditRetention + time.Second)
		if n, err := log.Prune(ctx, auditRetention); n != 3 || err != nil {
			t.Fatalf("Prune = %d, %v", n, err)
		}
		res, err := log.Verify(ctx)
		if err != nil || !res.OK || res.Entries != 0 || res.HeadSeq != 3 || res.HeadHash != last.Hash {
			t.Fatalf("Verify of an empty chain after its anchor = %+v, %v", res, err)
		}
		e := appendAt(t, log, "next")
		if e.Seq != 4 || e.PrevHash != last.Hash {
			t.Fatalf("append after pruning everything = %+v", e)
		}
		if res, err := log.Verify(ctx); err != nil || !res.OK || res.Entries != 1 {
			t.Fatalf("Verify = %+v, %v", res, err)
		}
	})

	// Pruning more than one batch, while staff go on appending: the
	// chain is never cut in the wrong place.
	register("AuditPruneInBatchesBesideAppends", func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		t0 := time.Date(2020, 5, 1, 8, 0, 0, 0, time.UTC)
		const old = 2345
		insertChain(t, db, t0, old)
		clk := &auditClock{t: t0.Add(auditRetention + 48*time.Hour)}
		log := audit.NewLog(db.Audit(), clk.now)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := log.Append(ctx, audit.Record{ActorID: "adm", ActorRole: identity.RoleAdmin, Action: "ticket.read",
					TargetKind: "ticket", TargetID: fmt.Sprint(i)})
				errs <- err
			}()
		}
		n, err := log.Prune(ctx, auditRetention)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if err != nil || n != old {
			t.Fatalf("Prune = %d, %v; want %d", n, err, old)
		}
		res, err := log.Verify(ctx)
		if err != nil || !res.OK || res.Anchor.Seq != old || res.Entries != 8 || res.HeadSeq != old+8 {
			t.Fatalf("Verify = %+v, %v", res, err)
		}
	})

	// P52: reading the log is itself a staff read: the read is written
	// first, and a refused read writes nothing.
	register("AuditReadIsAudited", func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		log := audit.NewLog(db.Audit(), nil)
		appendAt(t, log, "c1")
		admin := audit.Actor{UserID: "adm-1", Role: identity.RoleAdmin}
		p, err := log.Read(ctx, admin, audit.Filter{TargetKind: "case", TargetID: "c1"})
		if err != nil || len(p.Entries) != 1 {
			t.Fatalf("Read = %+v, %v", p, err)
		}
		p, err = log.Read(ctx, admin, audit.Filter{})
		if err != nil || len(p.Entries) != 3 {
			t.Fatalf("Read all = %+v, %v", p, err)
		}
		self := p.Entries[0]
		if self.Action != audit.ActionRead || self.ActorID != "adm-1" || self.ActorRole != identity.RoleAdmin || self.TargetKind != "audit_log" || self.Reason != "all" {
			t.Fatalf("the newest entry is %+v; want this read", self)
		}
		if first := p.Entries[1]; first.Action != audit.ActionRead || first.Reason != "target_kind=case target_id=c1" {
			t.Fatalf("the first read is %+v", first)
		}
		if _, err := log.Read(ctx, audit.Actor{UserID: "mod-1", Role: identity.RoleModerator}, audit.Filter{}); yuncan.ErrorCode(err) != yuncan.Forbidden {
			t.Fatalf("a moderator reads the log: %v", err)
		}
		since := time.Now()
		if _, err := log.Read(ctx, admin, audit.Filter{Since: since, Until: since.Add(-time.Hour)}); yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Fatalf("a read with until before since: %v", err)
		}
		if _, err := log.Read(ctx, admin, audit.Filter{Limit: 501}); yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Fatalf("a read of 501 entries: %v", err)
		}
		if res, err := log.Verify(ctx); err != nil || !res.OK || res.Entries != 3 {
			t.Fatalf("refused reads wrote entries: %+v, %v", res, err)
		}
	})
}

// insertChain writes n chained entries a minute apart from t0 in one
// transaction, as appends would have.
func insertChain(t *testing.T, db *sqlstore.DB, t0 time.Time, n int) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	q := rebind(db, `INSERT INTO audit_log (seq, at, actor_id, actor_role, action, target_kind, target_id, reason, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	var head audit.Entry
	for i := range n {
		e := audit.Link(head, audit.Entry{At: t0.Add(time.Duration(i) * time.Minute), ActorID: "mod", ActorRole: identity.RoleModerator,
			Action: "clue.read", TargetKind: "clue", TargetID: fmt.Sprint(i), Reason: "check"})
		if _, err := tx.ExecContext(ctx, q, e.Seq, e.At.UnixNano(), e.ActorID, string(e.ActorRole), e.Action, e.TargetKind, e.TargetID,
			e.Reason, e.PrevHash, e.Hash); err != nil {
			t.Fatal(err)
		}
		head = e
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
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
