package consent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/media"
)

// The rules for minors (policy section 7; P70, P71). The age band comes
// from sign-up (identity). Under 18: the adults-only purposes (ads,
// marketing) stay off whatever the ledger says. Under 14: until a guardian
// proves consent with a code sent to the guardian's phone, every purpose
// that needs consent is refused, and an account still without it after
// MinorsConfig.GuardianDeadline is deleted with its data. Guardians reach
// the operator through guardian requests.

// MinorsConfig holds the minors rules an operator may tune. Zero values
// take the defaults (docs/minors.md).
type MinorsConfig struct {
	// GuardianDeadline is how long after sign-up an account under 14 may
	// wait for a verified guardian consent; then it is deleted with its
	// data (P70). 7 days.
	GuardianDeadline time.Duration
	// RequestsPerIPHour bounds the guardian requests one client IP may
	// file in an hour. 10.
	RequestsPerIPHour int
}

func (c MinorsConfig) withDefaults() MinorsConfig {
	if c.GuardianDeadline == 0 {
		c.GuardianDeadline = 7 * 24 * time.Hour
	}
	if c.RequestsPerIPHour == 0 {
		c.RequestsPerIPHour = 10
	}
	return c
}

// MinorStatus is what the rules need to know about an account.
type MinorStatus struct {
	Band      identity.AgeBand
	CreatedAt time.Time
	// GuardianVerifiedAt is when a guardian consent was verified; zero
	// when none was.
	GuardianVerifiedAt time.Time
}

// GuardianConsent is the guardian consent of an account under 14, as
// stored: pending from the code sent to the guardian until the code comes
// back.
type GuardianConsent struct {
	UserID string
	// GuardianPhoneSealed is keyring.Seal("guardian_consents.guardian_phone", E.164).
	GuardianPhoneSealed string
	// GuardianPhoneIndex is keyring.BlindIndex("phone", E.164), the
	// domain of users.phone_index.
	GuardianPhoneIndex string
	// Method is how the guardian proved it: "sms_code". "" while pending.
	Method      string
	RequestedAt time.Time
	VerifiedAt  time.Time // zero while pending
}

// GuardianRequestKind is what a guardian asks about a minor's information.
type GuardianRequestKind string

// Guardian request kinds.
const (
	RequestAccess     GuardianRequestKind = "access"
	RequestCorrection GuardianRequestKind = "correction"
	RequestDeletion   GuardianRequestKind = "deletion"
	RequestOther      GuardianRequestKind = "other"
)

// Valid reports whether k is a known kind.
func (k GuardianRequestKind) Valid() bool {
	return k == RequestAccess || k == RequestCorrection || k == RequestDeletion || k == RequestOther
}

// RequestReceived is the status of a guardian request nobody handled yet.
const RequestReceived = "received"

// GuardianRequestRecord is a guardian request as stored: numbers and
// message sealed, never in clear.
type GuardianRequestRecord struct {
	ID                  string
	GuardianPhoneSealed string // Seal("guardian_requests.guardian_phone", E.164)
	GuardianPhoneIndex  string // BlindIndex("phone", E.164)
	MinorPhoneSealed    string // Seal("guardian_requests.minor_phone", E.164)
	MinorPhoneIndex     string // BlindIndex("phone", E.164)
	Kind                GuardianRequestKind
	MessageSealed       string // Seal("guardian_requests.message", text)
	Status              string
	IPIndex             string // BlindIndex("ip", client IP)
	CreatedAt           time.Time
	UpdatedAt           time.Time
}

