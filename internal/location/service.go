package location

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/keyring"
)

// Index is the in-memory geo index the service keeps current
// (geo.Index): points under dense uint32 keys.
type Index interface {
	// Set places key at the point; an error means the point is invalid.
	Set(key uint32, lat, lng float64) error
	Remove(key uint32)
	// Within calls fn for every point within radiusKm (great-circle
	// distance) of the centre, until fn returns false.
	Within(lat, lng, radiusKm float64, fn func(key uint32, distKm float64) bool) error
}

// sealContext binds sealed positions to their column.
const sealContext = "location_positions.point"

// Service keeps consented positions in the store and the index.
type Service struct {
	store   Store
	index   Index
	consent *consent.Service
	keys    *keyring.Keyring
	now     func() time.Time
	cfg     Config
	logger  *slog.Logger

	mu       sync.RWMutex
	keyOf    map[consent.Subject]uint32
	subjects []consent.Subject // by key; the zero Subject marks a free key
	updated  []int64           // by key: Unix seconds of the last update
	free     []uint32
}

// NewService returns the location service; call Load before serving.
func NewService(store Store, index Index, cs *consent.Service, keys *keyring.Keyring, now func() time.Time, cfg Config, logger *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{store: store, index: index, consent: cs, keys: keys, now: now, cfg: cfg.withDefaults(), logger: logger,
		keyOf: map[consent.Subject]uint32{}}
	// P63: withdrawing the consent deletes the position and takes it out
	// of the index at once.
	cs.OnWithdraw(consent.PurposeAlertLocation, "location.delete", s.Delete)
	return s
}

// Config returns the rules in force, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// Update records the subject's position, replacing the last one. It needs
// the people-seeking location consent live (P05, P23); in coarse mode only
// the centre of a cell of a few km is stored and matched.
func (s *Service) Update(ctx context.Context, sub consent.Subject, lat, lng float64, coarse bool) (Position, error) {
	if err := CheckCoordinates(lat, lng); err != nil {
		return Position{}, err
	}
	if err := s.consent.Require(ctx, sub, consent.PurposeAlertLocation); err != nil {
		return Position{}, err
	}
	if coarse {
		lat, lng = snap(lat, lng, s.cfg.CoarseLevel)
	}
	// The index, the answer and the store all hold the stored precision,
	// so a position reads back exactly as it was matched.
	point := encodePoint(lat, lng)
	lat, lng, _ = decodePoint(point)
	p := Position{Subject: sub, Lat: lat, Lng: lng, Coarse: coarse, UpdatedAt: s.now()}
	r := Record{Subject: sub, Sealed: s.keys.Seal(sealContext, point), Coarse: coarse, UpdatedAt: p.UpdatedAt}
	if err := s.store.SavePosition(ctx, r); err != nil {
		return Position{}, fmt.Errorf("location: update: %w", err)
	}
	s.put(sub, lat, lng, p.UpdatedAt)
	// A withdrawal racing with this update may have run its purge before
	// the save and the index update: ask the gate again, after both, so a
	// withdrawn consent never leaves a position behind.
	if err := s.consent.Require(ctx, sub, consent.PurposeAlertLocation); err != nil {
		if derr := s.Delete(ctx, sub); derr != nil {
			return Position{}, derr
		}
		return Position{}, err
	}
	return p, nil
}

func (s *Service) put(sub consent.Subject, lat, lng float64, at time.Time) {
	s.mu.Lock()
	key, ok := s.keyOf[sub]
	if !ok {
		if n := len(s.free); n > 0 {
			key, s.free = s.free[n-1], s.free[:n-1]
			s.subjects[key] = sub
		} else {
			key = uint32(len(s.subjects))
			s.subjects = append(s.subjects, sub)
			s.updated = append(s.updated, 0)
		}
		s.keyOf[sub] = key
	}
	s.updated[key] = at.Unix()
	// The coordinates were checked (CheckCoordinates) or came from a
	// checked update, so the index takes them.
	if err := s.index.Set(key, lat, lng); err != nil && s.logger != nil {
		s.logger.Error("location: index refused a checked position", slog.Any("err", err))
	}
	s.mu.Unlock()
}

