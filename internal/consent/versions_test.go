package consent_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
)

// verFixture is the versions service and a gate restricted by it, on the
// fixture's database and clock.
type verFixture struct {
	*fixture
	v    *consent.Versions
	gate *consent.Service
}

func verEachDB(t *testing.T, fn func(t *testing.T, f *verFixture)) {
	eachDB(t, func(t *testing.T, f *fixture) {
		v := consent.NewVersions(f.db.Policy(), f.dm, f.clock.Now)
		mustNil(t, "Load", v.Load(context.Background()))
		gate := consent.NewService(f.store, f.dm, v.CurrentVersion, f.clock.Now, slog.New(slog.DiscardHandler))
		gate.Restrict(v.RequireAccepted)
		fn(t, &verFixture{fixture: f, v: v, gate: gate})
	})
}

// account creates an account that signed up accepting version.
func (f *verFixture) account(t *testing.T, id, version string) consent.Subject {
	t.Helper()
	now := f.clock.Now()
	u := identity.UserRecord{ID: id, PhoneSealed: "sealed-" + id, PhoneIndex: "idx-" + id, Role: identity.RoleUser,
		Nickname: id, CreatedAt: now, UpdatedAt: now}
	mustNil(t, "CreateUser "+id, f.db.Identity().CreateUser(context.Background(), u,
		identity.PolicyAcceptance{Version: version, Channel: "app", AcceptedAt: now}))
	return consent.User(id)
}

// verRequest is a valid request for version, effective at once.
func verRequest(version string, changed ...consent.Purpose) consent.PublishRequest {
	return consent.PublishRequest{Version: version, Text: "Yuncan privacy policy, version " + version,
		Summary:         consent.Text{ZH: "版本 " + version + " 的变更", EN: "What changed in " + version},
		ChangedPurposes: changed}
}

func (f *verFixture) publish(t *testing.T, req consent.PublishRequest) consent.Policy {
	t.Helper()
	p, err := f.v.Publish(context.Background(), "staff-1", req)
	if err != nil {
		t.Fatalf("Publish %s: %v", req.Version, err)
	}
	return p
}

func wantPolicyRefused(t *testing.T, what string, err error, p consent.Purpose) {
	t.Helper()
	wantCode(t, what, err, yuncan.Forbidden, "policy_acceptance_required")
	var e *yuncan.Error
	if errors.As(err, &e) && e.Extra["purpose"] != string(p) {
		t.Errorf("%s: refusal names purpose %q, want %q", what, e.Extra["purpose"], p)
	}
}

// P68, P72: the embedded policy is the first version of every database,
// seeded once however many processes start together.
func TestVersionsSeedBase(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx, base := context.Background(), consent.Base()
		v := consent.NewVersions(f.db.Policy(), f.dm, f.clock.Now)
		if got := v.Current(); got.Version != base.Version || got.Text != base.Text {
			t.Errorf("before Load, Current = %s; want the embedded %s", got.Version, base.Version)
		}
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() { errs[i] = consent.NewVersions(f.db.Policy(), f.dm, f.clock.Now).Load(ctx) })
		}
		wg.Wait()
		mustNil(t, "concurrent Loads", errors.Join(errs...))
		mustNil(t, "Load again", v.Load(ctx))
		stored, err := f.db.Policy().PolicyVersions(ctx)
		mustNil(t, "PolicyVersions", err)
		if len(stored) != 1 || stored[0].Version != base.Version || stored[0].Text != base.Text || !stored[0].Effective.Equal(base.Effective) ||
			stored[0].Summary.ZH == "" || stored[0].Summary.EN == "" {
			t.Fatalf("stored versions = %+v; want the base once, with its text and summary", stored)
		}
		if h := v.History(); len(h) != 1 || h[0].Version != base.Version || v.CurrentVersion() != base.Version {
			t.Errorf("History = %v, CurrentVersion = %s; want the base alone", h, v.CurrentVersion())
		}
	})
}

