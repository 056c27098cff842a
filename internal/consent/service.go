package consent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/yuncan/yuncan"
)

// Hook is what an area does when a purpose is withdrawn: delete what the
// purpose let it collect. It must be idempotent: after a crash it runs
// again.
type Hook func(ctx context.Context, s Subject) error

type namedHook struct {
	name string
	fn   Hook
}

// Service is the one gate every personal-data path asks, and the ledger
// behind it.
type Service struct {
	store  Store
	dm     *DataMap
	now    func() time.Time
	logger *slog.Logger
	// version returns the policy version in force, recorded on events.
	version func() string

	hooksMu sync.RWMutex
	hooks   map[Purpose][]namedHook

	cache *cache

	restrictions []Restriction
}

// Restriction refuses a purpose for a subject for a reason the ledger does
// not hold: the Global Privacy Control signal, a minor's age, a policy
// version the person has not accepted yet. It returns nil to let the gate
// go on, or the error Require returns.
type Restriction func(ctx context.Context, sub Subject, d *PurposeDecl) error

// Invalidate forgets the cached states of sub: another process decided
// on its consent (see sqlstore's ListenConsent).
func (s *Service) Invalidate(sub Subject) { s.cache.invalidate(sub) }

// InvalidateAll forgets every cached state, when decisions of other
// processes may have been missed.
func (s *Service) InvalidateAll() { s.cache.reset() }

// Restrict adds a restriction to the gate; restrictions run, in the order
// added, before the ledger is read. Add them while wiring, before serving.
func (s *Service) Restrict(r Restriction) { s.restrictions = append(s.restrictions, r) }

// NewService returns the consent service. version returns the policy
// version in force; now is the clock (time.Now when nil).
func NewService(store Store, dm *DataMap, version func() string, now func() time.Time, logger *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, dm: dm, now: now, logger: logger, version: version,
		hooks: map[Purpose][]namedHook{}, cache: newCache()}
}

// DataMap returns the policy data.
func (s *Service) DataMap() *DataMap { return s.dm }

// OnWithdraw registers what to do when p is withdrawn; name identifies the
// hook in the durable task list, so it must stay stable across releases.
func (s *Service) OnWithdraw(p Purpose, name string, fn Hook) {
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	s.hooks[p] = append(s.hooks[p], namedHook{name, fn})
}

func (s *Service) hook(p Purpose, name string) Hook {
	s.hooksMu.RLock()
	defer s.hooksMu.RUnlock()
	for _, h := range s.hooks[p] {
		if h.name == name {
			return h.fn
		}
	}
	return nil
}

func (s *Service) decl(p Purpose) (*PurposeDecl, error) {
	d := s.dm.Purpose(p)
	if d == nil {
		return nil, yuncan.Errorf(yuncan.Invalid, "%q is not a purpose of the privacy policy", string(p)).WithReason("unknown_purpose").WithField("purpose", "is not a known purpose")
	}
	return d, nil
}

// Require is the gate: nil when the subject may be processed for p now,
// otherwise a Forbidden error with reason consent_required naming p.
// Purposes necessary for the basic service always pass.
func (s *Service) Require(ctx context.Context, sub Subject, p Purpose) error {
	d, err := s.decl(p)
	if err != nil {
		return err
	}
	for _, r := range s.restrictions {
		if err := r(ctx, sub, d); err != nil {
			return err
		}
	}
	if d.Basis == BasisNecessary {
		return nil
	}
	if d.GPC && gpcFrom(ctx) {
		return errConsentRequired(p, "your browser's Global Privacy Control signal refuses this")
	}
	states, err := s.states(ctx, sub)
	if err != nil {
		return err
	}
	if !states[p].Granted {
		return errConsentRequired(p, "this function needs your consent to "+d.Name.EN)
	}
	return nil
}

// Granted reports whether the gate is open, for paths where a closed gate
// means "skip", not "refuse" (a marketing push is not sent).
func (s *Service) Granted(ctx context.Context, sub Subject, p Purpose) (bool, error) {
	err := s.Require(ctx, sub, p)
	if err == nil {
		return true, nil
	}
	// A restriction's refusal (a minor, a policy not yet accepted) closes
	// the gate as a missing consent does.
	if yuncan.ErrorCode(err) == yuncan.Forbidden {
		return false, nil
	}
	return false, err
}

