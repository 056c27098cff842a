package notify

import (
	"context"
	"time"
)

// Store is the storage the inbox, the shields and the deliveries need.
// Methods return *yuncan.Error with code NotFound when a row is absent (or
// belongs to another subject); other errors are failures of the database.
type Store interface {
	// CreateNotification inserts n unless its recipient already has a
	// notification with the same dedupe key; then it returns that one
	// and false.
	CreateNotification(ctx context.Context, n Notification) (Notification, bool, error)
	// NotificationByID returns a notification whoever it is for.
	NotificationByID(ctx context.Context, id string) (Notification, error)
	// Notifications lists the subject's notifications newest first,
	// strictly older than before (all when before is zero).
	Notifications(ctx context.Context, sub Subject, before Position, limit int) ([]Notification, error)
	// NotificationsAfter lists the subject's notifications oldest first,
	// strictly newer than after.
	NotificationsAfter(ctx context.Context, sub Subject, after Position, limit int) ([]Notification, error)
	// CountUnread counts the subject's notifications not read yet.
	CountUnread(ctx context.Context, sub Subject) (int, error)
	// MarkRead sets read_at, and opened_at too when opened, where unset.
	// NotFound when the subject has no such notification.
	MarkRead(ctx context.Context, sub Subject, id string, opened bool, at time.Time) error
	// Dismiss sets dismissed_at (and read_at) where unset and adds the
	// shields, skipping any the subject holds already, in one
	// transaction. NotFound when the subject has no such notification.
	Dismiss(ctx context.Context, sub Subject, id string, at time.Time, shields []Shield) error
	// LatestOfKind is when the subject last got a notification of kind,
	// other than the one with dedupe key except; zero when never.
	LatestOfKind(ctx context.Context, sub Subject, kind Kind, except string) (time.Time, error)
	// CountReach counts the notifications of kind about a case, and how
	// many of them were opened.
	CountReach(ctx context.Context, kind Kind, caseID string) (alerted, opened int, err error)
	// DeleteNotificationsBefore deletes notifications created before t,
	// and those of devices that no longer exist, with their deliveries.
	DeleteNotificationsBefore(ctx context.Context, t time.Time) (int, error)
	// DeleteSubject deletes the subject's notifications (with their
	// deliveries) and shields.
	DeleteSubject(ctx context.Context, sub Subject) error

	// Shields lists the subject's shields, newest first.
	Shields(ctx context.Context, sub Subject) ([]Shield, error)
	// DeleteShield removes one; NotFound when the subject has none with
	// that id.
	DeleteShield(ctx context.Context, sub Subject, id string) error

	// PushTargets lists the devices a subject's pushes go to: for an
	// account its bound devices, for a device itself (P04), each with
	// its push token and Web Push subscription.
	PushTargets(ctx context.Context, sub Subject) ([]Target, error)
	// ClearPushToken empties a device's push token if it still is token
	// (a newer one the app sent meanwhile stays).
	ClearPushToken(ctx context.Context, deviceID, token string) error
	// SaveWebPush stores or replaces a device's Web Push subscription.
	// NotFound when the device does not exist.
	SaveWebPush(ctx context.Context, deviceID string, s WebPushSubscription, at time.Time) error
	// DeleteWebPush removes a device's subscription; when endpoint is not
	// empty, only if it still has that endpoint. Deleting nothing is not
	// an error.
	DeleteWebPush(ctx context.Context, deviceID, endpoint string) error

	// ClaimDelivery inserts d (status sending) unless the pair
	// (notification, device) has a row already, in which case it takes
	// the row over only when it is still sending and was last touched
	// before staleBefore (its process died). It reports whether the
	// caller now owns the delivery.
	ClaimDelivery(ctx context.Context, d Delivery, staleBefore time.Time) (bool, error)
	// FinishDelivery writes status, attempts, last error and UpdatedAt.
	FinishDelivery(ctx context.Context, d Delivery) error
	// StaleDeliveries lists deliveries still sending since before,
	// oldest first.
	StaleDeliveries(ctx context.Context, before time.Time, limit int) ([]Delivery, error)
	// Deliveries lists a notification's deliveries by device id.
	Deliveries(ctx context.Context, notificationID string) ([]Delivery, error)
}
