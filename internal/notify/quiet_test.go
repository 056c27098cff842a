package notify_test

import (
	"context"
	"testing"

	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/storetest"
)

// DispatchQuiet delivers to the inbox without pushing (the alerts' quiet
// hours); a later Dispatch of the same notification finds it and pushes
// what is missing. Shields hold for both (P56).
func TestDispatchQuiet(t *testing.T) {
	forEachTarget(t, func(t *testing.T, target storetest.Target) {
		ctx := context.Background()
		e := newEnv(t, target, notify.DispatcherConfig{})
		e.familyDevices(t)
		n := alert(notify.User("u-1"), "case-q", 3)
		r, err := e.disp.DispatchQuiet(ctx, n)
		if err != nil || !r.Created || len(r.Deliveries) != 0 {
			t.Fatalf("DispatchQuiet = %+v, %v", r, err)
		}
		if got := e.apns.devices(); len(got) != 0 {
			t.Fatalf("a quiet dispatch pushed to %v", got)
		}
		page, err := e.inbox.List(ctx, notify.User("u-1"), "", 10)
		if err != nil || len(page.Items) != 1 || page.Items[0].ID != r.Notification.ID {
			t.Fatalf("inbox = %+v, %v", page, err)
		}
		again := dispatch(t, e, n)
		if again.Created || again.Notification.ID != r.Notification.ID || len(e.apns.devices()) != 1 {
			t.Fatalf("Dispatch after DispatchQuiet = %+v, apns %v", again, e.apns.devices())
		}
		if _, err := e.inbox.Dismiss(ctx, notify.User("u-1"), r.Notification.ID, []notify.Reason{notify.ReasonKind}); err != nil {
			t.Fatal(err)
		}
		r, err = e.disp.DispatchQuiet(ctx, alert(notify.User("u-1"), "case-other", 3))
		if err != nil || r.Skipped != notify.SkippedShielded {
			t.Fatalf("DispatchQuiet of a shielded kind = %+v, %v", r, err)
		}
	})
}
