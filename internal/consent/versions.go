package consent

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/yuncan/yuncan"
)

// Policy versions (policy section 8). Versions live in the database; the
// embedded base (policy.go) is seeded there by Load, so the history always
// starts with it. The version in force is the newest whose effective time
// has come. Which versions a person accepted is kept in the
// policy_acceptances table that sign-up writes too; the in-app notice of
// a new version is derived from it (Pending), so every account is told
// without a message per account.

// VersionStore is the storage of policy versions and of the accounts'
// acceptances.
type VersionStore interface {
	// CreatePolicyVersion stores a new version. Conflict when its id or
	// its effective time is taken.
	CreatePolicyVersion(ctx context.Context, p Policy) error
	// PolicyVersions returns every stored version, texts included,
	// ordered by effective time, oldest first.
	PolicyVersions(ctx context.Context) ([]Policy, error)
	// PolicyVersion returns one version; NotFound when there is none.
	PolicyVersion(ctx context.Context, version string) (Policy, error)
	// AddPolicyAcceptance records that an account accepted a version.
	AddPolicyAcceptance(ctx context.Context, a Acceptance) error
	// PolicyAcceptances returns the account's acceptances, oldest first
	// (none is an empty list, not an error).
	PolicyAcceptances(ctx context.Context, userID string) ([]Acceptance, error)
}

// Acceptance records that an account accepted a policy version.
type Acceptance struct {
	UserID  string
	Version string
	Channel Channel
	At      time.Time
}

// PublishRequest is a new version as staff submit it.
type PublishRequest struct {
	Version string
	// Effective is when the version comes into force; zero means now.
	// It may not lie in the past (a minute's grace for clock skew).
	Effective time.Time
	Text      string
	Summary   Text
	// ChangedPurposes must be declared purposes. With ReducesRights or
	// AddsPurposes set, at least one is needed: it is what waits for
	// each person's acceptance.
	ChangedPurposes []Purpose
	ReducesRights   bool
	AddsPurposes    bool
}

// Limits on a published version.
const (
	maxPolicyText    = 512 << 10 // bytes
	maxPolicySummary = 2000      // characters, each language
	effectiveGrace   = time.Minute
)

// versionPattern is what a version id looks like: a date such as
// 2026-12-01, or any short token that is safe in a URL path segment. It
// starts with a letter or digit so that "." and ".." are not ids.
var versionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)

// reservedVersions would be shadowed by fixed routes next to
// /privacy/policy/{version}.
var reservedVersions = []string{"history", "current"}

// Versions keeps the policy versions: which is in force, the history,
// publishing, acceptance, the pending notice, and the gate restriction
// that holds back changed purposes until a person accepts (P72, P25).
type Versions struct {
	store VersionStore
	dm    *DataMap
	now   func() time.Time

	mu sync.RWMutex
	// all is every known version, oldest first by effective time; it
	// always starts with the base. It is replaced, never changed in
	// place, so a reader may keep the slice it got.
	all []Policy

	// accepted remembers, per account, the effective time of the newest
	// version it accepted, but only once that reaches the version in
	// force: acceptances only ever grow, so that fact cannot turn false,
	// while a "behind" answer may (sign-up and login record acceptances
	// too, outside this service) and is always read afresh.
	accMu    sync.Mutex
	accepted map[string]time.Time
}

// NewVersions returns the versions service; until Load runs it knows the
// embedded base only. now is the clock (time.Now when nil).
func NewVersions(store VersionStore, dm *DataMap, now func() time.Time) *Versions {
	if now == nil {
		now = time.Now
	}
	return &Versions{store: store, dm: dm, now: now, all: []Policy{Base()}, accepted: map[string]time.Time{}}
}

// Load seeds the embedded base into the database when it lacks it
// (idempotently: a concurrent seed is no error) and reads every version
// into memory. It runs at start and periodically, which brings in what
// other processes published.
func (v *Versions) Load(ctx context.Context) error {
	ps, err := v.store.PolicyVersions(ctx)
	if err != nil {
		return fmt.Errorf("consent: policy versions: %w", err)
	}
	base := Base()
	if !slices.ContainsFunc(ps, func(p Policy) bool { return p.Version == base.Version }) {
		if err := v.store.CreatePolicyVersion(ctx, base); err != nil && yuncan.ErrorCode(err) != yuncan.Conflict {
			return fmt.Errorf("consent: seed policy %s: %w", base.Version, err)
		}
		if ps, err = v.store.PolicyVersions(ctx); err != nil {
			return fmt.Errorf("consent: policy versions: %w", err)
		}
	}
	v.set(ps)
	return nil
}