// states returns the current state of every purpose the subject decided
// on, through the cache.
func (s *Service) states(ctx context.Context, sub Subject) (map[Purpose]State, error) {
	if st, ok := s.cache.get(sub); ok {
		return st, nil
	}
	gen := s.cache.generation()
	evs, err := s.store.LastEvents(ctx, sub)
	if err != nil {
		return nil, fmt.Errorf("consent: states: %w", err)
	}
	st := make(map[Purpose]State, len(evs))
	for _, e := range evs {
		st[e.Purpose] = State{Purpose: e.Purpose, Granted: e.Action == Grant, PolicyVersion: e.PolicyVersion}
	}
	s.cache.put(sub, gen, st)
	return st, nil
}

// List returns the state of every declared purpose for the subject, in
// declaration order; purposes never decided on are not granted (P01).
func (s *Service) List(ctx context.Context, sub Subject) ([]State, error) {
	states, err := s.states(ctx, sub)
	if err != nil {
		return nil, err
	}
	times, err := s.store.LastTimes(ctx, sub)
	if err != nil {
		return nil, fmt.Errorf("consent: list: %w", err)
	}
	out := make([]State, 0, len(s.dm.Purposes))
	for _, d := range s.dm.Purposes {
		st := states[d.ID]
		st.Purpose = d.ID
		if d.Basis == BasisNecessary {
			st.Granted = true
		}
		st.GrantedAt, st.WithdrawnAt = times[d.ID][0], times[d.ID][1]
		out = append(out, st)
	}
	return out, nil
}

// History returns the subject's ledger, oldest first.
func (s *Service) History(ctx context.Context, sub Subject) ([]Event, error) {
	return s.store.Events(ctx, sub)
}

// Grant records the subject's consent to p. Granting what is granted
// already changes nothing.
func (s *Service) Grant(ctx context.Context, sub Subject, p Purpose, ch Channel) error {
	d, err := s.decl(p)
	if err != nil {
		return err
	}
	if d.Basis == BasisNecessary {
		return yuncan.Errorf(yuncan.Invalid, "%s is needed for the basic service and covered by the policy; it needs no separate consent", p).WithReason("purpose_necessary")
	}
	if err := s.grantRestricted(ctx, sub, d); err != nil {
		return err
	}
	return s.decide(ctx, sub, p, Grant, ch)
}

// grantRestricted refuses to record a grant of a purpose a restriction of
// the gate refuses (a minor and advertising): nothing is written.
func (s *Service) grantRestricted(ctx context.Context, sub Subject, d *PurposeDecl) error {
	for _, r := range s.restrictions {
		if err := r(ctx, sub, d); err != nil {
			return err
		}
	}
	return nil
}

// GrantMany grants several purposes at once. Sensitive purposes are never
// granted in bulk: each needs its own request (P05).
func (s *Service) GrantMany(ctx context.Context, sub Subject, ps []Purpose, ch Channel) error {
	if len(ps) == 0 {
		return yuncan.FieldError("purposes", "name at least one purpose")
	}
	for _, p := range ps {
		d, err := s.decl(p)
		if err != nil {
			return err
		}
		if d.Sensitive && len(ps) > 1 {
			return yuncan.Errorf(yuncan.Invalid, "%s is sensitive: grant it on its own, in a separate request", p).WithReason("sensitive_needs_separate_consent").WithField("purposes", "contains a sensitive purpose")
		}
		if d.Basis == BasisNecessary {
			return yuncan.Errorf(yuncan.Invalid, "%s needs no separate consent", p).WithReason("purpose_necessary")
		}
		if err := s.grantRestricted(ctx, sub, d); err != nil {
			return err
		}
	}
	for _, p := range ps {
		if err := s.decide(ctx, sub, p, Grant, ch); err != nil {
			return err
		}
	}
	return nil
}