// MinorStore is the storage of the minors rules. Methods return NotFound
// and Conflict as *yuncan.Error; other errors are database failures.
type MinorStore interface {
	// MinorStatus returns an account's band, creation time and guardian
	// verification. NotFound when there is no such account.
	MinorStatus(ctx context.Context, userID string) (MinorStatus, error)
	// RequestGuardian records g as the account's pending guardian,
	// replacing a pending one. Conflict when a verified consent exists;
	// NotFound when the account does not.
	RequestGuardian(ctx context.Context, g GuardianConsent) error
	// GuardianConsent returns the account's guardian consent, pending or
	// verified. NotFound when there is none.
	GuardianConsent(ctx context.Context, userID string) (GuardianConsent, error)
	// VerifyGuardian marks the account's pending consent verified, if its
	// guardian is still the one with phoneIndex. NotFound otherwise.
	VerifyGuardian(ctx context.Context, userID, phoneIndex, method string, at time.Time) error
	// UnverifiedUnder14 lists, oldest first, accounts under 14 created
	// before t without a verified guardian consent.
	UnverifiedUnder14(ctx context.Context, before time.Time, limit int) ([]string, error)

	// ExpireGuardianRequests clears the client-address index of requests
	// made before ipBefore and deletes the requests made before
	// rowsBefore.
	ExpireGuardianRequests(ctx context.Context, ipBefore, rowsBefore time.Time) error
	// CreateGuardianRequest stores a guardian request.
	CreateGuardianRequest(ctx context.Context, r GuardianRequestRecord) error
	// GuardianRequest returns a request by id. NotFound when none.
	GuardianRequest(ctx context.Context, id string) (GuardianRequestRecord, error)
	// CountGuardianRequestsForIPSince counts the requests filed from an
	// IP index since t.
	CountGuardianRequestsForIPSince(ctx context.Context, ipIndex string, since time.Time) (int, error)
}

// LedgerEraser erases a subject's consent ledger: its events, its current
// states and its finished purge tasks (pending ones stay, so that what a
// withdrawal set out to delete still is). The consent store implements it.
type LedgerEraser interface {
	EraseSubject(ctx context.Context, s Subject) error
}

// Minors carries out the rules for minors.
type Minors struct {
	store   MinorStore
	ledger  LedgerEraser
	consent *Service
	ids     *identity.Service
	media   media.Store
	keys    *keyring.Keyring
	now     func() time.Time
	cfg     MinorsConfig
	logger  *slog.Logger
	known   *minorCache
}

// NewMinors returns the minors rules and adds their restriction to the
// consent gate, for processing (Require) and for grants. now is the clock
// (time.Now when nil).
func NewMinors(store MinorStore, ledger LedgerEraser, cs *Service, ids *identity.Service, ms media.Store, keys *keyring.Keyring,
	now func() time.Time, cfg MinorsConfig, logger *slog.Logger) *Minors {
	if now == nil {
		now = time.Now
	}
	m := &Minors{store: store, ledger: ledger, consent: cs, ids: ids, media: ms, keys: keys, now: now,
		cfg: cfg.withDefaults(), logger: logger, known: &minorCache{m: map[string]MinorStatus{}}}
	cs.Restrict(m.Restriction)
	return m
}

// Config returns the rules in force, defaults filled in; on a nil
// *Minors (a server built without the rules), the defaults.
func (m *Minors) Config() MinorsConfig {
	if m == nil {
		return MinorsConfig{}.withDefaults()
	}
	return m.cfg
}

// Restriction is the gate's rule for minors: an adults-only purpose is
// refused for anyone under 18 (adults_only), and every purpose that needs
// consent for a child under 14 until a guardian consent is verified
// (guardian_consent_required). Accounts staff made count as adults;
// devices have no age.
func (m *Minors) Restriction(ctx context.Context, sub Subject, d *PurposeDecl) error {
	if sub.Kind != SubjectUser || (d.Basis != BasisConsent && !d.AdultsOnly) {
		return nil
	}
	st, err := m.status(ctx, sub.ID)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return nil // no account, no age: the ledger decides
	}
	if err != nil {
		return err
	}
	if d.AdultsOnly && st.Band.Minor() {
		return &yuncan.Error{Code: yuncan.Forbidden, Reason: "adults_only",
			Message: d.Name.EN + " is not offered to people under 18",
			Extra:   map[string]string{"purpose": string(d.ID)}}
	}
	if st.Band == identity.AgeUnder14 && st.GuardianVerifiedAt.IsZero() && d.Basis == BasisConsent {
		return &yuncan.Error{Code: yuncan.Forbidden, Reason: "guardian_consent_required",
			Message: "a child under 14 needs a parent's or guardian's verified consent first (POST /api/v1/me/guardian)",
			Extra:   map[string]string{"purpose": string(d.ID)}}
	}
	return nil
}

