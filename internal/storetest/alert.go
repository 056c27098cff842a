package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/alert"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/seeking"
	"github.com/yuncan/yuncan/internal/sqlstore"
)

// alertCase creates an account and a case in status st and returns the
// case id.
func alertCase(t *testing.T, db *sqlstore.DB, id string, st seeking.Status) string {
	t.Helper()
	createUser(t, db.Identity(), "rep-"+id)
	c := newCaseRecord(id, "rep-"+id)
	c.Status = st
	createCase(t, db.Seeking(), c)
	return id
}

func newAlert(id, caseID, clueID string) alert.Alert {
	a := alert.Alert{ID: id, CaseID: caseID, ClueID: clueID, Category: seeking.CategoryChild, CentreSealed: "k1:centre-" + id,
		CentreAt: t0, CreatedAt: t0.Add(time.Minute)}
	a.Rings = alert.Schedule{{After: 0, RadiusKm: 100}, {After: 2 * time.Hour, RadiusKm: 200}, {After: 3 * time.Hour, RadiusKm: 300.5}}.Plan(id, t0)
	return a
}

func subjectKeys(subs []consent.Subject) string {
	var out []string
	for _, s := range subs {
		out = append(out, string(s.Kind)+":"+s.ID)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func init() {
	register("AlertCreateAndRings", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Alert()
		caseID := alertCase(t, db, "case-a", seeking.StatusPublished)
		a := newAlert("al-1", caseID, "")
		got, created, err := s.CreateAlert(ctx, a)
		if err != nil || !created {
			t.Fatalf("CreateAlert = %v, %v", created, err)
		}
		same(t, "CreateAlert", got, a)
		back, err := s.AlertByID(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "AlertByID", back, a)

		// One alert per centre: the same case and clue find the first.
		again, created, err := s.CreateAlert(ctx, newAlert("al-2", caseID, ""))
		if err != nil || created || again.ID != "al-1" {
			t.Fatalf("CreateAlert for the same centre = %s, %v, %v; want al-1, false", again.ID, created, err)
		}
		if _, created, err := s.CreateAlert(ctx, newAlert("al-3", caseID, "clue-1")); err != nil || !created {
			t.Fatalf("CreateAlert for a clue = %v, %v", created, err)
		}
		_, _, err = s.CreateAlert(ctx, newAlert("al-4", "no-case", ""))
		wantCode(t, "CreateAlert of a missing case", err, yuncan.NotFound)
		_, err = s.AlertByID(ctx, "nope")
		wantCode(t, "AlertByID of nothing", err, yuncan.NotFound)
		all, err := s.AlertsOfCase(ctx, caseID)
		if err != nil || len(all) != 2 || all[0].ID != "al-1" || all[1].ID != "al-3" || len(all[1].Rings) != 3 {
			t.Fatalf("AlertsOfCase = %+v, %v", all, err)
		}

		// Due: the first ring at once, the second after 2 h.
		dueIDs := func(at time.Time) string {
			t.Helper()
			as, err := s.DueAlerts(ctx, at, 10)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, a := range as {
				ids = append(ids, a.ID)
			}
			return strings.Join(ids, ",")
		}
		if got := dueIDs(t0); got != "al-1,al-3" {
			t.Fatalf("DueAlerts at t0 = %q", got)
		}
		if err := s.MarkRingsOpened(ctx, "al-1", 1, 7, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkRingsOpened(ctx, "al-3", 1, 0, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if got := dueIDs(t0.Add(time.Hour)); got != "" {
			t.Fatalf("DueAlerts with the first rings opened = %q", got)
		}
		if got := dueIDs(t0.Add(3 * time.Hour)); got != "al-1,al-3" {
			t.Fatalf("DueAlerts at 3 h = %q", got)
		}
		// Catching up opens rings 2 and 3 together and keeps ring 1's time.
		if err := s.MarkRingsOpened(ctx, "al-1", 3, 1234, t0.Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		back, _ = s.AlertByID(ctx, "al-1")
		if !back.Rings[0].OpenedAt.Equal(t0.Add(time.Second)) || !back.Rings[1].OpenedAt.Equal(t0.Add(3*time.Hour)) ||
			!back.Rings[2].OpenedAt.Equal(t0.Add(3*time.Hour)) {
			t.Fatalf("rings after catching up: %+v", back.Rings)
		}
		if r := back.Rings; r[0].Recipients != 7 || r[1].Recipients != 0 || r[2].Recipients != 1234 {
			t.Fatalf("recipients of the rings: %d %d %d, want 7 0 1234", r[0].Recipients, r[1].Recipients, r[2].Recipients)
		}
		if back.Rings[2].RadiusKm != 300.5 {
			t.Errorf("radius = %v, want 300.5", back.Rings[2].RadiusKm)
		}

		// The batch count is fixed the first time and never shrinks.
		for _, tc := range []struct{ set, want int }{{4, 4}, {2, 4}, {8, 8}} {
			n, err := s.SetRingBatches(ctx, "al-3", 2, tc.set)
			if err != nil || n != tc.want {
				t.Fatalf("SetRingBatches(%d) = %d, %v; want %d", tc.set, n, err, tc.want)
			}
		}
		_, err = s.SetRingBatches(ctx, "al-3", 9, 1)
		wantCode(t, "SetRingBatches of no ring", err, yuncan.NotFound)

		// Closed alerts open no rings.
		if err := s.CloseAlerts(ctx, caseID, t0.Add(4*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got := dueIDs(t0.Add(10 * time.Hour)); got != "" {
			t.Fatalf("DueAlerts after closing = %q", got)
		}
		pending, err := s.PendingResolutions(ctx, 10)
		if err != nil || len(pending) != 1 || pending[0] != caseID {
			t.Fatalf("PendingResolutions = %v, %v", pending, err)
		}
		if err := s.MarkNotified(ctx, caseID, t0.Add(5*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if pending, _ := s.PendingResolutions(ctx, 10); len(pending) != 0 {
			t.Fatalf("PendingResolutions after MarkNotified = %v", pending)
		}
		back, _ = s.AlertByID(ctx, "al-3")
		if !back.ClosedAt.Equal(t0.Add(4*time.Hour)) || !back.NotifiedAt.Equal(t0.Add(5*time.Hour)) {
			t.Fatalf("closed %v, notified %v", back.ClosedAt, back.NotifiedAt)
		}
	})

	register("AlertCatchUpQueries", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Alert()
		pub := alertCase(t, db, "case-pub", seeking.StatusPublished)
		alertCase(t, db, "case-draft", seeking.StatusInReview)
		gone := alertCase(t, db, "case-gone", seeking.StatusFoundSafe)
		ids, err := s.PublishedWithoutAlert(ctx, 10)
		if err != nil || strings.Join(ids, ",") != pub {
			t.Fatalf("PublishedWithoutAlert = %v, %v", ids, err)
		}
		// A verified clue with a point is a centre; a new one, or one
		// without a point, is not.
		giver := createUser(t, db.Identity(), "giver").ID
		for _, id := range []string{"cl-verified", "cl-new", "cl-nopoint"} {
			c := newClueRecord(id, pub, giver, t0)
			if id != "cl-nopoint" {
				c.PointSealed = "k1:p"
			}
			if err := db.Seeking().CreateClue(ctx, c); err != nil {
				t.Fatal(err)
			}
			if id != "cl-new" {
				if err := db.Seeking().SetClueReview(ctx, pub, id, seeking.ClueVerified, "mod", t0, ""); err != nil {
					t.Fatal(err)
				}
			}
		}
		refs, err := s.VerifiedCluesWithoutAlert(ctx, 10)
		if err != nil || len(refs) != 1 || refs[0] != (alert.ClueRef{CaseID: pub, ClueID: "cl-verified"}) {
			t.Fatalf("VerifiedCluesWithoutAlert = %v, %v", refs, err)
		}
		for _, a := range []alert.Alert{newAlert("a-pub", pub, ""), newAlert("a-clue", pub, "cl-verified"), newAlert("a-gone", gone, "")} {
			if _, _, err := s.CreateAlert(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		if ids, _ := s.PublishedWithoutAlert(ctx, 10); len(ids) != 0 {
			t.Fatalf("PublishedWithoutAlert with the alert = %v", ids)
		}
		if refs, _ := s.VerifiedCluesWithoutAlert(ctx, 10); len(refs) != 0 {
			t.Fatalf("VerifiedCluesWithoutAlert with the alert = %v", refs)
		}
		ids, err = s.ResolvedWithOpenAlerts(ctx, 10)
		if err != nil || strings.Join(ids, ",") != gone {
			t.Fatalf("ResolvedWithOpenAlerts = %v, %v", ids, err)
		}
		if err := s.CloseAlerts(ctx, gone, t0); err != nil {
			t.Fatal(err)
		}
		if ids, _ := s.ResolvedWithOpenAlerts(ctx, 10); len(ids) != 0 {
			t.Fatalf("ResolvedWithOpenAlerts after closing = %v", ids)
		}
	})

	register("AlertRecipients", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Alert()
		c1 := alertCase(t, db, "case-1", seeking.StatusPublished)
		c2 := alertCase(t, db, "case-2", seeking.StatusPublished)
		u1, u2, d1 := consent.User("u-1"), consent.User("u-2"), consent.Device("u-1")
		r := alert.Recipient{CaseID: c1, Subject: u1, AlertID: "al", Ring: 2, DistanceKm: 37, Quiet: true, AlertedAt: t0}
		for _, tc := range []struct {
			r    alert.Recipient
			want bool
		}{
			{r, true},
			{r, false}, // the same person and case again
			{alert.Recipient{CaseID: c1, Subject: d1, AlertID: "al", Ring: 1, DistanceKm: 1, AlertedAt: t0.Add(time.Hour)}, true},
			{alert.Recipient{CaseID: c2, Subject: u1, AlertID: "al2", Ring: 1, DistanceKm: 5, AlertedAt: t0.Add(2 * time.Hour)}, true},
			{alert.Recipient{CaseID: c2, Subject: u2, AlertID: "al2", Ring: 1, DistanceKm: 5, AlertedAt: t0.Add(-48 * time.Hour)}, true},
		} {
			added, err := s.AddRecipient(ctx, tc.r)
			if err != nil || added != tc.want {
				t.Fatalf("AddRecipient(%+v) = %v, %v; want %v", tc.r, added, err, tc.want)
			}
		}
		_, err := s.AddRecipient(ctx, alert.Recipient{CaseID: "no-case", Subject: u1, AlertID: "x", Ring: 1, DistanceKm: 1, AlertedAt: t0})
		wantCode(t, "AddRecipient of a missing case", err, yuncan.NotFound)

		got, err := s.Recipients(ctx, c1, []consent.Subject{u1, u2})
		if err != nil || len(got) != 1 {
			t.Fatalf("Recipients = %+v, %v", got, err)
		}
		same(t, "Recipients", got[0], r)
		// A device with an account's id is another person.
		got, _ = s.Recipients(ctx, c1, []consent.Subject{d1})
		if len(got) != 1 || got[0].Subject != d1 || got[0].Quiet {
			t.Fatalf("Recipients of the device = %+v", got)
		}
		// Many at once (several IN lists).
		many := []consent.Subject{u1}
		for i := range 1200 {
			many = append(many, consent.User("x-"+string(rune('a'+i%26))+strings.Repeat("z", i/26)))
		}
		if got, err := s.Recipients(ctx, c1, many); err != nil || len(got) != 1 {
			t.Fatalf("Recipients of 1201 = %d, %v", len(got), err)
		}

		subs, err := s.AlertedSubjects(ctx, c1)
		if err != nil || subjectKeys(subs) != "device:u-1,user:u-1" {
			t.Fatalf("AlertedSubjects = %v, %v", subs, err)
		}
		// The daily cap counts cases per person since a time.
		counts, err := s.AlertCounts(ctx, []consent.Subject{u1, u2, d1}, t0.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		same(t, "AlertCounts", counts, map[consent.Subject]int{u1: 2, d1: 1})

		// Resolution: each recipient once.
		un, err := s.UnresolvedRecipients(ctx, c1)
		if err != nil || subjectKeys(un) != "device:u-1,user:u-1" {
			t.Fatalf("UnresolvedRecipients = %v, %v", un, err)
		}
		if err := s.MarkResolved(ctx, c1, u1, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkResolved(ctx, c1, u1, t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, _ = s.Recipients(ctx, c1, []consent.Subject{u1})
		if !got[0].ResolvedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("ResolvedAt = %v, want the first mark", got[0].ResolvedAt)
		}
		if un, _ := s.UnresolvedRecipients(ctx, c1); subjectKeys(un) != "device:u-1" {
			t.Fatalf("UnresolvedRecipients after one = %v", un)
		}

		if err := s.DeleteRecipient(ctx, c1, d1); err != nil {
			t.Fatal(err)
		}
		if subs, _ := s.AlertedSubjects(ctx, c1); subjectKeys(subs) != "user:u-1" {
			t.Fatalf("AlertedSubjects after DeleteRecipient = %v", subs)
		}
		// Erasure or withdrawal: every record of the person goes.
		if err := s.DeleteSubject(ctx, u1); err != nil {
			t.Fatal(err)
		}
		if subs, _ := s.AlertedSubjects(ctx, c1); len(subs) != 0 {
			t.Fatalf("AlertedSubjects after DeleteSubject = %v", subs)
		}
		if subs, _ := s.AlertedSubjects(ctx, c2); subjectKeys(subs) != "user:u-2" {
			t.Fatalf("DeleteSubject reached another person: %v", subs)
		}
		// Retention.
		n, err := s.DeleteRecipientsBefore(ctx, t0.Add(-24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("DeleteRecipientsBefore = %d, %v", n, err)
		}
	})

	register("AlertGoesWithTheCase", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Alert()
		c := alertCase(t, db, "case-x", seeking.StatusPublished)
		if _, _, err := s.CreateAlert(ctx, newAlert("al-x", c, "")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddRecipient(ctx, alert.Recipient{CaseID: c, Subject: consent.User("u"), AlertID: "al-x", Ring: 1, DistanceKm: 1, AlertedAt: t0}); err != nil {
			t.Fatal(err)
		}
		// Erasing the reporter's account deletes the case, and with it
		// its alerts, rings and recipients.
		rawExec(t, db, `DELETE FROM users WHERE id = ?`, "rep-case-x")
		_, err := s.AlertByID(ctx, "al-x")
		wantCode(t, "AlertByID after the case went", err, yuncan.NotFound)
		for _, tbl := range []string{"alert_rings", "alert_recipients"} {
			var n int
			if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM `+tbl).Scan(&n); err != nil || n != 0 {
				t.Errorf("%s holds %d rows after the case went (%v)", tbl, n, err)
			}
		}
	})
}
