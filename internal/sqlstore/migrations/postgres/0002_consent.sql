-- The consent ledger: append-only events per subject (an account or an
-- anonymous device) and purpose; consent_state is the projection of the
-- last event, updated in the same transaction (compare-and-set on
-- last_event_id, which serialises concurrent decisions); consent_purges
-- are the durable withdrawal tasks.
CREATE TABLE consent_events (
	id             TEXT PRIMARY KEY,
	subject_kind   TEXT NOT NULL,
	subject_id     TEXT NOT NULL,
	purpose        TEXT NOT NULL,
	action         TEXT NOT NULL,
	policy_version TEXT NOT NULL,
	channel        TEXT NOT NULL,
	at             BIGINT NOT NULL
);
CREATE INDEX consent_events_subject ON consent_events (subject_kind, subject_id, at);

CREATE TABLE consent_state (
	subject_kind  TEXT NOT NULL,
	subject_id    TEXT NOT NULL,
	purpose       TEXT NOT NULL,
	last_event_id TEXT NOT NULL,
	PRIMARY KEY (subject_kind, subject_id, purpose)
);

CREATE TABLE consent_purges (
	id           TEXT PRIMARY KEY,
	subject_kind TEXT NOT NULL,
	subject_id   TEXT NOT NULL,
	purpose      TEXT NOT NULL,
	hook         TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	done_at      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX consent_purges_pending ON consent_purges (done_at, created_at);
