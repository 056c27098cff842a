-- 0017: the anchor of the pruned audit chain (P52, P51). Audit records
-- are kept three years (the audit_record category); pruning removes the
-- oldest entries of audit_log, a prefix of the chain, and writes one row
-- here naming the last entry it removed: its sequence number, time and
-- hash. The first entry kept links to that hash, so verification starts
-- from the row with the highest seq instead of entry 1.
--
-- One row per prune step, never updated: together they are the history
-- of pruning. No personal data: sequence numbers, times (UTC Unix
-- nanoseconds), hashes and counts.

CREATE TABLE audit_anchor (
	seq       BIGINT PRIMARY KEY,
	at        BIGINT NOT NULL,
	hash      TEXT NOT NULL,
	pruned_at BIGINT NOT NULL,
	entries   BIGINT NOT NULL
);
