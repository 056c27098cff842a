package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/location"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/queue"
	"github.com/yuncan/yuncan/internal/seeking"
)

// Config holds the alert rules an operator may tune; zero values take
// the defaults.
type Config struct {
	// Schedules are the rings per category (DefaultSchedules).
	Schedules Schedules
	// BatchSize is about how many recipients a queue message carries
	// (1000).
	BatchSize int
	// DailyCap is how many cases a person is alerted about within
	// CapWindow (3 in 24 hours); further alerts are dropped.
	DailyCap  int
	CapWindow time.Duration
	// Quiet is when alerts go to the inbox without a push (22:00–07:00
	// Asia/Shanghai).
	Quiet QuietHours
	// ChildOverride is how long after a child was last seen its alerts
	// push even in quiet hours (6 hours).
	ChildOverride time.Duration
	// Workers is how many batches this process delivers at once (2).
	Workers int
	// Retention is how long the record of who was alerted is kept (180
	// days, as the inbox keeps the alert).
	Retention time.Duration
}

func (c Config) withDefaults() Config {
	if c.Schedules == nil {
		c.Schedules = DefaultSchedules()
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 1000
	}
	if c.DailyCap <= 0 {
		c.DailyCap = 3
	}
	if c.CapWindow <= 0 {
		c.CapWindow = 24 * time.Hour
	}
	if c.Quiet == (QuietHours{}) {
		c.Quiet = DefaultQuietHours()
	}
	if c.Quiet.Zone == nil {
		c.Quiet.Zone = shanghai()
	}
	if c.ChildOverride <= 0 {
		c.ChildOverride = 6 * time.Hour
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.Retention <= 0 {
		c.Retention = 180 * 24 * time.Hour
	}
	return c
}

// Cases reads cases and clues for the alerts, without a viewer: a
// system read, never shown as is (seeking.Service).
type Cases interface {
	// CaseForAlerts returns a case with its last-seen point; NotFound
	// when it is gone.
	CaseForAlerts(ctx context.Context, id string) (seeking.Case, error)
	// ClueForAlerts returns a clue of the case with its point; NotFound
	// when it is gone.
	ClueForAlerts(ctx context.Context, caseID, clueID string) (seeking.Clue, error)
}

// Locator selects the consenting, fresh positions within a radius
// (location.Service).
type Locator interface {
	Within(lat, lng, radiusKm float64) ([]location.Match, error)
}

// Gate is the consent gate (consent.Service).
type Gate interface {
	Granted(ctx context.Context, sub consent.Subject, p consent.Purpose) (bool, error)
}

// Notifier delivers notifications (notify.Dispatcher): Dispatch to the
// inbox and every device, DispatchQuiet to the inbox only. Both honour the
// recipient's shields (P56) and are idempotent by dedupe key.
type Notifier interface {
	Dispatch(ctx context.Context, n notify.Notification) (notify.Result, error)
	DispatchQuiet(ctx context.Context, n notify.Notification) (notify.Result, error)
}

// Queue is the durable work queue (queue.Queue).
type Queue interface {
	Publish(ctx context.Context, name string, msgs ...queue.Message) error
	Consume(ctx context.Context, name string, workers int, handler func(ctx context.Context, m queue.Message) error) error
}

// Deps are what the service works with.
type Deps struct {
	Store    Store
	Cases    Cases
	Locator  Locator
	Gate     Gate
	Notifier Notifier
	Queue    Queue
	Keys     *keyring.Keyring
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Service starts, widens, delivers and closes alerts. It implements
// seeking.Publisher.
type Service struct {
	store    Store
	cases    Cases
	loc      Locator
	gate     Gate
	notifier Notifier
	queue    Queue
	keys     *keyring.Keyring
	now      func() time.Time
	cfg      Config
	logger   *slog.Logger

	// openMu lets one ring open at a time in this process; other
	// processes may open the same ring too, which costs only work: the
	// queue drops batches it has, and delivery is idempotent.
	openMu sync.Mutex
}

var _ seeking.Publisher = (*Service)(nil)

// NewService returns the alert service. Validate cfg.Schedules first
// (ParseSchedules and LoadSchedules do).
func NewService(d Deps, cfg Config) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: d.Store, cases: d.Cases, loc: d.Locator, gate: d.Gate, notifier: d.Notifier, queue: d.Queue,
		keys: d.Keys, now: d.Now, cfg: cfg.withDefaults(), logger: d.Logger}
}

// Config returns the rules in force, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// sealCentre binds sealed centres to their column.
const sealCentre = "alerts.centre"

// CasePublished starts the alert at the case's last-seen point and opens
// the rings already due.
func (s *Service) CasePublished(ctx context.Context, c seeking.Case) error {
	a, err := s.start(ctx, c.ID, "", c.Category, c.LastSeen.Lat, c.LastSeen.Lng, c.LastSeen.At)
	if err != nil {
		return err
	}
	return s.openDue(ctx, a.ID)
}

// ClueVerified adds a centre at the clue's point, with the rings of the
// case's category timed from when the clue was seen (or sent). A clue
// without a point adds nothing.
func (s *Service) ClueVerified(ctx context.Context, c seeking.Case, cl seeking.Clue) error {
	if cl.Point == nil {
		return nil
	}
	at := cl.SeenAt
	if at.IsZero() {
		at = cl.CreatedAt
	}
	a, err := s.start(ctx, c.ID, cl.ID, c.Category, cl.Point.Lat, cl.Point.Lng, at)
	if err != nil {
		return err
	}
	return s.openDue(ctx, a.ID)
}

