package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/sqlstore"
)

func realNameRecord(userID, index string) identity.RealNameRecord {
	return identity.RealNameRecord{UserID: userID, NameSealed: "k1:name-" + userID, IDNumberSealed: "k1:id-" + userID,
		IDNumberIndex: index, CertifierReference: "ref-" + userID, VerifiedAt: t0}
}

func init() {
	register("RealNameRoundTrip", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		createUser(t, s, "u-1")
		createUser(t, s, "u-2")
		_, err := s.RealNameByUser(ctx, "u-1")
		wantCode(t, "RealNameByUser before any", err, yuncan.NotFound)

		want := realNameRecord("u-1", "idx-a")
		if err := s.CreateRealName(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err := s.RealNameByUser(ctx, "u-1")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "RealNameByUser", got, want)
		_, err = s.RealNameByUser(ctx, "u-2")
		wantCode(t, "another account's RealNameByUser", err, yuncan.NotFound)

		if err := s.DeleteRealName(ctx, "u-1"); err != nil {
			t.Fatal(err)
		}
		_, err = s.RealNameByUser(ctx, "u-1")
		wantCode(t, "RealNameByUser after delete", err, yuncan.NotFound)
		wantCode(t, "DeleteRealName again", s.DeleteRealName(ctx, "u-1"), yuncan.NotFound)
	})

	// P10: one ID number verifies one account; an account holds one
	// verification.
	register("RealNameConflicts", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		createUser(t, s, "u-1")
		createUser(t, s, "u-2")
		if err := s.CreateRealName(ctx, realNameRecord("u-1", "idx-a")); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "the same ID number index for another account", s.CreateRealName(ctx, realNameRecord("u-2", "idx-a")), yuncan.Conflict)
		wantCode(t, "a second verification of one account", s.CreateRealName(ctx, realNameRecord("u-1", "idx-b")), yuncan.Conflict)
		wantCode(t, "a verification of no account", s.CreateRealName(ctx, realNameRecord("nobody", "idx-c")), yuncan.NotFound)
		// Once deleted, the number is free again.
		if err := s.DeleteRealName(ctx, "u-1"); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateRealName(ctx, realNameRecord("u-2", "idx-a")); err != nil {
			t.Fatalf("CreateRealName after the holder's deletion: %v", err)
		}
	})

	register("RealNameDeletedWithAccount", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		createUser(t, s, "u-1")
		createUser(t, s, "u-2")
		for _, id := range []string{"u-1", "u-2"} {
			if err := s.CreateRealName(ctx, realNameRecord(id, "idx-"+id)); err != nil {
				t.Fatal(err)
			}
			if err := s.AddRealNameAttempt(ctx, identity.RealNameAttempt{ID: "a-" + id, UserID: id, AttemptedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteUser(ctx, "u-1"); err != nil {
			t.Fatal(err)
		}
		_, err := s.RealNameByUser(ctx, "u-1")
		wantCode(t, "RealNameByUser of a deleted account", err, yuncan.NotFound)
		if times, err := s.RealNameAttemptsSince(ctx, "u-1", time.Time{}); err != nil || len(times) != 0 {
			t.Errorf("attempts of a deleted account = %v, %v; want none", times, err)
		}
		if _, err := s.RealNameByUser(ctx, "u-2"); err != nil {
			t.Errorf("another account's verification went with it: %v", err)
		}
	})

	register("RealNameAttempts", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		createUser(t, s, "u-1")
		createUser(t, s, "u-2")
		add := func(id, user string, at time.Time) {
			t.Helper()
			if err := s.AddRealNameAttempt(ctx, identity.RealNameAttempt{ID: id, UserID: user, AttemptedAt: at}); err != nil {
				t.Fatalf("AddRealNameAttempt %s: %v", id, err)
			}
		}
		add("a-3", "u-1", t0.Add(2*time.Hour))
		add("a-1", "u-1", t0)
		add("a-2", "u-1", t0.Add(time.Hour))
		add("b-1", "u-2", t0.Add(time.Hour))
		wantCode(t, "an attempt of no account",
			s.AddRealNameAttempt(ctx, identity.RealNameAttempt{ID: "x", UserID: "nobody", AttemptedAt: t0}), yuncan.NotFound)

		times, err := s.RealNameAttemptsSince(ctx, "u-1", t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		same(t, "attempts since t0+1h (inclusive), oldest first", times, []time.Time{t0.Add(time.Hour), t0.Add(2 * time.Hour)})

		if err := s.DeleteRealNameAttempt(ctx, "a-2"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteRealNameAttempt(ctx, "a-2"); err != nil {
			t.Fatalf("deleting a gone attempt: %v", err)
		}
		times, _ = s.RealNameAttemptsSince(ctx, "u-1", time.Time{})
		same(t, "attempts after deleting one", times, []time.Time{t0, t0.Add(2 * time.Hour)})

		n, err := s.DeleteRealNameAttemptsBefore(ctx, t0.Add(time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("DeleteRealNameAttemptsBefore = %d, %v; want 1", n, err)
		}
		times, _ = s.RealNameAttemptsSince(ctx, "u-1", time.Time{})
		same(t, "u-1 attempts after expiry", times, []time.Time{t0.Add(2 * time.Hour)})
		times, _ = s.RealNameAttemptsSince(ctx, "u-2", time.Time{})
		same(t, "u-2 attempts (at the cut-off) kept", times, []time.Time{t0.Add(time.Hour)})
	})
}