func TestPublishValidates(t *testing.T) {
	verEachDB(t, func(t *testing.T, f *verFixture) {
		ctx, now := context.Background(), f.clock.Now()
		cases := []struct {
			name  string
			edit  func(r *consent.PublishRequest)
			field string
		}{
			{"empty id", func(r *consent.PublishRequest) { r.Version = "" }, "version"},
			{"id with a slash", func(r *consent.PublishRequest) { r.Version = "2026/12" }, "version"},
			{"dot-dot", func(r *consent.PublishRequest) { r.Version = ".." }, "version"},
			{"id of 33 characters", func(r *consent.PublishRequest) { r.Version = strings.Repeat("a", 33) }, "version"},
			{"id shadowed by a route", func(r *consent.PublishRequest) { r.Version = "history" }, "version"},
			{"empty text", func(r *consent.PublishRequest) { r.Text = " \n" }, "text"},
			{"no Chinese summary", func(r *consent.PublishRequest) { r.Summary.ZH = "" }, "summary_zh"},
			{"no English summary", func(r *consent.PublishRequest) { r.Summary.EN = " " }, "summary_en"},
			{"unknown purpose", func(r *consent.PublishRequest) { r.ChangedPurposes = []consent.Purpose{"mind_reading"} }, "changed_purposes"},
			{"reduces rights of nothing", func(r *consent.PublishRequest) { r.ReducesRights = true }, "changed_purposes"},
			{"adds nothing", func(r *consent.PublishRequest) { r.AddsPurposes = true }, "changed_purposes"},
			{"effective in the past", func(r *consent.PublishRequest) { r.Effective = now.Add(-2 * time.Minute) }, "effective"},
		}
		for _, tc := range cases {
			req := verRequest("2026-12-01")
			tc.edit(&req)
			_, err := f.v.Publish(ctx, "staff-1", req)
			wantCode(t, tc.name, err, yuncan.Invalid, string(yuncan.Invalid))
			var e *yuncan.Error
			if errors.As(err, &e) && e.Fields[tc.field] == "" {
				t.Errorf("%s: fields %v do not name %s", tc.name, e.Fields, tc.field)
			}
		}
		if h := f.v.History(); len(h) != 1 {
			t.Fatalf("after refused publications, History has %d versions", len(h))
		}

		// A minute's clock skew is forgiven; the id is then taken, and a
		// version must take effect after the newest.
		req := verRequest("2026-12-01", consent.PurposeContacts, consent.PurposeContacts)
		req.Effective = now.Add(-30 * time.Second)
		p := f.publish(t, req)
		if len(p.ChangedPurposes) != 1 || p.PublishedBy != "staff-1" || !p.PublishedAt.Equal(now) {
			t.Errorf("published %+v; want the purposes once, the publisher and the time", p)
		}
		_, err := f.v.Publish(ctx, "staff-1", verRequest("2026-12-01"))
		wantCode(t, "Publish a taken id", err, yuncan.Conflict, "policy_version_exists")
		req = verRequest("2026-12-02")
		req.Effective = now.Add(-40 * time.Second)
		_, err = f.v.Publish(ctx, "staff-1", req)
		wantCode(t, "Publish effective before the newest", err, yuncan.Conflict, "policy_effective_too_early")
	})
}

// P72: a version comes into force at its effective time; until then the
// previous stays current. History lists every version, newest first, and
// another process learns of the version from the database.
func TestPublishThenInForce(t *testing.T) {
	verEachDB(t, func(t *testing.T, f *verFixture) {
		ctx, base := context.Background(), consent.Base()
		req := verRequest("2025-04-01")
		req.Effective = f.clock.Now().Add(24 * time.Hour)
		other := consent.NewVersions(f.db.Policy(), f.dm, f.clock.Now) // loaded before the publication
		mustNil(t, "Load", other.Load(ctx))
		p := f.publish(t, req)

		if got := f.v.CurrentVersion(); got != base.Version {
			t.Errorf("before its effective time, CurrentVersion = %s; want %s", got, base.Version)
		}
		h := f.v.History()
		if len(h) != 2 || h[0].Version != p.Version || h[1].Version != base.Version {
			t.Errorf("History = %v; want %s then %s", h, p.Version, base.Version)
		}
		f.clock.Advance(24 * time.Hour)
		if got := f.v.Current(); got.Version != p.Version || got.Text != req.Text {
			t.Errorf("at its effective time, Current = %s; want %s with its text", got.Version, p.Version)
		}
		// The other process finds the version by id before it reloads,
		// and has it in force after.
		got, err := other.Version(ctx, p.Version)
		mustNil(t, "Version on another process", err)
		if got.Text != req.Text || got.Summary.EN != req.Summary.EN {
			t.Errorf("Version on another process = %+v", got)
		}
		mustNil(t, "Load", other.Load(ctx))
		if other.CurrentVersion() != p.Version {
			t.Errorf("another process has %s in force; want %s", other.CurrentVersion(), p.Version)
		}
		_, err = f.v.Version(ctx, "1999-01-01")
		wantCode(t, "Version of an unknown id", err, yuncan.NotFound, string(yuncan.NotFound))
	})
}

