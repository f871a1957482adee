-- tobira: the initial SQLite schema.
-- Times are Unix seconds (UTC); birth dates are 'YYYY-MM-DD' text.

CREATE TABLE members (
    id                INTEGER PRIMARY KEY,
    symbol            TEXT    NOT NULL,
    number            TEXT    NOT NULL,
    birth_date        TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    email             TEXT    NOT NULL,
    email_verified_at INTEGER NULL,
    -- User IDs are case-insensitive: only the lower-case form is ever stored, so the
    -- UNIQUE index compares them as members type them.
    user_id           TEXT    NOT NULL UNIQUE CHECK (user_id = lower(user_id)),
    password_hash     TEXT    NULL,
    step              TEXT    NOT NULL,
    method            TEXT    NULL,
    terms_accepted_at INTEGER NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (symbol, number)
);

CREATE TABLE flows (
    token_hash     TEXT    PRIMARY KEY,
    member_id      INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    lang           TEXT    NOT NULL,
    birth_verified INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE INDEX flows_member_id ON flows (member_id);
CREATE INDEX flows_expires_at ON flows (expires_at);

CREATE TABLE email_tokens (
    token_hash TEXT    PRIMARY KEY,
    member_id  INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL,
    lang       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NULL
);
CREATE INDEX email_tokens_member_id ON email_tokens (member_id);

CREATE TABLE throttle (
    scope           TEXT    NOT NULL,
    key             TEXT    NOT NULL,
    failures        INTEGER NOT NULL,
    last_failure_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);

-- No foreign key on member_id: the log must accept every entry and outlive anything it names.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    member_id INTEGER NULL,
    action    TEXT    NOT NULL,
    detail    TEXT    NOT NULL
);
CREATE INDEX audit_log_member_id ON audit_log (member_id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
