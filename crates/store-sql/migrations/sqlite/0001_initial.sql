-- Second Story schema, SQLite. Times are BIGINT µs since the epoch plus the original offset
-- (seconds) and IANA zone, so instants sort and compare as integers and display as recorded.
CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    review_state TEXT NOT NULL,
    review_reason TEXT,
    services TEXT NOT NULL,
    tags TEXT NOT NULL,
    restricted_groups TEXT,
    summary TEXT NOT NULL,
    impact_started_us INTEGER, impact_started_offset INTEGER, impact_started_zone TEXT,
    detected_us INTEGER, detected_offset INTEGER, detected_zone TEXT,
    responded_us INTEGER, responded_offset INTEGER, responded_zone TEXT,
    mitigated_us INTEGER, mitigated_offset INTEGER, mitigated_zone TEXT,
    resolved_us INTEGER, resolved_offset INTEGER, resolved_zone TEXT,
    created_us INTEGER NOT NULL, created_offset INTEGER NOT NULL, created_zone TEXT,
    version INTEGER NOT NULL
);
CREATE INDEX incidents_created ON incidents (created_us DESC, id DESC);

CREATE TABLE reviews (
    incident_id TEXT PRIMARY KEY REFERENCES incidents (id),
    body TEXT NOT NULL,
    version INTEGER NOT NULL
);

CREATE TABLE revisions (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    number INTEGER NOT NULL,
    author TEXT NOT NULL,
    saved_us INTEGER NOT NULL, saved_offset INTEGER NOT NULL, saved_zone TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (incident_id, number)
);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    at_us INTEGER NOT NULL, at_offset INTEGER NOT NULL, at_zone TEXT,
    source TEXT NOT NULL,
    source_ref TEXT NOT NULL,
    actor TEXT,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    key_moment INTEGER NOT NULL,
    hidden INTEGER NOT NULL,
    evidence_url TEXT,
    UNIQUE (incident_id, source_ref)
);
CREATE INDEX events_timeline ON events (incident_id, at_us, source, id);

CREATE TABLE factors (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    position INTEGER NOT NULL,
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    event_refs TEXT NOT NULL,
    PRIMARY KEY (incident_id, position)
);

CREATE TABLE actions (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    kind TEXT NOT NULL,
    owner TEXT NOT NULL,
    priority TEXT NOT NULL,
    due TEXT,
    status TEXT NOT NULL,
    status_reason TEXT,
    external_url TEXT,
    version INTEGER NOT NULL,
    PRIMARY KEY (incident_id, number)
);

CREATE TABLE participants (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    alias TEXT,
    perspective TEXT NOT NULL,
    PRIMARY KEY (incident_id, position)
);

CREATE TABLE id_counters (
    prefix TEXT NOT NULL,
    year INTEGER NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (prefix, year)
);
