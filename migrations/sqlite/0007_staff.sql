-- tobira: helpdesk staff accounts and their sign-in (issue 13). Staff are not members: their
-- own table, codes, second factors and sessions, so no member token can ever name a staff row.

CREATE TABLE staff (
    id            INTEGER PRIMARY KEY,
    -- Logins are case-insensitive: only the lower-case form is ever stored.
    login         TEXT    NOT NULL UNIQUE CHECK (login = lower(login)),
    display_name  TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('helpdesk', 'admin')),
    -- NULL until the enrolment sets it (and again after a reset).
    password_hash TEXT    NULL,
    enabled       INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- One live enrolment code per staff member (a reset replaces it). Only its keyed hash (HMAC
-- under the server key) is stored: a stolen database does not let anyone guess codes offline.
CREATE TABLE staff_enrolment_codes (
    staff_id   INTEGER PRIMARY KEY REFERENCES staff (id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NULL
);

-- Authenticator apps of staff; the secret is sealed like members' (AES-256-GCM, bound to the
-- staff row), and `last_used_step` is the replay guard.
CREATE TABLE staff_totp_credentials (
    id             INTEGER PRIMARY KEY,
    staff_id       INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    secret         BLOB    NOT NULL,
    algorithm      TEXT    NOT NULL,
    digits         INTEGER NOT NULL,
    period_secs    INTEGER NOT NULL,
    last_used_step INTEGER NULL,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER NULL
);
CREATE INDEX staff_totp_credentials_staff_id ON staff_totp_credentials (staff_id);

-- Staff sessions: only the token's hash. `phase` says what the session may do: `enrolling`
-- (it holds the authenticator secret being set up), `second_factor` (password proved, code
-- owed) or `active`. It ends at `expires_at` (idle) or `absolute_expires_at`, whichever is first.
CREATE TABLE staff_sessions (
    token_hash          TEXT    PRIMARY KEY,
    staff_id            INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    phase               TEXT    NOT NULL CHECK (phase IN ('enrolling', 'second_factor', 'active')),
    pending_secret      BLOB    NULL,
    created_at          INTEGER NOT NULL,
    last_seen_at        INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    absolute_expires_at INTEGER NOT NULL
);
CREATE INDEX staff_sessions_staff_id ON staff_sessions (staff_id);
CREATE INDEX staff_sessions_expires_at ON staff_sessions (expires_at);
