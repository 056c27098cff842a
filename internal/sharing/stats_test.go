package sharing_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/seeking"
	"github.com/yuncan/yuncan/internal/sharing"
)

// P36: statistics are counted from facts with no identifier, and a group
// smaller than k is left out, never shown with a count under k; what is
// left out is only counted as groups, so no total gives it away.
func TestAggregateSuppressesSmallGroups(t *testing.T) {
	// Monday 2026-03-02 10:00 China time is in ISO week 2026-W10.
	week10 := time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)
	var facts []sharing.CaseFact
	add := func(n int, category, status string, at time.Time, lat, lng, alerted int) {
		for range n {
			facts = append(facts, sharing.CaseFact{Category: category, Status: status, PublishedAt: at, AreaLat: lat, AreaLng: lng, Alerted: alerted})
		}
	}
	add(12, "child", "published", week10, 303, 1202, 100)                // Hangzhou cell, 12 cases: shown
	add(9, "child", "published", week10.Add(24*time.Hour), 303, 1202, 7) // the same week, cell, category and status: one group of 21
	add(3, "elder", "found_safe", week10, 303, 1202, 5)                  // 3 cases: left out
	add(7, "elder", "found_safe_private", week10, 303, 1202, 5)          // folds into found_safe: 10 in all, shown
	add(4, "child", "published", week10, 399, 1161, 1)                   // Beijing-ish cell: left out
	// Sunday 23:30 China time is still week 10; 16:30 UTC Sunday is
	// Monday 00:30 in China: week 11.
	add(10, "adult", "withdrawn", time.Date(2026, 3, 8, 15, 30, 0, 0, time.UTC), 303, 1202, 0)
	add(1, "adult", "withdrawn", time.Date(2026, 3, 8, 16, 30, 0, 0, time.UTC), 303, 1202, 0)

	st := sharing.Aggregate(facts, 10)
	want := []sharing.StatsGroup{
		{Week: "2026-W10", Cell: "30N,120E", Category: "adult", Status: "withdrawn", Cases: 10, Alerted: 0},
		{Week: "2026-W10", Cell: "30N,120E", Category: "child", Status: "published", Cases: 21, Alerted: 12*100 + 9*7},
		{Week: "2026-W10", Cell: "30N,120E", Category: "elder", Status: "found_safe", Cases: 10, Alerted: 50},
	}
	if fmt.Sprint(st.Groups) != fmt.Sprint(want) {
		t.Fatalf("groups:\n got %+v\nwant %+v", st.Groups, want)
	}
	if st.K != 10 || st.Suppressed != 2 {
		t.Fatalf("k %d, suppressed %d; want 10 and 2 (the Beijing cell, the one withdrawal of week 11)", st.K, st.Suppressed)
	}
	for _, g := range st.Groups {
		if g.Cases < 10 {
			t.Fatalf("a group under k is shown: %+v", g)
		}
	}
	// k below 2 would show single cases: it counts as 2.
	if st := sharing.Aggregate(facts[:1], 0); len(st.Groups) != 0 || st.K != 2 {
		t.Fatalf("k 0: %+v", st)
	}
	// Southern and western cells are named as such.
	if st := sharing.Aggregate([]sharing.CaseFact{{PublishedAt: week10, AreaLat: -5, AreaLng: -1201}, {PublishedAt: week10, AreaLat: -9, AreaLng: -1205}}, 2); len(st.Groups) != 1 || st.Groups[0].Cell != "1S,121W" {
		t.Fatalf("southern cell: %+v", st.Groups)
	}
}

// P36: the statistics are for partner organisations' staff and admins,
// over a bounded period, and read only published cases in it.
func TestStatisticsForPartners(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	staff, _ := e.signUp(t)
	citizen, _ := e.signUp(t)
	if err := e.db.Seeking().CreateOrg(ctx, seeking.Org{ID: "org-1", Name: "救助站", Kind: seeking.OrgRescueStation, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Seeking().AddStaff(ctx, seeking.Staff{OrgID: "org-1", UserID: staff, AddedBy: "admin", AddedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for i := range 11 {
		c := seeking.CaseRecord{ID: fmt.Sprintf("case-%02d", i), ReporterID: citizen, Status: seeking.StatusPublished, Category: seeking.CategoryChild,
			Person: seeking.Person{FullName: "某某"}, PointSealed: "x", AreaLat: 303, AreaLng: 1202, CreatedAt: from, UpdatedAt: from,
			PublishedAt: from.Add(time.Duration(i) * time.Hour)}
		if err := e.db.Seeking().CreateCase(ctx, c, seeking.Event{ID: "ev-" + c.ID, CaseID: c.ID, At: from, ActorID: citizen,
			ActorRole: seeking.ActorReporter, To: c.Status}); err != nil {
			t.Fatal(err)
		}
	}
	q := sharing.StatsQuery{From: from, To: from.Add(7 * 24 * time.Hour)}

	_, err := e.ledger.Statistics(ctx, sharing.Viewer{UserID: citizen, Role: identity.RoleUser}, q)
	if ae := yuncan.AsError(err); ae == nil || ae.Code != yuncan.Forbidden || ae.Reason != "partner_staff_required" {
		t.Fatalf("a citizen: %v", err)
	}
	for _, v := range []sharing.Viewer{{UserID: staff, Role: identity.RoleUser}, {UserID: citizen, Role: identity.RoleAdmin}} {
		st, err := e.ledger.Statistics(ctx, v, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Groups) != 1 || st.Groups[0].Cases != 11 || st.K != sharing.DefaultK || !st.From.Equal(q.From) {
			t.Fatalf("statistics = %+v", st)
		}
	}
	// Ten hours in: 10 cases, still shown; nine hours: left out.
	st, err := e.ledger.Statistics(ctx, sharing.Viewer{UserID: staff}, sharing.StatsQuery{From: from, To: from.Add(10 * time.Hour)})
	if err != nil || len(st.Groups) != 1 || st.Groups[0].Cases != 10 {
		t.Fatalf("ten cases: %+v, %v", st, err)
	}
	st, err = e.ledger.Statistics(ctx, sharing.Viewer{UserID: staff}, sharing.StatsQuery{From: from, To: from.Add(9 * time.Hour)})
	if err != nil || len(st.Groups) != 0 || st.Suppressed != 1 {
		t.Fatalf("nine cases: %+v, %v", st, err)
	}
	for _, bad := range []sharing.StatsQuery{{From: from, To: from}, {From: from, To: from.Add(-time.Hour)}, {From: from, To: from.Add(400 * 24 * time.Hour)}} {
		if _, err := e.ledger.Statistics(ctx, sharing.Viewer{UserID: staff}, bad); yuncan.ErrorCode(err) != yuncan.Invalid {
			t.Errorf("period %v–%v: %v, want Invalid", bad.From, bad.To, err)
		}
	}
}