// minorCache keeps the statuses that can no longer change: a band is set
// once at sign-up and a verified consent stays verified. A child still
// waiting for a guardian is read afresh each time, so a verification
// another process recorded counts at once.
type minorCache struct {
	mu sync.Mutex
	m  map[string]MinorStatus
}

func (c *minorCache) get(id string) (MinorStatus, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.m[id]
	return st, ok
}

func (c *minorCache) put(id string, st MinorStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCached {
		c.m = map[string]MinorStatus{}
	}
	c.m[id] = st
}

func (c *minorCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

func (m *Minors) status(ctx context.Context, userID string) (MinorStatus, error) {
	if st, ok := m.known.get(userID); ok {
		return st, nil
	}
	st, err := m.store.MinorStatus(ctx, userID)
	if err != nil {
		if yuncan.ErrorCode(err) == yuncan.NotFound {
			return st, err
		}
		return st, fmt.Errorf("consent: minor status: %w", err)
	}
	if st.Band != identity.AgeUnder14 || !st.GuardianVerifiedAt.IsZero() {
		m.known.put(userID, st)
	}
	return st, nil
}

// GuardianStatus is what an account's owner sees of the guardian rules.
type GuardianStatus struct {
	Band identity.AgeBand
	// Required: the account is under 14 and needs a guardian consent.
	Required bool
	// GuardianPhone is the number a code went to or that verified; ""
	// when none.
	GuardianPhone identity.Phone
	RequestedAt   time.Time
	VerifiedAt    time.Time
	// Deadline is when an account still without a verified consent is
	// deleted; zero when that cannot happen.
	Deadline time.Time
}

// GuardianStatus returns the guardian state of the caller's account.
func (m *Minors) GuardianStatus(ctx context.Context, u identity.User) (GuardianStatus, error) {
	gs := GuardianStatus{Band: u.AgeBand, Required: u.AgeBand == identity.AgeUnder14}
	if !gs.Required {
		return gs, nil
	}
	g, err := m.store.GuardianConsent(ctx, u.ID)
	switch {
	case yuncan.ErrorCode(err) == yuncan.NotFound:
	case err != nil:
		return gs, fmt.Errorf("consent: guardian status: %w", err)
	default:
		phone, err := m.keys.Open("guardian_consents.guardian_phone", g.GuardianPhoneSealed)
		if err != nil {
			return gs, fmt.Errorf("consent: guardian status %s: %w", u.ID, err)
		}
		gs.GuardianPhone, gs.RequestedAt, gs.VerifiedAt = identity.Phone(phone), g.RequestedAt, g.VerifiedAt
	}
	if gs.VerifiedAt.IsZero() {
		gs.Deadline = u.CreatedAt.Add(m.cfg.GuardianDeadline)
	}
	return gs, nil
}

// checkUnder14 refuses the guardian steps to accounts that need none, that
// have one already or whose time ran out.
func (m *Minors) checkUnder14(ctx context.Context, u identity.User) error {
	if u.AgeBand != identity.AgeUnder14 {
		return yuncan.Errorf(yuncan.Conflict, "only an account under 14 needs a guardian's consent").WithReason("guardian_not_required")
	}
	st, err := m.store.MinorStatus(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("consent: guardian: %w", err)
	}
	if !st.GuardianVerifiedAt.IsZero() {
		return yuncan.Errorf(yuncan.Conflict, "a guardian's consent is verified already").WithReason("guardian_already_verified")
	}
	if !m.now().Before(u.CreatedAt.Add(m.cfg.GuardianDeadline)) {
		return yuncan.Errorf(yuncan.Conflict, "the time for a guardian's consent has run out; the account is being deleted").WithReason("guardian_deadline_passed")
	}
	return nil
}

// phoneField parses a number given in field, naming that field when it is
// wrong.
func phoneField(field, s string) (identity.Phone, error) {
	p, err := identity.ParsePhone(s)
	if err == nil {
		return p, nil
	}
	e := yuncan.AsError(err)
	out := &yuncan.Error{Code: e.Code, Reason: e.Reason, Message: strings.Replace(e.Message, "phone", field, 1), Err: e.Err}
	for _, problem := range e.Fields {
		out.WithField(field, problem)
	}
	return "", out
}

// RequestGuardian sends a code to the guardian's phone; the child's
// account gives it back through VerifyGuardian. The guardian's number
// must not be the child's own. Asking again replaces the pending
// guardian.
func (m *Minors) RequestGuardian(ctx context.Context, u identity.User, guardianPhone, clientIP string) (GuardianStatus, error) {
	if err := m.checkUnder14(ctx, u); err != nil {
		return GuardianStatus{}, err
	}
	p, err := phoneField("guardian_phone", guardianPhone)
	if err != nil {
		return GuardianStatus{}, err
	}
	if p == u.Phone {
		return GuardianStatus{}, yuncan.FieldError("guardian_phone", "must be the guardian's own number, not the account's").WithReason("guardian_phone_same")
	}
	g := GuardianConsent{UserID: u.ID, GuardianPhoneSealed: m.keys.Seal("guardian_consents.guardian_phone", []byte(p)),
		GuardianPhoneIndex: m.keys.BlindIndex("phone", string(p)), RequestedAt: m.now()}
	if err := m.store.RequestGuardian(ctx, g); err != nil {
		if yuncan.ErrorCode(err) == yuncan.Conflict {
			return GuardianStatus{}, yuncan.Errorf(yuncan.Conflict, "a guardian's consent is verified already").WithReason("guardian_already_verified")
		}
		return GuardianStatus{}, fmt.Errorf("consent: request guardian: %w", err)
	}
	if err := m.ids.SendCodeFor(ctx, identity.CodeGuardian, string(p), clientIP); err != nil {
		return GuardianStatus{}, renamePhoneField(err)
	}
	return m.GuardianStatus(ctx, u)
}

// renamePhoneField names guardian_phone in an error about "phone".
func renamePhoneField(err error) error {
	var e *yuncan.Error
	if !errors.As(err, &e) || e.Fields["phone"] == "" {
		return err
	}
	out := *e
	out.Fields = map[string]string{"guardian_phone": e.Fields["phone"]}
	return &out
}

// VerifyGuardian checks the code the guardian received and records the
// guardian's consent (who: the guardian's number; when; how: the code).
// From then on the child's optional purposes can be granted.
func (m *Minors) VerifyGuardian(ctx context.Context, u identity.User, code string) (GuardianStatus, error) {
	if err := m.checkUnder14(ctx, u); err != nil {
		return GuardianStatus{}, err
	}
	g, err := m.store.GuardianConsent(ctx, u.ID)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return GuardianStatus{}, yuncan.Errorf(yuncan.Conflict, "send a code to the guardian's phone first").WithReason("guardian_not_requested")
	}
	if err != nil {
		return GuardianStatus{}, fmt.Errorf("consent: verify guardian: %w", err)
	}
	phone, err := m.keys.Open("guardian_consents.guardian_phone", g.GuardianPhoneSealed)
	if err != nil {
		return GuardianStatus{}, fmt.Errorf("consent: verify guardian %s: %w", u.ID, err)
	}
	if err := m.ids.CheckCodeFor(ctx, identity.CodeGuardian, string(phone), code); err != nil {
		return GuardianStatus{}, err
	}
	err = m.store.VerifyGuardian(ctx, u.ID, g.GuardianPhoneIndex, "sms_code", m.now())
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return GuardianStatus{}, yuncan.Errorf(yuncan.Conflict, "the guardian changed meanwhile; send a new code").WithReason("guardian_changed")
	}
	if err != nil {
		return GuardianStatus{}, fmt.Errorf("consent: verify guardian: %w", err)
	}
	m.known.forget(u.ID)
	if m.logger != nil {
		m.logger.InfoContext(ctx, "minors: guardian consent verified", slog.String("user_id", u.ID))
	}
	return m.GuardianStatus(ctx, u)
}

