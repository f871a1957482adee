-- tobira: passkeys (生体認証), issue 6.
-- A passkey holds a public key and counters, not a secret: it is stored as webauthn-rs's own
-- JSON (`passkey`), with the credential id beside it so one credential cannot be registered
-- twice, by this member or another.

CREATE TABLE passkey_credentials (
    id            INTEGER PRIMARY KEY,
    member_id     INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL COLLATE NOCASE,
    -- base64url of the WebAuthn credential id.
    credential_id TEXT    NOT NULL UNIQUE,
    passkey       TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NULL,
    UNIQUE (member_id, name)
);

-- A ceremony's server half between its two requests: one registration and one authentication
-- per flow at a time (a new start replaces the old one); taken out when finished; dead after
-- `expires_at`. The state is webauthn-rs's serialised ceremony state (challenge included).
CREATE TABLE passkey_ceremonies (
    flow_token_hash TEXT    NOT NULL REFERENCES flows (token_hash) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('registration', 'authentication')),
    member_id       INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    state           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    PRIMARY KEY (flow_token_hash, kind)
);
CREATE INDEX passkey_ceremonies_expiry ON passkey_ceremonies (expires_at);
