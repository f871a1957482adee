-- Steps of a device seen matching ahead of the accepted window: refused then with the clock
-- hint, and never accepted later (issue 11: no guessing oracle). Old rows are harmless: a step
-- behind the window is refused anyway.
CREATE TABLE totp_burnt_steps (
    credential_id BIGINT  NOT NULL REFERENCES totp_credentials (id) ON DELETE CASCADE,
    step          BIGINT  NOT NULL,
    PRIMARY KEY (credential_id, step)
);
