-- Account cancellation (policy 6.4, P66): a request proven by a fresh SMS
-- code, a cooling-off period during which it can be withdrawn, then one
-- erasure across every store (rights.Service.RunCancellations). Times are
-- UTC Unix nanoseconds, 0 when not set.
--
-- The row outlives the account on purpose: it is the proof that the
-- deletion was done (PIPL Art. 47, 51) and holds no personal data but the
-- account's random id. It has no foreign key, since the account goes.
CREATE TABLE cancellations (
	id            TEXT PRIMARY KEY,
	user_id       TEXT NOT NULL,
	status        TEXT NOT NULL, -- pending, withdrawn, erasing, completed
	requested_at  BIGINT NOT NULL,
	due_at        BIGINT NOT NULL,
	withdrawn_at  BIGINT NOT NULL DEFAULT 0,
	started_at    BIGINT NOT NULL DEFAULT 0,
	completed_at  BIGINT NOT NULL DEFAULT 0,
	attempts      INTEGER NOT NULL DEFAULT 0,
	lease_until   BIGINT NOT NULL DEFAULT 0,
	-- What the rows' erasure left to do outside the database, as JSON:
	-- files to delete and subjects to drop from indexes and caches. Set
	-- in the same transaction as the rows' erasure, cleared when done.
	pending       TEXT NOT NULL DEFAULT '',
	-- The legal records kept, as JSON: table, rows, basis, expiry.
	held          TEXT NOT NULL DEFAULT ''
);
-- One open request per account.
CREATE UNIQUE INDEX cancellations_open ON cancellations (user_id) WHERE status IN ('pending', 'erasing');
CREATE INDEX cancellations_due ON cancellations (status, due_at);
