-- Single sign-on (OIDC): sign-ins in progress, so any instance can finish one another started.
-- Expand-only: a new table.
CREATE TABLE oidc_flows (
    state_hash TEXT PRIMARY KEY,
    pkce_verifier TEXT NOT NULL,
    nonce TEXT NOT NULL,
    return_to TEXT NOT NULL,
    expires_us BIGINT NOT NULL
);
