package notify

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/yuncan/yuncan"
)

// Subject is whose inbox: an account, or a device without one (P04). The
// kinds and ids are those of consent.Subject; notify cannot import consent
// (identity, below consent, sends its SMS through this package).
type Subject struct {
	Kind string // SubjectUser or SubjectDevice
	ID   string
}

// Subject kinds.
const (
	SubjectUser   = "user"
	SubjectDevice = "device"
)

// User is the subject for an account.
func User(id string) Subject { return Subject{Kind: SubjectUser, ID: id} }

// Device is the subject for a device without an account.
func Device(id string) Subject { return Subject{Kind: SubjectDevice, ID: id} }

// LogValue logs the kind and id.
func (s Subject) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kind", s.Kind), slog.String("id", s.ID))
}

// Kind is what a notification is about. Shields and the marketing gate go
// by it.
type Kind string

// Notification kinds.
const (
	KindSeekingAlert      Kind = "seeking_alert"
	KindSeekingResolution Kind = "seeking_resolution"
	KindPolicyUpdated     Kind = "policy_updated"
	KindSecurity          Kind = "security"
	// KindMarketing goes out only with the marketing_push consent (P60).
	KindMarketing Kind = "marketing"
)

var kinds = []Kind{KindSeekingAlert, KindSeekingResolution, KindPolicyUpdated, KindSecurity, KindMarketing, "ticket_reply" /* tickets.NotifyKind */}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return slices.Contains(kinds, k) }

// shieldable tells the kinds a person may switch off with the "X": the
// law asks that security notices and policy changes reach everyone.
func (k Kind) shieldable() bool { return k != KindSecurity && k != KindPolicyUpdated }

// Data is what a notification carries beside its text: what it is about,
// and "why you got this" (which ring of an alert, roughly how far away).
type Data struct {
	CaseID string `json:"case_id,omitempty"`
	// Ring is the alert ring that reached the recipient, from 1; 0 none.
	Ring int `json:"ring,omitempty"`
	// DistanceKM is roughly how far the recipient was, rounded up to
	// whole kilometres; 0 unknown.
	DistanceKM int `json:"distance_km,omitempty"`
	// Link is the path in the app or site that opens it.
	Link string `json:"link,omitempty"`
}

// Notification is one item of a subject's inbox.
type Notification struct {
	ID        string
	Recipient Subject
	Kind      Kind
	// DedupeKey is unique per recipient ("alert:<case>:<recipient>"): a
	// delivery repeated after a crash finds the first one.
	DedupeKey   string
	Title       string
	Body        string
	Data        Data
	CreatedAt   time.Time
	ReadAt      time.Time // zero while unread
	OpenedAt    time.Time // zero until opened: reach figures count it
	DismissedAt time.Time // zero unless the "X" was pressed
}

// LogValue logs ids and kind, never the text.
func (n Notification) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", n.ID), slog.String("kind", string(n.Kind)),
		slog.Any("recipient", n.Recipient), slog.String("case_id", n.Data.CaseID))
}

// Limits on what a notification holds: a push payload must fit in 4 KB
// once encrypted.
const (
	maxTitle     = 80
	maxBody      = 500
	maxDedupeKey = 200
	maxLink      = 300
)

// Validate checks a notification before it is delivered.
func (n Notification) Validate() error {
	switch {
	case n.Recipient.Kind != SubjectUser && n.Recipient.Kind != SubjectDevice || n.Recipient.ID == "":
		return yuncan.FieldError("recipient", "must be an account or a device")
	case !n.Kind.Valid():
		return yuncan.FieldError("kind", "is not a known kind")
	case n.DedupeKey == "" || len(n.DedupeKey) > maxDedupeKey:
		return yuncan.FieldError("dedupe_key", fmt.Sprintf("must have 1 to %d bytes", maxDedupeKey))
	case strings.TrimSpace(n.Title) == "" || utf8.RuneCountInString(n.Title) > maxTitle:
		return yuncan.FieldError("title", fmt.Sprintf("must have 1 to %d characters", maxTitle))
	case utf8.RuneCountInString(n.Body) > maxBody:
		return yuncan.FieldError("body", fmt.Sprintf("must have at most %d characters", maxBody))
	case n.Data.Ring < 0 || n.Data.DistanceKM < 0:
		return yuncan.FieldError("data", "ring and distance must not be negative")
	case len(n.Data.CaseID) > 64:
		return yuncan.FieldError("data.case_id", "is too long")
	case n.Data.Link != "" && (!strings.HasPrefix(n.Data.Link, "/") || strings.HasPrefix(n.Data.Link, "//") || len(n.Data.Link) > maxLink):
		return yuncan.FieldError("data.link", "must be a path on this site")
	}
	return nil
}

