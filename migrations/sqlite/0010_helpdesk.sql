-- tobira: what the helpdesk console reads of a member (issue 13).
--
-- Caller verifications: a staff member proved, in one staff session, that the caller on the
-- phone is the member. A row is kept for as long as the audit entries that name its id; it is
-- valid for changes only within the window `domain::helpdesk::VerificationPolicy` decides,
-- for the same staff session (by its token hash: the session row itself goes when it ends)
-- and the same member.
CREATE TABLE caller_verifications (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_id           INTEGER NOT NULL REFERENCES staff (id),
    staff_session_hash TEXT    NOT NULL,
    member_id          INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    proof              TEXT    NOT NULL
        CHECK (proof IN ('app_code', 'mailed_code', 'member_screen_code', 'knowledge')),
    at                 INTEGER NOT NULL
);
CREATE INDEX caller_verifications_session_member
    ON caller_verifications (staff_session_hash, member_id, id);

-- Since when the member rests at their step. Kept by a trigger so that every writer (the
-- flow's transitions, password resets, the roster import, staff actions) keeps it without
-- knowing about it; it takes the row's own `updated_at`, which the writer sets from the
-- server's clock (not SQLite's), so a test clock moves it too. NULL until the first change
-- after this migration: readers fall back to `updated_at`, the best that is known.
ALTER TABLE members ADD COLUMN step_since INTEGER NULL;
CREATE TRIGGER members_step_since AFTER UPDATE OF step ON members
WHEN old.step IS NOT new.step
BEGIN
    UPDATE members SET step_since = new.updated_at WHERE id = new.id;
END;

-- The client address of the last attempt reserved on an account or a typed user ID, so the
-- helpdesk can tell a caller where the failures came from (IPv6 counted per /64, as the
-- address key is). Address rows leave it NULL: their key is the address.
ALTER TABLE throttle ADD COLUMN last_address TEXT NULL;

-- The mail of one member: the queue is read by recipient, newest first.
CREATE INDEX mail_queue_recipient ON mail_queue (recipient, id);
