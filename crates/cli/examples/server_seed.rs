//! Seeds a database for the server benchmark behind `bench/server.sh`: 10,000 incidents with
//! varied titles, summaries and reviews (so search has something to rank), and one incident,
//! `INC-2026-0001`, with 5,000 timeline events.
//!
//! Usage: server_seed DATABASE_URL [INCIDENTS] [EVENTS]

use std::time::Instant;

use jiff::{SignedDuration, Timestamp};
use secondstory_domain::incident::NewIncident;
use secondstory_domain::*;
use secondstory_store::Store;
use secondstory_store_sql::SqlStore;

fn now() -> Timestamp {
    "2026-11-25T12:00:00Z".parse().expect("time")
}

const SERVICES: [&str; 12] = [
    "orders-api",
    "payments",
    "checkout",
    "search",
    "identity",
    "billing",
    "inventory",
    "notifications",
    "pg-orders",
    "edge-proxy",
    "reporting",
    "mobile-gateway",
];
const SYMPTOMS: [&str; 10] = [
    "elevated 5xx",
    "slow responses",
    "stale reads",
    "failed logins",
    "missing emails",
    "duplicate charges",
    "queue backlog",
    "disk full",
    "certificate expiry",
    "replication lag",
];
const CHANGES: [&str; 8] = [
    "a config rollout",
    "a failover",
    "a dependency upgrade",
    "a traffic spike",
    "a schema migration",
    "a DNS change",
    "a cache eviction storm",
    "a feature flag flip",
];

fn incident(number: usize) -> Incident {
    let service = SERVICES[number % SERVICES.len()];
    let symptom = SYMPTOMS[(number / 3) % SYMPTOMS.len()];
    let change = CHANGES[(number / 7) % CHANGES.len()];
    let day = (number % 300) as i64;
    let start: Timestamp = "2025-01-01T00:00:00Z".parse().expect("t");
    let started = start + SignedDuration::from_hours(day * 24 + (number % 24) as i64);
    Incident::new(
        NewIncident {
            id: IncidentId::numbered("INC", 2026, number as i64).expect("id"),
            title: format!("{service}: {symptom} after {change}"),
            kind: IncidentKind::Incident,
            severity: SeverityScale::default()
                .severity(["SEV1", "SEV2", "SEV3", "SEV4"][number % 4])
                .expect("sev"),
            status: IncidentStatus::Resolved,
            services: vec![service.into()],
            tags: vec![format!("quarter-{}", 1 + day / 92)],
            visibility: Visibility::Everyone,
            times: IncidentTimes {
                impact_started: Some(RecordedTime::utc(started)),
                detected: Some(RecordedTime::utc(started + SignedDuration::from_mins(4))),
                resolved: Some(RecordedTime::utc(
                    started + SignedDuration::from_mins(30 + (number % 90) as i64),
                )),
                ..Default::default()
            },
            summary: format!(
                "Customers of {service} saw {symptom}; {change} left pgbouncer pointing at a \
                 demoted primary for {} minutes.",
                5 + number % 40
            ),
        },
        now(),
    )
    .expect("valid")
}

fn review(number: usize) -> String {
    let service = SERVICES[number % SERVICES.len()];
    format!(
        "# Review\n\n## Summary\n\nDuring {} the {service} team saw the error budget burn. \
         Detection came from the synthetic checks; the runbook for failover was out of date, \
         and the on-call rotation handed over mid-incident.\n\n## What went well\n\nRollback \
         took four minutes.\n",
        CHANGES[number % CHANGES.len()]
    )
}

fn events(count: usize) -> Vec<TimelineEvent> {
    let start: Timestamp = "2025-01-01T00:00:00Z".parse().expect("t");
    (0..count)
        .map(|i| TimelineEvent {
            at: RecordedTime::utc(start + SignedDuration::from_millis(i as i64 * 750)),
            source: EventSource::parse(["slack", "irc", "pagerduty", "alertmanager"][i % 4])
                .expect("source"),
            source_ref: format!("bench:{i}"),
            actor: Some(format!("user{}", i % 50)),
            kind: EventKind::Communication,
            text: format!(
                "message {i}: pgbouncer restarted on 6/6 pods, 5xx dropping, checking replication lag"
            ),
            key_moment: i % 100 == 0,
            hidden: false,
            evidence_url: Some(format!("https://chat.example/archives/C1/p{i}")),
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .expect("usage: server_seed DATABASE_URL [INCIDENTS] [EVENTS]");
    let incidents: usize = args.next().map_or(10_000, |n| n.parse().expect("a count"));
    let event_count: usize = args.next().map_or(5_000, |n| n.parse().expect("a count"));
    let store = SqlStore::open(&url).await.expect("open the database");
    let started = Instant::now();
    let mut batch = Vec::with_capacity(1000);
    for number in 1..=incidents {
        batch.push(IncidentRecord {
            incident: incident(number),
            participants: Vec::new(),
            events: if number == 1 {
                events(event_count)
            } else {
                Vec::new()
            },
            factors: Vec::new(),
            actions: Vec::new(),
            review: review(number),
        });
        if batch.len() == 1000 || number == incidents {
            store
                .import_records(&batch, "bench", now())
                .await
                .expect("import a batch");
            batch.clear();
        }
    }
    println!(
        "seeded {incidents} incidents (INC-2026-0001 with {event_count} events) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
