package storetest

import (
	"context"
	"testing"

	"github.com/yuncan/yuncan/internal/sqlstore"
)

func init() {
	// P04: a device whose session is gone goes back to anonymous pushes.
	register("IdentityUnbindDevicesWithoutSession", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Identity()
		u := createUser(t, s, "u-1")
		v := createUser(t, s, "u-2")
		live := createDevice(t, s, "d-live", u.ID, t0)
		createDevice(t, s, "d-orphan", u.ID, t0)
		other := createDevice(t, s, "d-other", v.ID, t0)
		createSession(t, s, "s-1", u.ID, live.ID, t0)

		n, err := s.UnbindDevicesWithoutSession(ctx, u.ID)
		if err != nil || n != 1 {
			t.Fatalf("UnbindDevicesWithoutSession(u) = %d, %v; want 1", n, err)
		}
		list, err := s.DevicesByUser(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "devices still bound to u", deviceIDs(list), []string{live.ID})
		if list, _ := s.DevicesByUser(ctx, v.ID); len(list) != 1 {
			t.Fatalf("another user's device was unbound")
		}
		// With no user, every orphan is unbound.
		if n, err := s.UnbindDevicesWithoutSession(ctx, ""); err != nil || n != 1 {
			t.Fatalf("UnbindDevicesWithoutSession(all) = %d, %v; want 1 (%s)", n, err, other.ID)
		}
	})
}
