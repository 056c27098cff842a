package seeking

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/audit"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/media"
)

// Config holds the seeking rules an operator may tune; zero values take
// the defaults.
type Config struct {
	CluesPerHour    int     // 10 clues an hour from one account
	CluesPerDay     int     // 50 clues a day from one account
	MessagesPerHour int     // 60 relay messages an hour from one account
	MaxCasePhotos   int     // 9 photos a case
	MaxCluePhotos   int     // 6 photos a clue
	MaxRadiusKm     float64 // 1000 km for "near a point"
	MaxFeed         int     // 1000 cases in the GeoJSON feed
	// MaxCandidates bounds the cases read for one "near a point" query.
	MaxCandidates int // 5000
}

func (c Config) withDefaults() Config {
	defInt := func(d *int, v int) {
		if *d == 0 {
			*d = v
		}
	}
	defInt(&c.CluesPerHour, 10)
	defInt(&c.CluesPerDay, 50)
	defInt(&c.MessagesPerHour, 60)
	defInt(&c.MaxCasePhotos, 9)
	defInt(&c.MaxCluePhotos, 6)
	defInt(&c.MaxFeed, 1000)
	defInt(&c.MaxCandidates, 5000)
	if c.MaxRadiusKm == 0 {
		c.MaxRadiusKm = 1000
	}
	return c
}

// RealNames tells whether an account is real-name verified
// (identity.Service).
type RealNames interface {
	RealNameVerified(ctx context.Context, userID string) (bool, error)
}

// Gate is the consent gate (consent.Service).
type Gate interface {
	Require(ctx context.Context, sub consent.Subject, p consent.Purpose) error
}

// Publisher is told about the moments alerts start from: a case
// published, a clue verified (a new centre), a case resolved (every
// recipient gets the resolution). The alerts area implements it; nil
// means no alerts. Its errors are logged: the change they follow is
// already committed.
type Publisher interface {
	CasePublished(ctx context.Context, c Case) error
	ClueVerified(ctx context.Context, c Case, cl Clue) error
	CaseResolved(ctx context.Context, c Case) error
}

// Deps are what the service works with.
type Deps struct {
	Store     Store
	RealNames RealNames
	Gate      Gate
	Media     media.Store
	Keys      *keyring.Keyring
	// Publisher may be nil.
	Publisher Publisher
	// Reach counts a case's alerts for its reach figures; nil counts none.
	Reach AlertReach
	// Audit is the audit log staff reads and actions go to (P52); nil
	// means a log over Store.
	Audit *audit.Log
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service carries out the seeking rules.
type Service struct {
	store  Store
	names  RealNames
	gate   Gate
	media  media.Store
	keys   *keyring.Keyring
	pub    Publisher
	reach  AlertReach
	log    *audit.Log
	now    func() time.Time
	cfg    Config
	logger *slog.Logger
}

// NewService returns the seeking service.
func NewService(d Deps, cfg Config) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Audit == nil {
		d.Audit = audit.NewLog(d.Store, d.Now)
	}
	return &Service{log: d.Audit, store: d.Store, names: d.RealNames, gate: d.Gate, media: d.Media, keys: d.Keys, pub: d.Publisher, reach: d.Reach,
		now: d.Now, cfg: cfg.withDefaults(), logger: d.Logger}
}

// Config returns the rules in force, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Seal contexts: where each sealed value lives.
const (
	sealPoint        = "cases.last_seen_point"
	sealRelationship = "cases.reporter_relationship"
	sealContact      = "cases.reporter_contact"
	sealReceipt      = "cases.police_receipt"
	sealVerifyNote   = "cases.verification_note"
	sealClueText     = "clues.text"
	sealCluePoint    = "clues.point"
	sealCluePlace    = "clues.place_name"
	sealMessage      = "relay_messages.text"
)

var (
	errUnauthenticated = &yuncan.Error{Code: yuncan.Unauthenticated, Message: "log in first"}
	errCaseNotFound    = yuncan.Errorf(yuncan.NotFound, "no such case")
)

// who is a viewer with what their account may do here.
type who struct {
	v         Viewer
	moderator bool
	police    bool // staff of a partner police organisation
	orgs      []Org
}

