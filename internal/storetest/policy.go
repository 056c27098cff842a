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

// policyVersion is a stored version effective at t0+offset.
func policyVersion(version string, offset time.Duration) consent.Policy {
	return consent.Policy{Version: version, Effective: t0.Add(offset), Text: "text of " + version + "\n第二行",
		PublishedAt: t0.Add(offset - time.Hour), PublishedBy: "staff-1",
		Summary: consent.Text{ZH: "变更 " + version, EN: "changes in " + version}}
}

func createPolicyVersion(t *testing.T, s consent.VersionStore, p consent.Policy) {
	t.Helper()
	if err := s.CreatePolicyVersion(context.Background(), p); err != nil {
		t.Fatalf("CreatePolicyVersion %s: %v", p.Version, err)
	}
}

func init() {
	// P72: versions round-trip whole (text, both summaries, the changed
	// purposes and flags, nanosecond times) and list by effective time.
	register("PolicyVersionsRoundTrip", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Policy()
		if ps, err := s.PolicyVersions(ctx); err != nil || len(ps) != 0 {
			t.Fatalf("PolicyVersions of an empty store = %v, %v; want none", ps, err)
		}
		later := policyVersion("2026-12-01", 48*time.Hour)
		later.ChangedPurposes = []consent.Purpose{consent.PurposeContacts, consent.PurposeProgrammaticAds}
		later.ReducesRights, later.AddsPurposes = true, true
		base := policyVersion("2021-05-01", 0)
		base.PublishedBy = ""
		mid := policyVersion("v2.b_1", time.Hour)
		mid.AddsPurposes = true
		mid.ChangedPurposes = []consent.Purpose{consent.PurposeMarketingPush}
		createPolicyVersion(t, s, later) // stored out of order on purpose
		createPolicyVersion(t, s, base)
		createPolicyVersion(t, s, mid)

		ps, err := s.PolicyVersions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "PolicyVersions", ps, []consent.Policy{base, mid, later})
		got, err := s.PolicyVersion(ctx, "2026-12-01")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "PolicyVersion", got, later)
		_, err = s.PolicyVersion(ctx, "2030-01-01")
		wantCode(t, "PolicyVersion of an unknown version", err, yuncan.NotFound)
	})

	// Version ids are unique, and no two versions take effect at once.
	register("PolicyVersionConflicts", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Policy()
		createPolicyVersion(t, s, policyVersion("2026-01-01", 0))
		wantCode(t, "CreatePolicyVersion of a taken id", s.CreatePolicyVersion(ctx, policyVersion("2026-01-01", time.Hour)), yuncan.Conflict)
		wantCode(t, "CreatePolicyVersion at a taken effective time", s.CreatePolicyVersion(ctx, policyVersion("2026-02-01", 0)), yuncan.Conflict)
		if ps, _ := s.PolicyVersions(ctx); len(ps) != 1 {
			t.Errorf("after refused creates, %d versions stored; want 1", len(ps))
		}
	})

	// P68, P72: acceptances written here and by sign-up (the identity
	// store) are one record, read back oldest first, per account.
	register("PolicyAcceptances", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Policy()
		ids := db.Identity()
		createUser(t, ids, "u-1")
		createUser(t, ids, "u-2")
		if as, err := s.PolicyAcceptances(ctx, "u-1"); err != nil || len(as) != 0 {
			t.Fatalf("PolicyAcceptances before any = %v, %v; want none", as, err)
		}
		if err := ids.AddPolicyAcceptance(ctx, identity.PolicyAcceptance{UserID: "u-1", Version: "2021-05-01", Channel: "web", AcceptedAt: t0}); err != nil {
			t.Fatal(err)
		}
		second := consent.Acceptance{UserID: "u-1", Version: "2026-12-01", Channel: consent.ChannelApp, At: t0.Add(time.Hour)}
		if err := s.AddPolicyAcceptance(ctx, second); err != nil {
			t.Fatal(err)
		}
		if err := s.AddPolicyAcceptance(ctx, consent.Acceptance{UserID: "u-2", Version: "2026-12-01", Channel: consent.ChannelAPI, At: t0}); err != nil {
			t.Fatal(err)
		}
		as, err := s.PolicyAcceptances(ctx, "u-1")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "PolicyAcceptances", as, []consent.Acceptance{
			{UserID: "u-1", Version: "2021-05-01", Channel: consent.ChannelWeb, At: t0}, second})
		fromIdentity, err := ids.PolicyAcceptances(ctx, "u-1")
		if err != nil {
			t.Fatal(err)
		}
		if len(fromIdentity) != 2 || fromIdentity[1].Version != "2026-12-01" || !fromIdentity[1].AcceptedAt.Equal(second.At) {
			t.Errorf("the identity store reads %+v; want both acceptances", fromIdentity)
		}
		if as, _ := s.PolicyAcceptances(ctx, "nobody"); len(as) != 0 {
			t.Errorf("PolicyAcceptances of an unknown account = %v; want none", as)
		}
		// An acceptance belongs to an account: none without one.
		if err := s.AddPolicyAcceptance(ctx, consent.Acceptance{UserID: "nobody", Version: "x", Channel: consent.ChannelAPI, At: t0}); err == nil {
			t.Error("AddPolicyAcceptance for an unknown account succeeded")
		}
		// Deleting the account deletes its acceptances with it.
		rawExec(t, db, `DELETE FROM users WHERE id = ?`, "u-2")
		if as, _ := s.PolicyAcceptances(ctx, "u-2"); len(as) != 0 {
			t.Errorf("after the account is deleted, PolicyAcceptances = %v; want none", as)
		}
	})
}
