-- Privacy settings that are not consents (policy 6.2.1): whether the
-- account may be recommended to people who have its number, whether it
-- gets "people you may know" suggestions, and whether its avatar and
-- nickname show on share pages. Booleans are INTEGER 0/1 on both engines.
-- The settings that are consents (personalised recommendations, ads,
-- marketing) live only in the consent ledger. No row means the defaults.
CREATE TABLE privacy_settings (
	user_id                      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	recommend_me_to_contacts     INTEGER NOT NULL CHECK (recommend_me_to_contacts IN (0, 1)),
	suggest_people_i_may_know    INTEGER NOT NULL CHECK (suggest_people_i_may_know IN (0, 1)),
	show_identity_on_share_pages INTEGER NOT NULL CHECK (show_identity_on_share_pages IN (0, 1)),
	updated_at                   BIGINT NOT NULL
);

-- Each processing without consent under a legal exemption of policy 1.8
-- (P26), for audits. detail is a short note without personal data (a
-- ticket number, the fault handled); the subject is named by id only.
-- No foreign key to users: a subject may be a device, and how long a
-- record is kept is the audit's rule (the data map), not the account's.
CREATE TABLE exemption_uses (
	id           TEXT PRIMARY KEY,
	subject_kind TEXT NOT NULL,
	subject_id   TEXT NOT NULL,
	purpose      TEXT NOT NULL,
	code         TEXT NOT NULL,
	detail       TEXT NOT NULL,
	at           BIGINT NOT NULL
);
CREATE INDEX exemption_uses_at ON exemption_uses (at, id);
