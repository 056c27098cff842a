package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/yuncan/yuncan/internal/alert"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/geo"
	"github.com/yuncan/yuncan/internal/identity"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/location"
	"github.com/yuncan/yuncan/internal/queue"
	"github.com/yuncan/yuncan/internal/seeking"
	"github.com/yuncan/yuncan/internal/sqlstore"
)

// benchLocator selects from the benchmark's index, as location.Service
// does from the real one: each key names a person whose id is shaped like
// the real ones (36 characters), made before the timing starts. It
// measures how long the selection took.
type benchLocator struct {
	idx   *geo.Index
	dense []consent.Subject          // by key, when the keys are dense
	named map[uint32]consent.Subject // otherwise
	took  time.Duration
}

func newBenchLocator(idx *geo.Index, pts []geo.Point) *benchLocator {
	l := &benchLocator{idx: idx}
	maxKey := uint32(0)
	for _, p := range pts {
		maxKey = max(maxKey, p.ID)
	}
	if int(maxKey) < 2*len(pts) {
		l.dense = make([]consent.Subject, int(maxKey)+1)
	} else {
		l.named = make(map[uint32]consent.Subject, len(pts))
	}
	for _, p := range pts {
		sub := consent.User(fmt.Sprintf("0190b1c2-0000-7000-8000-%012x", p.ID))
		if l.dense != nil {
			l.dense[p.ID] = sub
		} else {
			l.named[p.ID] = sub
		}
	}
	return l
}

func (l *benchLocator) Within(lat, lng, radiusKm float64) ([]location.Match, error) {
	t0 := time.Now()
	var out []location.Match
	err := l.idx.Within(lat, lng, radiusKm, func(key uint32, d float64) bool {
		sub := l.named[key]
		if l.dense != nil {
			sub = l.dense[key]
		}
		out = append(out, location.Match{Subject: sub, DistanceKm: d})
		return true
	})
	l.took = time.Since(t0)
	return out, err
}

// benchFanout times the fan-out of one ring: an alert service on SQLite
// and an embedded JetStream in a temporary folder opens a ring of
// --radius-km around the centre, the way the scheduler does; the time
// runs from the selected recipients to the ring recorded opened, every
// batch durably stored.
func benchFanout(ctx context.Context, idx *geo.Index, pts []geo.Point, rep *alertsReport) error {
	dir, err := os.MkdirTemp("", "yuncan-bench-fanout-")
	if err != nil {
		return fmt.Errorf("bench alerts: fan-out: %w", err)
	}
	defer os.RemoveAll(dir)
	db, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "yuncan.db"))
	if err != nil {
		return fmt.Errorf("bench alerts: fan-out: %w", err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("bench alerts: fan-out: %w", err)
	}
	keys, err := keyring.New()
	if err != nil {
		return err
	}
	// An alert belongs to a case, and a case to its reporter.
	now := time.Now().UTC()
	caseID, userID := uuid.NewString(), uuid.NewString()
	if err := db.Identity().CreateUser(ctx, identity.UserRecord{ID: userID, PhoneSealed: "-", PhoneIndex: userID, Role: identity.RoleUser,
		Nickname: "bench", AgeBand: identity.AgeAdult, CreatedAt: now, UpdatedAt: now}, identity.PolicyAcceptance{}); err != nil {
		return fmt.Errorf("bench alerts: fan-out: %w", err)
	}
	c := seeking.Case{ID: caseID, Status: seeking.StatusPublished, Category: seeking.CategoryChild,
		LastSeen: seeking.LastSeen{At: now, Lat: rep.Lat, Lng: rep.Lng}}
	rec := seeking.CaseRecord{ID: caseID, ReporterID: userID, Status: c.Status, Category: c.Category,
		Person: seeking.Person{FullName: "bench", AlternateNames: []string{}}, LastSeenAt: now, PointSealed: "-",
		CreatedAt: now, UpdatedAt: now, PublishedAt: now}
	ev := seeking.Event{ID: uuid.NewString(), CaseID: caseID, At: now, ActorID: userID, ActorRole: seeking.ActorReporter, To: c.Status}
	if err := db.Seeking().CreateCase(ctx, rec, ev); err != nil {
		return fmt.Errorf("bench alerts: fan-out: %w", err)
	}
	q, err := queue.Open(ctx, queue.Config{Dir: filepath.Join(dir, "nats"), Prefix: "BENCH"})
	if err != nil {
		return fmt.Errorf("bench alerts: fan-out: %w", err)
	}
	defer q.Close()
	// One ring of the benchmark's radius, open at once, for every
	// category (the benchmark may go past the 1000 km a schedules file
	// allows).
	ring := alert.Schedule{{After: 0, RadiusKm: rep.RadiusKm}}
	sched := alert.Schedules{}
	for _, cat := range []seeking.Category{seeking.CategoryChild, seeking.CategoryElder, seeking.CategoryDementia,
		seeking.CategoryAdult, seeking.CategoryOther} {
		sched[cat] = ring
	}
	loc := newBenchLocator(idx, pts)
	svc := alert.NewService(alert.Deps{Store: db.Alert(), Locator: loc, Queue: q, Keys: keys,
		Logger: slog.New(slog.DiscardHandler)}, alert.Config{Schedules: sched})

	t0 := time.Now()
	if err := svc.CasePublished(ctx, c); err != nil {
		return fmt.Errorf("bench alerts: fan-out: %w", err)
	}
	total := time.Since(t0)

	as, err := svc.Alerts(ctx, caseID)
	if err != nil {
		return fmt.Errorf("bench alerts: fan-out: %w", err)
	}
	if len(as) != 1 || as[0].Rings[0].OpenedAt.IsZero() {
		return fmt.Errorf("bench alerts: fan-out: the ring was not recorded opened")
	}
	pending, err := q.Pending(ctx, alert.QueueName)
	if err != nil {
		return fmt.Errorf("bench alerts: fan-out: %w", err)
	}
	fanout, withSelect := ms(total-loc.took), ms(total)
	recipients, batches := as[0].Rings[0].Recipients, int(pending)
	rep.FanoutMs, rep.FanoutWithSelectMs, rep.FanoutRecipients, rep.FanoutBatches = &fanout, &withSelect, &recipients, &batches
	return nil
}
