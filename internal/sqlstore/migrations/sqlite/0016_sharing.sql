-- The sharing ledger (policy 3.1, P33, P34, P47; internal/sharing): one row
-- for every hand-over of personal data to a third party of the policy
-- data: who received it (recipient), for which purpose, which fields by
-- name (never their values), on what basis (consent, necessary, or a legal
-- exemption with its code), about whom, and when. Times are UTC Unix
-- nanoseconds.
--
-- Whose data: a subject pair (an account, or a device before login), or,
-- for an SMS to a number no account holds yet (the first login code),
-- only the keyed blind index of the number, as users.phone_index keeps
-- it; subject_kind and subject_id are '' then. It is kept 3 years as the
-- record of provision to third parties (PIPL Art. 55-56), also after the
-- account goes, so it has no foreign key.
CREATE TABLE sharing_ledger (
	id           TEXT PRIMARY KEY,
	at           BIGINT NOT NULL,
	recipient    TEXT NOT NULL, -- an id of the policy data's recipients
	purpose      TEXT NOT NULL,
	fields       TEXT NOT NULL, -- JSON array of field names, as declared
	basis        TEXT NOT NULL, -- consent, necessary, exemption
	exemption    TEXT NOT NULL, -- the exemption's code (policy 1.8), '' otherwise
	subject_kind TEXT NOT NULL, -- user, device, or '' (phone_index only)
	subject_id   TEXT NOT NULL,
	phone_index  TEXT NOT NULL  -- '' unless subject_kind is ''
);
CREATE INDEX sharing_ledger_subject ON sharing_ledger (subject_kind, subject_id, at);
CREATE INDEX sharing_ledger_phone ON sharing_ledger (phone_index, at);
CREATE INDEX sharing_ledger_at ON sharing_ledger (at);
