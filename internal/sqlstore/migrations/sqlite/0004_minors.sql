-- Minors (policy section 7; P70, P71). users.age_band is what a person
-- attested at sign-up: 'adult', '14_17', 'under_14', or '' for accounts
-- staff made, which count as adults. users.guardian_ack_at is when a minor
-- confirmed reading the policy with a guardian (0 when not).
ALTER TABLE users ADD COLUMN age_band TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN guardian_ack_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX users_age_band ON users (age_band, created_at);

-- The guardian consent of an account under 14 (PIPL art. 31): the
-- guardian's number (sealed, and a blind index in the users.phone domain),
-- when a code was sent to it, and when and how the guardian proved it
-- (verified_at 0 while pending). Deleted with the account.
CREATE TABLE guardian_consents (
	user_id               TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	guardian_phone_sealed TEXT NOT NULL,
	guardian_phone_index  TEXT NOT NULL,
	method                TEXT NOT NULL DEFAULT '',
	requested_at          BIGINT NOT NULL,
	verified_at           BIGINT NOT NULL DEFAULT 0
);

-- Guardians' requests about a minor's information (policy 7c). A simple
-- intake until the rights area's ticket system takes them over: numbers
-- and the message sealed, numbers also as blind indexes (to find the
-- minor's account and the verified guardian), the client IP only as a
-- keyed index (rate limit). The id is random and is the requester's
-- receipt.
CREATE TABLE guardian_requests (
	id                    TEXT PRIMARY KEY,
	guardian_phone_sealed TEXT NOT NULL,
	guardian_phone_index  TEXT NOT NULL,
	minor_phone_sealed    TEXT NOT NULL,
	minor_phone_index     TEXT NOT NULL,
	kind                  TEXT NOT NULL,
	message_sealed        TEXT NOT NULL,
	status                TEXT NOT NULL,
	ip_index              TEXT NOT NULL,
	created_at            BIGINT NOT NULL,
	updated_at            BIGINT NOT NULL
);
CREATE INDEX guardian_requests_ip ON guardian_requests (ip_index, created_at);
CREATE INDEX guardian_requests_minor ON guardian_requests (minor_phone_index);
