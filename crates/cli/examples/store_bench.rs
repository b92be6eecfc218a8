//! Storage benchmark behind `bench/store.sh`: insert 100k timeline events, load an incident with
//! 10k events, and write 1,000 incident files for the export/import timing.
//!
//! Usage: store_bench DATABASE_URL [--files DIR]

use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use secondstory_domain::incident::NewIncident;
use secondstory_domain::*;
use secondstory_store::Store;
use secondstory_store_sql::SqlStore;

fn now() -> Timestamp {
    "2026-11-25T12:00:00Z".parse().expect("time")
}

fn incident(id: &str) -> Incident {
    Incident::new(
        NewIncident {
            id: IncidentId::parse(id).expect("id"),
            title: format!("Benchmark incident {id}"),
            kind: IncidentKind::Incident,
            severity: SeverityScale::default().severity("SEV3").expect("sev"),
            status: IncidentStatus::Active,
            services: vec!["orders-api".into()],
            tags: vec!["bench".into()],
            visibility: Visibility::Everyone,
            times: IncidentTimes {
                impact_started: Some(
                    RecordedTime::parse("t", "2026-01-01T00:00:00+01:00").expect("t"),
                ),
                ..Default::default()
            },
            summary: "Generated for benchmarks.".into(),
        },
        now(),
    )
    .expect("valid")
}

fn events(prefix: &str, count: usize) -> Vec<TimelineEvent> {
    let start: Timestamp = "2026-01-01T00:00:00Z".parse().expect("t");
    (0..count)
        .map(|i| TimelineEvent {
            at: RecordedTime::utc(start + SignedDuration::from_millis(i as i64 * 250)),
            source: EventSource::parse(["slack", "irc", "pagerduty", "alertmanager"][i % 4]).expect("source"),
            source_ref: format!("{prefix}:{i}"),
            actor: Some(format!("user{}", i % 50)),
            kind: EventKind::Communication,
            text: format!("message {i}: pgbouncer restarted on 6/6 pods, 5xx dropping, checking replication lag"),
            key_moment: i % 100 == 0,
            hidden: false,
            evidence_url: Some(format!("https://chat.example/archives/C1/p{i}")),
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .expect("usage: store_bench DATABASE_URL [--files DIR]");
    if args.get(2).map(String::as_str) == Some("--files") {
        write_files(args.get(3).expect("--files DIR"));
        return;
    }
    let store = SqlStore::open(url).await.expect("open");

    let big = store
        .create_incident(&incident("BENCH-2026-0001"))
        .await
        .expect("create");
    let all = events("bulk", 100_000);
    let started = Instant::now();
    let added = store.add_events(&big.id, &all).await.expect("insert");
    let insert = started.elapsed();
    assert_eq!(added.inserted, 100_000);
    println!(
        "insert 100k events (one transaction): {:.2} s, {:.0} events/s",
        insert.as_secs_f64(),
        100_000.0 / insert.as_secs_f64()
    );

    let ten_k = store
        .create_incident(&incident("BENCH-2026-0002"))
        .await
        .expect("create");
    store
        .add_events(&ten_k.id, &events("tenk", 10_000))
        .await
        .expect("insert");
    let mut loads = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        let record = store.record(&ten_k.id).await.expect("load");
        loads.push(started.elapsed());
        assert_eq!(record.events.len(), 10_000);
    }
    loads.sort();
    println!(
        "load incident with 10k events (whole record, 50 runs): median {:.1} ms, p90 {:.1} ms, min {:.1} ms",
        percentile(&loads, 0.5).as_secs_f64() * 1e3,
        percentile(&loads, 0.9).as_secs_f64() * 1e3,
        loads[0].as_secs_f64() * 1e3
    );
    store.close().await;
}

/// 1,000 incident files of realistic size for the export/import timing.
fn write_files(dir: &str) {
    std::fs::create_dir_all(dir).expect("mkdir");
    let demo = include_str!("../demo/INC-4711.md");
    let (_, body) = demo.split_once("\n---\n").expect("demo has front matter");
    for n in 1..=1000 {
        let id = format!("BENCH-2025-{n:04}");
        let mut i = incident(&id);
        i.status = IncidentStatus::Resolved;
        i.times.resolved = Some(RecordedTime::parse("t", "2026-01-01T02:00:00+01:00").expect("t"));
        let record = IncidentRecord {
            incident: i,
            participants: vec![Participant {
                name: format!("Person {n}"),
                role: "on-call SRE".into(),
                alias: Some("Engineer A".into()),
                perspective: "Saw the page and the dashboards.".into(),
            }],
            events: events(&id, 30),
            factors: vec![ContributingFactor {
                category: "configuration".into(),
                description: "A timeout was shorter than the slowest loop.".into(),
                events: vec![format!("{id}:0")],
            }],
            actions: vec![ActionItem {
                number: 1,
                title: "Add a pipeline check".into(),
                description: String::new(),
                kind: ActionKind::Prevent,
                owner: "team-db".into(),
                priority: Priority::High,
                due: Some("2026-02-01".parse().expect("date")),
                status: ActionStatus::Open,
                external_url: None,
                version: 0,
            }],
            review: body.to_owned(),
        };
        std::fs::write(
            format!("{dir}/{id}.md"),
            secondstory_review::write_markdown(&record),
        )
        .expect("write");
    }
}
