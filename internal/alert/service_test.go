package alert_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/yuncan/yuncan/internal/alert"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/seeking"
)

// P23, P63: the first ring reaches the consenting people with a fresh
// position inside it, and nobody outside, stale, or who withdrew; when
// time passes the second ring reaches the new people only. Each alert
// says why (ring, distance, the consent).
func TestRingsWiden(t *testing.T) {
	forEach(t, func(t *testing.T, v variant) {
		w := newWorld(t, v, alert.Config{})
		w.run()
		in10 := w.person(consent.User("in-10"), north(9.6))
		in60 := w.phone("in-60", point{zzLat, zzLng + 0.65}) // about 59.4 km east
		out150 := w.person(consent.User("out-150"), north(149.5))
		far := w.person(consent.User("far-400"), north(399.5))
		w.clock.Add(-13 * time.Hour)
		stale := w.person(consent.User("stale"), north(5))
		w.clock.Add(13 * time.Hour)
		withdrew := w.person(consent.User("withdrew"), north(5))
		w.withdraw(withdrew)

		c := w.publish(seeking.CategoryChild, zzLat, zzLng, 30*time.Minute)
		w.settle()
		n := w.wantAlert(in10, c.ID, 1, 10)
		w.wantAlert(in60, c.ID, 1, 60)
		for _, sub := range []consent.Subject{out150, far, stale, withdrew} {
			w.wantAlert(sub, c.ID, 0, 0)
		}
		// Why: which ring, roughly how far, and the consent.
		if n.Title != "寻人预警：王小明" {
			t.Errorf("title %q", n.Title)
		}
		for _, want := range []string{"王小明（儿童）", "人民公园", "第 1 圈（100 公里）", "约 10 公里", "开启了“寻人预警位置”授权"} {
			if !strings.Contains(n.Body, want) {
				t.Errorf("body %q lacks %q", n.Body, want)
			}
		}
		if d := n.Data; d.CaseID != c.ID || d.Link != "/cases/"+c.ID {
			t.Errorf("data = %+v", d)
		}
		if got := w.push.count("in-60"); got != 1 {
			t.Errorf("in-60 was pushed %d times, want 1", got)
		}

		// Two hours after the child was last seen the 200 km ring opens:
		// the people between 100 and 200 km, and someone who came within
		// 100 km since, get ring 2; nobody gets a second alert.
		late := w.person(consent.User("late-30"), north(29.5))
		goneAfter := w.person(consent.User("gone-after"), north(120))
		w.stopWorker()
		w.clock.Add(90 * time.Minute)
		w.tick()
		// P63: withdrawn after the ring selected them, before delivery.
		w.withdraw(goneAfter)
		w.run()
		w.settle()
		w.wantAlert(in10, c.ID, 1, 10)
		w.wantAlert(in60, c.ID, 1, 60)
		w.wantAlert(out150, c.ID, 2, 150)
		w.wantAlert(late, c.ID, 2, 30)
		w.wantAlert(goneAfter, c.ID, 0, 0)
		w.wantAlert(far, c.ID, 0, 0)
		if got := w.push.count("in-60"); got != 1 {
			t.Errorf("in-60 was pushed %d times after ring 2, want 1", got)
		}
		alerted, opened, err := w.inbox.Counts(context.Background(), notify.KindSeekingAlert, c.ID)
		if err != nil || alerted != 4 || opened != 0 {
			t.Errorf("reach = %d alerted, %d opened, %v; want 4, 0", alerted, opened, err)
		}
		// Nothing personal in the log: no name, place, body or position.
		for _, secret := range []string{"王小明", "人民公园", "公里", "34.7", "113.6"} {
			if strings.Contains(w.logs.String(), secret) {
				t.Errorf("the log holds %q", secret)
			}
		}
	})
}

