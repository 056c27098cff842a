package consent_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

// policyVersion is the policy in force in these tests.
const policyVersion = "2025-01"

// clock is the fake clock the service reads.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is a consent service on a real database.
type fixture struct {
	db    *sqlstore.DB
	store *sqlstore.ConsentStore
	dm    *consent.DataMap
	clock *clock
	svc   *consent.Service
}

// newService returns another service on the same database and clock, as
// after a restart: an empty cache and no hooks.
func (f *fixture) newService() *consent.Service {
	return consent.NewService(f.store, f.dm, func() string { return policyVersion }, f.clock.Now, slog.New(slog.DiscardHandler))
}

// eachDB runs fn on every database the suite covers, in parallel
// subtests, each with a fresh database and service.
func eachDB(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Parallel()
	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range storetest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			t.Parallel()
			db := storetest.Open(t, target)
			f := &fixture{db: db, store: db.Consent(), dm: dm,
				clock: &clock{now: time.Date(2025, 3, 1, 8, 0, 0, 123456789, time.UTC)}}
			f.svc = f.newService()
			fn(t, f)
		})
	}
}

func wantCode(t *testing.T, what string, err error, code yuncan.Code, reason string) {
	t.Helper()
	if yuncan.ErrorCode(err) != code || yuncan.ErrorReason(err) != reason {
		t.Errorf("%s: error %v (code %q, reason %q); want code %q reason %q", what, err,
			yuncan.ErrorCode(err), yuncan.ErrorReason(err), code, reason)
	}
}

// wantRefused checks that err is the gate's refusal naming p.
func wantRefused(t *testing.T, what string, err error, p consent.Purpose) {
	t.Helper()
	wantCode(t, what, err, yuncan.Forbidden, "consent_required")
	var e *yuncan.Error
	if errors.As(err, &e) && e.Extra["purpose"] != string(p) {
		t.Errorf("%s: refusal names purpose %q, want %q", what, e.Extra["purpose"], p)
	}
}

func mustNil(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func history(t *testing.T, svc *consent.Service, sub consent.Subject) []consent.Event {
	t.Helper()
	evs, err := svc.History(context.Background(), sub)
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	return evs
}

func stateOf(t *testing.T, svc *consent.Service, sub consent.Subject, p consent.Purpose) consent.State {
	t.Helper()
	list, err := svc.List(context.Background(), sub)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, st := range list {
		if st.Purpose == p {
			return st
		}
	}
	t.Fatalf("List has no %s", p)
	return consent.State{}
}

// P01, P05: before any decision, every optional purpose is off and the
// gate refuses it by name; purposes the basic service needs pass.
func TestFreshSubjectHasNoOptionalConsent(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		for _, sub := range []consent.Subject{consent.User("u-1"), consent.Device("d-1")} {
			list, err := f.svc.List(ctx, sub)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != len(f.dm.Purposes) {
				t.Fatalf("List has %d purposes, the policy declares %d", len(list), len(f.dm.Purposes))
			}
			optional := 0
			for i, st := range list {
				d := f.dm.Purposes[i]
				if st.Purpose != d.ID {
					t.Errorf("List[%d] = %s, want %s (declaration order)", i, st.Purpose, d.ID)
				}
				if want := d.Basis == consent.BasisNecessary; st.Granted != want {
					t.Errorf("%v: %s granted = %v, want %v", sub, d.ID, st.Granted, want)
				}
				if !st.GrantedAt.IsZero() || !st.WithdrawnAt.IsZero() {
					t.Errorf("%v: %s has decision times %v / %v", sub, d.ID, st.GrantedAt, st.WithdrawnAt)
				}
				if d.Basis == consent.BasisNecessary {
					mustNil(t, "Require "+string(d.ID), f.svc.Require(ctx, sub, d.ID))
					continue
				}
				optional++
				wantRefused(t, "Require "+string(d.ID), f.svc.Require(ctx, sub, d.ID), d.ID)
				if ok, err := f.svc.Granted(ctx, sub, d.ID); ok || err != nil {
					t.Errorf("Granted %s = %v, %v; want false, nil", d.ID, ok, err)
				}
			}
			if optional != len(f.dm.Optional()) {
				t.Errorf("List shows %d optional purposes, DataMap.Optional %d", optional, len(f.dm.Optional()))
			}
			// P05: the five sensitive permissions are among them.
			for _, p := range []consent.Purpose{consent.PurposeContacts, consent.PurposePreciseLocation, consent.PurposeMedia} {
				if st := stateOf(t, f.svc, sub, p); st.Granted {
					t.Errorf("%s granted by default", p)
				}
			}
			if evs := history(t, f.svc, sub); len(evs) != 0 {
				t.Errorf("History of a fresh subject = %v", evs)
			}
		}
	})
}

