-- tobira: what the helpdesk's actions leave behind (issue 13), as in SQLite's 0011.
--
-- The one-time enrolment pass a member signs in with instead of the password: one per member
-- (a new pass replaces the old), its keyed hash only, used once, dead at `expires_at`.
CREATE TABLE enrolment_passes (
    member_id       BIGINT PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    pass_hash       TEXT   NOT NULL,
    staff_id        BIGINT NOT NULL REFERENCES staff (id),
    verification_id BIGINT NOT NULL REFERENCES caller_verifications (id),
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT NULL
);

-- Flows opened with an enrolment pass: they owe a new password before anything else, and die
-- with their flow.
CREATE TABLE pass_flows (
    flow_token_hash TEXT PRIMARY KEY REFERENCES flows (token_hash) ON DELETE CASCADE
);
