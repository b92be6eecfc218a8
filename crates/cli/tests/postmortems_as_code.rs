//! Postmortems as code: export → import into an empty database → export gives byte-identical
//! files, over many varied reviews; and a bad file anywhere imports nothing.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Db, databases, write};
use secondstory_domain::action::parse_due;
use secondstory_domain::incident::NewIncident;
use secondstory_domain::*;

const AWKWARD_STRINGS: [&str; 12] = [
    "yes",
    "null",
    "- starts like a list item",
    "key: value inside",
    "#not a comment",
    "  leading and trailing spaces  ",
    "quotes \" and ' and `backticks`",
    "ünïcödé — “typographic” quotes, emoji 🔥👀, CJK 障害, RTL עברית",
    "multi\nline\n\n  with indentation\n",
    "0123",
    "2024-03-31",
    "tab\tseparated and trailing newline\n",
];

fn time(text: &str) -> RecordedTime {
    RecordedTime::parse("t", text).expect("time")
}

/// Review bodies with the Markdown people really write.
fn review_body(n: usize) -> String {
    let mut body = format!(
        "# Review {n}: {}\n\n",
        AWKWARD_STRINGS[n % AWKWARD_STRINGS.len()]
            .lines()
            .next()
            .unwrap_or("")
    );
    body.push_str("## Summary\n\nThe *primary* failed over; see `pg_rewind` and [the graph](https://grafana.example/d/x?from=1&to=2).\n\n");
    body.push_str("| time (UTC) | what | who |\n|---|:---:|---:|\n| 23:41 | failover | Patroni |\n| 00:15 | recovered | team-db |\n\n");
    body.push_str(
        "```sql\nSELECT * FROM orders WHERE created_at >= '2024-03-30 23:41:00+00';\n```\n\n",
    );
    body.push_str("    indented code block\n\n> quoted chat: \"nobody touched patroni\"\n\n- [x] done\n- [ ] not yet\n\n");
    body.push_str("<!-- a comment -->\n\nTrailing spaces for a hard break  \nnext line.\n");
    if n.is_multiple_of(3) {
        body.push_str("\r\nCRLF line\r\n");
    }
    if n.is_multiple_of(4) {
        body.push_str("\n---\n\nA thematic break above (not front matter).\n");
    }
    if n.is_multiple_of(5) {
        body.push_str("no final newline");
    }
    body
}