// P05, P63: a grant opens the gate, a withdrawal closes it again, and the
// ledger keeps both decisions with their time, policy version and channel.
func TestGrantThenWithdraw(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx, u, p := context.Background(), consent.User("u-1"), consent.PurposePreciseLocation
		grantedAt := f.clock.Now()
		mustNil(t, "Grant", f.svc.Grant(ctx, u, p, consent.ChannelApp))
		mustNil(t, "Require after Grant", f.svc.Require(ctx, u, p))
		if ok, err := f.svc.Granted(ctx, u, p); !ok || err != nil {
			t.Errorf("Granted after Grant = %v, %v", ok, err)
		}
		// Other purposes stay off.
		wantRefused(t, "Require contacts", f.svc.Require(ctx, u, consent.PurposeContacts), consent.PurposeContacts)
		st := stateOf(t, f.svc, u, p)
		if !st.Granted || !st.GrantedAt.Equal(grantedAt) || !st.WithdrawnAt.IsZero() || st.PolicyVersion != policyVersion {
			t.Errorf("state after Grant = %+v", st)
		}

		f.clock.Advance(90 * time.Minute)
		withdrawnAt := f.clock.Now()
		mustNil(t, "Withdraw", f.svc.Withdraw(ctx, u, p, consent.ChannelWeb))
		wantRefused(t, "Require after Withdraw", f.svc.Require(ctx, u, p), p)
		if ok, err := f.svc.Granted(ctx, u, p); ok || err != nil {
			t.Errorf("Granted after Withdraw = %v, %v", ok, err)
		}
		st = stateOf(t, f.svc, u, p)
		if st.Granted || !st.GrantedAt.Equal(grantedAt) || !st.WithdrawnAt.Equal(withdrawnAt) {
			t.Errorf("state after Withdraw = %+v; want not granted, granted at %v, withdrawn at %v", st, grantedAt, withdrawnAt)
		}

		evs := history(t, f.svc, u)
		if len(evs) != 2 {
			t.Fatalf("History has %d events, want 2: %+v", len(evs), evs)
		}
		for i, want := range []struct {
			a  consent.Action
			at time.Time
			ch consent.Channel
		}{{consent.Grant, grantedAt, consent.ChannelApp}, {consent.Withdraw, withdrawnAt, consent.ChannelWeb}} {
			e := evs[i]
			if e.ID == "" || e.Subject != u || e.Purpose != p || e.Action != want.a || !e.At.Equal(want.at) ||
				e.Channel != want.ch || e.PolicyVersion != policyVersion {
				t.Errorf("History[%d] = %+v; want %s at %v on %s, version %s", i, e, want.a, want.at, want.ch, policyVersion)
			}
		}

		// A new grant opens the gate again; the ledger only grows.
		f.clock.Advance(time.Minute)
		mustNil(t, "Grant again", f.svc.Grant(ctx, u, p, consent.ChannelApp))
		mustNil(t, "Require after the second Grant", f.svc.Require(ctx, u, p))
		if evs := history(t, f.svc, u); len(evs) != 3 {
			t.Errorf("History has %d events after grant, withdraw, grant", len(evs))
		}
		// The same id as a device is another subject.
		wantRefused(t, "Require for the device with the same id", f.svc.Require(ctx, consent.Device("u-1"), p), p)
	})
}