// Withdraw records the withdrawal of p and runs the registered hooks at
// once; a hook that fails (or a crash) leaves its task pending for
// RunPurges. Withdrawing what is not granted is a Conflict.
func (s *Service) Withdraw(ctx context.Context, sub Subject, p Purpose, ch Channel) error {
	d, err := s.decl(p)
	if err != nil {
		return err
	}
	if d.Basis == BasisNecessary {
		return yuncan.Errorf(yuncan.Invalid, "%s is needed for the basic service; to stop it, cancel the account", p).WithReason("purpose_necessary")
	}
	if err := s.decide(ctx, sub, p, Withdraw, ch); err != nil {
		return err
	}
	// The withdrawal stands once recorded; a failed hook stays pending
	// and RunPurges retries it.
	if err := s.RunPurges(ctx); err != nil && s.logger != nil {
		s.logger.ErrorContext(ctx, "consent: withdrawal purge pending", slog.Any("err", err))
	}
	return nil
}

// decide appends one event, retrying when a concurrent decision on the
// same purpose moved the state first.
func (s *Service) decide(ctx context.Context, sub Subject, p Purpose, a Action, ch Channel) error {
	if !ch.Valid() {
		ch = ChannelAPI
	}
	for attempt := 0; ; attempt++ {
		last, err := s.lastEvent(ctx, sub, p)
		if err != nil {
			return err
		}
		granted := last.ID != "" && last.Action == Grant
		switch {
		case a == Grant && granted:
			return nil
		case a == Withdraw && !granted:
			return yuncan.Errorf(yuncan.Conflict, "%s is not granted, so there is nothing to withdraw", p).WithReason("not_granted")
		}
		now := s.now()
		e := Event{ID: uuid.Must(uuid.NewV7()).String(), Subject: sub, Purpose: p, Action: a, PolicyVersion: s.version(), Channel: ch, At: now}
		if !last.At.IsZero() && !e.At.After(last.At) {
			e.At = last.At.Add(time.Microsecond) // the ledger's order is its time order
		}
		var purges []Purge
		if a == Withdraw {
			s.hooksMu.RLock()
			for _, h := range s.hooks[p] {
				purges = append(purges, Purge{ID: uuid.Must(uuid.NewV7()).String(), Subject: sub, Purpose: p, Hook: h.name, CreatedAt: now})
			}
			s.hooksMu.RUnlock()
		}
		err = s.store.AppendEvent(ctx, e, last.ID, purges)
		s.cache.invalidate(sub)
		if yuncan.ErrorCode(err) == yuncan.Conflict && attempt < 5 {
			continue
		}
		if err != nil {
			return fmt.Errorf("consent: %s %s: %w", a, p, err)
		}
		return nil
	}
}

func (s *Service) lastEvent(ctx context.Context, sub Subject, p Purpose) (Event, error) {
	evs, err := s.store.LastEvents(ctx, sub)
	if err != nil {
		return Event{}, fmt.Errorf("consent: %w", err)
	}
	for _, e := range evs {
		if e.Purpose == p {
			return e, nil
		}
	}
	return Event{}, nil
}

// RunPurges runs every pending withdrawal task; it runs at start, after
// each withdrawal and periodically, so a task interrupted by a crash is
// finished on restart.
func (s *Service) RunPurges(ctx context.Context) error {
	var errs []error
	for {
		ps, err := s.store.PendingPurges(ctx, 100)
		if err != nil {
			return fmt.Errorf("consent: purges: %w", err)
		}
		progressed := false
		for _, p := range ps {
			h := s.hook(p.Purpose, p.Hook)
			if h == nil {
				errs = append(errs, fmt.Errorf("consent: purge %s: no hook %q registered for %s", p.ID, p.Hook, p.Purpose))
				continue
			}
			if err := h(ctx, p.Subject); err != nil {
				s.store.RetryPurge(ctx, p.ID)
				errs = append(errs, fmt.Errorf("consent: purge %s (%s): %w", p.ID, p.Hook, err))
				continue
			}
			if err := s.store.FinishPurge(ctx, p.ID, s.now()); err != nil {
				return fmt.Errorf("consent: purge %s: %w", p.ID, err)
			}
			progressed = true
		}
		if len(ps) < 100 || !progressed {
			return errors.Join(errs...)
		}
	}
}