// ExpireRequests applies the policy data's retention to guardian
// requests kept in their own table (older ones; new ones are tickets):
// the client-address index after its day, the request after its legal
// period (P51). A job.
func (m *Minors) ExpireRequests(ctx context.Context) error {
	now := m.now()
	dm := m.consent.dm
	if err := m.store.ExpireGuardianRequests(ctx, now.Add(-dm.RetentionOf("network")), now.Add(-dm.RetentionOf("guardian_request"))); err != nil {
		return fmt.Errorf("consent: expire guardian requests: %w", err)
	}
	return nil
}

// DeleteUnverified deletes the accounts under 14 whose guardian consent
// was not verified within the deadline, with their data: the avatar file,
// the consent ledger, then the account (its sessions, policy acceptances
// and guardian record go with it). The account goes last, so that a run
// cut short finds it again and finishes. It is the hourly minors.expire
// job.
func (m *Minors) DeleteUnverified(ctx context.Context) error {
	const batch = 100
	var errs []error
	for {
		ids, err := m.store.UnverifiedUnder14(ctx, m.now().Add(-m.cfg.GuardianDeadline), batch)
		if err != nil {
			return fmt.Errorf("consent: minors expire: %w", err)
		}
		deleted := 0
		for _, id := range ids {
			if err := m.deleteAccount(ctx, id); err != nil {
				errs = append(errs, err)
				continue
			}
			deleted++
		}
		if len(ids) < batch || deleted == 0 {
			return errors.Join(errs...)
		}
	}
}