// staff reports whether w sees private fields (moderators, admins and
// partner police).
func (w who) staff() bool { return w.moderator || w.police }

func (s *Service) who(ctx context.Context, v Viewer) (who, error) {
	w := who{v: v, moderator: v.Moderator()}
	if v.Anonymous() {
		return w, nil
	}
	orgs, err := s.store.OrgsOfUser(ctx, v.UserID)
	if err != nil {
		return w, fmt.Errorf("seeking: organisations of %s: %w", v.UserID, err)
	}
	w.orgs = orgs
	for _, o := range orgs {
		if o.Kind == OrgPolice {
			w.police = true
		}
	}
	return w, nil
}

// access decides what w may see of a case. What a viewer may not see
// does not exist for them.
func access(w who, r CaseRecord) Access {
	if !w.v.Anonymous() && r.ReporterID == w.v.UserID {
		return AccessReporter
	}
	// Staff see a case once it was submitted; a draft is the reporter's
	// own work.
	if w.staff() && !r.SubmittedAt.IsZero() {
		return AccessStaff
	}
	switch {
	case r.Status == StatusPublished:
		return AccessPublic
	case r.Status == StatusFoundSafePrivate:
		// Found safe and does not want to be contacted: gone for the
		// public.
		return AccessNone
	case r.Status.Resolved() && !r.PublishedAt.IsZero():
		// Resolved: the public keeps only that it was resolved.
		return AccessRedacted
	}
	return AccessNone
}

// caseFor loads a case and what w may see of it; NotFound when nothing.
func (s *Service) caseFor(ctx context.Context, v Viewer, id string) (CaseRecord, who, Access, error) {
	if len(id) > 64 {
		return CaseRecord{}, who{}, AccessNone, errCaseNotFound
	}
	rec, err := s.store.CaseByID(ctx, id)
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return CaseRecord{}, who{}, AccessNone, errCaseNotFound
	}
	if err != nil {
		return CaseRecord{}, who{}, AccessNone, fmt.Errorf("seeking: case %s: %w", id, err)
	}
	w, err := s.who(ctx, v)
	if err != nil {
		return CaseRecord{}, who{}, AccessNone, err
	}
	a := access(w, rec)
	if a == AccessNone {
		return CaseRecord{}, who{}, AccessNone, errCaseNotFound
	}
	return rec, w, a, nil
}

// open turns a record into a case (private fields stay sealed).
func (s *Service) open(r CaseRecord) (Case, error) {
	b, err := s.keys.Open(sealPoint, r.PointSealed)
	if err != nil {
		return Case{}, fmt.Errorf("seeking: case %s: %w", r.ID, err)
	}
	lat, lng, err := decodePoint(b)
	if err != nil {
		return Case{}, fmt.Errorf("seeking: case %s: %w", r.ID, err)
	}
	return Case{ID: r.ID, ReporterID: r.ReporterID, OrgID: r.OrgID, Status: r.Status, Category: r.Category, Person: r.Person,
		LastSeen:   LastSeen{At: r.LastSeenAt, Lat: lat, Lng: lng, PlaceName: r.LastSeenPlace},
		VerifiedAt: r.VerifiedAt, HasPoliceReceipt: r.ReceiptSealed != "", StatusReason: r.StatusReason,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, SubmittedAt: r.SubmittedAt, PublishedAt: r.PublishedAt, ResolvedAt: r.ResolvedAt}, nil
}

func (s *Service) openPrivate(r CaseRecord) (Private, error) {
	var p Private
	for _, f := range []struct {
		ctx, sealed string
		to          *string
	}{{sealRelationship, r.RelationshipSealed, &p.Relationship}, {sealContact, r.ContactSealed, &p.ContactPhone}, {sealReceipt, r.ReceiptSealed, &p.PoliceReceipt}} {
		if f.sealed == "" {
			continue
		}
		b, err := s.keys.Open(f.ctx, f.sealed)
		if err != nil {
			return Private{}, fmt.Errorf("seeking: private fields of case %s: %w", r.ID, err)
		}
		*f.to = string(b)
	}
	return p, nil
}