// set replaces the known versions, keeping the base first even if the
// store somehow lacks it.
func (v *Versions) set(ps []Policy) {
	base := Base()
	all := make([]Policy, 0, len(ps)+1)
	if !slices.ContainsFunc(ps, func(p Policy) bool { return p.Version == base.Version }) {
		all = append(all, base)
	}
	all = append(all, ps...)
	slices.SortStableFunc(all, func(a, b Policy) int { return a.Effective.Compare(b.Effective) })
	v.mu.Lock()
	v.all = all
	v.mu.Unlock()
}

// add puts one version into memory, after publishing or on a miss.
func (v *Versions) add(p Policy) {
	v.mu.RLock()
	have := slices.ContainsFunc(v.all, func(q Policy) bool { return q.Version == p.Version })
	ps := slices.Clone(v.all)
	v.mu.RUnlock()
	if have {
		return
	}
	v.set(append(ps, p))
}

func (v *Versions) snapshot() []Policy {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.all
}

// inForce returns the newest version whose effective time has come; the
// base always has.
func inForce(all []Policy, now time.Time) Policy {
	for i := len(all) - 1; i > 0; i-- {
		if !all[i].Effective.After(now) {
			return all[i]
		}
	}
	return all[0]
}

// Current returns the version in force (P68), from memory.
func (v *Versions) Current() Policy { return inForce(v.snapshot(), v.now()) }

// CurrentVersion returns the id of the version in force: what a sign-up
// must accept and what consent events record.
func (v *Versions) CurrentVersion() string { return v.Current().Version }

// History returns every version, newest first, including any published
// to come into force later (P72).
func (v *Versions) History() []Policy {
	all := v.snapshot()
	out := make([]Policy, len(all))
	for i, p := range all {
		out[len(all)-1-i] = p
	}
	return out
}

// Version returns one version, text included. A version this process
// has not loaded yet (published by another) is looked up in the store.
// NotFound when there is no such version.
func (v *Versions) Version(ctx context.Context, id string) (Policy, error) {
	if p, ok := v.known(id); ok {
		return p, nil
	}
	if !versionPattern.MatchString(id) {
		return Policy{}, errNoVersion(id)
	}
	p, err := v.store.PolicyVersion(ctx, id)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return Policy{}, errNoVersion(id)
	}
	if err != nil {
		return Policy{}, fmt.Errorf("consent: policy version %s: %w", id, err)
	}
	v.add(p)
	return p, nil
}

func (v *Versions) known(id string) (Policy, bool) {
	for _, p := range v.snapshot() {
		if p.Version == id {
			return p, true
		}
	}
	return Policy{}, false
}

func errNoVersion(id string) error {
	return yuncan.Errorf(yuncan.NotFound, "there is no privacy policy version %q", id)
}

// Publish validates and stores a new version; staffUserID is recorded as
// its publisher (the caller checks the role). The new version is in force
// from its effective time; each person sees it as a pending notice until
// they accept it (P72).
func (v *Versions) Publish(ctx context.Context, staffUserID string, req PublishRequest) (Policy, error) {
	now := v.now()
	p, err := req.policy(v.dm, now)
	if err != nil {
		return Policy{}, err
	}
	p.PublishedAt, p.PublishedBy = now, staffUserID
	// Read afresh: another process may have published meanwhile.
	if err := v.Load(ctx); err != nil {
		return Policy{}, err
	}
	all := v.snapshot()
	if slices.ContainsFunc(all, func(q Policy) bool { return strings.EqualFold(q.Version, p.Version) }) {
		return Policy{}, errVersionExists(p.Version)
	}
	// Versions follow one another: a new one takes effect after every
	// earlier one, so "newer" means the same by publication and by
	// effective time.
	if newest := all[len(all)-1]; !p.Effective.After(newest.Effective) {
		return Policy{}, yuncan.Errorf(yuncan.Conflict, "version %s takes effect at %s; a new version must take effect after it",
			newest.Version, newest.Effective.Format(time.RFC3339)).WithReason("policy_effective_too_early").
			WithField("effective", "must be after the newest version's effective time")
	}
	if err := v.store.CreatePolicyVersion(ctx, p); err != nil {
		if yuncan.ErrorCode(err) == yuncan.Conflict {
			return Policy{}, errVersionExists(p.Version)
		}
		return Policy{}, fmt.Errorf("consent: publish policy %s: %w", p.Version, err)
	}
	v.add(p)
	return p, nil
}

