package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/yuncan/yuncan"
	"github.com/yuncan/yuncan/internal/notify"
)

// NotifyStore implements notify.Store.
type NotifyStore struct{ db *DB }

// Notify returns the notify area's store.
func (db *DB) Notify() *NotifyStore { return &NotifyStore{db: db} }

var _ notify.Store = (*NotifyStore)(nil)

const notificationColumns = `id, recipient_kind, recipient_id, kind, dedupe_key, case_id, title, body, data,
	created_at, read_at, opened_at, dismissed_at`

// notificationData is what the data column holds; the case id has its own
// column, for reach figures and shields.
type notificationData struct {
	Ring       int    `json:"ring,omitempty"`
	DistanceKM int    `json:"distance_km,omitempty"`
	Link       string `json:"link,omitempty"`
}

func scanNotification(r scanner) (notify.Notification, error) {
	var n notify.Notification
	var data string
	var created, read, opened, dismissed int64
	err := r.Scan(&n.ID, &n.Recipient.Kind, &n.Recipient.ID, &n.Kind, &n.DedupeKey, &n.Data.CaseID, &n.Title, &n.Body, &data,
		&created, &read, &opened, &dismissed)
	if err != nil {
		return n, err
	}
	var d notificationData
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		return n, fmt.Errorf("sqlstore: notification %s: data: %w", n.ID, err)
	}
	n.Data.Ring, n.Data.DistanceKM, n.Data.Link = d.Ring, d.DistanceKM, d.Link
	n.CreatedAt, n.ReadAt, n.OpenedAt, n.DismissedAt = fromTS(created), fromTS(read), fromTS(opened), fromTS(dismissed)
	return n, nil
}

func (s *NotifyStore) notifications(ctx context.Context, query string, args ...any) ([]notify.Notification, error) {
	return queryAll(ctx, s.db, scanNotification, s.db.sql, query, args...)
}

func (s *NotifyStore) CreateNotification(ctx context.Context, n notify.Notification) (notify.Notification, bool, error) {
	data, err := json.Marshal(notificationData{Ring: n.Data.Ring, DistanceKM: n.Data.DistanceKM, Link: n.Data.Link})
	if err != nil {
		return notify.Notification{}, false, err
	}
	res, err := s.db.exec(ctx, s.db.sql, `INSERT INTO notifications (`+notificationColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (recipient_kind, recipient_id, dedupe_key) DO NOTHING`,
		n.ID, n.Recipient.Kind, n.Recipient.ID, n.Kind, n.DedupeKey, n.Data.CaseID, n.Title, n.Body, string(data),
		ts(n.CreatedAt), ts(n.ReadAt), ts(n.OpenedAt), ts(n.DismissedAt))
	if err != nil {
		return notify.Notification{}, false, err
	}
	if rowsAffected(res) == 1 {
		return n, true, nil
	}
	got, err := scanNotification(s.db.queryRow(ctx, s.db.sql, `SELECT `+notificationColumns+` FROM notifications
		WHERE recipient_kind = ? AND recipient_id = ? AND dedupe_key = ?`, n.Recipient.Kind, n.Recipient.ID, n.DedupeKey))
	if err != nil {
		return notify.Notification{}, false, notFound(err, "notification")
	}
	return got, false, nil
}

func (s *NotifyStore) NotificationByID(ctx context.Context, id string) (notify.Notification, error) {
	n, err := scanNotification(s.db.queryRow(ctx, s.db.sql, `SELECT `+notificationColumns+` FROM notifications WHERE id = ?`, id))
	return n, notFound(err, "notification")
}

func (s *NotifyStore) Notifications(ctx context.Context, sub notify.Subject, before notify.Position, limit int) ([]notify.Notification, error) {
	if before.IsZero() {
		return s.notifications(ctx, `SELECT `+notificationColumns+` FROM notifications
			WHERE recipient_kind = ? AND recipient_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, sub.Kind, sub.ID, limit)
	}
	at := ts(before.At)
	return s.notifications(ctx, `SELECT `+notificationColumns+` FROM notifications
		WHERE recipient_kind = ? AND recipient_id = ? AND (created_at < ? OR (created_at = ? AND id < ?))
		ORDER BY created_at DESC, id DESC LIMIT ?`, sub.Kind, sub.ID, at, at, before.ID, limit)
}