// view builds what w sees of a case at access a. light leaves out the
// history and private fields (lists).
func (s *Service) view(ctx context.Context, r CaseRecord, a Access, light bool) (CaseView, error) {
	if a == AccessRedacted {
		// P15: the public view of a case never holds the reporter's
		// phone, account or private fields; once resolved, not even the
		// missing person's name, photo, description or place stays.
		return CaseView{Access: a, Case: Case{ID: r.ID, Status: r.Status, Category: r.Category,
			PublishedAt: r.PublishedAt, ResolvedAt: r.ResolvedAt, UpdatedAt: r.UpdatedAt}}, nil
	}
	c, err := s.open(r)
	if err != nil {
		return CaseView{}, err
	}
	if c.Photos, err = s.store.CasePhotos(ctx, r.ID); err != nil {
		return CaseView{}, fmt.Errorf("seeking: photos of case %s: %w", r.ID, err)
	}
	v := CaseView{Case: c, Access: a}
	if r.OrgID != "" {
		o, err := s.store.OrgByID(ctx, r.OrgID)
		if err != nil && yuncan.ErrorCode(err) != yuncan.NotFound {
			return CaseView{}, fmt.Errorf("seeking: organisation of case %s: %w", r.ID, err)
		}
		if err == nil {
			v.Org = &o
		}
	}
	if a == AccessPublic {
		// The public sees the record, not the workings.
		v.ReporterID, v.StatusReason, v.VerifiedAt, v.HasPoliceReceipt = "", "", time.Time{}, false
		v.CreatedAt, v.SubmittedAt = time.Time{}, time.Time{}
		return v, nil
	}
	if light {
		return v, nil
	}
	if v.History, err = s.store.CaseEvents(ctx, r.ID); err != nil {
		return CaseView{}, fmt.Errorf("seeking: history of case %s: %w", r.ID, err)
	}
	if a == AccessReporter {
		p, err := s.openPrivate(r)
		if err != nil {
			return CaseView{}, err
		}
		v.Private = &p
	}
	return v, nil
}

// Case returns what v may see of a case; NotFound when nothing.
func (s *Service) Case(ctx context.Context, v Viewer, id string) (CaseView, error) {
	r, _, a, err := s.caseFor(ctx, v, id)
	if err != nil {
		return CaseView{}, err
	}
	return s.view(ctx, r, a, false)
}

// mayPublish is who-may-publish: a real-name verified account (P10), or
// staff of a partner police organisation or rescue station. orgID, when
// set, must be an organisation the account is staff of.
func (s *Service) mayPublish(ctx context.Context, w who, orgID string) error {
	if orgID != "" {
		found := false
		for _, o := range w.orgs {
			if o.ID == orgID {
				found = true
			}
		}
		if !found {
			return yuncan.Errorf(yuncan.Forbidden, "you are not staff of that organisation").WithReason("not_org_staff").WithField("org_id", "is not an organisation you are staff of")
		}
	}
	for _, o := range w.orgs {
		if o.Kind.MayPublish() && (orgID == "" || o.ID == orgID) {
			return nil
		}
	}
	// P10: publishing a case is tied to a real name; an unverified
	// account can still browse cases and send clues.
	ok, err := s.names.RealNameVerified(ctx, w.v.UserID)
	if err != nil {
		return fmt.Errorf("seeking: who may publish: %w", err)
	}
	if !ok {
		return identity.RealNameRequired()
	}
	return nil
}

// seal writes the input into the record, sealing what is private.
func (s *Service) seal(r *CaseRecord, in CaseInput) {
	r.Category, r.Person, r.OrgID = in.Category, in.Person, in.OrgID
	if r.Person.AlternateNames == nil {
		r.Person.AlternateNames = []string{}
	}
	r.LastSeenAt, r.LastSeenPlace = in.LastSeen.At.UTC(), in.LastSeen.PlaceName
	r.PointSealed = s.keys.Seal(sealPoint, encodePoint(in.LastSeen.Lat, in.LastSeen.Lng))
	r.AreaLat, r.AreaLng = areaOf(in.LastSeen.Lat), areaOf(in.LastSeen.Lng)
	r.RelationshipSealed = s.keys.Seal(sealRelationship, []byte(in.Private.Relationship))
	r.ContactSealed = s.keys.Seal(sealContact, []byte(in.Private.ContactPhone))
	r.ReceiptSealed = ""
	if in.Private.PoliceReceipt != "" {
		r.ReceiptSealed = s.keys.Seal(sealReceipt, []byte(in.Private.PoliceReceipt))
	}
}