// Position is a place in a subject's inbox, in the order notifications
// were created. The live stream uses it as the event id, the list as its
// cursor.
type Position struct {
	At time.Time
	ID string
}

// PositionOf is the place of n.
func PositionOf(n Notification) Position { return Position{At: n.CreatedAt, ID: n.ID} }

// IsZero reports the beginning of the inbox.
func (p Position) IsZero() bool { return p.At.IsZero() && p.ID == "" }

// String encodes p as an opaque URL-safe token.
func (p Position) String() string {
	b := make([]byte, 8, 8+len(p.ID))
	var n int64
	if !p.At.IsZero() {
		n = p.At.UnixNano()
	}
	binary.BigEndian.PutUint64(b, uint64(n))
	return base64.RawURLEncoding.EncodeToString(append(b, p.ID...))
}

// ParsePosition decodes a token from Position.String; "" is the zero
// position.
func ParsePosition(s string) (Position, error) {
	if s == "" {
		return Position{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 8 || len(b) > 8+64 || !utf8.Valid(b[8:]) {
		return Position{}, yuncan.FieldError("cursor", "is not a cursor this service gave")
	}
	n := int64(binary.BigEndian.Uint64(b))
	var at time.Time
	if n != 0 {
		at = time.Unix(0, n).UTC()
	}
	return Position{At: at, ID: string(b[8:])}, nil
}

// Reason is why a person pressed the "X" on a notification (P56). Each
// reason shields pushes of the same kind along one dimension.
type Reason string

// Reasons.
const (
	// ReasonNotInterested and ReasonSeenAlready shield further pushes of
	// the kind about the same case.
	ReasonNotInterested Reason = "not_interested"
	ReasonSeenAlready   Reason = "seen_already"
	// ReasonNotNearby shields pushes of the kind from as far away or
	// farther.
	ReasonNotNearby Reason = "not_nearby"
	// ReasonTooFrequent holds pushes of the kind while one came within
	// the frequency window.
	ReasonTooFrequent Reason = "too_frequent"
	// ReasonKind shields the whole kind.
	ReasonKind Reason = "kind"
)

var reasons = []Reason{ReasonNotInterested, ReasonTooFrequent, ReasonNotNearby, ReasonSeenAlready, ReasonKind}

// Reasons lists the reasons that can shield something like n.
func (n Notification) Reasons() []Reason {
	if !n.Kind.shieldable() {
		return []Reason{}
	}
	out := make([]Reason, 0, len(reasons))
	for _, r := range reasons {
		switch {
		case (r == ReasonNotInterested || r == ReasonSeenAlready) && n.Data.CaseID == "":
		case r == ReasonNotNearby && n.Data.DistanceKM == 0:
		default:
			out = append(out, r)
		}
	}
	return out
}

// Shield is one dimension along which a subject shields pushes (P56).
type Shield struct {
	ID      string
	Subject Subject
	Reason  Reason
	Kind    Kind
	// CaseID is set for not_interested and seen_already.
	CaseID string
	// DistanceKM is set for not_nearby: pushes from this far or farther
	// are shielded.
	DistanceKM int
	// NotificationID is the item the "X" was pressed on; "" once it is
	// gone.
	NotificationID string
	CreatedAt      time.Time
}

// covers reports whether s shields a notification of kind about d.
// recent tells whether a notification of the kind came within the
// frequency window.
func (s Shield) covers(kind Kind, d Data, recent bool) bool {
	if s.Kind != kind {
		return false
	}
	switch s.Reason {
	case ReasonKind:
		return true
	case ReasonNotInterested, ReasonSeenAlready:
		return d.CaseID != "" && d.CaseID == s.CaseID
	case ReasonNotNearby:
		return d.DistanceKM > 0 && s.DistanceKM > 0 && d.DistanceKM >= s.DistanceKM
	case ReasonTooFrequent:
		return recent
	}
	return false
}

// InboxConfig tunes the inbox; zero fields take the defaults.
type InboxConfig struct {
	// Retention is how long notifications are kept (180 days).
	Retention time.Duration
	// FrequencyWindow is how long a too_frequent shield holds pushes of
	// its kind after one came (24 hours).
	FrequencyWindow time.Duration
	// StreamBuffer is how many events a live-stream subscriber may fall
	// behind before it is cut off and told to re-sync (64).
	StreamBuffer int
}

// Inbox is the in-app inbox of accounts and devices, with the "X" and its
// shields, and the live stream that tells open pages of new items.
type Inbox struct {
	store  Store
	cfg    InboxConfig
	now    func() time.Time
	broker *Broker
}

// NewInbox returns the inbox. now is the clock (time.Now when nil).
func NewInbox(store Store, cfg InboxConfig, now func() time.Time) *Inbox {
	if now == nil {
		now = time.Now
	}
	if cfg.Retention == 0 {
		cfg.Retention = 180 * 24 * time.Hour
	}
	if cfg.FrequencyWindow == 0 {
		cfg.FrequencyWindow = 24 * time.Hour
	}
	if cfg.StreamBuffer == 0 {
		cfg.StreamBuffer = 64
	}
	return &Inbox{store: store, cfg: cfg, now: now, broker: NewBroker(cfg.StreamBuffer)}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Deliver puts n in its recipient's inbox and tells the recipient's open
// streams. It is idempotent by dedupe key: when the recipient already has
// it, it returns that one and false, and tells no stream again. It asks
// no consent and no shield: senders use Dispatcher.Dispatch, which does.
func (s *Inbox) Deliver(ctx context.Context, n Notification) (Notification, bool, error) {
	if err := n.Validate(); err != nil {
		return Notification{}, false, err
	}
	n.ID = newID()
	n.CreatedAt = s.now().UTC()
	n.ReadAt, n.OpenedAt, n.DismissedAt = time.Time{}, time.Time{}, time.Time{}
	got, created, err := s.store.CreateNotification(ctx, n)
	if err != nil {
		return Notification{}, false, fmt.Errorf("notify: deliver %s: %w", n.Kind, err)
	}
	if created {
		s.broker.Publish(got)
	}
	return got, created, nil
}

// Page is one page of an inbox.
type Page struct {
	Items []Notification
	// Next is the cursor of the next (older) page; "" on the last.
	Next   string
	Unread int
}

// List returns the subject's inbox newest first, limit items (1 to 100;
// 20 when 0) after cursor ("" for the first page).
func (s *Inbox) List(ctx context.Context, sub Subject, cursor string, limit int) (Page, error) {
	if limit == 0 {
		limit = 20
	}
	if limit < 1 || limit > 100 {
		return Page{}, yuncan.FieldError("limit", "must be 1 to 100")
	}
	before, err := ParsePosition(cursor)
	if err != nil {
		return Page{}, err
	}
	items, err := s.store.Notifications(ctx, sub, before, limit+1)
	if err != nil {
		return Page{}, fmt.Errorf("notify: inbox: %w", err)
	}
	p := Page{Items: items}
	if len(items) > limit {
		p.Items = items[:limit]
		p.Next = PositionOf(p.Items[limit-1]).String()
	}
	if p.Unread, err = s.store.CountUnread(ctx, sub); err != nil {
		return Page{}, fmt.Errorf("notify: inbox: %w", err)
	}
	return p, nil
}

// Newest is the position of the subject's newest notification (zero when
// the inbox is empty): where a new live stream starts.
func (s *Inbox) Newest(ctx context.Context, sub Subject) (Position, error) {
	items, err := s.store.Notifications(ctx, sub, Position{}, 1)
	if err != nil || len(items) == 0 {
		return Position{}, err
	}
	return PositionOf(items[0]), nil
}

// Since lists, oldest first, up to limit notifications the subject got
// after p: what a live stream missed while disconnected.
func (s *Inbox) Since(ctx context.Context, sub Subject, p Position, limit int) ([]Notification, error) {
	return s.store.NotificationsAfter(ctx, sub, p, limit)
}

// Subscribe opens a live subscription to the subject's new notifications;
// close it when done.
func (s *Inbox) Subscribe(sub Subject) *Subscription { return s.broker.Subscribe(sub) }

// Subscribers counts the subject's open live subscriptions in this
// process.
func (s *Inbox) Subscribers(sub Subject) int { return s.broker.Subscribers(sub) }

// MarkRead marks one of the subject's notifications read. NotFound when
// the subject has no such notification.
func (s *Inbox) MarkRead(ctx context.Context, sub Subject, id string) error {
	return s.store.MarkRead(ctx, sub, id, false, s.now().UTC())
}

// Open records that the subject opened a notification (and so read it):
// reach figures count it.
func (s *Inbox) Open(ctx context.Context, sub Subject, id string) error {
	return s.store.MarkRead(ctx, sub, id, true, s.now().UTC())
}

// Dismiss is the "X" (P56): it hides a notification and shields what the
// reasons say. Each reason must apply to the notification (Reasons);
// none at all only hides it. Invalid (reason reason_not_applicable) when
// one does not apply, NotFound when the subject has no such notification.
func (s *Inbox) Dismiss(ctx context.Context, sub Subject, id string, rs []Reason) ([]Shield, error) {
	n, err := s.store.NotificationByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if n.Recipient != sub {
		return nil, yuncan.Errorf(yuncan.NotFound, "notification not found")
	}
	ok := n.Reasons()
	now := s.now().UTC()
	shields := make([]Shield, 0, len(rs))
	for _, r := range rs {
		if !slices.Contains(reasons, r) {
			return nil, yuncan.FieldError("reasons", fmt.Sprintf("%q is not a known reason", string(r)))
		}
		if !slices.Contains(ok, r) {
			return nil, yuncan.FieldError("reasons", fmt.Sprintf("%q does not apply to this notification", string(r))).
				WithReason("reason_not_applicable")
		}
		if slices.ContainsFunc(shields, func(sh Shield) bool { return sh.Reason == r }) {
			continue
		}
		sh := Shield{ID: newID(), Subject: sub, Reason: r, Kind: n.Kind, NotificationID: n.ID, CreatedAt: now}
		switch r {
		case ReasonNotInterested, ReasonSeenAlready:
			sh.CaseID = n.Data.CaseID
		case ReasonNotNearby:
			sh.DistanceKM = n.Data.DistanceKM
		}
		shields = append(shields, sh)
	}
	if err := s.store.Dismiss(ctx, sub, id, now, shields); err != nil {
		return nil, err
	}
	return shields, nil
}

// Shields lists the subject's shields, newest first (P56).
func (s *Inbox) Shields(ctx context.Context, sub Subject) ([]Shield, error) {
	return s.store.Shields(ctx, sub)
}

// DeleteShield undoes a shield. NotFound when the subject has none with
// that id.
func (s *Inbox) DeleteShield(ctx context.Context, sub Subject, id string) error {
	return s.store.DeleteShield(ctx, sub, id)
}

// Shielded reports whether the subject shields a notification of kind
// about d (P56). The alerts ask before choosing a recipient; Dispatch asks
// again before delivering.
func (s *Inbox) Shielded(ctx context.Context, sub Subject, kind Kind, d Data) (bool, error) {
	return s.shielded(ctx, sub, kind, d, "")
}

func (s *Inbox) shielded(ctx context.Context, sub Subject, kind Kind, d Data, dedupeKey string) (bool, error) {
	if !kind.shieldable() {
		return false, nil
	}
	shields, err := s.store.Shields(ctx, sub)
	if err != nil {
		return false, fmt.Errorf("notify: shields: %w", err)
	}
	recent, checked := false, false
	for _, sh := range shields {
		if sh.Reason == ReasonTooFrequent && sh.Kind == kind && !checked {
			last, err := s.store.LatestOfKind(ctx, sub, kind, dedupeKey)
			if err != nil {
				return false, fmt.Errorf("notify: shields: %w", err)
			}
			recent, checked = !last.IsZero() && s.now().Sub(last) < s.cfg.FrequencyWindow, true
		}
		if sh.covers(kind, d, recent) {
			return true, nil
		}
	}
	return false, nil
}

// Counts are the reach figures of a case: how many recipients got a
// notification of kind about it, and how many opened it.
func (s *Inbox) Counts(ctx context.Context, kind Kind, caseID string) (alerted, opened int, err error) {
	return s.store.CountReach(ctx, kind, caseID)
}

// Expire deletes notifications past their retention and those of devices
// that are gone (a job).
func (s *Inbox) Expire(ctx context.Context) error {
	_, err := s.store.DeleteNotificationsBefore(ctx, s.now().Add(-s.cfg.Retention))
	return err
}

// DeleteSubject erases a subject's inbox and shields (account erasure).
func (s *Inbox) DeleteSubject(ctx context.Context, sub Subject) error {
	return s.store.DeleteSubject(ctx, sub)
}
