package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/sqlstore"
)

// consentEvent is a ledger event at t0+offset; the offset keeps the
// nanoseconds of t0, so a store that loses precision is seen.
func consentEvent(id string, sub consent.Subject, p consent.Purpose, a consent.Action, offset time.Duration) consent.Event {
	return consent.Event{ID: id, Subject: sub, Purpose: p, Action: a, PolicyVersion: "2025-01",
		Channel: consent.ChannelApp, At: t0.Add(offset)}
}

func appendEvent(t *testing.T, s consent.Store, e consent.Event, prev string, purges ...consent.Purge) {
	t.Helper()
	if err := s.AppendEvent(context.Background(), e, prev, purges); err != nil {
		t.Fatalf("AppendEvent %s (prev %q): %v", e.ID, prev, err)
	}
}

func consentEventIDs(es []consent.Event) []string {
	ids := []string{}
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

func purgeIDs(ps []consent.Purge) []string {
	ids := []string{}
	for _, p := range ps {
		ids = append(ids, p.ID)
	}
	return ids
}

func pendingPurges(t *testing.T, s consent.Store) []consent.Purge {
	t.Helper()
	ps, err := s.PendingPurges(context.Background(), 100)
	if err != nil {
		t.Fatalf("PendingPurges: %v", err)
	}
	return ps
}

func init() {
	register("ConsentAppendChain", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Consent()
		u := consent.User("u-1")
		g1 := consentEvent("e-1", u, consent.PurposeContacts, consent.Grant, 0)
		appendEvent(t, s, g1, "")
		w1 := consentEvent("e-2", u, consent.PurposeContacts, consent.Withdraw, time.Second)
		appendEvent(t, s, w1, g1.ID)

		last, err := s.LastEvents(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "LastEvents", last, []consent.Event{w1})
		all, err := s.Events(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "Events", all, []consent.Event{g1, w1})

		// A stale prev (the state moved on) and a second first event are
		// both Conflict.
		stale := consentEvent("e-3", u, consent.PurposeContacts, consent.Grant, 2*time.Second)
		wantCode(t, "AppendEvent with a stale prev", s.AppendEvent(ctx, stale, g1.ID, nil), yuncan.Conflict)
		wantCode(t, "AppendEvent with no prev when there is a state", s.AppendEvent(ctx, stale, "", nil), yuncan.Conflict)
		wantCode(t, "AppendEvent with an unknown prev", s.AppendEvent(ctx, stale, "nope", nil), yuncan.Conflict)
		if all, _ := s.Events(ctx, u); len(all) != 2 {
			t.Errorf("after refused appends, Events = %v; want the 2 accepted", consentEventIDs(all))
		}
		// The right prev still works afterwards.
		appendEvent(t, s, stale, w1.ID)
	})

	register("ConsentFirstEventTwice", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Consent()
		d := consent.Device("d-1")
		appendEvent(t, s, consentEvent("e-1", d, consent.PurposeMarketingPush, consent.Grant, 0), "")
		second := consentEvent("e-2", d, consent.PurposeMarketingPush, consent.Grant, time.Second)
		wantCode(t, "second first event", s.AppendEvent(ctx, second, "", nil), yuncan.Conflict)
		all, err := s.Events(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "Events after a second first event", consentEventIDs(all), []string{"e-1"})
		// Another purpose of the same subject starts its own chain.
		appendEvent(t, s, consentEvent("e-3", d, consent.PurposeMarketingSMS, consent.Grant, time.Second), "")
	})

	register("ConsentSubjectsKeptApart", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Consent()
		// A user and a device with the same id string are two subjects.
		u, d := consent.User("same-id"), consent.Device("same-id")
		ug := consentEvent("e-u1", u, consent.PurposeContacts, consent.Grant, 0)
		appendEvent(t, s, ug, "")
		uw := consentEvent("e-u2", u, consent.PurposeContacts, consent.Withdraw, time.Second)
		appendEvent(t, s, uw, ug.ID, consent.Purge{ID: "p-u", Subject: u, Purpose: consent.PurposeContacts, Hook: "h", CreatedAt: t0})
		// The device's first event on the same purpose is a first event,
		// not a conflict with the user's state.
		dg := consentEvent("e-d1", d, consent.PurposeContacts, consent.Grant, 2*time.Second)
		appendEvent(t, s, dg, "")
		// The user's event id is no prev for the device.
		wantCode(t, "device append with the user's prev", s.AppendEvent(ctx,
			consentEvent("e-d2", d, consent.PurposeContacts, consent.Withdraw, 3*time.Second), uw.ID, nil), yuncan.Conflict)

		for _, c := range []struct {
			sub       consent.Subject
			last, all []consent.Event
			times     map[consent.Purpose][2]time.Time
		}{
			{u, []consent.Event{uw}, []consent.Event{ug, uw}, map[consent.Purpose][2]time.Time{consent.PurposeContacts: {ug.At, uw.At}}},
			{d, []consent.Event{dg}, []consent.Event{dg}, map[consent.Purpose][2]time.Time{consent.PurposeContacts: {dg.At, {}}}},
		} {
			last, err := s.LastEvents(ctx, c.sub)
			if err != nil {
				t.Fatal(err)
			}
			same(t, fmt.Sprintf("LastEvents(%s)", c.sub.Kind), last, c.last)
			all, err := s.Events(ctx, c.sub)
			if err != nil {
				t.Fatal(err)
			}
			same(t, fmt.Sprintf("Events(%s)", c.sub.Kind), all, c.all)
			times, err := s.LastTimes(ctx, c.sub)
			if err != nil {
				t.Fatal(err)
			}
			same(t, fmt.Sprintf("LastTimes(%s)", c.sub.Kind), times, c.times)
		}
		ps := pendingPurges(t, s)
		if len(ps) != 1 || ps[0].Subject != u {
			t.Errorf("PendingPurges = %+v; want only the user's", ps)
		}
		// A subject never seen has nothing.
		for _, sub := range []consent.Subject{consent.User("nobody"), consent.Device("u-1")} {
			if last, err := s.LastEvents(ctx, sub); err != nil || len(last) != 0 {
				t.Errorf("LastEvents(%v) = %v, %v; want none", sub, last, err)
			}
			if all, err := s.Events(ctx, sub); err != nil || len(all) != 0 {
				t.Errorf("Events(%v) = %v, %v; want none", sub, all, err)
			}
			if times, err := s.LastTimes(ctx, sub); err != nil || len(times) != 0 {
				t.Errorf("LastTimes(%v) = %v, %v; want none", sub, times, err)
			}
		}
	})

	register("ConsentLastEventsOnePerPurpose", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Consent()
		u := consent.User("u-1")
		// Contacts: grant, withdraw, grant. Location: grant. Push: grant,
		// withdraw. Interleaved in time.
		c1 := consentEvent("c1", u, consent.PurposeContacts, consent.Grant, 0)
		l1 := consentEvent("l1", u, consent.PurposePreciseLocation, consent.Grant, 1*time.Second)
		c2 := consentEvent("c2", u, consent.PurposeContacts, consent.Withdraw, 2*time.Second)
		m1 := consentEvent("m1", u, consent.PurposeMarketingPush, consent.Grant, 3*time.Second)
		c3 := consentEvent("c3", u, consent.PurposeContacts, consent.Grant, 4*time.Second)
		m2 := consentEvent("m2", u, consent.PurposeMarketingPush, consent.Withdraw, 5*time.Second)
		appendEvent(t, s, c1, "")
		appendEvent(t, s, l1, "")
		appendEvent(t, s, c2, c1.ID)
		appendEvent(t, s, m1, "")
		appendEvent(t, s, c3, c2.ID)
		appendEvent(t, s, m2, m1.ID)

		last, err := s.LastEvents(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		byPurpose := map[consent.Purpose]consent.Event{}
		for _, e := range last {
			if _, dup := byPurpose[e.Purpose]; dup {
				t.Errorf("LastEvents returns %s twice", e.Purpose)
			}
			byPurpose[e.Purpose] = e
		}
		same(t, "LastEvents by purpose", byPurpose, map[consent.Purpose]consent.Event{
			consent.PurposeContacts: c3, consent.PurposePreciseLocation: l1, consent.PurposeMarketingPush: m2})

		// Events: oldest first, every field back, times to the nanosecond
		// and in UTC.
		all, err := s.Events(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "Events", all, []consent.Event{c1, l1, c2, m1, c3, m2})
		for _, e := range all {
			if e.At.Location() != time.UTC {
				t.Errorf("event %s time in %v, want UTC", e.ID, e.At.Location())
			}
			if e.At.Nanosecond()%1000 != t0.Nanosecond()%1000 {
				t.Errorf("event %s time %v lost its nanoseconds", e.ID, e.At)
			}
		}

		times, err := s.LastTimes(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "LastTimes", times, map[consent.Purpose][2]time.Time{
			consent.PurposeContacts:        {c3.At, c2.At},
			consent.PurposePreciseLocation: {l1.At, {}},
			consent.PurposeMarketingPush:   {m1.At, m2.At},
		})
	})

	register("ConsentEventsOrderByTimeNotInsertion", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Consent()
		u := consent.User("u-1")
		// Two purposes whose events are appended out of time order, and
		// one nanosecond apart: Events sorts by time.
		late := consentEvent("e-late", u, consent.PurposeContacts, consent.Grant, time.Nanosecond)
		early := consentEvent("e-early", u, consent.PurposeMarketingSMS, consent.Grant, 0)
		appendEvent(t, s, late, "")
		appendEvent(t, s, early, "")
		all, err := s.Events(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "Events", consentEventIDs(all), []string{"e-early", "e-late"})
	})

	register("ConsentPurges", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Consent()
		u, d := consent.User("u-1"), consent.Device("d-1")
		if ps := pendingPurges(t, s); len(ps) != 0 {
			t.Fatalf("PendingPurges on an empty store = %v", ps)
		}
		// The user's withdrawal (later) writes two tasks, the device's
		// (earlier) one; pending comes oldest first.
		ug := consentEvent("e-u1", u, consent.PurposeContacts, consent.Grant, 0)
		uw := consentEvent("e-u2", u, consent.PurposeContacts, consent.Withdraw, 2*time.Second)
		pu1 := consent.Purge{ID: "p-u1", Subject: u, Purpose: consent.PurposeContacts, Hook: "identity.contacts", CreatedAt: uw.At}
		pu2 := consent.Purge{ID: "p-u2", Subject: u, Purpose: consent.PurposeContacts, Hook: "feed.contacts", CreatedAt: uw.At}
		dg := consentEvent("e-d1", d, consent.PurposePreciseLocation, consent.Grant, 0)
		dw := consentEvent("e-d2", d, consent.PurposePreciseLocation, consent.Withdraw, time.Second)
		pd := consent.Purge{ID: "p-d", Subject: d, Purpose: consent.PurposePreciseLocation, Hook: "location.delete", CreatedAt: dw.At}
		appendEvent(t, s, ug, "")
		appendEvent(t, s, uw, ug.ID, pu1, pu2)
		appendEvent(t, s, dg, "")
		appendEvent(t, s, dw, dg.ID, pd)

		same(t, "PendingPurges", pendingPurges(t, s), []consent.Purge{pd, pu1, pu2})
		if ps, err := s.PendingPurges(ctx, 1); err != nil || len(ps) != 1 || ps[0].ID != pd.ID {
			t.Errorf("PendingPurges(limit 1) = %v, %v; want [%s]", purgeIDs(ps), err, pd.ID)
		}

		// A failed attempt is counted; the task stays pending, behind the
		// tasks that never failed.
		for range 2 {
			if err := s.RetryPurge(ctx, pu1.ID); err != nil {
				t.Fatalf("RetryPurge: %v", err)
			}
		}
		want1 := pu1
		want1.Attempts = 2
		same(t, "PendingPurges after two retries", pendingPurges(t, s), []consent.Purge{pd, pu2, want1})

		// Finished tasks leave the pending list.
		if err := s.FinishPurge(ctx, pd.ID, t0.Add(time.Minute)); err != nil {
			t.Fatalf("FinishPurge: %v", err)
		}
		if err := s.FinishPurge(ctx, pu2.ID, t0.Add(time.Minute)); err != nil {
			t.Fatalf("FinishPurge: %v", err)
		}
		same(t, "PendingPurges after finishing two", pendingPurges(t, s), []consent.Purge{want1})
		if err := s.FinishPurge(ctx, pu1.ID, t0.Add(2*time.Minute)); err != nil {
			t.Fatalf("FinishPurge: %v", err)
		}
		same(t, "PendingPurges after finishing all", purgeIDs(pendingPurges(t, s)), []string{})

		wantCode(t, "FinishPurge of an unknown id", s.FinishPurge(ctx, "nope", t0), yuncan.NotFound)
		wantCode(t, "RetryPurge of an unknown id", s.RetryPurge(ctx, "nope"), yuncan.NotFound)
	})

	register("ConsentAppendIsAtomic", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Consent()
		u := consent.User("u-1")
		g := consentEvent("e-1", u, consent.PurposeContacts, consent.Grant, 0)
		appendEvent(t, s, g, "")
		w := consentEvent("e-2", u, consent.PurposeContacts, consent.Withdraw, time.Second)
		pw := consent.Purge{ID: "p-1", Subject: u, Purpose: consent.PurposeContacts, Hook: "h", CreatedAt: w.At}
		appendEvent(t, s, w, g.ID, pw)

		check := func(what string) {
			t.Helper()
			all, err := s.Events(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			same(t, what+": Events", consentEventIDs(all), []string{g.ID, w.ID})
			last, err := s.LastEvents(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			same(t, what+": LastEvents", consentEventIDs(last), []string{w.ID})
			same(t, what+": PendingPurges", purgeIDs(pendingPurges(t, s)), []string{pw.ID})
		}

		// A stale prev: no event, no purge.
		stale := consentEvent("e-3", u, consent.PurposeContacts, consent.Withdraw, 2*time.Second)
		wantCode(t, "AppendEvent with a stale prev", s.AppendEvent(ctx, stale, g.ID,
			[]consent.Purge{{ID: "p-2", Subject: u, Purpose: consent.PurposeContacts, Hook: "h", CreatedAt: stale.At}}), yuncan.Conflict)
		check("after a stale prev")

		// The right prev, but a purge that cannot be written (its id is
		// taken): the state does not move and the event is not kept.
		again := consentEvent("e-4", u, consent.PurposeContacts, consent.Grant, 3*time.Second)
		if err := s.AppendEvent(ctx, again, w.ID, []consent.Purge{
			{ID: "p-3", Subject: u, Purpose: consent.PurposeContacts, Hook: "h", CreatedAt: again.At},
			{ID: pw.ID, Subject: u, Purpose: consent.PurposeContacts, Hook: "h", CreatedAt: again.At},
		}); err == nil {
			t.Fatal("AppendEvent with a taken purge id succeeded")
		}
		check("after a failed purge insert")

		// An event id already in the ledger: refused, the state stays.
		dup := consentEvent(g.ID, u, consent.PurposeContacts, consent.Grant, 4*time.Second)
		wantCode(t, "AppendEvent with a taken event id", s.AppendEvent(ctx, dup, w.ID, nil), yuncan.Conflict)
		check("after a taken event id")

		// And the chain continues from the last accepted event.
		appendEvent(t, s, again, w.ID)
	})
}
