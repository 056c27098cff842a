-- People-seeking alerts (flow 1): one alert per centre of a case (its
-- last-seen point, and each verified clue's point) with the rings of its
-- category's schedule, and one row per person alerted about a case.
--
-- Times are UTC Unix nanoseconds, 0 when not set. The centre is a precise
-- location of the missing person: sealed (AES-256-GCM, additional data
-- "alerts.centre"). Recipients hold ids, a ring number and a distance in
-- whole km, never a position.

CREATE TABLE alerts (
	id            TEXT PRIMARY KEY,
	case_id       TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
	clue_id       TEXT NOT NULL, -- '' for the case's last-seen point
	category      TEXT NOT NULL,
	centre_sealed TEXT NOT NULL,
	centre_at     BIGINT NOT NULL, -- the rings are timed from it
	created_at    BIGINT NOT NULL,
	closed_at     BIGINT NOT NULL, -- the case was resolved: no more rings
	notified_at   BIGINT NOT NULL, -- the resolution was handed to delivery
	UNIQUE (case_id, clue_id)
);
CREATE INDEX alerts_closed ON alerts (closed_at, notified_at);

CREATE TABLE alert_rings (
	alert_id  TEXT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
	ring      INTEGER NOT NULL, -- from 1, innermost first
	radius_km REAL NOT NULL,
	due_at    BIGINT NOT NULL,
	opened_at BIGINT NOT NULL,  -- 0 until every batch is enqueued
	batches   INTEGER NOT NULL, -- how its recipients were split; never shrinks
	-- People enqueued when it opened (0 for an inner ring that opened
	-- with an outer one after a restart).
	recipients INTEGER NOT NULL,
	PRIMARY KEY (alert_id, ring)
);
CREATE INDEX alert_rings_due ON alert_rings (opened_at, due_at);

-- Who was alerted about a case: the "already alerted" set, the daily
-- cap's counter and who gets the resolution. Recipients are subjects
-- (accounts, or devices before login) without a foreign key, as in
-- notifications; erasure and the withdrawal of the location consent
-- delete their rows.
CREATE TABLE alert_recipients (
	case_id       TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
	subject_kind  TEXT NOT NULL,
	subject_id    TEXT NOT NULL,
	alert_id      TEXT NOT NULL,
	ring          INTEGER NOT NULL,
	distance_km   INTEGER NOT NULL, -- whole km, rounded up
	quiet         INTEGER NOT NULL, -- 1: inbox only (quiet hours)
	alerted_at    BIGINT NOT NULL,
	resolution_at BIGINT NOT NULL,  -- 0 until the resolution was sent
	PRIMARY KEY (case_id, subject_kind, subject_id)
);
CREATE INDEX alert_recipients_subject ON alert_recipients (subject_kind, subject_id, alerted_at);
CREATE INDEX alert_recipients_alerted ON alert_recipients (alerted_at);
