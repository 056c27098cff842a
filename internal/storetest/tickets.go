package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/audit"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/tickets"
)

// ticketID makes a valid, ordered ticket id from n.
func ticketID(n int) string { return fmt.Sprintf("00000000-0000-7000-8000-%012d", n) }

// newTicketRecord is an open ticket with every field set, due a week after
// t0 plus n hours.
func newTicketRecord(n int, requester string) tickets.Record {
	return tickets.Record{ID: ticketID(n), RequesterID: requester, Channel: tickets.ChannelApp, Category: tickets.CategoryRightsRequest,
		Kind: tickets.KindDeletion, Status: tickets.StatusOpen, TextSealed: "k1:text", Reference: tickets.Reference{Kind: tickets.RefCase, ID: "case-1"},
		MinorPhoneSealed: "k1:minor", MinorPhoneIndex: "idx-minor", ContactSealed: "k1:contact", IPIndex: "ip-1", StatusReason: "",
		DueAt: t0.Add(7*24*time.Hour + time.Duration(n)*time.Hour), CreatedAt: t0.Add(time.Duration(n) * time.Minute),
		UpdatedAt: t0.Add(time.Duration(n) * time.Minute)}
}

func filedEvent(r tickets.Record) tickets.Event {
	return tickets.Event{ID: "ev-" + r.ID, TicketID: r.ID, At: r.CreatedAt, ActorID: r.RequesterID, ActorRole: tickets.RoleRequester,
		Action: tickets.ActionFiled, To: tickets.StatusOpen}
}

func createTicket(t *testing.T, s *sqlstore.TicketStore, r tickets.Record) {
	t.Helper()
	if err := s.CreateTicket(context.Background(), r, filedEvent(r)); err != nil {
		t.Fatalf("CreateTicket %s: %v", r.ID, err)
	}
}