func (m *Minors) deleteAccount(ctx context.Context, id string) error {
	u, err := m.ids.User(ctx, id)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("consent: delete minor %s: %w", id, err)
	}
	if u.AvatarKey != "" {
		if err := m.media.Delete(ctx, u.AvatarKey); err != nil {
			return fmt.Errorf("consent: delete minor %s: avatar: %w", id, err)
		}
	}
	sub := User(id)
	if err := m.ledger.EraseSubject(ctx, sub); err != nil {
		return fmt.Errorf("consent: delete minor %s: ledger: %w", id, err)
	}
	m.consent.cache.invalidate(sub)
	if err := m.ids.DeleteUser(ctx, id); err != nil && yuncan.ErrorCode(err) != yuncan.NotFound {
		return fmt.Errorf("consent: delete minor %s: %w", id, err)
	}
	m.known.forget(id)
	if m.logger != nil {
		m.logger.InfoContext(ctx, "minors: deleted an account under 14 without a verified guardian consent", slog.String("user_id", id))
	}
	return nil
}

// GuardianRequestInput is a guardian's request as sent.
type GuardianRequestInput struct {
	GuardianPhone string
	MinorPhone    string
	Kind          string
	Message       string
}

// MaxGuardianMessage bounds a request's message, in characters.
const MaxGuardianMessage = 2000