func (s *NotifyStore) NotificationsAfter(ctx context.Context, sub notify.Subject, after notify.Position, limit int) ([]notify.Notification, error) {
	at := ts(after.At)
	return s.notifications(ctx, `SELECT `+notificationColumns+` FROM notifications
		WHERE recipient_kind = ? AND recipient_id = ? AND (created_at > ? OR (created_at = ? AND id > ?))
		ORDER BY created_at, id LIMIT ?`, sub.Kind, sub.ID, at, at, after.ID, limit)
}

func (s *NotifyStore) CountUnread(ctx context.Context, sub notify.Subject) (int, error) {
	var n int
	err := s.db.queryRow(ctx, s.db.sql, `SELECT COUNT(*) FROM notifications
		WHERE recipient_kind = ? AND recipient_id = ? AND read_at = 0 AND dismissed_at = 0`, sub.Kind, sub.ID).Scan(&n)
	return n, err
}

func (s *NotifyStore) MarkRead(ctx context.Context, sub notify.Subject, id string, opened bool, at time.Time) error {
	q := `UPDATE notifications SET read_at = CASE WHEN read_at = 0 THEN ? ELSE read_at END`
	args := []any{ts(at)}
	if opened {
		q += `, opened_at = CASE WHEN opened_at = 0 THEN ? ELSE opened_at END`
		args = append(args, ts(at))
	}
	q += ` WHERE id = ? AND recipient_kind = ? AND recipient_id = ?`
	res, err := s.db.exec(ctx, s.db.sql, q, append(args, id, sub.Kind, sub.ID)...)
	return mustAffect(res, err, "notification")
}

func (s *NotifyStore) Dismiss(ctx context.Context, sub notify.Subject, id string, at time.Time, shields []notify.Shield) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.db.exec(ctx, tx, `UPDATE notifications SET
			read_at = CASE WHEN read_at = 0 THEN ? ELSE read_at END,
			dismissed_at = CASE WHEN dismissed_at = 0 THEN ? ELSE dismissed_at END
			WHERE id = ? AND recipient_kind = ? AND recipient_id = ?`, ts(at), ts(at), id, sub.Kind, sub.ID)
		if err := mustAffect(res, err, "notification"); err != nil {
			return err
		}
		for _, sh := range shields {
			if _, err := s.db.exec(ctx, tx, `INSERT INTO notification_shields
				(id, subject_kind, subject_id, reason, kind, case_id, distance_km, notification_id, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				sh.ID, sub.Kind, sub.ID, sh.Reason, sh.Kind, sh.CaseID, sh.DistanceKM, emptyNull(sh.NotificationID), ts(sh.CreatedAt)); err != nil {
				return fmt.Errorf("sqlstore: shield: %w", err)
			}
		}
		return nil
	})
}

func (s *NotifyStore) LatestOfKind(ctx context.Context, sub notify.Subject, kind notify.Kind, except string) (time.Time, error) {
	var at sql.NullInt64
	err := s.db.queryRow(ctx, s.db.sql, `SELECT MAX(created_at) FROM notifications
		WHERE recipient_kind = ? AND recipient_id = ? AND kind = ? AND dedupe_key <> ?`, sub.Kind, sub.ID, kind, except).Scan(&at)
	return fromTS(at.Int64), err
}

func (s *NotifyStore) CountReach(ctx context.Context, kind notify.Kind, caseID string) (alerted, opened int, err error) {
	err = s.db.queryRow(ctx, s.db.sql, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN opened_at <> 0 THEN 1 ELSE 0 END), 0)
		FROM notifications WHERE case_id = ? AND kind = ?`, caseID, kind).Scan(&alerted, &opened)
	return alerted, opened, err
}

