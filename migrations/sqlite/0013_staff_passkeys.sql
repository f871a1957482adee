-- tobira: passkeys as the staff's second factor (issue 13: "an authenticator app or a
-- passkey"). Like members' (0004) a passkey is webauthn-rs's JSON (public key and counters, no
-- secret), but in a table of its own: a member's credential can never be looked up for staff,
-- nor a staff credential for a member.

CREATE TABLE staff_passkey_credentials (
    id            INTEGER PRIMARY KEY,
    staff_id      INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    -- base64url of the WebAuthn credential id.
    credential_id TEXT    NOT NULL UNIQUE,
    passkey       TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NULL
);
CREATE INDEX staff_passkey_credentials_staff_id ON staff_passkey_credentials (staff_id);

-- A ceremony's server half between its two requests, bound to the staff session (an enrolment
-- registers, a half-done sign-in authenticates); a new start replaces the old one, finishing
-- takes it out, and it dies with its session or at `expires_at`.
CREATE TABLE staff_passkey_ceremonies (
    token_hash TEXT    NOT NULL REFERENCES staff_sessions (token_hash) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('registration', 'authentication')),
    staff_id   INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    state      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (token_hash, kind)
);
CREATE INDEX staff_passkey_ceremonies_expiry ON staff_passkey_ceremonies (expires_at);
