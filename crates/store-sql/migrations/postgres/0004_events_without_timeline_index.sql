-- Timeline events without the (incident_id, at_us, source, id) index. It was kept up to date on
-- every insert, and a bulk import inserts in source order (a Slack export channel by channel),
-- which lands all over a time-ordered index: maintaining it took more than half of the time of
-- importing a large export. Its only reader loads one incident's timeline; that query finds the
-- rows through the UNIQUE (incident_id, source_ref) index and sorts them, which takes
-- milliseconds for the thousands of events an incident has (bench/store.sh).
DROP INDEX events_timeline;