// P72: a new version is pending for every account that has not accepted
// it; only the version in force can be accepted, once.
func TestAcceptAndPending(t *testing.T) {
	verEachDB(t, func(t *testing.T, f *verFixture) {
		ctx, base := context.Background(), consent.Base()
		f.account(t, "u-1", base.Version)
		if _, ok, err := f.v.Pending(ctx, "u-1"); ok || err != nil {
			t.Fatalf("Pending before any new version = %v, %v", ok, err)
		}
		v2 := f.publish(t, verRequest("2025-03-01"))
		if p, ok, err := f.v.Pending(ctx, "u-1"); !ok || err != nil || p.Version != v2.Version || p.Summary != v2.Summary {
			t.Fatalf("Pending after publication = %s, %v, %v; want %s", p.Version, ok, err, v2.Version)
		}
		wantCode(t, "Accept the replaced version", f.v.Accept(ctx, "u-1", base.Version, consent.ChannelApp), yuncan.Conflict, "policy_version_stale")
		wantCode(t, "Accept an unknown version", f.v.Accept(ctx, "u-1", "2020-01-01", consent.ChannelApp), yuncan.NotFound, string(yuncan.NotFound))
		v3req := verRequest("2025-06-01")
		v3req.Effective = f.clock.Now().Add(48 * time.Hour)
		v3 := f.publish(t, v3req)
		wantCode(t, "Accept a version not yet in force", f.v.Accept(ctx, "u-1", v3.Version, consent.ChannelApp), yuncan.Conflict, "policy_version_not_in_force")

		mustNil(t, "Accept", f.v.Accept(ctx, "u-1", v2.Version, consent.ChannelApp))
		if p, ok, err := f.v.Pending(ctx, "u-1"); ok || err != nil {
			t.Errorf("Pending after Accept = %s, %v, %v; want none", p.Version, ok, err)
		}
		mustNil(t, "Accept again", f.v.Accept(ctx, "u-1", v2.Version, consent.ChannelApp))
		as, err := f.db.Policy().PolicyAcceptances(ctx, "u-1")
		mustNil(t, "PolicyAcceptances", err)
		if len(as) != 2 || as[1].Version != v2.Version || as[1].Channel != consent.ChannelApp || !as[1].At.Equal(f.clock.Now()) {
			t.Errorf("acceptances = %+v; want the sign-up's and one of %s", as, v2.Version)
		}

		// The scheduled version comes into force: pending again.
		f.clock.Advance(48 * time.Hour)
		if p, ok, err := f.v.Pending(ctx, "u-1"); !ok || err != nil || p.Version != v3.Version {
			t.Errorf("Pending once %s is in force = %s, %v, %v", v3.Version, p.Version, ok, err)
		}
		wantCode(t, "Accept the replaced version", f.v.Accept(ctx, "u-1", v2.Version, consent.ChannelApp), yuncan.Conflict, "policy_version_stale")
		// An account that signs up now accepts the version in force and
		// has nothing pending.
		f.account(t, "u-2", f.v.CurrentVersion())
		if p, ok, err := f.v.Pending(ctx, "u-2"); ok || err != nil {
			t.Errorf("Pending of a new account = %s, %v, %v; want none", p.Version, ok, err)
		}
	})
}