func TestGrantTwiceWritesOneEvent(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx, u, p := context.Background(), consent.User("u-1"), consent.PurposeMarketingPush
		mustNil(t, "Grant", f.svc.Grant(ctx, u, p, consent.ChannelApp))
		f.clock.Advance(time.Minute)
		mustNil(t, "Grant again", f.svc.Grant(ctx, u, p, consent.ChannelWeb))
		evs := history(t, f.svc, u)
		if len(evs) != 1 || evs[0].Channel != consent.ChannelApp {
			t.Errorf("History after two grants = %+v; want the first only", evs)
		}
	})
}

func TestWithdrawWhenNotGranted(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx, u, p := context.Background(), consent.User("u-1"), consent.PurposeContacts
		wantCode(t, "Withdraw never granted", f.svc.Withdraw(ctx, u, p, consent.ChannelApp), yuncan.Conflict, "not_granted")
		if evs := history(t, f.svc, u); len(evs) != 0 {
			t.Errorf("History after a refused withdrawal = %+v", evs)
		}
		mustNil(t, "Grant", f.svc.Grant(ctx, u, p, consent.ChannelApp))
		mustNil(t, "Withdraw", f.svc.Withdraw(ctx, u, p, consent.ChannelApp))
		wantCode(t, "Withdraw twice", f.svc.Withdraw(ctx, u, p, consent.ChannelApp), yuncan.Conflict, "not_granted")
		if evs := history(t, f.svc, u); len(evs) != 2 {
			t.Errorf("History after a second withdrawal has %d events, want 2", len(evs))
		}
	})
}

func TestUnknownPurpose(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx, u, p := context.Background(), consent.User("u-1"), consent.Purpose("mind_reading")
		wantCode(t, "Require", f.svc.Require(ctx, u, p), yuncan.Invalid, "unknown_purpose")
		if _, err := f.svc.Granted(ctx, u, p); yuncan.ErrorReason(err) != "unknown_purpose" {
			t.Errorf("Granted of an unknown purpose: %v", err)
		}
		wantCode(t, "Grant", f.svc.Grant(ctx, u, p, consent.ChannelApp), yuncan.Invalid, "unknown_purpose")
		wantCode(t, "Withdraw", f.svc.Withdraw(ctx, u, p, consent.ChannelApp), yuncan.Invalid, "unknown_purpose")
		wantCode(t, "GrantMany", f.svc.GrantMany(ctx, u, []consent.Purpose{consent.PurposeMarketingPush, p}, consent.ChannelApp),
			yuncan.Invalid, "unknown_purpose")
		if evs := history(t, f.svc, u); len(evs) != 0 {
			t.Errorf("History after refused requests = %+v", evs)
		}
	})
}

func TestNecessaryPurposeNeedsNoConsent(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx, u := context.Background(), consent.User("u-1")
		for _, p := range []consent.Purpose{consent.PurposeAccount, consent.PurposeSecurity} {
			wantCode(t, "Grant "+string(p), f.svc.Grant(ctx, u, p, consent.ChannelApp), yuncan.Invalid, "purpose_necessary")
			wantCode(t, "Withdraw "+string(p), f.svc.Withdraw(ctx, u, p, consent.ChannelApp), yuncan.Invalid, "purpose_necessary")
			wantCode(t, "GrantMany "+string(p), f.svc.GrantMany(ctx, u, []consent.Purpose{consent.PurposeMarketingSMS, p}, consent.ChannelApp),
				yuncan.Invalid, "purpose_necessary")
			mustNil(t, "Require "+string(p), f.svc.Require(ctx, u, p))
		}
		if evs := history(t, f.svc, u); len(evs) != 0 {
			t.Errorf("History after refused requests = %+v", evs)
		}
	})
}

