-- tobira: the persistent mail queue and emailed one-time codes (issue 5).

-- Every mail goes through this queue, so a mail server that is down loses nothing: the row
-- stays `pending` and is retried with backoff until it is `sent` or, after the configured
-- number of attempts, `failed`. The bodies carry links and codes: they are cleared as soon as
-- the row leaves `pending`, so only the envelope stays for `tobira admin mail status`.
CREATE TABLE mail_queue (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body            BLOB    NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    -- A pending row is due at and after this time; a sender claims it by moving it on.
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT    NULL,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER NULL
);
CREATE INDEX mail_queue_due ON mail_queue (status, next_attempt_at);

-- One live emailed code per member and purpose; a new code (a resend) replaces the old one.
-- Only a keyed hash of the code is stored.
CREATE TABLE email_codes (
    member_id  INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL,
    code_hash  TEXT    NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (member_id, purpose)
);

-- The email one-time code method, once set up (one row per member: the verified address).
CREATE TABLE email_otp_factors (
    member_id    INTEGER PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NULL
);

-- A link sent from the top screen to a new address: opening it switches the member's address
-- (until then the old one stays in use).
ALTER TABLE email_tokens ADD COLUMN changes_address INTEGER NOT NULL DEFAULT 0;
