-- Data rights (policy 6.3, PIPL Art. 45, P65): requests for an archive of
-- everything held about a person, built by a durable job (rights.Service
-- BuildExports). Times are UTC Unix nanoseconds, 0 when not set. Only the
-- SHA-256 of the download token is stored.
CREATE TABLE export_requests (
	id               TEXT PRIMARY KEY,
	user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	status           TEXT NOT NULL, -- queued, building, ready, failed, expired
	progress         INTEGER NOT NULL DEFAULT 0,
	attempts         INTEGER NOT NULL DEFAULT 0,
	lease_until      BIGINT NOT NULL DEFAULT 0,
	size_bytes       BIGINT NOT NULL DEFAULT 0,
	token_hash       TEXT NOT NULL DEFAULT '',
	token_expires_at BIGINT NOT NULL DEFAULT 0,
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	ready_at         BIGINT NOT NULL DEFAULT 0,
	expires_at       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX export_requests_user ON export_requests (user_id, created_at);
CREATE INDEX export_requests_status ON export_requests (status, lease_until, created_at);