fn record(n: usize) -> IncidentRecord {
    let severities = SeverityScale::default();
    let awkward = |k: usize| AWKWARD_STRINGS[(n + k) % AWKWARD_STRINGS.len()].to_owned();
    let resolved = n.is_multiple_of(2);
    let incident = Incident::new(
        NewIncident {
            id: IncidentId::parse(&format!("INC-2025-{:04}", n + 1)).expect("id"),
            title: format!("Incident {n}: {}", awkward(0).trim().replace('\n', " ")),
            kind: if n % 3 == 1 {
                IncidentKind::NearMiss
            } else {
                IncidentKind::Incident
            },
            severity: severities
                .severity(["SEV1", "SEV2", "SEV3", "SEV4"][n % 4])
                .expect("sev"),
            status: if resolved {
                IncidentStatus::Resolved
            } else {
                IncidentStatus::Mitigated
            },
            services: vec![format!("svc-{n}"), "orders-api".into()],
            tags: if n.is_multiple_of(2) {
                vec!["database".into()]
            } else {
                vec![]
            },
            visibility: if n.is_multiple_of(4) {
                Visibility::Restricted(vec!["security".into()])
            } else {
                Visibility::Everyone
            },
            times: IncidentTimes {
                impact_started: Some(time("2025-03-30T01:59:58.5+01:00[Europe/Berlin]")),
                detected: (n % 3 != 2).then(|| time("2025-03-30T00:59:59Z")),
                responded: Some(time("2025-03-29T21:05:00.123456-04:00")),
                mitigated: Some(time("2025-03-30T03:10:00+02:00[Europe/Berlin]")),
                resolved: resolved.then(|| time("2025-03-30T04:00:00+01:00")),
            },
            summary: awkward(1),
        },
        "2025-06-01T00:00:00Z".parse().expect("now"),
    )
    .expect("valid incident");
    let mut incident = incident;
    if n.is_multiple_of(6) && resolved {
        incident.review = ReviewStatus::NotRequired {
            reason: awkward(2).trim().to_owned(),
        };
    } else if n % 6 == 2 && resolved {
        incident.review = ReviewStatus::Published;
    }
    let events_count = if n == 7 { 600 } else { 3 + n };
    let events: Vec<TimelineEvent> = (0..events_count)
        .map(|e| TimelineEvent {
            at: RecordedTime::with_offset(
                "2025-03-30T00:00:00Z"
                    .parse::<jiff::Timestamp>()
                    .expect("ts")
                    + jiff::SignedDuration::from_micros(e as i64 * 1_000_777),
                jiff::tz::Offset::from_seconds([0, 3600, -14_400, 19_800][e % 4]).expect("offset"),
            ),
            source: EventSource::parse(["slack", "irc", "pagerduty", "manual"][e % 4])
                .expect("source"),
            source_ref: format!("ref:{n}:{e}"),
            actor: (e % 5 != 0).then(|| awkward(e)),
            kind: EventKind::ALL[e % EventKind::ALL.len()],
            text: format!("event {e} {}", awkward(e + 3)),
            key_moment: e % 7 == 0,
            hidden: e % 11 == 0,
            evidence_url: (e % 2 == 0).then(|| format!("https://chat.example/p{e}?a=1&b=2")),
        })
        .collect();
    let mut sorted = events;
    sorted.sort_by(TimelineEvent::merge_order);
    IncidentRecord {
        participants: (0..n % 4)
            .map(|p| Participant {
                name: format!("Person {p} {}", awkward(p).trim().replace('\n', " ")),
                role: "on-call SRE".into(),
                alias: (p % 2 == 0).then(|| format!("Engineer {p}")),
                perspective: awkward(p + 5),
            })
            .collect(),
        factors: (0..n % 3 + 1)
            .map(|f| ContributingFactor {
                category: FactorTaxonomy::default().categories[(n + f) % 10].clone(),
                description: awkward(f + 7),
                events: if f == 0 {
                    vec![sorted[0].source_ref.clone()]
                } else {
                    vec![]
                },
            })
            .collect(),
        actions: (0..n % 4)
            .map(|a| ActionItem {
                number: a as i64 + 1,
                title: format!("Action {a} {}", awkward(a + 2).trim().replace('\n', " ")),
                description: awkward(a + 4),
                kind: [
                    ActionKind::Mitigate,
                    ActionKind::Prevent,
                    ActionKind::Detect,
                    ActionKind::Learn,
                ][a],
                owner: "team-db".into(),
                priority: [Priority::High, Priority::Medium, Priority::Low][a % 3],
                due: (a != 1).then(|| parse_due("2025-04-30").expect("due")),
                status: match a {
                    0 => ActionStatus::Open,
                    1 => ActionStatus::InProgress,
                    2 => ActionStatus::WontDo {
                        reason: awkward(a).trim().to_owned(),
                    },
                    _ => ActionStatus::Done,
                },
                external_url: (a == 0).then(|| "https://github.com/org/repo/issues/219".into()),
                version: 0,
            })
            .collect(),
        events: sorted,
        review: review_body(n),
        incident,
    }
}

fn read_dir_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            let path = e.expect("entry").path();
            (
                path.file_name()
                    .expect("name")
                    .to_string_lossy()
                    .into_owned(),
                std::fs::read(&path).expect("read"),
            )
        })
        .collect()
}

/// Asserts two sets of files are byte-identical, showing the first difference as a diff.
fn assert_same_files(
    left: &BTreeMap<String, Vec<u8>>,
    right: &BTreeMap<String, Vec<u8>>,
    what: &str,
) {
    assert_eq!(
        left.keys().collect::<Vec<_>>(),
        right.keys().collect::<Vec<_>>(),
        "{what}: file names"
    );
    for (name, bytes) in left {
        if bytes != &right[name] {
            let diff = secondstory_review::diff_unified(
                &String::from_utf8_lossy(bytes),
                &String::from_utf8_lossy(&right[name]),
                "expected",
                "actual",
            );
            panic!(
                "{what}: {name} differs:\n{}",
                diff.chars().take(3000).collect::<String>()
            );
        }
    }
}

fn export(db: &Db, format: &str, dir: &str) -> BTreeMap<String, Vec<u8>> {
    db.ok(&[
        "export",
        "--format",
        format,
        "--out",
        db.path(dir).to_str().expect("utf-8"),
    ]);
    read_dir_files(&db.path(dir))
}