func errVersionExists(id string) error {
	return yuncan.Errorf(yuncan.Conflict, "privacy policy version %s exists already, or another version was published at the same time", id).
		WithReason("policy_version_exists").WithField("version", "is taken")
}

// policy checks the request and returns the version it describes.
func (r PublishRequest) policy(dm *DataMap, now time.Time) (Policy, error) {
	e := yuncan.Errorf(yuncan.Invalid, "the policy version is not valid; see fields")
	switch {
	case !versionPattern.MatchString(r.Version):
		e.WithField("version", "must be 1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit (for example 2026-12-01)")
	case slices.Contains(reservedVersions, strings.ToLower(r.Version)):
		e.WithField("version", "is a reserved word")
	}
	switch {
	case strings.TrimSpace(r.Text) == "":
		e.WithField("text", "is empty; publish the full policy text")
	case len(r.Text) > maxPolicyText:
		e.WithField("text", fmt.Sprintf("is longer than %d bytes", maxPolicyText))
	case !utf8.ValidString(r.Text):
		e.WithField("text", "is not valid UTF-8")
	}
	for field, s := range map[string]string{"summary_zh": r.Summary.ZH, "summary_en": r.Summary.EN} {
		switch {
		case strings.TrimSpace(s) == "":
			e.WithField(field, "is empty; say what changed")
		case utf8.RuneCountInString(s) > maxPolicySummary:
			e.WithField(field, fmt.Sprintf("is longer than %d characters", maxPolicySummary))
		}
	}
	var changed []Purpose
	for _, p := range r.ChangedPurposes {
		if dm.Purpose(p) == nil {
			e.WithField("changed_purposes", fmt.Sprintf("%q is not a purpose of the privacy policy", string(p)))
			break
		}
		if !slices.Contains(changed, p) {
			changed = append(changed, p)
		}
	}
	if (r.ReducesRights || r.AddsPurposes) && len(r.ChangedPurposes) == 0 {
		e.WithField("changed_purposes", "name the purposes that wait for acceptance when reduces_rights or adds_purposes is set")
	}
	eff := r.Effective.UTC()
	if r.Effective.IsZero() {
		eff = now.UTC()
	} else if eff.Before(now.Add(-effectiveGrace)) {
		e.WithField("effective", "is in the past")
	}
	if len(e.Fields) > 0 {
		return Policy{}, e
	}
	return Policy{Version: r.Version, Effective: eff, Text: r.Text, Summary: Text{ZH: strings.TrimSpace(r.Summary.ZH), EN: strings.TrimSpace(r.Summary.EN)},
		ChangedPurposes: changed, ReducesRights: r.ReducesRights, AddsPurposes: r.AddsPurposes}, nil
}

// Accept records that the account accepts version. Only the version in
// force can be accepted: an older one is a Conflict (policy_version_stale),
// one not yet in force a Conflict (policy_version_not_in_force), an
// unknown one NotFound. Accepting again changes nothing.
func (v *Versions) Accept(ctx context.Context, userID, version string, ch Channel) error {
	p, err := v.Version(ctx, version)
	if err != nil {
		return err
	}
	cur := v.Current()
	if p.Version != cur.Version {
		if p.Effective.After(cur.Effective) {
			return yuncan.Errorf(yuncan.Conflict, "version %s takes effect at %s; it can be accepted from then",
				p.Version, p.Effective.Format(time.RFC3339)).WithReason("policy_version_not_in_force")
		}
		return yuncan.Errorf(yuncan.Conflict, "version %s has been replaced by version %s; read and accept that one",
			p.Version, cur.Version).WithReason("policy_version_stale")
	}
	acc, err := v.acceptedUpTo(ctx, userID, cur)
	if err != nil {
		return err
	}
	if !acc.Before(cur.Effective) {
		return nil
	}
	if !ch.Valid() {
		ch = ChannelAPI
	}
	if err := v.store.AddPolicyAcceptance(ctx, Acceptance{UserID: userID, Version: cur.Version, Channel: ch, At: v.now()}); err != nil {
		return fmt.Errorf("consent: accept policy %s: %w", cur.Version, err)
	}
	v.rememberAccepted(userID, cur.Effective)
	return nil
}