// A verified clue far away adds a centre with its own rings, timed from
// when the clue was seen; the alerts it sends keep the clue's place and
// text private.
func TestVerifiedClueAddsCentre(t *testing.T) {
	forEach(t, func(t *testing.T, v variant) {
		ctx := context.Background()
		w := newWorld(t, v, alert.Config{})
		w.run()
		const bjLat, bjLng = 39.9042, 116.4074 // Beijing, about 620 km away
		near := w.person(consent.User("near-zz"), north(4.5))
		bjNear := w.person(consent.User("near-bj"), point{bjLat + 2.4/kmPerDegree, bjLng})
		bjFar := w.person(consent.User("far-bj"), point{bjLat + 149.5/kmPerDegree, bjLng})
		c := w.publish(seeking.CategoryElder, zzLat, zzLng, time.Hour) // rings 3 and 8 km are due
		w.settle()
		w.wantAlert(near, c.ID, 2, 5)
		w.wantAlert(bjNear, c.ID, 0, 0)

		giver, err := w.ids.CreateUser(ctx, "13900000003", "user")
		if err != nil {
			t.Fatal(err)
		}
		lat, lng := bjLat, bjLng
		cl, err := w.seek.AddClue(ctx, seeking.Viewer{UserID: giver.ID, Role: "user"}, c.ID, seeking.ClueInput{
			Text: "在火车站见过他", SeenAt: w.clock.Now().Add(-10 * time.Minute), Lat: &lat, Lng: &lng, PlaceName: "北京西站", Source: seeking.SourceTyped})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.seek.ReviewClue(ctx, w.mod, c.ID, cl.ID, seeking.ClueVerified, ""); err != nil {
			t.Fatal(err)
		}
		w.settle()
		n := w.wantAlert(bjNear, c.ID, 1, 3)
		w.wantAlert(bjFar, c.ID, 0, 0)
		w.wantAlert(near, c.ID, 2, 5)
		if n.Title != "寻人线索：王小明" || !strings.Contains(n.Body, "线索地点距您约 3 公里") || !strings.Contains(n.Body, "第 1 圈（3 公里）") {
			t.Errorf("clue alert %q / %q", n.Title, n.Body)
		}
		for _, secret := range []string{"北京西站", "火车站"} {
			if strings.Contains(n.Body, secret) {
				t.Errorf("the alert shows the clue's %q", secret)
			}
		}
		as, err := w.alerts.Alerts(ctx, c.ID)
		if err != nil || len(as) != 2 || as[1].ClueID != cl.ID || !as[1].CentreAt.Equal(w.clock.Now().Add(-10*time.Minute)) {
			t.Fatalf("alerts = %+v, %v", as, err)
		}
		// The clue's rings widen from the clue's time.
		w.clock.Add(2*time.Hour + time.Minute)
		w.tick()
		w.settle()
		w.wantAlert(bjFar, c.ID, 0, 0) // 150 km is beyond 13 km
		if as, _ := w.alerts.Alerts(ctx, c.ID); as[1].Rings[2].OpenedAt.IsZero() || !as[1].Rings[3].OpenedAt.IsZero() {
			t.Errorf("clue rings after 2 h: %+v", as[1].Rings)
		}
	})
}

// The daily cap drops alerts past it; quiet hours keep alerts out of
// pockets at night, except for a child in the first hours.
func TestCapAndQuietHours(t *testing.T) {
	forEach(t, func(t *testing.T, v variant) {
		w := newWorld(t, v, alert.Config{DailyCap: 2})
		w.run()
		p := w.phone("p", north(1.5))
		var ids []string
		for range 3 {
			c := w.publish(seeking.CategoryElder, zzLat, zzLng, 10*time.Minute)
			w.settle()
			ids = append(ids, c.ID)
		}
		w.wantAlert(p, ids[0], 1, 2)
		w.wantAlert(p, ids[1], 1, 2)
		w.wantAlert(p, ids[2], 0, 0) // over the cap of 2 a day
		// A day later the cap has room again.
		w.clock.Add(25 * time.Hour)
		w.person(p, north(1.5))
		c := w.publish(seeking.CategoryElder, zzLat, zzLng, 10*time.Minute)
		w.settle()
		w.wantAlert(p, c.ID, 1, 2)
		if got := w.push.count("p"); got != 3 {
			t.Errorf("p was pushed %d times, want 3", got)
		}

		// 23:00 in Beijing.
		night := time.Date(2026, 5, 10, 15, 0, 0, 0, time.UTC)
		w.clock.Set(night)
		q := w.phone("q", north(1.5))
		elder := w.publish(seeking.CategoryElder, zzLat, zzLng, 10*time.Minute)
		w.settle()
		w.wantAlert(q, elder.ID, 1, 2) // in the inbox
		if got := w.push.count("q"); got != 0 {
			t.Fatalf("q was pushed %d times in quiet hours, want 0", got)
		}
		// A child last seen an hour ago: pushed even at night.
		child := w.publish(seeking.CategoryChild, zzLat, zzLng, time.Hour)
		w.settle()
		w.wantAlert(q, child.ID, 1, 2)
		if got := w.push.count("q"); got != 1 {
			t.Fatalf("q was pushed %d times for a child in the first hours, want 1", got)
		}
		// A third case the same night: over the cap of 2 a day.
		older := w.publish(seeking.CategoryChild, zzLat, zzLng, 7*time.Hour)
		w.settle()
		w.wantAlert(q, older.ID, 0, 0)
		if got := w.push.count("q"); got != 1 {
			t.Errorf("q was pushed %d times, want 1", got)
		}
	})
}

