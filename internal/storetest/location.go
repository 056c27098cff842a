package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/consent"
	"github.com/yuncan/yuncan/internal/location"
	"github.com/yuncan/yuncan/internal/sqlstore"
)

func init() {
	register("LocationOnePositionPerSubject", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Location()
		u, d := consent.User("x-1"), consent.Device("x-1")
		_, err := s.Position(ctx, u)
		wantCode(t, "Position of nobody", err, yuncan.NotFound)

		first := location.Record{Subject: u, Sealed: "k1:first", Coarse: false, UpdatedAt: t0.Add(time.Nanosecond)}
		if err := s.SavePosition(ctx, first); err != nil {
			t.Fatal(err)
		}
		// No history: a new position replaces the old.
		second := location.Record{Subject: u, Sealed: "k1:second", Coarse: true, UpdatedAt: t0.Add(time.Hour)}
		if err := s.SavePosition(ctx, second); err != nil {
			t.Fatal(err)
		}
		got, err := s.Position(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "Position after two saves", got, second)
		// A device with the same id is another subject.
		dev := location.Record{Subject: d, Sealed: "k1:dev", UpdatedAt: t0}
		if err := s.SavePosition(ctx, dev); err != nil {
			t.Fatal(err)
		}
		var all []location.Record
		if err := s.EachPosition(ctx, func(r location.Record) error { all = append(all, r); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 {
			t.Fatalf("EachPosition saw %d positions, want 2", len(all))
		}

		if err := s.DeletePosition(ctx, u); err != nil {
			t.Fatal(err)
		}
		if err := s.DeletePosition(ctx, u); err != nil {
			t.Fatalf("deleting an absent position: %v", err)
		}
		_, err = s.Position(ctx, u)
		wantCode(t, "Position after delete", err, yuncan.NotFound)
		if _, err := s.Position(ctx, d); err != nil {
			t.Fatalf("the device's position went with the account's: %v", err)
		}
	})
	register("LocationDeleteStale", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Location()
		for i, at := range []time.Time{t0, t0.Add(time.Hour), t0.Add(2 * time.Hour)} {
			r := location.Record{Subject: consent.User(string(rune('a' + i))), Sealed: "k1:x", UpdatedAt: at}
			if err := s.SavePosition(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		gone, err := s.DeletePositionsBefore(ctx, t0.Add(90*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if len(gone) != 2 {
			t.Fatalf("DeletePositionsBefore removed %v, want a and b", gone)
		}
		if _, err := s.Position(ctx, consent.User("c")); err != nil {
			t.Fatalf("the fresh position was removed: %v", err)
		}
	})
}
