package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/rights"
	"github.com/yuncan/yuncan/internal/sqlstore"
)

func newExport(id, userID string, at time.Time) rights.ExportRecord {
	return rights.ExportRecord{ID: id, UserID: userID, Status: rights.StatusQueued, CreatedAt: at, UpdatedAt: at}
}

func exportIDs(rs []rights.ExportRecord) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func init() {
	// P65: one export request a week, per person.
	register("ExportWeeklyLimit", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Rights()
		createUser(t, db.Identity(), "u-1")
		createUser(t, db.Identity(), "u-2")
		week := 7 * 24 * time.Hour
		first := newExport("x-1", "u-1", t0)
		if _, err := s.CreateExport(ctx, first, t0.Add(-week)); err != nil {
			t.Fatal(err)
		}
		prev, err := s.CreateExport(ctx, newExport("x-2", "u-1", t0.Add(time.Hour)), t0.Add(time.Hour-week))
		wantCode(t, "second export inside the week", err, yuncan.Conflict)
		if prev.ID != "x-1" {
			t.Errorf("conflict returned %q, want x-1", prev.ID)
		}
		// Another person is not limited by u-1's request.
		if _, err := s.CreateExport(ctx, newExport("x-3", "u-2", t0.Add(time.Hour)), t0.Add(time.Hour-week)); err != nil {
			t.Fatal(err)
		}
		// A failed request does not count.
		first.Status = rights.StatusFailed
		if err := s.UpdateExport(ctx, first); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateExport(ctx, newExport("x-4", "u-1", t0.Add(2*time.Hour)), t0.Add(2*time.Hour-week)); err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateExport(ctx, newExport("x-5", "nobody", t0), t0.Add(-week))
		wantCode(t, "export of no account", err, yuncan.NotFound)

		got, err := s.ExportsOf(ctx, "u-1")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "ExportsOf u-1", exportIDs(got), []string{"x-4", "x-1"})
		_, err = s.ExportByID(ctx, "x-2")
		wantCode(t, "ExportByID of a refused request", err, yuncan.NotFound)
		err = s.UpdateExport(ctx, newExport("x-9", "u-1", t0))
		wantCode(t, "UpdateExport of none", err, yuncan.NotFound)
	})

	// A crashed build (building, lease over) is claimed again; a live one
	// is not.
	register("ExportClaimAndExpire", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Rights()
		createUser(t, db.Identity(), "u-1")
		createUser(t, db.Identity(), "u-2")
		for _, r := range []rights.ExportRecord{newExport("x-1", "u-1", t0), newExport("x-2", "u-2", t0.Add(time.Second))} {
			if _, err := s.CreateExport(ctx, r, t0.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		lease := t0.Add(10 * time.Minute)
		a, err := s.ClaimExport(ctx, t0, lease)
		if err != nil {
			t.Fatal(err)
		}
		if a.ID != "x-1" || a.Status != rights.StatusBuilding || a.Attempts != 1 || !a.LeaseUntil.Equal(lease) {
			t.Errorf("first claim = %+v", a)
		}
		b, err := s.ClaimExport(ctx, t0, lease)
		if err != nil || b.ID != "x-2" {
			t.Fatalf("second claim = %v, %v", b.ID, err)
		}
		_, err = s.ClaimExport(ctx, t0.Add(time.Minute), lease)
		wantCode(t, "claim while both are leased", err, yuncan.NotFound)
		again, err := s.ClaimExport(ctx, lease.Add(time.Second), lease.Add(time.Hour))
		if err != nil || again.ID != "x-1" || again.Attempts != 2 {
			t.Fatalf("claim after the lease = %+v, %v", again, err)
		}
		stored, err := s.ExportByID(ctx, "x-1")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "claimed record as stored", stored, again)

		ready := again
		ready.Status, ready.Progress, ready.ReadyAt, ready.ExpiresAt, ready.TokenHash, ready.TokenExpiresAt, ready.SizeBytes =
			rights.StatusReady, 100, t0, t0.Add(time.Hour), "abc", t0.Add(time.Minute), 42
		if err := s.UpdateExport(ctx, ready); err != nil {
			t.Fatal(err)
		}
		stored, _ = s.ExportByID(ctx, "x-1")
		same(t, "ready record as stored", stored, ready)
		exp, err := s.ExportsExpiring(ctx, t0.Add(time.Hour-time.Nanosecond))
		if err != nil || len(exp) != 0 {
			t.Errorf("expiring before the hour = %v, %v", exportIDs(exp), err)
		}
		exp, err = s.ExportsExpiring(ctx, t0.Add(time.Hour))
		if err != nil || !slices.Equal(exportIDs(exp), []string{"x-1"}) {
			t.Errorf("expiring at the hour = %v, %v", exportIDs(exp), err)
		}
	})

	// Every registry entry reads on this engine, and matches find the
	// person's rows through devices and links, never another person's.
	register("PersonRows", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Rights()
		createUser(t, db.Identity(), "u-1")
		createUser(t, db.Identity(), "u-2")
		createDevice(t, db.Identity(), "d-1", "u-1", t0)
		createDevice(t, db.Identity(), "d-2", "u-2", t0)
		for _, ev := range [][3]string{{"e-1", "user", "u-1"}, {"e-2", "device", "d-1"}, {"e-3", "user", "u-2"}, {"e-4", "device", "d-2"}} {
			rawExec(t, db, `INSERT INTO consent_events (id, subject_kind, subject_id, purpose, action, policy_version, channel, at)
				VALUES (?, ?, ?, 'location', 'grant', 'v1', 'app', 1)`, ev[0], ev[1], ev[2])
		}
		createCase(t, db.Seeking(), newCaseRecord("c-1", "u-1"))
		createCase(t, db.Seeking(), newCaseRecord("c-2", "u-2"))
		for _, c := range [][3]string{{"cl-1", "c-2", "u-1"}, {"cl-2", "c-1", "u-2"}} {
			if err := db.Seeking().CreateClue(ctx, newClueRecord(c[0], c[1], c[2], t0)); err != nil {
				t.Fatal(err)
			}
		}
		rawExec(t, db, `INSERT INTO clue_photos (id, clue_id, media_key, created_at) VALUES ('p-1', 'cl-1', 'clues/p-1.jpg', 1), ('p-2', 'cl-2', 'clues/p-2.jpg', 1)`)
		// Relay: u-2 writes to u-1 about c-1 (u-1's case), u-1 to u-2
		// about c-2 (u-1 the giver); u-2's thread with a third person is
		// not u-1's.
		createUser(t, db.Identity(), "u-3")
		rawExec(t, db, `INSERT INTO relay_messages (id, case_id, giver_id, sender_id, text_sealed, created_at) VALUES
			('m-1', 'c-1', 'u-2', 'u-2', 'k1:a', 1), ('m-2', 'c-2', 'u-1', 'u-1', 'k1:b', 2), ('m-3', 'c-2', 'u-3', 'u-3', 'k1:c', 3)`)

		want := map[string][]string{
			"consent_events": {"e-1", "e-2"},
			"devices":        {"d-1"},
			"cases":          {"c-1"},
			"case_events":    {"ev-c-1"},
			"clues":          {"cl-1"},
			"clue_photos":    {"p-1"},
			"relay_messages": {"m-1", "m-2"},
			"users":          {"u-1"},
		}
		for _, tb := range rights.Registry {
			rows, err := s.PersonRows(ctx, tb, "u-1")
			if err != nil {
				t.Errorf("PersonRows %s: %v", tb.Name, err)
				continue
			}
			w, ok := want[tb.Name]
			if !ok {
				continue
			}
			var ids []string
			for _, r := range rows {
				id, _ := r["id"].(string)
				ids = append(ids, id)
			}
			same(t, "PersonRows "+tb.Name, ids, w)
		}
	})
}