func (s *NotifyStore) DeleteNotificationsBefore(ctx context.Context, t time.Time) (int, error) {
	n := 0
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.db.exec(ctx, tx, `DELETE FROM notifications WHERE created_at < ?
			OR (recipient_kind = 'device' AND NOT EXISTS (SELECT 1 FROM devices WHERE devices.id = notifications.recipient_id))`, ts(t))
		if err != nil {
			return err
		}
		n = rowsAffected(res)
		_, err = s.db.exec(ctx, tx, `DELETE FROM notification_shields WHERE subject_kind = 'device'
			AND NOT EXISTS (SELECT 1 FROM devices WHERE devices.id = notification_shields.subject_id)`)
		return err
	})
	return n, err
}

func (s *NotifyStore) DeleteSubject(ctx context.Context, sub notify.Subject) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.db.exec(ctx, tx, `DELETE FROM notification_shields WHERE subject_kind = ? AND subject_id = ?`, sub.Kind, sub.ID); err != nil {
			return err
		}
		_, err := s.db.exec(ctx, tx, `DELETE FROM notifications WHERE recipient_kind = ? AND recipient_id = ?`, sub.Kind, sub.ID)
		return err
	})
}

const shieldColumns = `id, subject_kind, subject_id, reason, kind, case_id, distance_km, notification_id, created_at`

