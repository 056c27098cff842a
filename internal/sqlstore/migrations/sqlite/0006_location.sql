-- The last known position of each person who consented to people-seeking
-- alerts: one row per subject, the point sealed (AES-256-GCM), no history.
CREATE TABLE location_positions (
	subject_kind TEXT NOT NULL,
	subject_id   TEXT NOT NULL,
	point_sealed TEXT NOT NULL,
	coarse       INTEGER NOT NULL,
	updated_at   BIGINT NOT NULL,
	PRIMARY KEY (subject_kind, subject_id)
);
CREATE INDEX location_positions_updated ON location_positions (updated_at);