// P72, P25: a version that reduces rights or adds purposes holds back the
// purposes it changed, for each account until it accepts; other purposes,
// devices and versions without those flags are not held back.
func TestRestrictionHoldsBackChangedPurposes(t *testing.T) {
	verEachDB(t, func(t *testing.T, f *verFixture) {
		ctx, base := context.Background(), consent.Base()
		u := f.account(t, "u-1", base.Version)
		w := f.account(t, "u-2", base.Version)
		x := f.account(t, "u-4", base.Version)
		d := consent.Device("d-1")
		for _, sub := range []consent.Subject{u, w, x, d} {
			mustNil(t, "Grant contacts", f.gate.Grant(ctx, sub, consent.PurposeContacts, consent.ChannelApp))
			mustNil(t, "Grant marketing push", f.gate.Grant(ctx, sub, consent.PurposeMarketingPush, consent.ChannelApp))
		}
		mustNil(t, "Require before", f.gate.Require(ctx, u, consent.PurposeContacts))

		// Scheduled: nothing is held back before it takes effect.
		req := verRequest("2025-03-02", consent.PurposeContacts)
		req.ReducesRights = true
		req.Effective = f.clock.Now().Add(time.Hour)
		v2 := f.publish(t, req)
		mustNil(t, "Require before the version takes effect", f.gate.Require(ctx, u, consent.PurposeContacts))
		f.clock.Advance(time.Hour)

		wantPolicyRefused(t, "Require a changed purpose", f.gate.Require(ctx, u, consent.PurposeContacts), consent.PurposeContacts)
		if ok, err := f.gate.Granted(ctx, u, consent.PurposeContacts); ok {
			t.Errorf("Granted a held-back purpose = %v, %v", ok, err)
		}
		mustNil(t, "Require a purpose the version did not change", f.gate.Require(ctx, u, consent.PurposeMarketingPush))
		mustNil(t, "Require for a device", f.gate.Require(ctx, d, consent.PurposeContacts))

		mustNil(t, "Accept", f.v.Accept(ctx, u.ID, v2.Version, consent.ChannelApp))
		mustNil(t, "Require after Accept", f.gate.Require(ctx, u, consent.PurposeContacts))
		// Accepting the policy grants nothing: without consent the gate
		// still refuses for want of it.
		y := f.account(t, "u-3", v2.Version)
		wantRefused(t, "Require a changed purpose never granted", f.gate.Require(ctx, y, consent.PurposeContacts), consent.PurposeContacts)
		wantPolicyRefused(t, "Require for another account", f.gate.Require(ctx, w, consent.PurposeContacts), consent.PurposeContacts)
		// Nor can a held-back purpose be granted afresh before the
		// acceptance (P25: fresh consent under the new policy).
		mustNil(t, "Withdraw", f.gate.Withdraw(ctx, w, consent.PurposeContacts, consent.ChannelApp))
		wantPolicyRefused(t, "Grant a held-back purpose", f.gate.Grant(ctx, w, consent.PurposeContacts, consent.ChannelApp), consent.PurposeContacts)
		mustNil(t, "Grant a purpose the version did not change", f.gate.Grant(ctx, w, consent.PurposeRealName, consent.ChannelApp))

		// An acceptance recorded elsewhere (a login that accepts the
		// version in force) opens the gate too: refusals are not cached.
		mustNil(t, "login acceptance", f.db.Identity().AddPolicyAcceptance(ctx,
			identity.PolicyAcceptance{UserID: w.ID, Version: v2.Version, Channel: "app", AcceptedAt: f.clock.Now()}))
		mustNil(t, "Grant after a login acceptance", f.gate.Grant(ctx, w, consent.PurposeContacts, consent.ChannelApp))
		mustNil(t, "Require after a login acceptance", f.gate.Require(ctx, w, consent.PurposeContacts))

		// A version without the flags is a notice only.
		f.clock.Advance(time.Minute)
		v3 := f.publish(t, verRequest("2025-03-03", consent.PurposeContacts, consent.PurposeMarketingPush))
		if p, ok, _ := f.v.Pending(ctx, u.ID); !ok || p.Version != v3.Version {
			t.Errorf("Pending = %s, %v; want %s", p.Version, ok, v3.Version)
		}
		mustNil(t, "Require under a notice-only version", f.gate.Require(ctx, u, consent.PurposeContacts))
		mustNil(t, "Require under a notice-only version", f.gate.Require(ctx, u, consent.PurposeMarketingPush))

		// An account still behind the flagged version is held back until
		// it accepts the version in force, which covers the earlier one.
		wantPolicyRefused(t, "Require behind two versions", f.gate.Require(ctx, x, consent.PurposeContacts), consent.PurposeContacts)
		wantCode(t, "Accept the flagged but replaced version", f.v.Accept(ctx, x.ID, v2.Version, consent.ChannelApp), yuncan.Conflict, "policy_version_stale")
		mustNil(t, "Accept the version in force", f.v.Accept(ctx, x.ID, v3.Version, consent.ChannelApp))
		mustNil(t, "Require after accepting the version in force", f.gate.Require(ctx, x, consent.PurposeContacts))
	})
}
