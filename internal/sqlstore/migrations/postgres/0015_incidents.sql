-- Personal information security incidents (policy 5f; P54; PIPL Art.
-- 57): what staff declared, in the five elements every notice carries;
-- who was told; the record of the report to the regulator; and the
-- public announcements of incidents that affect everyone.
--
-- Times are UTC Unix nanoseconds, 0 when not set. The texts are written
-- by staff for the people affected and the public: no personal data.
-- An incident is the record of how it was handled: it outlives the staff
-- accounts that acted on it (no foreign key to users; erasure blanks
-- their ids).

CREATE TABLE incidents (
	id              TEXT PRIMARY KEY,
	severity        TEXT NOT NULL,    -- low, medium, high, critical
	status          TEXT NOT NULL,    -- declared, notified, closed
	occurred_at     BIGINT NOT NULL,
	discovered_at   BIGINT NOT NULL,
	declared_at     BIGINT NOT NULL,
	declared_by     TEXT NOT NULL,    -- the admin; '' once erased
	affected_all    INTEGER NOT NULL, -- 1: every account there was at declaration
	affected_count  INTEGER NOT NULL, -- accounts listed, or all accounts at declaration
	progress_cursor TEXT NOT NULL,    -- the notification job's progress: the greatest user id done
	lease_until     BIGINT NOT NULL,  -- a job works on it until then
	notified_at     BIGINT NOT NULL,  -- when every affected account had its notice
	closed_at       BIGINT NOT NULL,
	closed_by       TEXT NOT NULL,
	updated_at      BIGINT NOT NULL
);
CREATE INDEX incidents_declared ON incidents (declared_at, id);
CREATE INDEX incidents_status ON incidents (status, declared_at, id);

-- The five elements, per language (zh, en).
CREATE TABLE incident_texts (
	incident_id   TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	lang          TEXT NOT NULL,
	what_happened TEXT NOT NULL,
	impact        TEXT NOT NULL,
	measures      TEXT NOT NULL,
	advice        TEXT NOT NULL,
	remedies      TEXT NOT NULL,
	PRIMARY KEY (incident_id, lang)
);

-- Who is told: the listed accounts from the declaration on, or (for an
-- incident that affects everyone) each account as the job reaches it.
-- Rows go with the account (foreign key) and 3 years after the incident
-- is closed (incidents.Expire).
CREATE TABLE incident_recipients (
	incident_id     TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	notification_id TEXT NOT NULL, -- the inbox notice, '' until told
	notified_at     BIGINT NOT NULL,
	PRIMARY KEY (incident_id, user_id)
);
CREATE INDEX incident_recipients_user ON incident_recipients (user_id);

-- The report to the regulator, recorded with the facts at declaration;
-- staff mark it submitted with the reference the authority gave.
CREATE TABLE incident_reports (
	incident_id  TEXT PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
	authority    TEXT NOT NULL,
	facts        TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	submitted_at BIGINT NOT NULL,
	submitted_by TEXT NOT NULL, -- the admin; '' until submitted, or once erased
	reference    TEXT NOT NULL
);

-- Public announcements, readable without an account: one per incident
-- that affects everyone, its text the incident's.
CREATE TABLE announcements (
	id           TEXT PRIMARY KEY,
	incident_id  TEXT NOT NULL UNIQUE REFERENCES incidents (id) ON DELETE CASCADE,
	published_at BIGINT NOT NULL
);
CREATE INDEX announcements_published ON announcements (published_at, id);
