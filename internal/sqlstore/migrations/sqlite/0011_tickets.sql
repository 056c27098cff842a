-- Complaints, reports and requests (policy 6.5, 7c, 9; P67, P71, P73):
-- tickets with their thread and history. The guardian form stores its
-- requests here too (channel guardian_form).
--
-- Times are UTC Unix nanoseconds, 0 when not set. Values marked sealed
-- are AES-256-GCM under the active key with "<table>.<column without
-- _sealed>" as additional data.
--
-- A ticket is the record of how a request was handled: it outlives the
-- requester's account (no foreign key to users) and goes 3 years after
-- its last change once it no longer waits for staff (tickets.Expire).

CREATE TABLE tickets (
	id                    TEXT PRIMARY KEY,
	requester_id          TEXT NOT NULL, -- '' for a guardian without an account, or a request logged without one
	channel               TEXT NOT NULL, -- app, guardian_form, email, wechat, phone, letter
	category              TEXT NOT NULL,
	kind                  TEXT NOT NULL, -- '' unless rights_request or guardian_request
	status                TEXT NOT NULL, -- open, in_progress, answered, refused, closed
	text_sealed           TEXT NOT NULL, -- sealed ('' when a guardian wrote nothing)
	reference_kind        TEXT NOT NULL, -- '' when none
	reference_id          TEXT NOT NULL,
	minor_phone_sealed    TEXT NOT NULL, -- guardian_request only
	minor_phone_index     TEXT NOT NULL,
	contact_sealed        TEXT NOT NULL, -- how to answer a requester without an account
	guardian_access_index TEXT UNIQUE,   -- NULL unless channel guardian_form
	ip_index              TEXT NOT NULL, -- guardian_form only; blanked after a day
	status_reason         TEXT NOT NULL, -- a refusal's reason, a closing's note
	due_at                BIGINT NOT NULL,
	created_at            BIGINT NOT NULL,
	updated_at            BIGINT NOT NULL,
	answered_at           BIGINT NOT NULL,
	closed_at             BIGINT NOT NULL
);
CREATE INDEX tickets_requester ON tickets (requester_id, created_at, id);
CREATE INDEX tickets_queue ON tickets (status, due_at, id);
CREATE INDEX tickets_category_queue ON tickets (category, status, due_at, id);
CREATE INDEX tickets_ip ON tickets (ip_index, created_at);
CREATE INDEX tickets_updated ON tickets (updated_at);

-- The thread after a ticket's text: the requester's and staff replies,
-- text sealed.
CREATE TABLE ticket_messages (
	id          TEXT PRIMARY KEY,
	ticket_id   TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	author_id   TEXT NOT NULL,
	author_role TEXT NOT NULL, -- requester, moderator, admin
	text_sealed TEXT NOT NULL,
	created_at  BIGINT NOT NULL
);
CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id, created_at, id);
CREATE INDEX ticket_messages_author ON ticket_messages (author_id, created_at);

-- Every action on a ticket, with who and when.
CREATE TABLE ticket_events (
	id          TEXT PRIMARY KEY,
	ticket_id   TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
	at          BIGINT NOT NULL,
	actor_id    TEXT NOT NULL, -- '' for a guardian without an account
	actor_role  TEXT NOT NULL, -- requester, moderator, admin, system
	action      TEXT NOT NULL, -- filed, replied, status
	from_status TEXT NOT NULL, -- '' for the filing
	to_status   TEXT NOT NULL,
	reason      TEXT NOT NULL
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, at, id);
