-- When a flow last proved the member again (password or a second-factor code) for a sensitive
-- action on the top screen (issue 11: step-up). Ends with its flow.
CREATE TABLE flow_step_ups (
    token_hash TEXT    PRIMARY KEY REFERENCES flows (token_hash) ON DELETE CASCADE,
    at         BIGINT  NOT NULL
);
