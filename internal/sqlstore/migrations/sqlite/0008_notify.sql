-- The notify area: the inbox of accounts and devices, the shields people
-- set with the "X" (P56), one delivery row per pushed device, and the Web
-- Push subscriptions of browsers. Times are UTC Unix nanoseconds; 0 means
-- "none".
--
-- A recipient is a subject (an account, or a device before login, P04),
-- named by kind and id without a foreign key: notify.Inbox.DeleteSubject
-- erases an account's rows, and notify.Inbox.Expire removes those of
-- devices that are gone.
CREATE TABLE notifications (
	id             TEXT PRIMARY KEY,
	recipient_kind TEXT NOT NULL,
	recipient_id   TEXT NOT NULL,
	kind           TEXT NOT NULL,
	-- Unique per recipient, so that a delivery repeated after a crash
	-- finds the first one.
	dedupe_key     TEXT NOT NULL,
	case_id        TEXT NOT NULL DEFAULT '',
	title          TEXT NOT NULL,
	body           TEXT NOT NULL,
	-- JSON: ring, distance_km (whole km), link: "why you got this".
	data           TEXT NOT NULL,
	created_at     BIGINT NOT NULL,
	read_at        BIGINT NOT NULL DEFAULT 0,
	opened_at      BIGINT NOT NULL DEFAULT 0,
	dismissed_at   BIGINT NOT NULL DEFAULT 0,
	UNIQUE (recipient_kind, recipient_id, dedupe_key)
);
CREATE INDEX notifications_recipient ON notifications (recipient_kind, recipient_id, created_at, id);
CREATE INDEX notifications_case ON notifications (case_id, kind);
CREATE INDEX notifications_created ON notifications (created_at);

-- One row per (notification, device): each device is pushed once per
-- notification. last_error is a provider code, never a token.
CREATE TABLE notification_deliveries (
	notification_id TEXT NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
	device_id       TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	channel         TEXT NOT NULL,
	status          TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      BIGINT NOT NULL,
	updated_at      BIGINT NOT NULL,
	PRIMARY KEY (notification_id, device_id)
);
CREATE INDEX notification_deliveries_device ON notification_deliveries (device_id);
CREATE INDEX notification_deliveries_status ON notification_deliveries (status, updated_at);

-- What a subject shields (P56): one row per reason and dimension.
CREATE TABLE notification_shields (
	id              TEXT PRIMARY KEY,
	subject_kind    TEXT NOT NULL,
	subject_id      TEXT NOT NULL,
	reason          TEXT NOT NULL,
	kind            TEXT NOT NULL,
	case_id         TEXT NOT NULL DEFAULT '',
	distance_km     INTEGER NOT NULL DEFAULT 0,
	notification_id TEXT REFERENCES notifications (id) ON DELETE SET NULL,
	created_at      BIGINT NOT NULL,
	UNIQUE (subject_kind, subject_id, reason, kind, case_id, distance_km)
);

-- A browser's PushSubscription, one per device (RFC 8030, RFC 8291).
CREATE TABLE web_push_subscriptions (
	device_id  TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
	endpoint   TEXT NOT NULL,
	p256dh     TEXT NOT NULL,
	auth       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