func (s *NotifyStore) Shields(ctx context.Context, sub notify.Subject) ([]notify.Shield, error) {
	rows, err := s.db.query(ctx, s.db.sql, `SELECT `+shieldColumns+` FROM notification_shields
		WHERE subject_kind = ? AND subject_id = ? ORDER BY created_at DESC, id DESC`, sub.Kind, sub.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []notify.Shield{}
	for rows.Next() {
		var sh notify.Shield
		var nid sql.NullString
		var created int64
		if err := rows.Scan(&sh.ID, &sh.Subject.Kind, &sh.Subject.ID, &sh.Reason, &sh.Kind, &sh.CaseID, &sh.DistanceKM, &nid, &created); err != nil {
			return nil, err
		}
		sh.NotificationID, sh.CreatedAt = nid.String, fromTS(created)
		out = append(out, sh)
	}
	return out, rows.Err()
}

func (s *NotifyStore) DeleteShield(ctx context.Context, sub notify.Subject, id string) error {
	res, err := s.db.exec(ctx, s.db.sql, `DELETE FROM notification_shields WHERE id = ? AND subject_kind = ? AND subject_id = ?`, id, sub.Kind, sub.ID)
	return mustAffect(res, err, "shield")
}

// PushTargets reads the identity area's devices table: which devices a
// subject has is identity's rule (P04: bound while logged in), stored in
// devices.user_id; this joins it with the subscriptions notify keeps.
func (s *NotifyStore) PushTargets(ctx context.Context, sub notify.Subject) ([]notify.Target, error) {
	where := `d.user_id = ?`
	switch sub.Kind {
	case notify.SubjectUser:
	case notify.SubjectDevice:
		where = `d.id = ?`
	default:
		return nil, yuncan.Errorf(yuncan.Invalid, "unknown subject kind %q", sub.Kind)
	}
	rows, err := s.db.query(ctx, s.db.sql, `SELECT d.id, d.platform, d.push_token, w.endpoint, w.p256dh, w.auth
		FROM devices d LEFT JOIN web_push_subscriptions w ON w.device_id = d.id
		WHERE `+where+` ORDER BY d.id`, sub.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []notify.Target{}
	for rows.Next() {
		var t notify.Target
		var endpoint, p256dh, auth sql.NullString
		if err := rows.Scan(&t.DeviceID, &t.Platform, &t.Token, &endpoint, &p256dh, &auth); err != nil {
			return nil, err
		}
		if endpoint.Valid {
			t.WebPush = &notify.WebPushSubscription{Endpoint: endpoint.String, P256DH: p256dh.String, Auth: auth.String}
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s *NotifyStore) ClearPushToken(ctx context.Context, deviceID, token string) error {
	_, err := s.db.exec(ctx, s.db.sql, `UPDATE devices SET push_token = '' WHERE id = ? AND push_token = ?`, deviceID, token)
	return err
}

func (s *NotifyStore) SaveWebPush(ctx context.Context, deviceID string, w notify.WebPushSubscription, at time.Time) error {
	_, err := s.db.exec(ctx, s.db.sql, `INSERT INTO web_push_subscriptions (device_id, endpoint, p256dh, auth, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (device_id) DO UPDATE SET endpoint = excluded.endpoint, p256dh = excluded.p256dh, auth = excluded.auth,
			updated_at = excluded.updated_at`, deviceID, w.Endpoint, w.P256DH, w.Auth, ts(at), ts(at))
	if isForeignKeyViolation(err) {
		return &yuncan.Error{Code: yuncan.NotFound, Message: "device not found", Err: err}
	}
	return err
}

func (s *NotifyStore) DeleteWebPush(ctx context.Context, deviceID, endpoint string) error {
	q, args := `DELETE FROM web_push_subscriptions WHERE device_id = ?`, []any{deviceID}
	if endpoint != "" {
		q += ` AND endpoint = ?`
		args = append(args, endpoint)
	}
	_, err := s.db.exec(ctx, s.db.sql, q, args...)
	return err
}

const deliveryColumns = `notification_id, device_id, channel, status, attempts, last_error, created_at, updated_at`

func (s *NotifyStore) ClaimDelivery(ctx context.Context, d notify.Delivery, staleBefore time.Time) (bool, error) {
	res, err := s.db.exec(ctx, s.db.sql, `INSERT INTO notification_deliveries (`+deliveryColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (notification_id, device_id) DO UPDATE SET updated_at = excluded.updated_at
		WHERE notification_deliveries.status = 'sending' AND notification_deliveries.updated_at < ?`,
		d.NotificationID, d.DeviceID, d.Channel, notify.StatusSending, d.Attempts, d.LastError, ts(d.CreatedAt), ts(d.UpdatedAt), ts(staleBefore))
	if err != nil {
		return false, err
	}
	return rowsAffected(res) == 1, nil
}

func (s *NotifyStore) FinishDelivery(ctx context.Context, d notify.Delivery) error {
	res, err := s.db.exec(ctx, s.db.sql, `UPDATE notification_deliveries SET status = ?, attempts = attempts + ?, last_error = ?, updated_at = ?
		WHERE notification_id = ? AND device_id = ?`, d.Status, d.Attempts, d.LastError, ts(d.UpdatedAt), d.NotificationID, d.DeviceID)
	return mustAffect(res, err, "delivery")
}

func (s *NotifyStore) deliveries(ctx context.Context, query string, args ...any) ([]notify.Delivery, error) {
	rows, err := s.db.query(ctx, s.db.sql, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []notify.Delivery{}
	for rows.Next() {
		var d notify.Delivery
		var created, updated int64
		if err := rows.Scan(&d.NotificationID, &d.DeviceID, &d.Channel, &d.Status, &d.Attempts, &d.LastError, &created, &updated); err != nil {
			return nil, err
		}
		d.CreatedAt, d.UpdatedAt = fromTS(created), fromTS(updated)
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *NotifyStore) StaleDeliveries(ctx context.Context, before time.Time, limit int) ([]notify.Delivery, error) {
	return s.deliveries(ctx, `SELECT `+deliveryColumns+` FROM notification_deliveries
		WHERE status = 'sending' AND updated_at < ? ORDER BY updated_at, notification_id, device_id LIMIT ?`, ts(before), limit)
}

func (s *NotifyStore) Deliveries(ctx context.Context, notificationID string) ([]notify.Delivery, error) {
	return s.deliveries(ctx, `SELECT `+deliveryColumns+` FROM notification_deliveries
		WHERE notification_id = ? ORDER BY device_id`, notificationID)
}
