package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/sqlstore"
)

// createMinor creates an account in band, created at t0+offset.
func createMinor(t *testing.T, s identity.Store, id string, band identity.AgeBand, offset time.Duration) identity.UserRecord {
	t.Helper()
	u := newUserRecord(id, "idx-"+id)
	u.AgeBand, u.CreatedAt, u.UpdatedAt = band, t0.Add(offset), t0.Add(offset)
	if band.Minor() {
		u.GuardianAckAt = u.CreatedAt
	}
	if err := s.CreateUser(context.Background(), u, identity.PolicyAcceptance{Version: "2025-01", Channel: "app", AcceptedAt: u.CreatedAt}); err != nil {
		t.Fatalf("CreateUser %s: %v", id, err)
	}
	return u
}

func pendingGuardian(userID, phoneIndex string, at time.Time) consent.GuardianConsent {
	return consent.GuardianConsent{UserID: userID, GuardianPhoneSealed: "k1:sealed-" + phoneIndex, GuardianPhoneIndex: phoneIndex, RequestedAt: at}
}

func init() {
	// P70: the band and the guardian's acknowledgement are stored with the
	// account; an account staff made has none.
	register("MinorsAgeBandRoundTrip", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		teen := createMinor(t, s, "u-teen", identity.Age14To17, 0)
		got, err := s.UserByID(ctx, teen.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "teen", got, teen)
		staff := createUser(t, s, "u-staff")
		got, err = s.UserByID(ctx, staff.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.AgeBand != identity.AgeUnknown || !got.GuardianAckAt.IsZero() {
			t.Errorf("account without a band: band %q, ack %v", got.AgeBand, got.GuardianAckAt)
		}
		st, err := db.Minors().MinorStatus(ctx, teen.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "MinorStatus", st, consent.MinorStatus{Band: identity.Age14To17, CreatedAt: teen.CreatedAt})
		_, err = db.Minors().MinorStatus(ctx, "nobody")
		wantCode(t, "MinorStatus of no account", err, yuncan.NotFound)
	})

	// P70: deleting an account takes what references it along.
	register("IdentityDeleteUser", func(t *testing.T, db *sqlstore.DB) {
		ctx, s, m := context.Background(), db.Identity(), db.Minors()
		u := createMinor(t, s, "u-1", identity.AgeUnder14, 0)
		other := createMinor(t, s, "u-2", identity.AgeUnder14, 0)
		dev := createDevice(t, s, "d-1", u.ID, t0)
		createSession(t, s, "s-1", u.ID, dev.ID, t0)
		createSession(t, s, "s-2", other.ID, "", t0)
		if err := m.RequestGuardian(ctx, pendingGuardian(u.ID, "g-1", t0)); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteUser(ctx, u.ID); err != nil {
			t.Fatalf("DeleteUser: %v", err)
		}
		_, err := s.UserByID(ctx, u.ID)
		wantCode(t, "UserByID after delete", err, yuncan.NotFound)
		if ss, _ := s.SessionsByUser(ctx, u.ID); len(ss) != 0 {
			t.Errorf("sessions left: %v", sessionIDs(ss))
		}
		if as, _ := s.PolicyAcceptances(ctx, u.ID); len(as) != 0 {
			t.Errorf("policy acceptances left: %d", len(as))
		}
		_, err = m.GuardianConsent(ctx, u.ID)
		wantCode(t, "GuardianConsent after delete", err, yuncan.NotFound)
		if ds, _ := s.DevicesByUser(ctx, u.ID); len(ds) != 0 {
			t.Errorf("devices still bound: %v", deviceIDs(ds))
		}
		if ss, _ := s.SessionsByUser(ctx, other.ID); len(ss) != 1 {
			t.Errorf("another account's sessions: %d, want 1", len(ss))
		}
		wantCode(t, "DeleteUser again", s.DeleteUser(ctx, u.ID), yuncan.NotFound)
	})

	// P70: a guardian consent is pending until verified, then stays.
	register("MinorsGuardianConsent", func(t *testing.T, db *sqlstore.DB) {
		ctx, m := context.Background(), db.Minors()
		u := createMinor(t, db.Identity(), "u-1", identity.AgeUnder14, 0)
		_, err := m.GuardianConsent(ctx, u.ID)
		wantCode(t, "GuardianConsent before any", err, yuncan.NotFound)
		wantCode(t, "RequestGuardian for no account", m.RequestGuardian(ctx, pendingGuardian("nobody", "g-1", t0)), yuncan.NotFound)

		if err := m.RequestGuardian(ctx, pendingGuardian(u.ID, "g-1", t0)); err != nil {
			t.Fatal(err)
		}
		// Asking again, for another guardian, replaces the pending one.
		second := pendingGuardian(u.ID, "g-2", t0.Add(time.Minute))
		if err := m.RequestGuardian(ctx, second); err != nil {
			t.Fatalf("RequestGuardian again: %v", err)
		}
		got, err := m.GuardianConsent(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "pending", got, second)

		wantCode(t, "VerifyGuardian of the replaced guardian", m.VerifyGuardian(ctx, u.ID, "g-1", "sms_code", t0.Add(2*time.Minute)), yuncan.NotFound)
		at := t0.Add(3 * time.Minute)
		if err := m.VerifyGuardian(ctx, u.ID, "g-2", "sms_code", at); err != nil {
			t.Fatalf("VerifyGuardian: %v", err)
		}
		want := second
		want.Method, want.VerifiedAt = "sms_code", at
		got, _ = m.GuardianConsent(ctx, u.ID)
		same(t, "verified", got, want)
		st, _ := m.MinorStatus(ctx, u.ID)
		if !st.GuardianVerifiedAt.Equal(at) {
			t.Errorf("MinorStatus verified at %v, want %v", st.GuardianVerifiedAt, at)
		}
		// A verified consent is not replaced nor verified twice.
		wantCode(t, "RequestGuardian after verification", m.RequestGuardian(ctx, pendingGuardian(u.ID, "g-3", at)), yuncan.Conflict)
		wantCode(t, "VerifyGuardian twice", m.VerifyGuardian(ctx, u.ID, "g-2", "sms_code", at), yuncan.NotFound)
		got, _ = m.GuardianConsent(ctx, u.ID)
		same(t, "after refused changes", got, want)
	})

	// P70: the deletion job finds the children under 14 past the deadline
	// without a verified guardian consent, and only them.
	register("MinorsUnverifiedUnder14", func(t *testing.T, db *sqlstore.DB) {
		ctx, s, m := context.Background(), db.Identity(), db.Minors()
		late := createMinor(t, s, "u-late", identity.AgeUnder14, 0)
		pending := createMinor(t, s, "u-pending", identity.AgeUnder14, time.Second)
		verified := createMinor(t, s, "u-verified", identity.AgeUnder14, 2*time.Second)
		createMinor(t, s, "u-teen", identity.Age14To17, 0)
		createMinor(t, s, "u-adult", identity.AgeAdult, 0)
		createUser(t, s, "u-staff")
		recent := createMinor(t, s, "u-recent", identity.AgeUnder14, time.Hour)
		for _, u := range []identity.UserRecord{pending, verified} {
			if err := m.RequestGuardian(ctx, pendingGuardian(u.ID, "g-"+u.ID, t0)); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.VerifyGuardian(ctx, verified.ID, "g-"+verified.ID, "sms_code", t0); err != nil {
			t.Fatal(err)
		}
		ids, err := m.UnverifiedUnder14(ctx, t0.Add(time.Minute), 10)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "UnverifiedUnder14", ids, []string{late.ID, pending.ID})
		ids, _ = m.UnverifiedUnder14(ctx, t0.Add(time.Minute), 1)
		same(t, "UnverifiedUnder14 limit 1", ids, []string{late.ID})
		ids, _ = m.UnverifiedUnder14(ctx, t0.Add(2*time.Hour), 10)
		same(t, "UnverifiedUnder14 later", ids, []string{late.ID, pending.ID, recent.ID})
		ids, _ = m.UnverifiedUnder14(ctx, t0, 10)
		same(t, "UnverifiedUnder14 before any", ids, []string{})
	})

	// P70: erasing a subject removes its ledger and nobody else's; a
	// pending purge task stays to finish its deletion.
	register("ConsentEraseSubject", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Consent()
		u, v := consent.User("u-1"), consent.User("u-2")
		g := consentEvent("e-1", u, consent.PurposeContacts, consent.Grant, 0)
		appendEvent(t, s, g, "")
		w := consentEvent("e-2", u, consent.PurposeContacts, consent.Withdraw, time.Second)
		appendEvent(t, s, w, g.ID, consent.Purge{ID: "p-1", Subject: u, Purpose: consent.PurposeContacts, Hook: "h", CreatedAt: t0})
		g2 := consentEvent("e-3", u, consent.PurposePersonalized, consent.Grant, 2*time.Second)
		appendEvent(t, s, g2, "", consent.Purge{ID: "p-done", Subject: u, Purpose: consent.PurposePersonalized, Hook: "h", CreatedAt: t0})
		if err := s.FinishPurge(ctx, "p-done", t0); err != nil {
			t.Fatal(err)
		}
		keep := consentEvent("e-4", v, consent.PurposeContacts, consent.Grant, 0)
		appendEvent(t, s, keep, "")

		if err := s.EraseSubject(ctx, u); err != nil {
			t.Fatalf("EraseSubject: %v", err)
		}
		if evs, _ := s.Events(ctx, u); len(evs) != 0 {
			t.Errorf("events left: %v", consentEventIDs(evs))
		}
		if evs, _ := s.LastEvents(ctx, u); len(evs) != 0 {
			t.Errorf("states left: %v", consentEventIDs(evs))
		}
		same(t, "pending purges", purgeIDs(pendingPurges(t, s)), []string{"p-1"})
		evs, _ := s.Events(ctx, v)
		same(t, "another subject's events", consentEventIDs(evs), []string{keep.ID})
		// The subject can start afresh: its state is gone, not stale.
		appendEvent(t, s, consentEvent("e-5", u, consent.PurposeContacts, consent.Grant, 3*time.Second), "")
		if err := s.EraseSubject(ctx, consent.User("nobody")); err != nil {
			t.Errorf("EraseSubject of nobody: %v", err)
		}
	})

	// P71: guardian requests are stored as given and counted per IP.
	register("MinorsGuardianRequests", func(t *testing.T, db *sqlstore.DB) {
		ctx, m := context.Background(), db.Minors()
		r := consent.GuardianRequestRecord{ID: "0b9f6d1e-7c1e-4b55-9a39-2f0f1f3c9a10", GuardianPhoneSealed: "k1:g", GuardianPhoneIndex: "gi",
			MinorPhoneSealed: "k1:m", MinorPhoneIndex: "mi", Kind: consent.RequestDeletion, MessageSealed: "k1:msg",
			Status: consent.RequestReceived, IPIndex: "ip-1", CreatedAt: t0, UpdatedAt: t0}
		if err := m.CreateGuardianRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := m.GuardianRequest(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "GuardianRequest", got, r)
		_, err = m.GuardianRequest(ctx, "0b9f6d1e-7c1e-4b55-9a39-2f0f1f3c9a11")
		wantCode(t, "GuardianRequest unknown", err, yuncan.NotFound)
		wantCode(t, "CreateGuardianRequest with a used id", m.CreateGuardianRequest(ctx, r), yuncan.Conflict)

		later := r
		later.ID, later.CreatedAt, later.UpdatedAt = "0b9f6d1e-7c1e-4b55-9a39-2f0f1f3c9a12", t0.Add(time.Hour), t0.Add(time.Hour)
		if err := m.CreateGuardianRequest(ctx, later); err != nil {
			t.Fatal(err)
		}
		other := later
		other.ID, other.IPIndex = "0b9f6d1e-7c1e-4b55-9a39-2f0f1f3c9a13", "ip-2"
		if err := m.CreateGuardianRequest(ctx, other); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			since time.Time
			want  int
		}{{t0, 2}, {t0.Add(time.Nanosecond), 1}, {t0.Add(2 * time.Hour), 0}} {
			n, err := m.CountGuardianRequestsForIPSince(ctx, "ip-1", tc.since)
			if err != nil || n != tc.want {
				t.Errorf("CountGuardianRequestsForIPSince(ip-1, %v) = %d, %v; want %d", tc.since, n, err, tc.want)
			}
		}

		// P51: the client address goes after its day, the request after
		// its legal period; newer ones stay as they are.
		if err := m.ExpireGuardianRequests(ctx, t0.Add(time.Minute), t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		_, err = m.GuardianRequest(ctx, r.ID)
		wantCode(t, "GuardianRequest past its period", err, yuncan.NotFound)
		if got, _ := m.GuardianRequest(ctx, later.ID); got.IPIndex != "ip-1" {
			t.Errorf("a newer request lost its address index: %+v", got)
		}
		if err := m.ExpireGuardianRequests(ctx, t0.Add(2*time.Hour), t0); err != nil {
			t.Fatal(err)
		}
		got, err = m.GuardianRequest(ctx, later.ID)
		if err != nil || got.IPIndex != "" || got.MessageSealed != later.MessageSealed {
			t.Errorf("after the address expired: %+v, %v; want the request without its address index", got, err)
		}
	})
}