func (s *Service) drop(sub consent.Subject) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, ok := s.keyOf[sub]
	if !ok {
		return
	}
	s.index.Remove(key)
	delete(s.keyOf, sub)
	s.subjects[key] = consent.Subject{}
	s.updated[key] = 0
	s.free = append(s.free, key)
}

// Position returns the subject's stored position; NotFound when there is
// none (or it went stale).
func (s *Service) Position(ctx context.Context, sub consent.Subject) (Position, error) {
	r, err := s.store.Position(ctx, sub)
	if err != nil {
		return Position{}, err
	}
	if !r.UpdatedAt.After(s.now().Add(-s.cfg.Freshness)) {
		return Position{}, yuncan.Errorf(yuncan.NotFound, "no current position")
	}
	return s.open(r)
}

func (s *Service) open(r Record) (Position, error) {
	b, err := s.keys.Open(sealContext, r.Sealed)
	if err != nil {
		return Position{}, fmt.Errorf("location: %w", err)
	}
	lat, lng, err := decodePoint(b)
	if err != nil {
		return Position{}, err
	}
	return Position{Subject: r.Subject, Lat: lat, Lng: lng, Coarse: r.Coarse, UpdatedAt: r.UpdatedAt}, nil
}

// Delete removes the subject's position from the store and the index. It
// is also the consent withdrawal hook, so it is idempotent.
func (s *Service) Delete(ctx context.Context, sub consent.Subject) error {
	if err := s.store.DeletePosition(ctx, sub); err != nil {
		return fmt.Errorf("location: delete: %w", err)
	}
	s.drop(sub)
	return nil
}

// Within returns the people with a fresh position within radiusKm of the
// centre, with their distances.
func (s *Service) Within(lat, lng, radiusKm float64) ([]Match, error) {
	if err := CheckCoordinates(lat, lng); err != nil {
		return nil, err
	}
	if radiusKm <= 0 || radiusKm > 20_000 {
		return nil, yuncan.FieldError("radius_km", "must be more than 0 and at most 20000").WithReason("invalid_radius")
	}
	stale := s.now().Add(-s.cfg.Freshness).Unix()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Match
	err := s.index.Within(lat, lng, radiusKm, func(key uint32, d float64) bool {
		if int(key) < len(s.subjects) && s.updated[key] > stale {
			out = append(out, Match{Subject: s.subjects[key], DistanceKm: d})
		}
		return true
	})
	return out, err
}

// Load rebuilds the index from the store; run at start.
func (s *Service) Load(ctx context.Context) (int, error) {
	n := 0
	stale := s.now().Add(-s.cfg.Freshness)
	err := s.store.EachPosition(ctx, func(r Record) error {
		if !r.UpdatedAt.After(stale) {
			return nil
		}
		p, err := s.open(r)
		if err != nil {
			return err
		}
		s.put(p.Subject, p.Lat, p.Lng, p.UpdatedAt)
		n++
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("location: load: %w", err)
	}
	return n, nil
}

// Expire deletes positions older than the freshness limit (no history is
// kept); it is the area's retention job.
func (s *Service) Expire(ctx context.Context) error {
	subs, err := s.store.DeletePositionsBefore(ctx, s.now().Add(-s.cfg.Freshness))
	if err != nil {
		return fmt.Errorf("location: expire: %w", err)
	}
	for _, sub := range subs {
		s.drop(sub)
	}
	return nil
}

// ForgetAll drops every position from the index, after the store's were
// erased (P69: operations ceased).
func (s *Service) ForgetAll(ctx context.Context) error {
	s.mu.Lock()
	subs := make([]consent.Subject, 0, len(s.keyOf))
	for sub := range s.keyOf {
		subs = append(subs, sub)
	}
	s.mu.Unlock()
	for _, sub := range subs {
		s.drop(sub)
	}
	return nil
}
