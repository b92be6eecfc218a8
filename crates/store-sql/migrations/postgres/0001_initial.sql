-- Second Story schema, PostgreSQL. Times are BIGINT µs since the epoch plus the original offset
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
    impact_started_us BIGINT, impact_started_offset BIGINT, impact_started_zone TEXT,
    detected_us BIGINT, detected_offset BIGINT, detected_zone TEXT,
    responded_us BIGINT, responded_offset BIGINT, responded_zone TEXT,
    mitigated_us BIGINT, mitigated_offset BIGINT, mitigated_zone TEXT,
    resolved_us BIGINT, resolved_offset BIGINT, resolved_zone TEXT,
    created_us BIGINT NOT NULL, created_offset BIGINT NOT NULL, created_zone TEXT,
    version BIGINT NOT NULL
);
CREATE INDEX incidents_created ON incidents (created_us DESC, id DESC);

CREATE TABLE reviews (
    incident_id TEXT PRIMARY KEY REFERENCES incidents (id),
    body TEXT NOT NULL,
    version BIGINT NOT NULL
);

CREATE TABLE revisions (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    number BIGINT NOT NULL,
    author TEXT NOT NULL,
    saved_us BIGINT NOT NULL, saved_offset BIGINT NOT NULL, saved_zone TEXT,
    body TEXT NOT NULL,
    PRIMARY KEY (incident_id, number)
);

CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    at_us BIGINT NOT NULL, at_offset BIGINT NOT NULL, at_zone TEXT,
    source TEXT NOT NULL,
    source_ref TEXT NOT NULL,
    actor TEXT,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    key_moment BIGINT NOT NULL,
    hidden BIGINT NOT NULL,
    evidence_url TEXT,
    UNIQUE (incident_id, source_ref)
);
CREATE INDEX events_timeline ON events (incident_id, at_us, source, id);

CREATE TABLE factors (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    position BIGINT NOT NULL,
    category TEXT NOT NULL,
    description TEXT NOT NULL,
    event_refs TEXT NOT NULL,
    PRIMARY KEY (incident_id, position)
);

CREATE TABLE actions (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    number BIGINT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    kind TEXT NOT NULL,
    owner TEXT NOT NULL,
    priority TEXT NOT NULL,
    due TEXT,
    status TEXT NOT NULL,
    status_reason TEXT,
    external_url TEXT,
    version BIGINT NOT NULL,
    PRIMARY KEY (incident_id, number)
);

CREATE TABLE participants (
    incident_id TEXT NOT NULL REFERENCES incidents (id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    alias TEXT,
    perspective TEXT NOT NULL,
    PRIMARY KEY (incident_id, position)
);

CREATE TABLE id_counters (
    prefix TEXT NOT NULL,
    year BIGINT NOT NULL,
    last BIGINT NOT NULL,
    PRIMARY KEY (prefix, year)
);