// A child case seven hours old at night: the outermost due ring opens at
// once, the alert reaches the inbox quietly, and says ring 1.
func TestOverdueChildAtNight(t *testing.T) {
	forEach(t, func(t *testing.T, v variant) {
		w := newWorld(t, v, alert.Config{})
		w.clock.Set(time.Date(2026, 5, 10, 15, 0, 0, 0, time.UTC))
		w.run()
		q := w.phone("q", north(1.5))
		far := w.person(consent.User("far"), north(449.5))
		c := w.publish(seeking.CategoryChild, zzLat, zzLng, 7*time.Hour)
		w.settle()
		w.wantAlert(q, c.ID, 1, 2)
		w.wantAlert(far, c.ID, 4, 450)
		if got := w.push.count("q"); got != 0 {
			t.Errorf("q was pushed %d times, want 0 (quiet hours, child past 6 h)", got)
		}
		as, _ := w.alerts.Alerts(context.Background(), c.ID)
		for _, r := range as[0].Rings {
			if r.OpenedAt.IsZero() {
				t.Errorf("ring %d is not marked opened", r.N)
			}
		}
	})
}

// P56: a person who shielded people-seeking alerts with the "X" gets
// nothing, is not counted as alerted, and so gets no resolution either.
func TestShieldedPersonGetsNothing(t *testing.T) {
	forEach(t, func(t *testing.T, v variant) {
		ctx := context.Background()
		w := newWorld(t, v, alert.Config{})
		w.run()
		shy := w.phone("shy", north(2.9))
		ok := w.person(consent.User("ok"), north(2.9))
		old, err := w.disp.Dispatch(ctx, notify.Notification{Recipient: notify.Device("shy"), Kind: notify.KindSeekingAlert,
			DedupeKey: "alert:earlier", Title: "寻人预警", Data: notify.Data{CaseID: "earlier", Ring: 1, DistanceKM: 3}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.inbox.Dismiss(ctx, notify.Device("shy"), old.Notification.ID, []notify.Reason{notify.ReasonKind}); err != nil {
			t.Fatal(err)
		}
		c := w.publish(seeking.CategoryChild, zzLat, zzLng, time.Minute)
		w.settle()
		w.wantAlert(shy, c.ID, 0, 0)
		w.wantAlert(ok, c.ID, 1, 3)
		if got := w.push.count("shy"); got != 1 { // the earlier one only
			t.Errorf("shy was pushed %d times, want 1", got)
		}
		if _, err := w.seek.Resolve(ctx, w.rep, c.ID, seeking.StatusFoundSafe, ""); err != nil {
			t.Fatal(err)
		}
		w.settle()
		if got := w.inboxOf(shy, notify.KindSeekingResolution, c.ID); len(got) != 0 {
			t.Errorf("shy got %d resolutions", len(got))
		}
		if got := w.inboxOf(ok, notify.KindSeekingResolution, c.ID); len(got) != 1 {
			t.Errorf("ok got %d resolutions", len(got))
		}
	})
}

// Found: everyone alerted gets the resolution once, naming no one; nobody
// else gets it; no ring opens after it. A person who withdrew the location
// consent is no longer processed (P63), so no resolution for them.
func TestResolutionReachesExactlyTheAlerted(t *testing.T) {
	forEach(t, func(t *testing.T, v variant) {
		ctx := context.Background()
		w := newWorld(t, v, alert.Config{})
		w.run()
		a := w.person(consent.User("a"), north(10))
		b := w.phone("b", north(50))
		left := w.person(consent.User("left"), north(20))
		outside := w.person(consent.User("outside"), north(150))
		c := w.publish(seeking.CategoryChild, zzLat, zzLng, time.Minute)
		w.settle()
		for _, sub := range []consent.Subject{a, b, left} {
			if len(w.inboxOf(sub, notify.KindSeekingAlert, c.ID)) != 1 {
				t.Fatalf("%s was not alerted", sub.ID)
			}
		}
		w.withdraw(left)
		if _, err := w.seek.Resolve(ctx, w.rep, c.ID, seeking.StatusFoundSafe, "回家了"); err != nil {
			t.Fatal(err)
		}
		w.settle()
		// Later ticks repeat nothing, and open no ring.
		w.clock.Add(3 * time.Hour)
		w.tick()
		w.settle()
		for _, sub := range []consent.Subject{a, b} {
			got := w.inboxOf(sub, notify.KindSeekingResolution, c.ID)
			if len(got) != 1 {
				t.Fatalf("%s got %d resolutions, want 1", sub.ID, len(got))
			}
			n := got[0]
			if n.Title != "寻人结束：已平安找到" || strings.Contains(n.Title+n.Body, "王小明") || n.Data.Link != "/cases/"+c.ID {
				t.Errorf("resolution %+v", n)
			}
		}
		for _, sub := range []consent.Subject{left, outside} {
			if got := w.inboxOf(sub, notify.KindSeekingResolution, c.ID); len(got) != 0 {
				t.Errorf("%s got %d resolutions, want none", sub.ID, len(got))
			}
		}
		w.wantAlert(outside, c.ID, 0, 0) // ring 2 never opened
		if got := w.push.count("b"); got != 2 {
			t.Errorf("b was pushed %d times, want 2 (alert and resolution)", got)
		}
	})
}

// A restart catches up: overdue rings open the outermost and mark the
// inner ones; a ring whose batches were stored but not marked opens again
// without duplicates; a case published or resolved while its hook was
// lost gets its alert or its resolution.
func TestRestartCatchesUp(t *testing.T) {
	forEach(t, func(t *testing.T, v variant) {
		ctx := context.Background()
		w := newWorld(t, v, alert.Config{})
		w.run()
		p10 := w.person(consent.User("p10"), north(9.5))
		p150 := w.person(consent.User("p150"), north(149.5))
		p250 := w.person(consent.User("p250"), north(249.5))
		p450 := w.person(consent.User("p450"), north(449.5))
		c := w.publish(seeking.CategoryChild, zzLat, zzLng, 30*time.Minute)
		w.settle()
		w.wantAlert(p10, c.ID, 1, 10)

		// The hooks of these are lost, as when the process dies right
		// after the commit: a publication, and a resolution.
		lost := seeking.NewService(seeking.Deps{Store: w.db.Seeking(), RealNames: w.ids, Gate: w.cs, Keys: w.keys,
			Now: w.clock.Now}, seeking.Config{})
		elder := w.publishWith(lost, seeking.CategoryElder, zzLat+0.3, zzLng, 10*time.Minute)
		r1 := w.person(consent.User("r1"), point{zzLat - 0.3 - 2/kmPerDegree, zzLng})
		resolved := w.publish(seeking.CategoryElder, zzLat-0.3, zzLng, 10*time.Minute)
		w.settle()
		w.wantAlert(r1, resolved.ID, 1, 2)
		if _, err := lost.Resolve(ctx, w.rep, resolved.ID, seeking.StatusWithdrawn, ""); err != nil {
			t.Fatal(err)
		}
		e1 := w.person(consent.User("e1"), point{zzLat + 0.3 + 0.9/kmPerDegree, zzLng})
		w.stopWorker()

		// Ring 2 is stored, then the process dies before marking it.
		w.clock.Add(100 * time.Minute)
		w.q.fail.Store(true)
		if err := w.alerts.Tick(ctx); err == nil {
			t.Fatal("Tick succeeded although the queue failed")
		}
		w.q.fail.Store(false)
		as, _ := w.alerts.Alerts(ctx, c.ID)
		if !as[0].Rings[1].OpenedAt.IsZero() {
			t.Fatal("ring 2 is marked opened although the process died first")
		}

		// Three hours later a new process starts on the same database and
		// queue.
		w.clock.Add(3 * time.Hour)
		w.restart()
		w.tick()
		w.run()
		w.settle()
		w.wantAlert(p10, c.ID, 1, 10)
		w.wantAlert(p150, c.ID, 2, 150)
		w.wantAlert(p250, c.ID, 3, 250)
		w.wantAlert(p450, c.ID, 4, 450)
		as, _ = w.alerts.Alerts(ctx, c.ID)
		for _, r := range as[0].Rings {
			if r.OpenedAt.IsZero() {
				t.Errorf("ring %d is not marked opened after catching up", r.N)
			}
		}
		// The lost publication got its alert: e1 is 1 km from it. (Its
		// outermost due ring opened at once; e1 is in ring 1.)
		w.wantAlert(e1, elder.ID, 1, 1)
		// The lost resolution: the case's alerts are closed, and its
		// recipient got the resolution once.
		ras, _ := w.alerts.Alerts(ctx, resolved.ID)
		if len(ras) != 1 || ras[0].ClosedAt.IsZero() || ras[0].NotifiedAt.IsZero() {
			t.Errorf("alerts of the resolved case: %+v", ras)
		}
		if got := w.inboxOf(r1, notify.KindSeekingResolution, resolved.ID); len(got) != 1 || got[0].Title != "寻人已结束" {
			t.Errorf("r1 got resolutions %+v, want one", got)
		}
	})
}
