-- Accounts, sessions, API and webhook tokens, audit log, rate limits, archiving, and search.
-- Expand-only: new tables and nullable columns; nothing existing changes meaning.
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    groups TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled BIGINT NOT NULL,
    created_us BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_us BIGINT NOT NULL,
    last_used_us BIGINT,
    revoked_us BIGINT
);

CREATE TABLE hook_tokens (
    id BIGSERIAL PRIMARY KEY,
    source TEXT NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_us BIGINT NOT NULL,
    revoked_us BIGINT
);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at_us BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);

CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    window_start_us BIGINT NOT NULL,
    hits BIGINT NOT NULL
);

CREATE TABLE incident_groups (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    group_name TEXT NOT NULL,
    PRIMARY KEY (incident_id, group_name)
);

ALTER TABLE incidents ADD COLUMN archived_us BIGINT;
ALTER TABLE actions ADD COLUMN archived_us BIGINT;

CREATE TABLE search_documents (
    incident_id TEXT PRIMARY KEY REFERENCES incidents (id),
    body TEXT NOT NULL,
    document TSVECTOR NOT NULL
);
CREATE INDEX search_documents_gin ON search_documents USING GIN (document);
