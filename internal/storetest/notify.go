package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/notify"
	"github.com/yuncan/yuncan/internal/sqlstore"
)

// notification is an alert for sub about a case, created offset after t0.
func notification(id string, sub notify.Subject, key string, offset time.Duration) notify.Notification {
	return notify.Notification{ID: id, Recipient: sub, Kind: notify.KindSeekingAlert, DedupeKey: key,
		Title: "寻人 " + id, Body: "body " + id, Data: notify.Data{CaseID: "case-1", Ring: 2, DistanceKM: 37, Link: "/cases/case-1"},
		CreatedAt: t0.Add(offset)}
}

func createNotification(t *testing.T, s notify.Store, n notify.Notification) notify.Notification {
	t.Helper()
	got, created, err := s.CreateNotification(context.Background(), n)
	if err != nil || !created {
		t.Fatalf("CreateNotification %s = %v, %v", n.ID, created, err)
	}
	return got
}

func notificationIDs(ns []notify.Notification) []string {
	ids := []string{}
	for _, n := range ns {
		ids = append(ids, n.ID)
	}
	return ids
}

// webPushSub is a subscription; the store does not check the keys.
func webPushSub(n string) notify.WebPushSubscription {
	return notify.WebPushSubscription{Endpoint: "https://push.example/" + n, P256DH: "p256-" + n, Auth: "auth-" + n}
}

