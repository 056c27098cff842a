-- People-seeking (flow 1): partner organisations and their staff, cases
-- with their history and photos, clues with photos, the masked relay, and
-- a minimal append-only audit log of staff reads of private data.
--
-- Times are UTC Unix nanoseconds, 0 when not set. Values marked sealed
-- are AES-256-GCM under the active key with "<table>.<column without
-- _sealed>" as additional data.

CREATE TABLE partner_orgs (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	kind       TEXT NOT NULL, -- police, rescue_station, volunteer_group
	created_at BIGINT NOT NULL
);

-- Staff membership, managed by admins. Goes with the account.
CREATE TABLE partner_staff (
	org_id   TEXT NOT NULL REFERENCES partner_orgs (id) ON DELETE CASCADE,
	user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	added_by TEXT NOT NULL,
	added_at BIGINT NOT NULL,
	PRIMARY KEY (org_id, user_id)
);
CREATE INDEX partner_staff_user ON partner_staff (user_id);

-- A missing-person case. The person's record (PFIF 1.4 names) is in
-- clear: it is published. The precise last-seen point and the private
-- fields are sealed; area_lat/area_lng are the point rounded to tenths of
-- a degree (about 11 km), for finding cases near a point. Goes with the
-- reporter's account.
CREATE TABLE cases (
	id                           TEXT PRIMARY KEY,
	reporter_id                  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	org_id                       TEXT REFERENCES partner_orgs (id) ON DELETE SET NULL,
	status                       TEXT NOT NULL,
	category                     TEXT NOT NULL,
	full_name                    TEXT NOT NULL,
	given_name                   TEXT NOT NULL,
	family_name                  TEXT NOT NULL,
	alternate_names              TEXT NOT NULL, -- JSON array of strings
	sex                          TEXT NOT NULL,
	date_of_birth                TEXT NOT NULL,
	age                          INTEGER,
	home_city                    TEXT NOT NULL,
	height_cm                    INTEGER,
	build                        TEXT NOT NULL,
	clothing                     TEXT NOT NULL,
	distinguishing_marks         TEXT NOT NULL,
	description                  TEXT NOT NULL,
	circumstances                TEXT NOT NULL,
	last_seen_at                 BIGINT NOT NULL,
	last_seen_place              TEXT NOT NULL,
	last_seen_point_sealed       TEXT NOT NULL,
	area_lat                     INTEGER NOT NULL,
	area_lng                     INTEGER NOT NULL,
	reporter_relationship_sealed TEXT NOT NULL,
	reporter_contact_sealed      TEXT NOT NULL,
	police_receipt_sealed        TEXT NOT NULL, -- '' when none
	verified_by                  TEXT NOT NULL, -- '' when none
	verified_at                  BIGINT NOT NULL,
	verification_note_sealed     TEXT NOT NULL,
	status_reason                TEXT NOT NULL,
	created_at                   BIGINT NOT NULL,
	updated_at                   BIGINT NOT NULL,
	submitted_at                 BIGINT NOT NULL,
	published_at                 BIGINT NOT NULL,
	resolved_at                  BIGINT NOT NULL
);
CREATE INDEX cases_reporter ON cases (reporter_id, created_at);
CREATE INDEX cases_status_area ON cases (status, area_lat, area_lng);
CREATE INDEX cases_status_submitted ON cases (status, submitted_at, id);

-- Every change of a case's status, with who and when.
CREATE TABLE case_events (
	id          TEXT PRIMARY KEY,
	case_id     TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
	at          BIGINT NOT NULL,
	actor_id    TEXT NOT NULL,
	actor_role  TEXT NOT NULL, -- reporter, moderator, partner_staff
	from_status TEXT NOT NULL, -- '' for the creation
	to_status   TEXT NOT NULL,
	reason      TEXT NOT NULL
);
CREATE INDEX case_events_case ON case_events (case_id, at);

-- Photos of a case, sanitised (no EXIF); the file is in the media store.
CREATE TABLE case_photos (
	id         TEXT PRIMARY KEY,
	case_id    TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
	media_key  TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL
);
CREATE INDEX case_photos_case ON case_photos (case_id, created_at);

-- Clues: seen by the reporter, moderators, partner police and the sender.
-- Text, point and place sealed ('' when not given).
CREATE TABLE clues (
	id                TEXT PRIMARY KEY,
	case_id           TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
	author_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	text_sealed       TEXT NOT NULL,
	seen_at           BIGINT NOT NULL,
	point_sealed      TEXT NOT NULL,
	place_name_sealed TEXT NOT NULL,
	point_source      TEXT NOT NULL, -- typed, device
	status            TEXT NOT NULL, -- new, verified, dismissed
	reviewed_by       TEXT NOT NULL,
	reviewed_at       BIGINT NOT NULL,
	review_note       TEXT NOT NULL,
	created_at        BIGINT NOT NULL
);
CREATE INDEX clues_case ON clues (case_id, created_at);
CREATE INDEX clues_author ON clues (author_id, created_at);

CREATE TABLE clue_photos (
	id         TEXT PRIMARY KEY,
	clue_id    TEXT NOT NULL REFERENCES clues (id) ON DELETE CASCADE,
	media_key  TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL
);
CREATE INDEX clue_photos_clue ON clue_photos (clue_id, created_at);

-- The masked relay: one thread per (case, clue-giver); text sealed.
CREATE TABLE relay_messages (
	id          TEXT PRIMARY KEY,
	case_id     TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
	giver_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	sender_id   TEXT NOT NULL,
	text_sealed TEXT NOT NULL,
	created_at  BIGINT NOT NULL
);
CREATE INDEX relay_messages_thread ON relay_messages (case_id, giver_id, created_at);
CREATE INDEX relay_messages_sender ON relay_messages (sender_id, created_at);

-- A minimal append-only audit log of staff reads of private data (P52),
-- until the rights area's hash-chained log absorbs it. Rows are only ever
-- inserted; nothing references accounts, so records outlive them.
CREATE TABLE audit_events (
	id          TEXT PRIMARY KEY,
	at          BIGINT NOT NULL,
	actor_id    TEXT NOT NULL,
	action      TEXT NOT NULL,
	target_kind TEXT NOT NULL,
	target_id   TEXT NOT NULL,
	reason      TEXT NOT NULL
);
CREATE INDEX audit_events_target ON audit_events (target_kind, target_id, at);
CREATE INDEX audit_events_actor ON audit_events (actor_id, at);