// CreateCase creates a draft case reported by v. Only someone who may
// publish may start one (P10: 403 real_name_required otherwise).
func (s *Service) CreateCase(ctx context.Context, v Viewer, in CaseInput) (CaseView, error) {
	if v.Anonymous() {
		return CaseView{}, errUnauthenticated
	}
	now := s.now()
	if err := in.Validate(now); err != nil {
		return CaseView{}, err
	}
	w, err := s.who(ctx, v)
	if err != nil {
		return CaseView{}, err
	}
	if err := s.mayPublish(ctx, w, in.OrgID); err != nil {
		return CaseView{}, err
	}
	r := CaseRecord{ID: newID(), ReporterID: v.UserID, Status: StatusDraft, CreatedAt: now, UpdatedAt: now}
	s.seal(&r, in)
	ev := Event{ID: newID(), CaseID: r.ID, At: now, ActorID: v.UserID, ActorRole: ActorReporter, To: StatusDraft}
	if err := s.store.CreateCase(ctx, r, ev); err != nil {
		return CaseView{}, fmt.Errorf("seeking: create case: %w", err)
	}
	return s.view(ctx, r, AccessReporter, false)
}

// errNotEditable: only drafts change.
func errNotEditable(st Status) error {
	return yuncan.Errorf(yuncan.Conflict, "a case can be changed only while it is a draft; it is %s", st).WithReason("not_editable")
}

// editable loads a case v reported that is still a draft.
func (s *Service) editable(ctx context.Context, v Viewer, id string) (CaseRecord, who, error) {
	if v.Anonymous() {
		return CaseRecord{}, who{}, errUnauthenticated
	}
	r, w, a, err := s.caseFor(ctx, v, id)
	if err != nil {
		return CaseRecord{}, who{}, err
	}
	if a != AccessReporter {
		return CaseRecord{}, who{}, yuncan.Errorf(yuncan.Forbidden, "only the reporter may change a case").WithReason("not_reporter")
	}
	if r.Status != StatusDraft {
		return CaseRecord{}, who{}, errNotEditable(r.Status)
	}
	return r, w, nil
}

// UpdateCase replaces the fields of a draft v reported.
func (s *Service) UpdateCase(ctx context.Context, v Viewer, id string, in CaseInput) (CaseView, error) {
	r, w, err := s.editable(ctx, v, id)
	if err != nil {
		return CaseView{}, err
	}
	now := s.now()
	if err := in.Validate(now); err != nil {
		return CaseView{}, err
	}
	if err := s.mayPublish(ctx, w, in.OrgID); err != nil {
		return CaseView{}, err
	}
	s.seal(&r, in)
	r.UpdatedAt = now
	if err := s.store.UpdateCase(ctx, r, StatusDraft); err != nil {
		if yuncan.ErrorCode(err) == yuncan.Conflict {
			return CaseView{}, errNotEditable("no longer a draft")
		}
		return CaseView{}, fmt.Errorf("seeking: update case %s: %w", id, err)
	}
	return s.view(ctx, r, AccessReporter, false)
}

// MyCases lists the cases v reported, newest first.
func (s *Service) MyCases(ctx context.Context, v Viewer) ([]CaseView, error) {
	if v.Anonymous() {
		return nil, errUnauthenticated
	}
	rs, err := s.store.CasesByReporter(ctx, v.UserID)
	if err != nil {
		return nil, fmt.Errorf("seeking: cases of %s: %w", v.UserID, err)
	}
	out := make([]CaseView, 0, len(rs))
	for _, r := range rs {
		cv, err := s.view(ctx, r, AccessReporter, true)
		if err != nil {
			return nil, err
		}
		out = append(out, cv)
	}
	return out, nil
}

