-- 0012: the hash-chained audit log (P52). Every staff read of personal
-- data and every staff action is one row; each row's hash covers the
-- previous row's hash and the row itself (internal/audit), so a changed
-- or removed row breaks the chain where it was.
--
-- The unchained rows of audit_events (0009) are carried over in order
-- (time, then id) with no hash; the application seals them into the
-- chain before its first append or verify (audit.Log.Seal). audit_events
-- is then dropped: one log, one table.
--
-- Rows are only ever inserted (and, once, sealed); nothing references
-- accounts, so records outlive them. Times are UTC Unix nanoseconds.

CREATE TABLE audit_log (
	seq         BIGINT PRIMARY KEY,
	at          BIGINT NOT NULL,
	actor_id    TEXT NOT NULL,
	actor_role  TEXT NOT NULL,
	action      TEXT NOT NULL,
	target_kind TEXT NOT NULL,
	target_id   TEXT NOT NULL,
	reason      TEXT NOT NULL,
	prev_hash   TEXT NOT NULL,
	hash        TEXT NOT NULL
);

INSERT INTO audit_log (seq, at, actor_id, actor_role, action, target_kind, target_id, reason, prev_hash, hash)
SELECT ROW_NUMBER() OVER (ORDER BY at, id), at, actor_id, '', action, target_kind, target_id, reason, '', ''
FROM audit_events;

DROP TABLE audit_events;

CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_log_target ON audit_log (target_kind, target_id, seq);
CREATE INDEX audit_log_at ON audit_log (at, seq);