// GuardianRequest is what the holder of a request's id sees of it.
type GuardianRequest struct {
	ID        string
	Kind      GuardianRequestKind
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (r GuardianRequestRecord) view() GuardianRequest {
	return GuardianRequest{ID: r.ID, Kind: r.Kind, Status: r.Status, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// FileGuardianRequest records a guardian's request about a minor's
// information (policy 7c, P71). No login is needed: a guardian may have
// no account. Whether the minor has an account is not told. The id it
// returns is random and is the only way to see the request again.
func (m *Minors) FileGuardianRequest(ctx context.Context, in GuardianRequestInput, clientIP string) (GuardianRequest, error) {
	e := yuncan.Errorf(yuncan.Invalid, "the request has invalid fields")
	guardian, err := phoneField("guardian_phone", in.GuardianPhone)
	if err != nil {
		e.WithField("guardian_phone", yuncan.AsError(err).Fields["guardian_phone"])
	}
	minor, err := phoneField("minor_phone", in.MinorPhone)
	if err != nil {
		e.WithField("minor_phone", yuncan.AsError(err).Fields["minor_phone"])
	}
	if guardian != "" && guardian == minor {
		e.WithField("minor_phone", "must differ from the guardian's number")
	}
	kind := GuardianRequestKind(in.Kind)
	if !kind.Valid() {
		e.WithField("kind", "must be access, correction, deletion or other")
	}
	if msg := checkMessage(in.Message, kind == RequestOther); msg != "" {
		e.WithField("message", msg)
	}
	if len(e.Fields) > 0 {
		return GuardianRequest{}, e
	}
	now := m.now()
	ipIdx := m.keys.BlindIndex("ip", clientIP)
	n, err := m.store.CountGuardianRequestsForIPSince(ctx, ipIdx, now.Add(-time.Hour))
	if err != nil {
		return GuardianRequest{}, fmt.Errorf("consent: guardian request: %w", err)
	}
	if n >= m.cfg.RequestsPerIPHour {
		return GuardianRequest{}, &yuncan.Error{Code: yuncan.RateLimited, Message: "too many requests were sent from this network; try again later", RetryAfter: 10 * time.Minute}
	}
	r := GuardianRequestRecord{
		// A version 4 UUID: 122 random bits, so the id cannot be guessed.
		ID:                  uuid.New().String(),
		GuardianPhoneSealed: m.keys.Seal("guardian_requests.guardian_phone", []byte(guardian)),
		GuardianPhoneIndex:  m.keys.BlindIndex("phone", string(guardian)),
		MinorPhoneSealed:    m.keys.Seal("guardian_requests.minor_phone", []byte(minor)),
		MinorPhoneIndex:     m.keys.BlindIndex("phone", string(minor)),
		Kind:                kind,
		MessageSealed:       m.keys.Seal("guardian_requests.message", []byte(in.Message)),
		Status:              RequestReceived,
		IPIndex:             ipIdx,
		CreatedAt:           now,
		UpdatedAt:           now,
	}
	if err := m.store.CreateGuardianRequest(ctx, r); err != nil {
		return GuardianRequest{}, fmt.Errorf("consent: guardian request: %w", err)
	}
	if m.logger != nil {
		// Not the id: it is the requester's key to the request.
		m.logger.InfoContext(ctx, "minors: guardian request received", slog.String("kind", string(kind)))
	}
	return r.view(), nil
}

// checkMessage returns what is wrong with a request's message, or "".
func checkMessage(s string, required bool) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.TrimSpace(s) == "":
		if required {
			return "is required for kind other"
		}
		return ""
	case utf8.RuneCountInString(s) > MaxGuardianMessage:
		return "is longer than the limit"
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }):
		return "contains control characters"
	}
	return ""
}

// GuardianRequest returns the request with id to the holder of the id.
// NotFound for any id that is not one.
func (m *Minors) GuardianRequest(ctx context.Context, id string) (GuardianRequest, error) {
	notFound := yuncan.Errorf(yuncan.NotFound, "there is no request with this id")
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return GuardianRequest{}, notFound
	}
	r, err := m.store.GuardianRequest(ctx, strings.ToLower(id))
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return GuardianRequest{}, notFound
	}
	if err != nil {
		return GuardianRequest{}, fmt.Errorf("consent: guardian request: %w", err)
	}
	return r.view(), nil
}
