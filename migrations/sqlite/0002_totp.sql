-- tobira: authenticator-app (TOTP) second factors.
-- Secrets are sealed with AES-256-GCM under the server key (outside the database): the columns
-- named `secret` hold version byte || nonce || ciphertext || tag, never the clear secret.

-- One pending enrollment per member: kept until confirmed, so the QR code survives a reload.
CREATE TABLE totp_enrollments (
    member_id   INTEGER PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    secret      BLOB    NOT NULL,
    algorithm   TEXT    NOT NULL,
    digits      INTEGER NOT NULL,
    period_secs INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

-- The parameters are stored per device, so a later policy change affects new devices only.
CREATE TABLE totp_credentials (
    id             INTEGER PRIMARY KEY,
    member_id      INTEGER NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL COLLATE NOCASE,
    secret         BLOB    NOT NULL,
    algorithm      TEXT    NOT NULL,
    digits         INTEGER NOT NULL,
    period_secs    INTEGER NOT NULL,
    -- The replay guard: a code of this step or an earlier one is refused.
    last_used_step INTEGER NULL,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER NULL,
    UNIQUE (member_id, name)
);

-- A flow of a member at the top screen owes a second-factor code until one is accepted.
ALTER TABLE flows ADD COLUMN second_factor_pending INTEGER NOT NULL DEFAULT 0;
