package location_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/geo"
	"github.com/yuncan/yuncan/internal/keyring"
	"github.com/yuncan/yuncan/internal/location"
	"github.com/yuncan/yuncan/internal/sqlstore"
	"github.com/yuncan/yuncan/internal/storetest"
)

type env struct {
	db    *sqlstore.DB
	cs    *consent.Service
	loc   *location.Service
	keys  *keyring.Keyring
	clock *time.Time
}

func newEnv(t *testing.T, target storetest.Target) *env {
	t.Helper()
	db := storetest.Open(t, target)
	dm, err := consent.LoadDataMap()
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := keyring.New()
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	e := &env{db: db, keys: keys, clock: &now}
	clock := func() time.Time { return *e.clock }
	e.cs = consent.NewService(db.Consent(), dm, func() string { return "v1" }, clock, nil)
	e.loc = location.NewService(db.Location(), &geo.Index{}, e.cs, keys, clock, location.Config{}, nil)
	return e
}

func forEachTarget(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, tg := range storetest.Targets(t) {
		t.Run(tg.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, tg))
		})
	}
}

func (e *env) grant(t *testing.T, sub consent.Subject) {
	t.Helper()
	if err := e.cs.Grant(context.Background(), sub, consent.PurposeAlertLocation, consent.ChannelApp); err != nil {
		t.Fatal(err)
	}
}

const zzLat, zzLng = 34.7466, 113.6254 // Zhengzhou

// P05, P23: without the people-seeking location consent nothing is stored
// and the person is never a recipient; with it, the position is matched.
func TestUpdateNeedsConsent(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		ctx, sub := context.Background(), consent.User("u-1")
		_, err := e.loc.Update(ctx, sub, zzLat, zzLng, false)
		if yuncan.ErrorReason(err) != "consent_required" {
			t.Fatalf("Update without consent = %v, want consent_required", err)
		}
		if _, err := e.db.Location().Position(ctx, sub); yuncan.ErrorCode(err) != yuncan.NotFound {
			t.Fatalf("a position was stored without consent: %v", err)
		}
		if ms, _ := e.loc.Within(zzLat, zzLng, 10); len(ms) != 0 {
			t.Fatalf("a person without consent is a recipient: %v", ms)
		}
		e.grant(t, sub)
		if _, err := e.loc.Update(ctx, sub, zzLat+0.01, zzLng, false); err != nil {
			t.Fatal(err)
		}
		ms, err := e.loc.Within(zzLat, zzLng, 10)
		if err != nil || len(ms) != 1 || ms[0].Subject != sub || math.Abs(ms[0].DistanceKm-1.11) > 0.05 {
			t.Fatalf("Within = %v, %v; want u-1 about 1.1 km away", ms, err)
		}
	})
}

// P63: withdrawing the consent deletes the position from the store and
// takes it out of the index at once.
func TestWithdrawalDeletesPosition(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		ctx, sub := context.Background(), consent.Device("d-1")
		e.grant(t, sub)
		if _, err := e.loc.Update(ctx, sub, zzLat, zzLng, false); err != nil {
			t.Fatal(err)
		}
		if err := e.cs.Withdraw(ctx, sub, consent.PurposeAlertLocation, consent.ChannelApp); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.Location().Position(ctx, sub); yuncan.ErrorCode(err) != yuncan.NotFound {
			t.Fatalf("the position survived the withdrawal: %v", err)
		}
		if ms, _ := e.loc.Within(zzLat, zzLng, 10); len(ms) != 0 {
			t.Fatalf("the index still holds the withdrawn position: %v", ms)
		}
		if _, err := e.loc.Update(ctx, sub, zzLat, zzLng, false); yuncan.ErrorReason(err) != "consent_required" {
			t.Fatalf("Update after withdrawal = %v, want consent_required", err)
		}
	})
}