func ticketIDs(rs []tickets.Record) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func init() {
	register("TicketRoundTrip", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Tickets()
		full := newTicketRecord(1, "user-1")
		full.GuardianAccessIndex = "access-1"
		full.AnsweredAt, full.ClosedAt = t0.Add(time.Hour), t0.Add(2*time.Hour)
		createTicket(t, s, full)
		got, err := s.TicketByID(ctx, full.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "TicketByID", got, full)
		got, err = s.TicketByGuardianAccess(ctx, "access-1")
		if err != nil || got.ID != full.ID {
			t.Errorf("TicketByGuardianAccess = %s, %v", got.ID, err)
		}

		// A bare ticket: no access index (NULL, so many may lack one).
		for _, n := range []int{2, 3} {
			bare := tickets.Record{ID: ticketID(n), Channel: tickets.ChannelGuardianForm, Category: tickets.CategoryPrivacyComplaint,
				Status: tickets.StatusOpen, DueAt: t0, CreatedAt: t0, UpdatedAt: t0}
			createTicket(t, s, bare)
			got, err := s.TicketByID(ctx, bare.ID)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "TicketByID of a bare ticket", got, bare)
		}

		_, err = s.TicketByID(ctx, "nope")
		wantCode(t, "TicketByID of nothing", err, yuncan.NotFound)
		_, err = s.TicketByGuardianAccess(ctx, "nope")
		wantCode(t, "TicketByGuardianAccess of nothing", err, yuncan.NotFound)
		_, err = s.TicketByGuardianAccess(ctx, "")
		wantCode(t, "TicketByGuardianAccess of an empty index", err, yuncan.NotFound)

		dup := newTicketRecord(4, "user-1")
		dup.GuardianAccessIndex = "access-1"
		err = s.CreateTicket(ctx, dup, filedEvent(dup))
		wantCode(t, "CreateTicket with a used access index", err, yuncan.Conflict)
		if _, err := s.TicketByID(ctx, dup.ID); yuncan.ErrorCode(err) != yuncan.NotFound {
			t.Errorf("the refused ticket was stored: %v", err)
		}
		evs, err := s.Events(ctx, full.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "Events", evs, []tickets.Event{filedEvent(full)})
	})

	register("TicketUpdateIsCompareAndSet", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Tickets()
		r := newTicketRecord(1, "user-1")
		createTicket(t, s, r)
		next := r
		next.Status, next.StatusReason, next.UpdatedAt, next.AnsweredAt = tickets.StatusAnswered, "", t0.Add(time.Hour), t0.Add(time.Hour)
		next.DueAt = t0.Add(30 * 24 * time.Hour)
		msg := &tickets.MessageRecord{ID: "m-1", TicketID: r.ID, AuthorID: "staff-1", AuthorRole: tickets.RoleModerator, TextSealed: "k1:reply",
			CreatedAt: t0.Add(time.Hour)}
		ev := tickets.Event{ID: "ev-2", TicketID: r.ID, At: t0.Add(time.Hour), ActorID: "staff-1", ActorRole: tickets.RoleModerator,
			Action: tickets.ActionReplied, From: tickets.StatusOpen, To: tickets.StatusAnswered}
		if err := s.UpdateTicket(ctx, next, tickets.StatusOpen, msg, ev); err != nil {
			t.Fatal(err)
		}
		got, err := s.TicketByID(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "after UpdateTicket", got, next)

		// A stale writer loses, and writes nothing.
		stale := next
		stale.Status, stale.StatusReason = tickets.StatusRefused, "no"
		lost := tickets.Event{ID: "ev-3", TicketID: r.ID, At: t0.Add(2 * time.Hour), ActorID: "staff-2", ActorRole: tickets.RoleAdmin,
			Action: tickets.ActionStatus, From: tickets.StatusOpen, To: tickets.StatusRefused}
		err = s.UpdateTicket(ctx, stale, tickets.StatusOpen, &tickets.MessageRecord{ID: "m-2", TicketID: r.ID, AuthorID: "staff-2",
			AuthorRole: tickets.RoleAdmin, TextSealed: "k1:x", CreatedAt: t0}, lost)
		wantCode(t, "UpdateTicket from a stale status", err, yuncan.Conflict)
		gone := newTicketRecord(9, "user-1")
		err = s.UpdateTicket(ctx, gone, tickets.StatusOpen, nil, tickets.Event{ID: "ev-4", TicketID: gone.ID, At: t0})
		wantCode(t, "UpdateTicket of nothing", err, yuncan.NotFound)

		// A second reply, by the requester, at the same instant as the
		// first: the thread keeps a stable order.
		third := next
		third.Status = tickets.StatusOpen
		m2 := &tickets.MessageRecord{ID: "m-3", TicketID: r.ID, AuthorID: "user-1", AuthorRole: tickets.RoleRequester, TextSealed: "k1:again",
			CreatedAt: t0.Add(time.Hour)}
		ev5 := tickets.Event{ID: "ev-5", TicketID: r.ID, At: t0.Add(time.Hour), ActorID: "user-1", ActorRole: tickets.RoleRequester,
			Action: tickets.ActionReplied, From: tickets.StatusAnswered, To: tickets.StatusOpen}
		if err := s.UpdateTicket(ctx, third, tickets.StatusAnswered, m2, ev5); err != nil {
			t.Fatal(err)
		}
		msgs, err := s.Messages(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "Messages", msgs, []tickets.MessageRecord{*msg, *m2})
		evs, err := s.Events(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "Events", evs, []tickets.Event{filedEvent(r), ev, ev5})
		if err := s.AddEvent(ctx, tickets.Event{ID: "ev-6", TicketID: "nope", At: t0}); yuncan.ErrorCode(err) != yuncan.NotFound {
			t.Errorf("AddEvent on no ticket: %v, want NotFound", err)
		}
	})

	register("TicketQueueAndLists", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Tickets()
		// Six tickets: due in the order 1..6; 2 and 5 are reports, 4 is
		// answered, 6 belongs to another person.
		for n := 1; n <= 6; n++ {
			r := newTicketRecord(n, "user-1")
			if n == 2 || n == 5 {
				r.Category, r.Kind = tickets.CategoryReportContent, ""
			}
			if n == 4 {
				r.Status = tickets.StatusAnswered
			}
			if n == 6 {
				r.RequesterID = "user-2"
			}
			createTicket(t, s, r)
		}
		waiting := []tickets.Status{tickets.StatusOpen, tickets.StatusInProgress}
		for _, tc := range []struct {
			name string
			f    tickets.QueueFilter
			want []string
		}{
			{"all", tickets.QueueFilter{}, []string{ticketID(1), ticketID(2), ticketID(3), ticketID(4), ticketID(5), ticketID(6)}},
			{"waiting", tickets.QueueFilter{Statuses: waiting}, []string{ticketID(1), ticketID(2), ticketID(3), ticketID(5), ticketID(6)}},
			{"reports", tickets.QueueFilter{Category: tickets.CategoryReportContent, Statuses: waiting}, []string{ticketID(2), ticketID(5)}},
			{"answered", tickets.QueueFilter{Statuses: []tickets.Status{tickets.StatusAnswered}}, []string{ticketID(4)}},
			{"due by the third", tickets.QueueFilter{Statuses: waiting, DueBy: newTicketRecord(3, "").DueAt}, []string{ticketID(1), ticketID(2), ticketID(3)}},
		} {
			rs, err := s.Queue(ctx, tc.f, tickets.Cursor{}, 100)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "Queue "+tc.name, ticketIDs(rs), tc.want)
			n, err := s.CountQueue(ctx, tc.f)
			if err != nil || n != len(tc.want) {
				t.Errorf("CountQueue %s = %d, %v; want %d", tc.name, n, err, len(tc.want))
			}
		}
		// Pages of two, by deadline.
		var seen []string
		after := tickets.Cursor{}
		for {
			rs, err := s.Queue(ctx, tickets.QueueFilter{}, after, 2)
			if err != nil {
				t.Fatal(err)
			}
			seen = append(seen, ticketIDs(rs)...)
			if len(rs) < 2 {
				break
			}
			after = tickets.Cursor{At: rs[1].DueAt, ID: rs[1].ID}
		}
		same(t, "Queue in pages", seen, []string{ticketID(1), ticketID(2), ticketID(3), ticketID(4), ticketID(5), ticketID(6)})

		// The requester's own, newest first, in pages.
		rs, err := s.TicketsByRequester(ctx, "user-1", tickets.Cursor{}, 3)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "TicketsByRequester", ticketIDs(rs), []string{ticketID(5), ticketID(4), ticketID(3)})
		rs, err = s.TicketsByRequester(ctx, "user-1", tickets.Cursor{At: rs[2].CreatedAt, ID: rs[2].ID}, 3)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "TicketsByRequester, page 2", ticketIDs(rs), []string{ticketID(2), ticketID(1)})
		rs, err = s.TicketsByRequester(ctx, "nobody", tickets.Cursor{}, 3)
		if err != nil || len(rs) != 0 {
			t.Errorf("TicketsByRequester of nobody = %v, %v", rs, err)
		}
	})

	register("TicketLimitsAndAudit", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Tickets()
		a, b := newTicketRecord(1, "user-1"), newTicketRecord(2, "user-1")
		logged := newTicketRecord(3, "user-1")
		logged.Channel = tickets.ChannelEmail // staff logged it: not the person's filing
		for _, r := range []tickets.Record{a, b, logged} {
			createTicket(t, s, r)
		}
		times, err := s.TicketTimesByRequesterSince(ctx, "user-1", a.CreatedAt.Add(time.Nanosecond))
		if err != nil {
			t.Fatal(err)
		}
		same(t, "TicketTimesByRequesterSince", times, []time.Time{b.CreatedAt})
		n, err := s.CountTicketsByIPSince(ctx, "ip-1", a.CreatedAt)
		if err != nil || n != 3 {
			t.Errorf("CountTicketsByIPSince = %d, %v; want 3", n, err)
		}
		reply := func(id, ticket string, at time.Time) {
			t.Helper()
			r, err := s.TicketByID(ctx, ticket)
			if err != nil {
				t.Fatal(err)
			}
			err = s.UpdateTicket(ctx, r, r.Status, &tickets.MessageRecord{ID: id, TicketID: ticket, AuthorID: "user-1",
				AuthorRole: tickets.RoleRequester, TextSealed: "k1:m", CreatedAt: at}, tickets.Event{ID: "ev-" + id, TicketID: ticket, At: at})
			if err != nil {
				t.Fatal(err)
			}
		}
		reply("m-1", a.ID, t0.Add(time.Hour))
		reply("m-2", b.ID, t0.Add(2*time.Hour))
		times, err = s.MessageTimesByAuthorSince(ctx, "user-1", t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		same(t, "MessageTimesByAuthorSince", times, []time.Time{t0.Add(time.Hour), t0.Add(2 * time.Hour)})

		// Staff reads go to the append-only audit log the areas share.
		appendEntry(t, s, audit.Entry{At: t0, ActorID: "staff-1", Action: "ticket.read", TargetKind: "ticket", TargetID: a.ID,
			Reason: "handling the ticket"})
		got, err := db.Seeking().Entries(ctx, audit.Filter{TargetKind: "ticket", TargetID: a.ID, Limit: 10})
		if err != nil || len(got) != 1 || got[0].ActorID != "staff-1" || got[0].Action != "ticket.read" || !got[0].At.Equal(t0) {
			t.Errorf("AuditEventsFor = %+v, %v", got, err)
		}
	})

	register("TicketExpiry", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Tickets()
		createUser(t, db.Identity(), "user-1")
		old := []tickets.Status{tickets.StatusOpen, tickets.StatusInProgress, tickets.StatusAnswered, tickets.StatusRefused, tickets.StatusClosed}
		for i, st := range old {
			r := newTicketRecord(i+1, "user-1")
			r.Status = st
			createTicket(t, s, r)
		}
		fresh := newTicketRecord(9, "user-1")
		fresh.Status, fresh.CreatedAt, fresh.UpdatedAt = tickets.StatusClosed, t0.Add(48*time.Hour), t0.Add(48*time.Hour)
		createTicket(t, s, fresh)
		ended := newTicketRecord(5, "")
		reply := &tickets.MessageRecord{ID: "m-1", TicketID: ended.ID, AuthorID: "user-1", AuthorRole: tickets.RoleRequester, TextSealed: "k1:m", CreatedAt: t0}
		closed, _ := s.TicketByID(ctx, ended.ID)
		if err := s.UpdateTicket(ctx, closed, tickets.StatusClosed, reply, tickets.Event{ID: "ev-x", TicketID: ended.ID, At: t0}); err != nil {
			t.Fatal(err)
		}

		// The requester's account goes: the tickets stay, as records.
		if err := db.Identity().DeleteUser(ctx, "user-1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TicketByID(ctx, ticketID(1)); err != nil {
			t.Fatalf("a ticket went with its requester's account: %v", err)
		}

		n, err := s.ForgetIPs(ctx, t0.Add(24*time.Hour))
		if err != nil || n != 5 {
			t.Errorf("ForgetIPs = %d, %v; want 5", n, err)
		}
		if r, _ := s.TicketByID(ctx, fresh.ID); r.IPIndex != "ip-1" {
			t.Errorf("a fresh ticket lost its IP index")
		}
		if r, _ := s.TicketByID(ctx, ticketID(1)); r.IPIndex != "" {
			t.Errorf("an old ticket kept its IP index")
		}

		// Two at a time: the three ended old tickets go, waiting ones and
		// the fresh one stay.
		total := 0
		for {
			n, err := s.DeleteEndedBefore(ctx, t0.Add(24*time.Hour), 2)
			if err != nil {
				t.Fatal(err)
			}
			total += n
			if n < 2 {
				break
			}
		}
		if total != 3 {
			t.Errorf("DeleteEndedBefore deleted %d, want 3", total)
		}
		rs, err := s.Queue(ctx, tickets.QueueFilter{}, tickets.Cursor{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "left", ticketIDs(rs), []string{ticketID(1), ticketID(2), fresh.ID})
		msgs, err := s.Messages(ctx, ended.ID)
		if err != nil || len(msgs) != 0 {
			t.Errorf("the thread of a deleted ticket stayed: %v %v", msgs, err)
		}
		evs, err := s.Events(ctx, ended.ID)
		if err != nil || len(evs) != 0 {
			t.Errorf("the history of a deleted ticket stayed: %v %v", evs, err)
		}
	})
}