#[test]
fn export_import_export_is_byte_identical_over_24_varied_reviews() {
    let records: Vec<IncidentRecord> = (0..24).map(record).collect();
    assert!(
        records.iter().any(|r| r.events.len() >= 500),
        "one review has 500+ timeline events"
    );
    for first in databases() {
        let written = first.path("written");
        std::fs::create_dir_all(&written).expect("mkdir");
        for r in &records {
            std::fs::write(
                written.join(format!("{}.md", r.incident.id)),
                secondstory_review::write_markdown(r),
            )
            .expect("write");
        }
        first.ok(&["import", written.to_str().expect("utf-8")]);
        for format in ["markdown", "json"] {
            let exported = export(&first, format, &format!("first-{format}"));
            assert_eq!(exported.len(), 24);
            if format == "markdown" {
                assert_same_files(
                    &read_dir_files(&written),
                    &exported,
                    &format!("[{}] export equals the files imported", first.name),
                );
            }
            for second in databases() {
                second.ok(&[
                    "import",
                    first
                        .path(&format!("first-{format}"))
                        .to_str()
                        .expect("utf-8"),
                ]);
                let again = export(&second, format, "second");
                assert_same_files(
                    &exported,
                    &again,
                    &format!(
                        "[{} → {}] {format}: export → import → export must be byte-identical",
                        first.name, second.name
                    ),
                );
            }
        }
    }
}

#[test]
fn re_importing_edited_files_updates_incidents_and_keeps_review_history() {
    for db in databases() {
        db.ok(&["demo"]);
        let files = export(&db, "markdown", "out");
        let text = String::from_utf8(files["INC-4711.md"].clone()).expect("utf-8");
        let edited = text.replace("## Open questions", "## Open questions\n\nAdded in git.\n");
        write(&db, "INC-4711.md", &edited);
        let out = db.ok(&["import", db.path("INC-4711.md").to_str().expect("utf-8")]);
        assert!(out.contains("0 incident(s) created, 1 updated"), "{out}");
        let history = db.ok(&["review", "history", "INC-4711"]);
        assert!(history.contains("\n2 "), "a second revision: {history}");
    }
}

#[test]
fn a_bad_file_anywhere_imports_nothing_and_names_file_line_and_field() {
    for db in databases() {
        let dir = db.path("reviews");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("README.md"), "# Our reviews\n").expect("write");
        std::fs::write(
            dir.join("a-good.md"),
            secondstory_review::write_markdown(&record(1)),
        )
        .expect("write");
        let good_text = secondstory_review::write_markdown(&record(2));
        let cases: Vec<(&str, String, &str)> = vec![
            (
                "malformed front matter",
                good_text.replacen("title: ", "title: [unclosed ", 1),
                "line 3",
            ),
            (
                "unclosed front matter",
                good_text.replacen("\n---\n", "\n", 1),
                "front matter is not closed",
            ),
            (
                "unknown severity",
                good_text.replacen("severity: SEV3", "severity: P1", 1),
                "line 5: severity: `P1` is not a configured severity",
            ),
            (
                "impossible times",
                good_text.replacen(
                    "resolved: 2025-03-30T04:00:00+01:00",
                    "resolved: 2025-03-29T04:00:00+01:00",
                    1,
                ),
                "times.resolved: 2025-03-29T04:00:00+01:00 is before",
            ),
            (
                "unknown field",
                good_text.replacen("kind: incident\n", "kind: incident\nroot_cause: Bob\n", 1),
                "unknown field `root_cause`",
            ),
            (
                "bad action",
                good_text.replacen("priority: high", "priority: urgent", 1),
                "actions[0].priority: `urgent` is not valid",
            ),
        ];
        for (what, text, expected) in cases {
            let path = dir.join("z-bad.md");
            std::fs::write(&path, &text).expect("write");
            let before = db.snapshot();
            let err = db.fails(1, &["import", dir.to_str().expect("utf-8")]);
            assert!(
                err.contains("z-bad.md"),
                "[{}] {what}: names the file: {err}",
                db.name
            );
            assert!(
                err.contains(expected),
                "[{}] {what}: expected `{expected}` in: {err}",
                db.name
            );
            assert_eq!(
                db.snapshot(),
                before,
                "[{}] {what}: nothing imported",
                db.name
            );
        }
        let dup = secondstory_review::write_markdown(&record(1));
        std::fs::write(dir.join("z-bad.md"), dup).expect("write");
        let err = db.fails(1, &["import", dir.to_str().expect("utf-8")]);
        assert!(err.contains("incident INC-2025-0002 is also in"), "{err}");
        std::fs::remove_file(dir.join("z-bad.md")).expect("rm");
        let out = db.ok(&["import", dir.to_str().expect("utf-8")]);
        assert!(out.contains("1 incident(s) created"), "{out}");
    }
}