// P05: sensitive purposes are never granted in a batch.
func TestGrantMany(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()

		u := consent.User("u-plain")
		plain := []consent.Purpose{consent.PurposeMarketingPush, consent.PurposePersonalized}
		mustNil(t, "GrantMany of two non-sensitive purposes", f.svc.GrantMany(ctx, u, plain, consent.ChannelApp))
		for _, p := range plain {
			mustNil(t, "Require "+string(p), f.svc.Require(ctx, u, p))
		}

		v := consent.User("u-mixed")
		mixed := []consent.Purpose{consent.PurposeMarketingPush, consent.PurposePersonalized, consent.PurposeContacts}
		wantCode(t, "GrantMany with a sensitive purpose among others", f.svc.GrantMany(ctx, v, mixed, consent.ChannelApp),
			yuncan.Invalid, "sensitive_needs_separate_consent")
		for _, p := range mixed {
			wantRefused(t, "Require "+string(p)+" after a refused batch", f.svc.Require(ctx, v, p), p)
		}
		if evs := history(t, f.svc, v); len(evs) != 0 {
			t.Errorf("a refused batch wrote %+v", evs)
		}
		for _, st := range must(f.svc.List(ctx, v)) {
			if st.Granted && f.dm.Purpose(st.Purpose).Basis != consent.BasisNecessary {
				t.Errorf("a refused batch granted %s", st.Purpose)
			}
		}

		mustNil(t, "GrantMany of one sensitive purpose", f.svc.GrantMany(ctx, v, []consent.Purpose{consent.PurposeContacts}, consent.ChannelApp))
		mustNil(t, "Require contacts", f.svc.Require(ctx, v, consent.PurposeContacts))

		wantCode(t, "GrantMany of nothing", f.svc.GrantMany(ctx, v, nil, consent.ChannelApp), yuncan.Invalid, string(yuncan.Invalid))
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Decisions racing on one purpose are serialised: the ledger alternates
// strictly and the gate agrees with its last event.
func TestConcurrentGrantWithdraw(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx, u, p := context.Background(), consent.User("u-1"), consent.PurposePersonalized
		const workers, rounds = 20, 4
		var wg sync.WaitGroup
		errs := make(chan error, workers*rounds)
		for i := range workers {
			wg.Go(func() {
				for j := range rounds {
					var err error
					if (i+j)%2 == 0 {
						err = f.svc.Grant(ctx, u, p, consent.ChannelApp)
					} else {
						err = f.svc.Withdraw(ctx, u, p, consent.ChannelApp)
					}
					// Conflict is a fair answer to a race (not granted
					// any more, or changed too often to retry); nothing
					// else is.
					if err != nil && yuncan.ErrorCode(err) != yuncan.Conflict {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent decision: %v", err)
		}

		evs := history(t, f.svc, u)
		if len(evs) == 0 {
			t.Fatal("no decision was recorded")
		}
		if evs[0].Action != consent.Grant {
			t.Errorf("History starts with %s", evs[0].Action)
		}
		for i := 1; i < len(evs); i++ {
			if evs[i].Action == evs[i-1].Action {
				t.Errorf("History[%d] and [%d] are both %s", i-1, i, evs[i].Action)
			}
			if !evs[i].At.After(evs[i-1].At) {
				t.Errorf("History[%d] at %v is not after [%d] at %v", i, evs[i].At, i-1, evs[i-1].At)
			}
		}
		want := evs[len(evs)-1].Action == consent.Grant
		// The same service (its cache saw every decision) and a fresh one
		// (cold) both agree with the ledger.
		for name, svc := range map[string]*consent.Service{"same service": f.svc, "fresh service": f.newService()} {
			if got := svc.Require(ctx, u, p) == nil; got != want {
				t.Errorf("%s: gate open = %v, last event %s (%d events)", name, got, evs[len(evs)-1].Action, len(evs))
			}
			if st := stateOf(t, svc, u, p); st.Granted != want {
				t.Errorf("%s: List granted = %v, last event %s", name, st.Granted, evs[len(evs)-1].Action)
			}
		}
		t.Logf("%d events", len(evs))
	})
}

// hookLog records the subjects a hook ran for.
type hookLog struct {
	mu    sync.Mutex
	calls []consent.Subject
	fail  int // fail this many calls first
}

func (h *hookLog) hook(ctx context.Context, s consent.Subject) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, s)
	if h.fail > 0 {
		h.fail--
		return errors.New("hook: storage unavailable")
	}
	return nil
}

func (h *hookLog) ran() []consent.Subject {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]consent.Subject(nil), h.calls...)
}