// Acceptances returns the versions the account accepted, oldest first.
func (v *Versions) Acceptances(ctx context.Context, userID string) ([]Acceptance, error) {
	return v.store.PolicyAcceptances(ctx, userID)
}

// Pending returns the version in force when the account has not accepted
// it (or a later one): the in-app notice "a new privacy policy is in
// force" a client shows on the next visit (P72). Being derived from the
// acceptances, it reaches every account without a message per account,
// and stays until the person accepts.
func (v *Versions) Pending(ctx context.Context, userID string) (Policy, bool, error) {
	cur := v.Current()
	acc, err := v.acceptedUpTo(ctx, userID, cur)
	if err != nil {
		return Policy{}, false, err
	}
	if acc.Before(cur.Effective) {
		return cur, true, nil
	}
	return Policy{}, false, nil
}

// RequireAccepted is the gate restriction of policy changes (P72, P25):
// when a version in force that reduces rights or adds purposes is newer
// than the newest the account accepted, the purposes it changed are
// refused with policy_acceptance_required until the account accepts the
// version in force. Devices are not held back: they have no account, and
// accept the policy in force when they sign up. Add it with
// Service.Restrict.
func (v *Versions) RequireAccepted(ctx context.Context, sub Subject, d *PurposeDecl) error {
	if sub.Kind != SubjectUser {
		return nil
	}
	all, now := v.snapshot(), v.now()
	cur := inForce(all, now)
	// The newest version in force that holds this purpose back; most
	// purposes have none, and the gate asks nothing more.
	var since time.Time
	for i := len(all) - 1; i > 0; i-- {
		p := all[i]
		if !p.Effective.After(now) && p.NeedsAcceptance() && slices.Contains(p.ChangedPurposes, d.ID) {
			since = p.Effective
			break
		}
	}
	if since.IsZero() {
		return nil
	}
	acc, err := v.acceptedUpTo(ctx, sub.ID, cur)
	if err != nil {
		return err
	}
	if !acc.Before(since) {
		return nil
	}
	return &yuncan.Error{Code: yuncan.Forbidden, Reason: "policy_acceptance_required",
		Message: fmt.Sprintf("the privacy policy changed how %s works; accept version %s to go on", d.Name.EN, cur.Version),
		Extra:   map[string]string{"purpose": string(d.ID), "policy_version": cur.Version}}
}

// acceptedUpTo returns the effective time of the newest version the
// account accepted (zero when none is known).
func (v *Versions) acceptedUpTo(ctx context.Context, userID string, cur Policy) (time.Time, error) {
	v.accMu.Lock()
	t, ok := v.accepted[userID]
	v.accMu.Unlock()
	if ok && !t.Before(cur.Effective) {
		return t, nil
	}
	as, err := v.store.PolicyAcceptances(ctx, userID)
	if err != nil {
		return time.Time{}, fmt.Errorf("consent: policy acceptances: %w", err)
	}
	var newest time.Time
	seen := map[string]bool{}
	for _, a := range as {
		if seen[a.Version] {
			continue
		}
		seen[a.Version] = true
		p, err := v.Version(ctx, a.Version)
		if yuncan.ErrorCode(err) == yuncan.NotFound {
			continue // a version that was never published here counts for nothing
		}
		if err != nil {
			return time.Time{}, err
		}
		if p.Effective.After(newest) {
			newest = p.Effective
		}
	}
	if !newest.Before(cur.Effective) {
		v.rememberAccepted(userID, newest)
	}
	return newest, nil
}

func (v *Versions) rememberAccepted(userID string, t time.Time) {
	v.accMu.Lock()
	defer v.accMu.Unlock()
	if len(v.accepted) >= maxCached {
		v.accepted = map[string]time.Time{}
	}
	v.accepted[userID] = t
}
