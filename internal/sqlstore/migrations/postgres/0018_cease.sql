-- Ceasing operations (policy 6.7, P69): at most one row. Declared by an
-- admin (the audit log names who); every account is told, collection
-- stops, and after the notice period everything is erased or anonymised
-- (rights.Service.RunCease). Times are UTC Unix nanoseconds, 0 when not
-- set. It holds no personal data.
CREATE TABLE cease_operations (
	id             INTEGER PRIMARY KEY CHECK (id = 1),
	declared_at    BIGINT NOT NULL,
	purge_at       BIGINT NOT NULL,
	notice_zh      TEXT NOT NULL,
	notice_en      TEXT NOT NULL,
	-- The notice goes to accounts in id order; told_through is the last
	-- one told, so a restart goes on from there.
	told_through   TEXT NOT NULL DEFAULT '',
	told_at        BIGINT NOT NULL DEFAULT 0,
	purged_at      BIGINT NOT NULL DEFAULT 0
);