func pending(t *testing.T, f *fixture) []consent.Purge {
	t.Helper()
	ps, err := f.store.PendingPurges(context.Background(), 100)
	if err != nil {
		t.Fatalf("PendingPurges: %v", err)
	}
	return ps
}

// P63: a withdrawal runs the purpose's delete hooks at once.
func TestWithdrawRunsHook(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx, u := context.Background(), consent.User("u-1")
		var loc, contacts hookLog
		f.svc.OnWithdraw(consent.PurposePreciseLocation, "test.location", loc.hook)
		f.svc.OnWithdraw(consent.PurposeContacts, "test.contacts", contacts.hook)
		mustNil(t, "Grant", f.svc.Grant(ctx, u, consent.PurposePreciseLocation, consent.ChannelApp))
		mustNil(t, "Grant", f.svc.Grant(ctx, u, consent.PurposeContacts, consent.ChannelApp))
		if len(loc.ran()) != 0 {
			t.Fatal("a grant ran the withdrawal hook")
		}
		mustNil(t, "Withdraw", f.svc.Withdraw(ctx, u, consent.PurposePreciseLocation, consent.ChannelApp))
		if got := loc.ran(); len(got) != 1 || got[0] != u {
			t.Errorf("location hook ran for %v; want once for %v", got, u)
		}
		if got := contacts.ran(); len(got) != 0 {
			t.Errorf("contacts hook ran for %v on a location withdrawal", got)
		}
		if ps := pending(t, f); len(ps) != 0 {
			t.Errorf("pending purges after a successful hook: %+v", ps)
		}
		// Running the purges again does not run a finished hook again.
		mustNil(t, "RunPurges", f.svc.RunPurges(ctx))
		if got := loc.ran(); len(got) != 1 {
			t.Errorf("location hook ran %d times after RunPurges", len(got))
		}
	})
}

// A hook that fails does not undo the withdrawal; its task stays pending
// and a later RunPurges finishes it.
func TestFailedHookStaysPending(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx, u, p := context.Background(), consent.Device("d-1"), consent.PurposeContacts
		h := &hookLog{fail: 1}
		f.svc.OnWithdraw(p, "test.contacts", h.hook)
		mustNil(t, "Grant", f.svc.Grant(ctx, u, p, consent.ChannelApp))
		mustNil(t, "Withdraw with a failing hook", f.svc.Withdraw(ctx, u, p, consent.ChannelApp))
		wantRefused(t, "Require after the withdrawal", f.svc.Require(ctx, u, p), p)
		ps := pending(t, f)
		if len(ps) != 1 || ps[0].Subject != u || ps[0].Purpose != p || ps[0].Hook != "test.contacts" || ps[0].Attempts != 1 {
			t.Fatalf("pending purges = %+v; want one for %v, %s, test.contacts, 1 attempt", ps, u, p)
		}
		mustNil(t, "RunPurges", f.svc.RunPurges(ctx))
		if got := h.ran(); len(got) != 2 || got[1] != u {
			t.Errorf("hook ran for %v; want twice for %v", got, u)
		}
		if ps := pending(t, f); len(ps) != 0 {
			t.Errorf("pending purges after RunPurges: %+v", ps)
		}
	})
}