// PrivateView is a case's private fields with the moderator's note.
type PrivateView struct {
	Private
	VerificationNote string
	VerifiedAt       time.Time
}

// CasePrivate returns the private fields of a case to its reporter, or to
// staff after writing the read to the audit log (P52). Anyone else gets
// NotFound. reason is the staff member's stated reason, kept in the log.
func (s *Service) CasePrivate(ctx context.Context, v Viewer, id, reason string) (PrivateView, error) {
	if v.Anonymous() {
		return PrivateView{}, errUnauthenticated
	}
	if err := checkAuditReason(reason); err != nil {
		return PrivateView{}, err
	}
	r, _, a, err := s.caseFor(ctx, v, id)
	if err != nil {
		return PrivateView{}, err
	}
	switch a {
	case AccessReporter:
	case AccessStaff:
		// P52: a staff read of personal data needs a role and leaves an
		// audit record, written before anything is shown.
		if err := s.audit(ctx, v, AuditCasePrivateRead, "case", r.ID, reason); err != nil {
			return PrivateView{}, err
		}
	default:
		return PrivateView{}, errCaseNotFound
	}
	p, err := s.openPrivate(r)
	if err != nil {
		return PrivateView{}, err
	}
	out := PrivateView{Private: p, VerifiedAt: r.VerifiedAt}
	if r.VerificationNoteSealed != "" {
		b, err := s.keys.Open(sealVerifyNote, r.VerificationNoteSealed)
		if err != nil {
			return PrivateView{}, fmt.Errorf("seeking: verification note of case %s: %w", r.ID, err)
		}
		out.VerificationNote = string(b)
	}
	return out, nil
}

// checkAuditReason checks the reason staff give for a read.
func checkAuditReason(reason string) error {
	if reason == "" {
		return nil
	}
	if msg := checkText(reason, MaxReason, true); msg != "" {
		return yuncan.FieldError("reason", msg)
	}
	return nil
}

// audit appends one staff read or action to the audit log. Reads are
// written before anything is shown; an action right after it commits.
func (s *Service) audit(ctx context.Context, v Viewer, action, kind, id, reason string) error {
	if _, err := s.log.Append(ctx, audit.Record{ActorID: v.UserID, ActorRole: v.Role, Action: action,
		TargetKind: kind, TargetID: id, Reason: reason}); err != nil {
		return fmt.Errorf("seeking: %w", err)
	}
	return nil
}

// AuditEventsFor lists the latest 500 audit entries about a target,
// oldest first, for admins (and tests).
func (s *Service) AuditEventsFor(ctx context.Context, v Viewer, kind, id string) ([]audit.Entry, error) {
	p, err := s.log.List(ctx, audit.Actor{UserID: v.UserID, Role: v.Role}, audit.Filter{TargetKind: kind, TargetID: id, Limit: 500})
	slices.Reverse(p.Entries)
	return p.Entries, err
}

// randomHex returns n random bytes, hex encoded, for media keys.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// encodePoint and decodePoint are the plaintext form of a sealed point:
// "lat,lng" to about a metre.
func encodePoint(lat, lng float64) []byte {
	return []byte(strconv.FormatFloat(lat, 'f', 6, 64) + "," + strconv.FormatFloat(lng, 'f', 6, 64))
}

func decodePoint(b []byte) (float64, float64, error) {
	a, c, ok := strings.Cut(string(b), ",")
	if !ok {
		return 0, 0, fmt.Errorf("malformed point")
	}
	lat, err1 := strconv.ParseFloat(a, 64)
	lng, err2 := strconv.ParseFloat(c, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("malformed point")
	}
	return lat, lng, nil
}

// rateLimited is a RateLimited error whose RetryAfter is when the oldest
// counted event leaves the window.
func rateLimited(msg string, oldest time.Time, window time.Duration, now time.Time) error {
	wait := oldest.Add(window).Sub(now)
	if wait < time.Second {
		wait = time.Second
	}
	return &yuncan.Error{Code: yuncan.RateLimited, Reason: "rate_limited", Message: msg, RetryAfter: wait.Round(time.Second) + time.Second}
}
