-- Privacy policy versions (policy section 8, P72). The embedded base
-- version is seeded by the application at start. Times are UTC Unix
-- nanoseconds. changed_purposes is a comma-separated list of purpose ids;
-- reduces_rights and adds_purposes are 0 or 1. Versions follow one
-- another, so no two take effect at the same time. Who accepted which
-- version stays in policy_acceptances.
CREATE TABLE policy_versions (
	version          TEXT PRIMARY KEY,
	effective_at     BIGINT NOT NULL UNIQUE,
	published_at     BIGINT NOT NULL,
	published_by     TEXT NOT NULL DEFAULT '',
	text             TEXT NOT NULL,
	summary_zh       TEXT NOT NULL,
	summary_en       TEXT NOT NULL,
	changed_purposes TEXT NOT NULL DEFAULT '',
	reduces_rights   INTEGER NOT NULL DEFAULT 0,
	adds_purposes    INTEGER NOT NULL DEFAULT 0
);