// A crash between the withdrawal and its hook: the task was written with
// the withdrawal, so the next process finishes it.
func TestPurgeSurvivesRestart(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx, u, p := context.Background(), consent.User("u-1"), consent.PurposeMedia
		crashed := &hookLog{fail: 1 << 30}
		f.svc.OnWithdraw(p, "media.delete", crashed.hook)
		mustNil(t, "Grant", f.svc.Grant(ctx, u, p, consent.ChannelApp))
		mustNil(t, "Withdraw", f.svc.Withdraw(ctx, u, p, consent.ChannelApp))
		if len(pending(t, f)) != 1 {
			t.Fatal("the interrupted purge is not pending")
		}

		// A process where the hook is not registered (yet) leaves it alone.
		bare := f.newService()
		if err := bare.RunPurges(ctx); err == nil {
			t.Error("RunPurges with no hook for a pending task returned nil")
		}
		if len(pending(t, f)) != 1 {
			t.Fatal("RunPurges without the hook dropped the task")
		}

		// The restarted process registers its hooks and runs the purges.
		f.clock.Advance(time.Minute)
		restarted := f.newService()
		var h hookLog
		restarted.OnWithdraw(p, "media.delete", h.hook)
		mustNil(t, "RunPurges after restart", restarted.RunPurges(ctx))
		if got := h.ran(); len(got) != 1 || got[0] != u {
			t.Errorf("hook after restart ran for %v; want once for %v", got, u)
		}
		if ps := pending(t, f); len(ps) != 0 {
			t.Errorf("pending purges after restart: %+v", ps)
		}
		wantRefused(t, "Require after restart", restarted.Require(ctx, u, p), p)
	})
}

// Global Privacy Control refuses the purposes declared gpc, granted or not.
func TestGPC(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx, u := context.Background(), consent.User("u-1")
		gpcCtx := consent.WithGPC(ctx)
		ads, push := consent.PurposeProgrammaticAds, consent.PurposeMarketingPush
		if !f.dm.Purpose(ads).GPC || f.dm.Purpose(push).GPC {
			t.Fatalf("policy data: %s gpc %v, %s gpc %v; the test expects true, false", ads, f.dm.Purpose(ads).GPC, push, f.dm.Purpose(push).GPC)
		}
		wantRefused(t, "Require ads with GPC, not granted", f.svc.Require(gpcCtx, u, ads), ads)
		mustNil(t, "GrantMany", f.svc.GrantMany(ctx, u, []consent.Purpose{ads, push}, consent.ChannelWeb))

		wantRefused(t, "Require ads with GPC, granted", f.svc.Require(gpcCtx, u, ads), ads)
		if ok, err := f.svc.Granted(gpcCtx, u, ads); ok || err != nil {
			t.Errorf("Granted ads with GPC = %v, %v; want false, nil", ok, err)
		}
		mustNil(t, "Require ads without GPC", f.svc.Require(ctx, u, ads))
		mustNil(t, "Require push with GPC", f.svc.Require(gpcCtx, u, push))
		mustNil(t, "Require push without GPC", f.svc.Require(ctx, u, push))
		mustNil(t, "Require account with GPC", f.svc.Require(gpcCtx, u, consent.PurposeAccount))
	})
}

// P63: the gate closes at once in the process that took the withdrawal,
// even when its cache holds the subject.
func TestWithdrawClosesWarmGate(t *testing.T) {
	eachDB(t, func(t *testing.T, f *fixture) {
		ctx, u, p := context.Background(), consent.User("u-1"), consent.PurposeContacts
		mustNil(t, "Grant", f.svc.Grant(ctx, u, p, consent.ChannelApp))
		for range 3 { // the first read fills the cache, the next hit it
			mustNil(t, "Require", f.svc.Require(ctx, u, p))
		}
		mustNil(t, "Withdraw", f.svc.Withdraw(ctx, u, p, consent.ChannelApp))
		wantRefused(t, "Require right after Withdraw", f.svc.Require(ctx, u, p), p)
		if ok, _ := f.svc.Granted(ctx, u, p); ok {
			t.Error("Granted right after Withdraw = true")
		}
		mustNil(t, "Grant again", f.svc.Grant(ctx, u, p, consent.ChannelApp))
		mustNil(t, "Require right after a new Grant", f.svc.Require(ctx, u, p))
	})
}
