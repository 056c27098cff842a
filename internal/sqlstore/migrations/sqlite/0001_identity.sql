-- Accounts, one-time codes, sessions and devices. Times are UTC Unix
-- nanoseconds; 0 means "none". The phone is stored only sealed
-- (AES-256-GCM) and as a keyed blind index.
CREATE TABLE users (
	id             TEXT PRIMARY KEY,
	phone_sealed   TEXT NOT NULL,
	phone_index    TEXT NOT NULL UNIQUE,
	role           TEXT NOT NULL,
	nickname       TEXT NOT NULL,
	avatar_key     TEXT NOT NULL DEFAULT '',
	gender         TEXT,
	birthday       TEXT,
	region         TEXT,
	introduction   TEXT,
	password_hash  TEXT NOT NULL DEFAULT '',
	login_failures INTEGER NOT NULL DEFAULT 0,
	locked_until   BIGINT NOT NULL DEFAULT 0,
	created_at     BIGINT NOT NULL,
	updated_at     BIGINT NOT NULL
);

CREATE TABLE policy_acceptances (
	id          TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	version     TEXT NOT NULL,
	channel     TEXT NOT NULL,
	accepted_at BIGINT NOT NULL
);
CREATE INDEX policy_acceptances_user ON policy_acceptances (user_id, accepted_at);

CREATE TABLE sms_codes (
	id          TEXT PRIMARY KEY,
	phone_index TEXT NOT NULL,
	ip_index    TEXT NOT NULL,
	code_mac    BLOB NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT NOT NULL,
	used_at     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sms_codes_phone ON sms_codes (phone_index, created_at);
CREATE INDEX sms_codes_ip ON sms_codes (ip_index, created_at);

CREATE TABLE devices (
	id           TEXT PRIMARY KEY,
	token_hash   BLOB NOT NULL UNIQUE,
	user_id      TEXT REFERENCES users (id) ON DELETE SET NULL,
	platform     TEXT NOT NULL,
	model        TEXT NOT NULL,
	os_version   TEXT NOT NULL,
	app_version  TEXT NOT NULL,
	push_token   TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	last_seen_at BIGINT NOT NULL
);
CREATE INDEX devices_user ON devices (user_id);
CREATE INDEX devices_last_seen ON devices (last_seen_at);

CREATE TABLE sessions (
	id           TEXT PRIMARY KEY,
	token_hash   BLOB NOT NULL UNIQUE,
	user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind         TEXT NOT NULL,
	device_id    TEXT REFERENCES devices (id) ON DELETE SET NULL,
	user_agent   TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	last_seen_at BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id, created_at);
CREATE INDEX sessions_expires ON sessions (expires_at);