func init() {
	register("NotifyCreateIsIdempotent", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Notify()
		u1, u2 := notify.User("u-1"), notify.User("u-2")
		first := createNotification(t, s, notification("n-1", u1, "alert:case-1:u-1", 0))
		n, err := s.NotificationByID(ctx, "n-1")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "NotificationByID", n, first)

		// The same key again (a re-delivery after a crash) finds the first.
		again := notification("n-2", u1, "alert:case-1:u-1", time.Minute)
		again.Title = "other"
		got, created, err := s.CreateNotification(ctx, again)
		if err != nil || created {
			t.Fatalf("CreateNotification with a taken key = %v, %v; want false, nil", created, err)
		}
		same(t, "the notification a repeated key finds", got, first)
		_, err = s.NotificationByID(ctx, "n-2")
		wantCode(t, "NotificationByID of the duplicate", err, yuncan.NotFound)

		// The key is unique per recipient only.
		createNotification(t, s, notification("n-3", u2, "alert:case-1:u-1", 0))
		createNotification(t, s, notification("n-4", notify.Device("u-1"), "alert:case-1:u-1", 0))
	})

	register("NotifyListOrder", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Notify()
		sub := notify.Device("d-1")
		// Inserted out of order; n-b and n-c share a time, the id breaks
		// the tie.
		for _, n := range []notify.Notification{
			notification("n-c", sub, "k-c", time.Second), notification("n-a", sub, "k-a", 0),
			notification("n-d", sub, "k-d", 2*time.Second), notification("n-b", sub, "k-b", time.Second),
			notification("x-1", notify.User("d-1"), "k-x", time.Second),
		} {
			createNotification(t, s, n)
		}
		ns, err := s.Notifications(ctx, sub, notify.Position{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "Notifications newest first", notificationIDs(ns), []string{"n-d", "n-c", "n-b", "n-a"})
		ns, _ = s.Notifications(ctx, sub, notify.Position{}, 2)
		same(t, "Notifications limited", notificationIDs(ns), []string{"n-d", "n-c"})
		ns, _ = s.Notifications(ctx, sub, notify.PositionOf(ns[1]), 2)
		same(t, "Notifications before n-c", notificationIDs(ns), []string{"n-b", "n-a"})

		ns, err = s.NotificationsAfter(ctx, sub, notify.Position{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "NotificationsAfter the beginning", notificationIDs(ns), []string{"n-a", "n-b", "n-c", "n-d"})
		ns, _ = s.NotificationsAfter(ctx, sub, notify.PositionOf(ns[1]), 10)
		same(t, "NotificationsAfter n-b", notificationIDs(ns), []string{"n-c", "n-d"})
		ns, _ = s.NotificationsAfter(ctx, sub, notify.PositionOf(ns[1]), 10)
		same(t, "NotificationsAfter the newest", notificationIDs(ns), []string{})
		ns, _ = s.Notifications(ctx, notify.User("nobody"), notify.Position{}, 10)
		same(t, "Notifications of an empty inbox", notificationIDs(ns), []string{})
	})

	register("NotifyReadOpenDismiss", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Notify()
		u1, u2 := notify.User("u-1"), notify.User("u-2")
		createNotification(t, s, notification("n-1", u1, "k-1", 0))
		createNotification(t, s, notification("n-2", u1, "k-2", time.Second))
		createNotification(t, s, notification("n-3", u1, "k-3", 2*time.Second))
		if n, err := s.CountUnread(ctx, u1); err != nil || n != 3 {
			t.Fatalf("CountUnread = %d, %v; want 3", n, err)
		}
		wantCode(t, "MarkRead by another subject", s.MarkRead(ctx, u2, "n-1", false, t0), yuncan.NotFound)
		wantCode(t, "MarkRead of nothing", s.MarkRead(ctx, u1, "n-9", false, t0), yuncan.NotFound)

		r1, r2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
		if err := s.MarkRead(ctx, u1, "n-1", false, r1); err != nil {
			t.Fatal(err)
		}
		// A second read keeps the first time; opening sets opened_at only.
		if err := s.MarkRead(ctx, u1, "n-1", true, r2); err != nil {
			t.Fatal(err)
		}
		n, _ := s.NotificationByID(ctx, "n-1")
		same(t, "read and opened", []time.Time{n.ReadAt, n.OpenedAt, n.DismissedAt}, []time.Time{r1, r2, {}})
		if err := s.MarkRead(ctx, u1, "n-2", true, r1); err != nil {
			t.Fatal(err)
		}
		n, _ = s.NotificationByID(ctx, "n-2")
		same(t, "opened unread", []time.Time{n.ReadAt, n.OpenedAt}, []time.Time{r1, r1})

		shields := []notify.Shield{
			{ID: "s-1", Subject: u1, Reason: notify.ReasonKind, Kind: notify.KindSeekingAlert, NotificationID: "n-3", CreatedAt: r1},
			{ID: "s-2", Subject: u1, Reason: notify.ReasonNotNearby, Kind: notify.KindSeekingAlert, DistanceKM: 37, NotificationID: "n-3", CreatedAt: r1.Add(time.Second)},
		}
		wantCode(t, "Dismiss by another subject", s.Dismiss(ctx, u2, "n-3", r1, shields), yuncan.NotFound)
		if got, _ := s.Shields(ctx, u1); len(got) != 0 {
			t.Fatalf("a refused Dismiss left shields: %v", got)
		}
		if err := s.Dismiss(ctx, u1, "n-3", r1, shields); err != nil {
			t.Fatal(err)
		}
		n, _ = s.NotificationByID(ctx, "n-3")
		same(t, "dismissed", []time.Time{n.ReadAt, n.DismissedAt}, []time.Time{r1, r1})
		if n, _ := s.CountUnread(ctx, u1); n != 0 {
			t.Errorf("CountUnread after reading and dismissing all = %d", n)
		}
		// The same shields again (with new ids) are skipped.
		again := []notify.Shield{shields[0], shields[1]}
		again[0].ID, again[1].ID = "s-3", "s-4"
		if err := s.Dismiss(ctx, u1, "n-3", r2, again); err != nil {
			t.Fatal(err)
		}
		got, err := s.Shields(ctx, u1)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "Shields newest first", got, []notify.Shield{shields[1], shields[0]})
		if got, _ := s.Shields(ctx, u2); len(got) != 0 {
			t.Errorf("another subject's shields: %v", got)
		}

		wantCode(t, "DeleteShield by another subject", s.DeleteShield(ctx, u2, "s-1"), yuncan.NotFound)
		if err := s.DeleteShield(ctx, u1, "s-1"); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "DeleteShield twice", s.DeleteShield(ctx, u1, "s-1"), yuncan.NotFound)
		// The shield outlives the notification it came from.
		rawExec(t, db, `DELETE FROM notifications WHERE id = ?`, "n-3")
		got, _ = s.Shields(ctx, u1)
		want := shields[1]
		want.NotificationID = ""
		same(t, "a shield whose notification is gone", got, []notify.Shield{want})
	})

	register("NotifyReachAndLatest", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Notify()
		for i, id := range []string{"u-1", "u-2", "u-3"} {
			createNotification(t, s, notification("n-"+id, notify.User(id), "alert:case-1:"+id, time.Duration(i)*time.Minute))
		}
		other := notification("n-x", notify.User("u-1"), "alert:case-2:u-1", time.Hour)
		other.Data.CaseID = "case-2"
		createNotification(t, s, other)
		res := notification("n-r", notify.User("u-1"), "found:case-1:u-1", 2*time.Hour)
		res.Kind = notify.KindSeekingResolution
		createNotification(t, s, res)
		s.MarkRead(ctx, notify.User("u-2"), "n-u-2", true, t0.Add(time.Hour))
		s.MarkRead(ctx, notify.User("u-3"), "n-u-3", false, t0.Add(time.Hour))

		alerted, opened, err := s.CountReach(ctx, notify.KindSeekingAlert, "case-1")
		if err != nil || alerted != 3 || opened != 1 {
			t.Errorf("CountReach(case-1) = %d, %d, %v; want 3, 1", alerted, opened, err)
		}
		alerted, opened, err = s.CountReach(ctx, notify.KindSeekingAlert, "case-9")
		if err != nil || alerted != 0 || opened != 0 {
			t.Errorf("CountReach of no case = %d, %d, %v", alerted, opened, err)
		}

		at, err := s.LatestOfKind(ctx, notify.User("u-1"), notify.KindSeekingAlert, "")
		if err != nil || !at.Equal(t0.Add(time.Hour)) {
			t.Errorf("LatestOfKind = %v, %v; want t0+1h", at, err)
		}
		at, _ = s.LatestOfKind(ctx, notify.User("u-1"), notify.KindSeekingAlert, "alert:case-2:u-1")
		if !at.Equal(t0) {
			t.Errorf("LatestOfKind except the newest = %v; want t0", at)
		}
		at, err = s.LatestOfKind(ctx, notify.User("u-9"), notify.KindSeekingAlert, "")
		if err != nil || !at.IsZero() {
			t.Errorf("LatestOfKind of nobody = %v, %v; want zero", at, err)
		}
	})

	register("NotifyRetentionAndErasure", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Notify()
		createDevice(t, db.Identity(), "d-1", "", t0)
		createNotification(t, s, notification("old", notify.User("u-1"), "k-old", 0))
		createNotification(t, s, notification("new", notify.User("u-1"), "k-new", time.Hour))
		createNotification(t, s, notification("dev", notify.Device("d-1"), "k-dev", time.Hour))
		createNotification(t, s, notification("orphan", notify.Device("d-gone"), "k-orphan", time.Hour))
		for _, sub := range []notify.Subject{notify.Device("d-1"), notify.Device("d-gone"), notify.User("u-1")} {
			if err := s.Dismiss(ctx, sub, map[string]string{"d-1": "dev", "d-gone": "orphan", "u-1": "new"}[sub.ID], t0,
				[]notify.Shield{{ID: "s-" + sub.ID, Reason: notify.ReasonKind, Kind: notify.KindSeekingAlert, CreatedAt: t0}}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.DeleteNotificationsBefore(ctx, t0.Add(time.Minute))
		if err != nil || n != 2 {
			t.Fatalf("DeleteNotificationsBefore = %d, %v; want 2 (the old one, the gone device's)", n, err)
		}
		for id, want := range map[string]yuncan.Code{"old": yuncan.NotFound, "orphan": yuncan.NotFound, "new": "", "dev": ""} {
			_, err := s.NotificationByID(ctx, id)
			wantCode(t, "after retention, notification "+id, err, want)
		}
		if sh, _ := s.Shields(ctx, notify.Device("d-gone")); len(sh) != 0 {
			t.Errorf("a gone device's shields remain: %v", sh)
		}
		if sh, _ := s.Shields(ctx, notify.Device("d-1")); len(sh) != 1 {
			t.Errorf("a live device's shields = %v", sh)
		}

		if err := s.DeleteSubject(ctx, notify.User("u-1")); err != nil {
			t.Fatal(err)
		}
		_, err = s.NotificationByID(ctx, "new")
		wantCode(t, "an erased subject's notification", err, yuncan.NotFound)
		if sh, _ := s.Shields(ctx, notify.User("u-1")); len(sh) != 0 {
			t.Errorf("an erased subject's shields remain: %v", sh)
		}
		if _, err := s.NotificationByID(ctx, "dev"); err != nil {
			t.Errorf("another subject's notification: %v", err)
		}
	})

	register("NotifyPushTargets", func(t *testing.T, db *sqlstore.DB) {
		ctx, s, ids := context.Background(), db.Notify(), db.Identity()
		createUser(t, ids, "u-1")
		createDevice(t, ids, "d-1", "u-1", t0)
		createDevice(t, ids, "d-2", "u-1", t0)
		createDevice(t, ids, "d-3", "", t0)
		if err := s.SaveWebPush(ctx, "d-2", webPushSub("a"), t0); err != nil {
			t.Fatal(err)
		}
		// Saving again replaces.
		if err := s.SaveWebPush(ctx, "d-2", webPushSub("b"), t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "SaveWebPush for no device", s.SaveWebPush(ctx, "d-9", webPushSub("c"), t0), yuncan.NotFound)

		sub := webPushSub("b")
		got, err := s.PushTargets(ctx, notify.User("u-1"))
		if err != nil {
			t.Fatal(err)
		}
		same(t, "an account's targets", got, []notify.Target{
			{DeviceID: "d-1", Platform: "android", Token: "push-d-1"},
			{DeviceID: "d-2", Platform: "android", Token: "push-d-2", WebPush: &sub},
		})
		got, _ = s.PushTargets(ctx, notify.Device("d-3"))
		same(t, "a device's target", got, []notify.Target{{DeviceID: "d-3", Platform: "android", Token: "push-d-3"}})
		got, _ = s.PushTargets(ctx, notify.User("u-9"))
		same(t, "no targets", got, []notify.Target{})

		// Clearing is compare-and-set: a token the app replaced stays.
		if err := s.ClearPushToken(ctx, "d-1", "push-old"); err != nil {
			t.Fatal(err)
		}
		if err := s.ClearPushToken(ctx, "d-3", "push-d-3"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteWebPush(ctx, "d-2", "https://push.example/a"); err != nil {
			t.Fatal(err)
		}
		got, _ = s.PushTargets(ctx, notify.User("u-1"))
		same(t, "targets after a stale clear", got, []notify.Target{
			{DeviceID: "d-1", Platform: "android", Token: "push-d-1"},
			{DeviceID: "d-2", Platform: "android", Token: "push-d-2", WebPush: &sub},
		})
		got, _ = s.PushTargets(ctx, notify.Device("d-3"))
		same(t, "a cleared token", got, []notify.Target{{DeviceID: "d-3", Platform: "android"}})
		if err := s.DeleteWebPush(ctx, "d-2", ""); err != nil {
			t.Fatal(err)
		}
		got, _ = s.PushTargets(ctx, notify.Device("d-2"))
		same(t, "a deleted subscription", got, []notify.Target{{DeviceID: "d-2", Platform: "android", Token: "push-d-2"}})

		// The subscription goes with its device.
		s.SaveWebPush(ctx, "d-3", webPushSub("c"), t0)
		rawExec(t, db, `DELETE FROM devices WHERE id = ?`, "d-3")
		var n int
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM web_push_subscriptions`).Scan(&n); err != nil || n != 0 {
			t.Errorf("subscriptions after deleting their devices = %d, %v", n, err)
		}
	})

	register("NotifyDeliveries", func(t *testing.T, db *sqlstore.DB) {
		ctx, s := context.Background(), db.Notify()
		createDevice(t, db.Identity(), "d-1", "", t0)
		createDevice(t, db.Identity(), "d-2", "", t0)
		createNotification(t, s, notification("n-1", notify.Device("d-1"), "k-1", 0))
		lease := t0.Add(-10 * time.Minute)
		d1 := notify.Delivery{NotificationID: "n-1", DeviceID: "d-1", Channel: notify.ChannelFCM, Status: notify.StatusSending, CreatedAt: t0, UpdatedAt: t0}
		claim := func(d notify.Delivery, staleBefore time.Time) bool {
			t.Helper()
			ok, err := s.ClaimDelivery(ctx, d, staleBefore)
			if err != nil {
				t.Fatalf("ClaimDelivery: %v", err)
			}
			return ok
		}
		if !claim(d1, lease) {
			t.Fatal("the first claim failed")
		}
		if claim(d1, lease) {
			t.Error("a fresh sending row was claimed twice")
		}
		d2 := d1
		d2.DeviceID = "d-2"
		if !claim(d2, lease) {
			t.Error("another device's claim failed")
		}
		if _, err := s.ClaimDelivery(ctx, notify.Delivery{NotificationID: "n-9", DeviceID: "d-1", Status: notify.StatusSending}, lease); err == nil {
			t.Error("a claim for no notification was accepted")
		}

		stale, err := s.StaleDeliveries(ctx, t0.Add(time.Second), 10)
		if err != nil || len(stale) != 2 {
			t.Fatalf("StaleDeliveries = %v, %v; want both", stale, err)
		}
		// A row left sending past the lease is taken over.
		later := d1
		later.UpdatedAt = t0.Add(time.Hour)
		if !claim(later, t0.Add(time.Minute)) {
			t.Error("a stale sending row was not taken over")
		}

		done := d1
		done.Status, done.Attempts, done.LastError, done.UpdatedAt = notify.StatusFailed, 3, "503", t0.Add(2*time.Hour)
		if err := s.FinishDelivery(ctx, done); err != nil {
			t.Fatal(err)
		}
		done.Status, done.Attempts, done.LastError = notify.StatusSent, 1, ""
		if err := s.FinishDelivery(ctx, done); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "FinishDelivery of nothing", s.FinishDelivery(ctx, notify.Delivery{NotificationID: "n-1", DeviceID: "d-9"}), yuncan.NotFound)
		// A finished row is never claimed again, however old.
		if claim(d1, t0.Add(1000*time.Hour)) {
			t.Error("a sent delivery was claimed again")
		}
		got, err := s.Deliveries(ctx, "n-1")
		if err != nil {
			t.Fatal(err)
		}
		same(t, "Deliveries", got, []notify.Delivery{
			{NotificationID: "n-1", DeviceID: "d-1", Channel: notify.ChannelFCM, Status: notify.StatusSent, Attempts: 4,
				CreatedAt: t0, UpdatedAt: t0.Add(2 * time.Hour)},
			{NotificationID: "n-1", DeviceID: "d-2", Channel: notify.ChannelFCM, Status: notify.StatusSending, CreatedAt: t0, UpdatedAt: t0},
		})
		stale, _ = s.StaleDeliveries(ctx, t0.Add(time.Second), 10)
		if len(stale) != 1 || stale[0].DeviceID != "d-2" {
			t.Errorf("StaleDeliveries after finishing one = %v", stale)
		}

		// Deliveries go with their device and their notification.
		rawExec(t, db, `DELETE FROM devices WHERE id = ?`, "d-2")
		got, _ = s.Deliveries(ctx, "n-1")
		if len(got) != 1 {
			t.Errorf("deliveries after deleting a device: %v", got)
		}
		rawExec(t, db, `DELETE FROM notifications WHERE id = ?`, "n-1")
		got, _ = s.Deliveries(ctx, "n-1")
		if len(got) != 0 {
			t.Errorf("deliveries after deleting their notification: %v", got)
		}
	})
}