// Coarse mode stores and matches only the centre of a cell of a few km.
func TestCoarseStoresOnlyTheCell(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		ctx, sub := context.Background(), consent.User("u-1")
		e.grant(t, sub)
		p, err := e.loc.Update(ctx, sub, zzLat, zzLng, true)
		if err != nil {
			t.Fatal(err)
		}
		if !p.Coarse || (p.Lat == zzLat && p.Lng == zzLng) {
			t.Fatalf("coarse position = %+v, want a cell centre", p)
		}
		if d := geo.Haversine(zzLat, zzLng, p.Lat, p.Lng); d > 5 {
			t.Fatalf("the cell centre is %.1f km away; cells are a few km", d)
		}
		// A nearby point in the same cell stores the same centre.
		q, _ := e.loc.Update(ctx, sub, zzLat+0.0005, zzLng+0.0005, true)
		if q.Lat != p.Lat || q.Lng != p.Lng {
			t.Fatalf("two points in one cell stored %v and %v", p, q)
		}
		got, err := e.loc.Position(ctx, sub)
		if err != nil || got.Lat != p.Lat || !got.Coarse {
			t.Fatalf("Position = %+v, %v", got, err)
		}
	})
}

// No history: positions older than the freshness limit are not matched
// and the expiry job deletes them (P23: short-lived).
func TestFreshness(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		old, fresh := consent.User("old"), consent.User("fresh")
		e.grant(t, old)
		e.grant(t, fresh)
		e.loc.Update(ctx, old, zzLat, zzLng, false)
		*e.clock = e.clock.Add(e.loc.Config().Freshness - time.Minute)
		e.loc.Update(ctx, fresh, zzLat, zzLng, false)
		*e.clock = e.clock.Add(2 * time.Minute)
		ms, _ := e.loc.Within(zzLat, zzLng, 10)
		if len(ms) != 1 || ms[0].Subject != fresh {
			t.Fatalf("Within = %v, want only the fresh position", ms)
		}
		if _, err := e.loc.Position(ctx, old); yuncan.ErrorCode(err) != yuncan.NotFound {
			t.Fatalf("a stale position is still shown: %v", err)
		}
		if err := e.loc.Expire(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.Location().Position(ctx, old); yuncan.ErrorCode(err) != yuncan.NotFound {
			t.Fatalf("the expiry job kept a stale position: %v", err)
		}
		if _, err := e.db.Location().Position(ctx, fresh); err != nil {
			t.Fatalf("the expiry job deleted a fresh position: %v", err)
		}
	})
}

// The index is rebuilt from the database at start.
func TestLoadRebuildsIndex(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for i := range 20 {
			sub := consent.User("u-" + strconv.Itoa(i))
			e.grant(t, sub)
			if _, err := e.loc.Update(ctx, sub, zzLat+float64(i)*0.01, zzLng, false); err != nil {
				t.Fatal(err)
			}
		}
		fresh := location.NewService(e.db.Location(), &geo.Index{}, e.cs, e.keys, func() time.Time { return *e.clock }, location.Config{}, nil)
		n, err := fresh.Load(ctx)
		if err != nil || n != 20 {
			t.Fatalf("Load = %d, %v; want 20", n, err)
		}
		ms, _ := fresh.Within(zzLat, zzLng, 5)
		if len(ms) != 5 { // 0 .. 0.04° north: about 4.4 km
			t.Fatalf("after Load, %d positions within 5 km; want 5", len(ms))
		}
	})
}

func TestBadInput(t *testing.T) {
	forEachTarget(t, func(t *testing.T, e *env) {
		ctx, sub := context.Background(), consent.User("u-1")
		e.grant(t, sub)
		for _, c := range [][2]float64{{math.NaN(), 0}, {0, math.Inf(1)}, {91, 0}, {0, -181}} {
			if _, err := e.loc.Update(ctx, sub, c[0], c[1], false); yuncan.ErrorReason(err) != "invalid_coordinates" {
				t.Errorf("Update(%v) = %v, want invalid_coordinates", c, err)
			}
		}
		for _, r := range []float64{0, -1, 20001, math.NaN()} {
			if _, err := e.loc.Within(zzLat, zzLng, r); yuncan.ErrorCode(err) != yuncan.Invalid {
				t.Errorf("Within(radius %v) = %v, want Invalid", r, err)
			}
		}
	})
}

// P52: the precise position is sealed at rest: its digits appear nowhere
// in the SQLite file.
func TestPositionSealedAtRest(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, storetest.Target{Name: "sqlite", DataDir: dir})
	ctx, sub := context.Background(), consent.User("u-1")
	e.grant(t, sub)
	if _, err := e.loc.Update(ctx, sub, 34.123457, 113.654321, false); err != nil {
		t.Fatal(err)
	}
	e.db.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "yuncan.db*"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte("34.123457")) || bytes.Contains(b, []byte("113.654321")) {
			t.Errorf("%s holds the coordinates in clear", filepath.Base(f))
		}
	}
}
