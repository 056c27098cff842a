-- Real-name verification (policy 1.1.2, P10). The real name and the ID
-- number are stored only sealed (AES-256-GCM under the active key, with
-- "real_names.name" and "real_names.id_number" as additional data); the ID
-- number also as a keyed blind index, so that one number verifies at most
-- one account. certifier_reference is the certifier's record of the check.
-- Deleted with the account, on request, and when the real-name consent is
-- withdrawn (P63).
CREATE TABLE real_names (
	user_id             TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	name_sealed         TEXT NOT NULL,
	id_number_sealed    TEXT NOT NULL,
	id_number_index     TEXT NOT NULL UNIQUE,
	certifier_reference TEXT NOT NULL,
	verified_at         BIGINT NOT NULL
);

-- One row per question put to the certifier, to limit attempts per
-- account and day; nothing of what was asked is kept. Deleted after a day.
CREATE TABLE real_name_attempts (
	id           TEXT PRIMARY KEY,
	user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	attempted_at BIGINT NOT NULL
);
CREATE INDEX real_name_attempts_user ON real_name_attempts (user_id, attempted_at);
CREATE INDEX real_name_attempts_at ON real_name_attempts (attempted_at);