// CaseResolved closes the case's alerts, so no more rings open, and hands
// the resolution of everyone alerted to delivery.
func (s *Service) CaseResolved(ctx context.Context, c seeking.Case) error {
	if err := s.store.CloseAlerts(ctx, c.ID, s.now()); err != nil {
		return fmt.Errorf("alert: close alerts of case %s: %w", c.ID, err)
	}
	return s.resolve(ctx, c.ID)
}

// start records an alert at a centre, or returns the one there is.
func (s *Service) start(ctx context.Context, caseID, clueID string, cat seeking.Category, lat, lng float64, at time.Time) (Alert, error) {
	sched, ok := s.cfg.Schedules[cat]
	if !ok {
		return Alert{}, fmt.Errorf("alert: case %s: no ring schedule for category %q", caseID, cat)
	}
	if err := location.CheckCoordinates(lat, lng); err != nil {
		return Alert{}, fmt.Errorf("alert: case %s: centre: %w", caseID, err)
	}
	id := uuid.Must(uuid.NewV7()).String()
	a := Alert{ID: id, CaseID: caseID, ClueID: clueID, Category: cat, CentreSealed: s.keys.Seal(sealCentre, encodePoint(lat, lng)),
		CentreAt: at.UTC(), CreatedAt: s.now().UTC(), Rings: sched.Plan(id, at.UTC())}
	got, created, err := s.store.CreateAlert(ctx, a)
	if err != nil {
		return Alert{}, fmt.Errorf("alert: start alert of case %s: %w", caseID, err)
	}
	if created {
		s.logger.InfoContext(ctx, "alert started", slog.Any("alert", got), slog.Int("rings", len(got.Rings)))
	}
	return got, nil
}

// centre opens an alert's sealed centre.
func (s *Service) centre(a Alert) (float64, float64, error) {
	b, err := s.keys.Open(sealCentre, a.CentreSealed)
	if err != nil {
		return 0, 0, fmt.Errorf("alert: centre of %s: %w", a.ID, err)
	}
	return decodePoint(b)
}

// resolve hands the resolution of everyone alerted for the case and not
// yet told to delivery, then records that it did.
func (s *Service) resolve(ctx context.Context, caseID string) error {
	subs, err := s.store.UnresolvedRecipients(ctx, caseID)
	if err != nil {
		return fmt.Errorf("alert: recipients of case %s: %w", caseID, err)
	}
	if len(subs) > 0 {
		items := make([]item, len(subs))
		for i, sub := range subs {
			items[i] = item{Subject: sub}
		}
		n := batchCount(len(items), s.cfg.BatchSize)
		sent, err := s.enqueue(ctx, batchResolution, "", caseID, items, n, func(b int) string {
			return resolutionMessageID(caseID, n, b)
		})
		if err != nil {
			return err
		}
		s.logger.InfoContext(ctx, "alert resolution enqueued", slog.String("case", caseID),
			slog.Int("recipients", len(subs)), slog.Int("batches", sent))
	}
	if err := s.store.MarkNotified(ctx, caseID, s.now()); err != nil {
		return fmt.Errorf("alert: case %s: %w", caseID, err)
	}
	return nil
}

// Expire deletes the records of alerts older than the retention (a job).
func (s *Service) Expire(ctx context.Context) error {
	n, err := s.store.DeleteRecipientsBefore(ctx, s.now().Add(-s.cfg.Retention))
	if err != nil {
		return fmt.Errorf("alert: expire: %w", err)
	}
	if n > 0 {
		s.logger.InfoContext(ctx, "alert records expired", slog.Int("count", n))
	}
	return nil
}

// DeleteSubject forgets every alert record of a person: on erasure, and
// when they withdraw the location consent (see Forget).
func (s *Service) DeleteSubject(ctx context.Context, sub consent.Subject) error {
	return Forget(s.store)(ctx, sub)
}

// Forget is the withdrawal hook of the people-seeking location consent,
// to register with consent.Service.OnWithdraw under "alert.recipients":
// it deletes every record of who the person was alerted about and how
// far away they were (P63: what was derived from their position is no
// longer processed, so no resolution follows either). Their inbox keeps
// the alerts they received. It needs only the store, so processes that
// run no alerts can register it too.
func Forget(store Store) consent.Hook {
	return func(ctx context.Context, sub consent.Subject) error {
		if err := store.DeleteSubject(ctx, sub); err != nil {
			return fmt.Errorf("alert: delete records of %s %s: %w", sub.Kind, sub.ID, err)
		}
		return nil
	}
}

// Alerts lists a case's alerts with their rings (for tests and staff
// tools; the centres stay sealed).
func (s *Service) Alerts(ctx context.Context, caseID string) ([]Alert, error) {
	return s.store.AlertsOfCase(ctx, caseID)
}

// encodePoint and decodePoint are the plaintext of a sealed centre:
// "lat,lng" to about a metre.
func encodePoint(lat, lng float64) []byte {
	return []byte(strconv.FormatFloat(lat, 'f', 6, 64) + "," + strconv.FormatFloat(lng, 'f', 6, 64))
}

func decodePoint(b []byte) (float64, float64, error) {
	a, c, ok := strings.Cut(string(b), ",")
	if !ok {
		return 0, 0, errors.New("alert: malformed centre")
	}
	lat, err1 := strconv.ParseFloat(a, 64)
	lng, err2 := strconv.ParseFloat(c, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, errors.New("alert: malformed centre")
	}
	return lat, lng, nil
}

// notFound reports a NotFound error.
func notFound(err error) bool { return yuncan.ErrorCode(err) == yuncan.NotFound }
