-- Accounts, sessions, API and webhook tokens, audit log, rate limits, archiving, and search.
-- Expand-only: new tables and nullable columns; nothing existing changes meaning.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    groups TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL,
    created_us INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    csrf_token TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    expires_us INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id),
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_us INTEGER NOT NULL,
    last_used_us INTEGER,
    revoked_us INTEGER
);

CREATE TABLE hook_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_us INTEGER NOT NULL,
    revoked_us INTEGER
);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_us INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);

CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    window_start_us INTEGER NOT NULL,
    hits INTEGER NOT NULL
);

CREATE TABLE incident_groups (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    group_name TEXT NOT NULL,
    PRIMARY KEY (incident_id, group_name)
);

ALTER TABLE incidents ADD COLUMN archived_us INTEGER;
ALTER TABLE actions ADD COLUMN archived_us INTEGER;

CREATE VIRTUAL TABLE search_index USING fts5 (incident_id UNINDEXED, title, body, tokenize = 'porter unicode61');
