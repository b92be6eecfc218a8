//! The shared samples describe one fictional incident in every supported format; importing all
//! of them and merging must reproduce the expected timeline table in `samples/README.md`.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: an unwrap failing is the test failing"
)]

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use secondstory_domain::timeline::TimelineEvent;
use secondstory_import::{Format, ImportOptions, merge_events, read_events};

fn samples_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/samples"
    ));
    if dir.join("README.md").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "samples not found at {} (CI=true: they are required)",
            dir.display()
        );
    }
    eprintln!("skipping: samples not found at {}", dir.display());
    None
}

/// The incident night, wide enough for every row of the table and narrow enough to leave out
/// commits from earlier weeks.
fn window() -> ImportOptions {
    ImportOptions {
        since: Some("2024-03-30T22:00:00Z".parse().unwrap()),
        until: Some("2024-03-31T12:00:00Z".parse().unwrap()),
        ..ImportOptions::default()
    }
}

fn import(path: &Path, format: Format, options: &ImportOptions) -> Vec<TimelineEvent> {
    read_events(path, format, options)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_events()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every sample source the importers cover. Not imported, on purpose: `pagerduty/rest/
/// incident.json` (an incident summary, no timeline rows), `deploys/git/git-tags.txt` (tag
/// creation is not a deploy), `jira/create-issue-*`, `github-issues/create-issue-request.json`
/// (requests, not records), `mattermost/` (no importer yet; not in the table), and the `bad/`
/// folders (tested in the unit tests).
fn import_all(samples: &Path) -> Vec<TimelineEvent> {
    let base = window();
    let zone = |name: &str| ImportOptions {
        tz: Some(TimeZone::get(name).unwrap()),
        ..window()
    };
    let mut events = Vec::new();
    let s = |p: &str| samples.join(p);
    events.extend(import(&s("slack/export"), Format::SlackExport, &base));
    events.extend(import(
        &s("irc/irssi/quaystone/#dbops.log"),
        Format::IrcIrssi,
        &zone("Europe/Berlin"),
    ));
    events.extend(import(
        &s("irc/weechat/irc.quaystone.#dbops.weechatlog"),
        Format::IrcWeechat,
        &zone("Europe/Berlin"),
    ));
    events.extend(import(
        &s("irc/znc/moddata/log/quaystone/#dbops"),
        Format::IrcZnc,
        &zone("UTC"),
    ));
    events.extend(import(
        &s("irc/hexchat/quaystone/#dbops.log"),
        Format::IrcHexchat,
        &zone("America/New_York"),
    ));
    let plain = ImportOptions {
        date: Some("2024-03-30".parse().unwrap()),
        irc_channel: Some("#dbops".into()),
        ..zone("Europe/Berlin")
    };
    events.extend(import(
        &s("irc/plain/pasted-transcript-dbops.txt"),
        Format::IrcPlain,
        &plain,
    ));
    events.extend(import(
        &s("pagerduty/rest/incident_log_entries.json"),
        Format::PagerDutyLogEntries,
        &base,
    ));
    events.extend(import(
        &s("pagerduty/webhooks-v3"),
        Format::PagerDutyWebhook,
        &base,
    ));
    events.extend(import(&s("alertmanager"), Format::Alertmanager, &base));
    events.extend(import(&s("grafana"), Format::Grafana, &base));
    events.extend(import(&s("opsgenie"), Format::Opsgenie, &base));
    events.extend(import(
        &s("deploys/github"),
        Format::GithubDeployment,
        &base,
    ));
    events.extend(import(
        &s("deploys/git/git-log-machine.txt"),
        Format::GitLog,
        &base,
    ));
    events.extend(import(
        &s("deploys/git/git-log-default.txt"),
        Format::GitLog,
        &base,
    ));
    events.extend(import(
        &s("jira/issue-OPS-482.v2.json"),
        Format::JiraIssue,
        &base,
    ));
    events.extend(import(
        &s("jira/issue-OPS-482.v3.json"),
        Format::JiraIssue,
        &base,
    ));
    events.extend(import(
        &s("github-issues/create-issue-response.201.json"),
        Format::GithubIssue,
        &base,
    ));
    events.extend(import(
        &s("morgue/morgue-dump.sql"),
        Format::MorgueSql,
        &base,
    ));
    events
}

#[derive(Debug)]
struct ExpectedRow {
    number: usize,
    at: Timestamp,
    source: String,
    event: String,
}

/// Splits a Markdown table row on unescaped `|`, unescaping `\|` inside cells.
fn table_cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut chars = line.trim().trim_start_matches('|').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                cells.last_mut().unwrap().push('|');
            }
            '|' => cells.push(String::new()),
            other => cells.last_mut().unwrap().push(other),
        }
    }
    cells.iter().map(|c| c.trim().to_owned()).collect()
}

fn expected_rows(readme: &str) -> Vec<ExpectedRow> {
    let table = readme
        .split("## Expected merged timeline")
        .nth(1)
        .expect("README has the expected timeline");
    table
        .lines()
        .filter(|l| l.starts_with("| "))
        .map(table_cells)
        .filter(|cells| cells.len() >= 4 && cells[0].parse::<usize>().is_ok())
        .map(|cells| ExpectedRow {
            number: cells[0].parse().unwrap(),
            at: cells[1].parse().unwrap(),
            source: source_of(&cells[2]),
            event: cells[3].clone(),
        })
        .collect()
}

/// The README's source column (`slack #ops-alerts (…)`, `pagerduty REST`, `github deployment`)
/// to an event source name.
fn source_of(column: &str) -> String {
    let first = column.split_whitespace().next().unwrap_or("");
    first.to_owned()
}

/// What of the README's event column the imported text must show (a prefix, or a fragment).
fn check_text(row: &ExpectedRow, event: &TimelineEvent) {
    let readme = row.event.as_str();
    let before_markup = |s: &str| {
        s.split(['<', '&', '…'])
            .next()
            .unwrap_or("")
            .trim_end()
            .to_owned()
    };
    let (fragment, prefix) = match row.source.as_str() {
        "irc" => {
            let mut words = readme.splitn(3, ' ');
            let kind = words.next().unwrap_or("");
            let nick = words.next().unwrap_or("");
            let rest = words.next().unwrap_or("").trim();
            assert_eq!(
                event.actor.as_deref(),
                Some(nick),
                "row {}: actor",
                row.number
            );
            match kind {
                "msg" => (rest.to_owned(), true),
                "action" => (format!("* {nick} {rest}"), true),
                _ => (rest.to_owned(), false),
            }
        }
        "slack" => {
            let text = readme.split_once(": ").map(|(_, t)| t).unwrap_or(readme);
            (before_markup(text), true)
        }
        "pagerduty" if readme.contains(" — ") => {
            (readme.split(" — ").nth(1).unwrap().to_owned(), true)
        }
        "alertmanager" | "grafana" => (readme.split(" (").next().unwrap().to_owned(), true),
        "morgue" => (readme.split(' ').next().unwrap().to_owned(), false),
        "git" => {
            let sha = readme
                .split("commit ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .unwrap();
            let verb = if readme.contains("authored") {
                "authored"
            } else {
                "committed"
            };
            assert!(
                event.text.contains(verb),
                "row {}: `{}` should say {verb}",
                row.number,
                event.text
            );
            (format!("commit {sha}"), false)
        }
        _ => (readme.to_owned(), true),
    };
    // The table is one line per row: newlines in a message are shown as spaces.
    let text = event.text.split_whitespace().collect::<Vec<_>>().join(" ");
    if prefix {
        assert!(
            text.starts_with(&fragment),
            "row {}: `{}` should start with `{fragment}`",
            row.number,
            event.text
        );
    } else {
        assert!(
            text.contains(&fragment),
            "row {}: `{}` should contain `{fragment}`",
            row.number,
            event.text
        );
    }
}

/// The README shows sub-second times to the millisecond.
fn to_millis(at: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(at.as_millisecond()).unwrap()
}

#[test]
fn all_samples_merge_into_the_expected_timeline() {
    let Some(samples) = samples_dir() else { return };
    let readme = std::fs::read_to_string(samples.join("README.md")).unwrap();
    let expected = expected_rows(&readme);
    assert_eq!(expected.len(), 92, "README table rows");
    let merged = merge_events(import_all(&samples));
    let shown: Vec<String> = merged
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e.at.instant(),
                e.source,
                e.text.chars().take(70).collect::<String>()
            )
        })
        .collect();
    for (row, event) in expected.iter().zip(&merged) {
        assert_eq!(
            (to_millis(event.at.instant()), event.source.as_str()),
            (row.at, row.source.as_str()),
            "row {}: {} — merged timeline:\n{}",
            row.number,
            row.event,
            shown.join("\n")
        );
        check_text(row, event);
    }
    assert_eq!(
        merged.len(),
        expected.len(),
        "merged timeline:\n{}",
        shown.join("\n")
    );
}

#[test]
fn importing_everything_twice_and_the_zip_beside_the_directory_adds_nothing() {
    let Some(samples) = samples_dir() else { return };
    let once = merge_events(import_all(&samples));
    let zip = samples.join("slack/Quaystone Slack export Mar 30 2024 - Mar 31 2024.zip");
    let mut twice = import_all(&samples);
    twice.extend(import_all(&samples));
    twice.extend(import(&zip, Format::SlackExport, &window()));
    assert_eq!(merge_events(twice), once);
}

#[test]
fn the_slack_zip_and_the_unpacked_export_give_the_same_events() {
    let Some(samples) = samples_dir() else { return };
    let zip = samples.join("slack/Quaystone Slack export Mar 30 2024 - Mar 31 2024.zip");
    let from_zip = import(&zip, Format::SlackExport, &ImportOptions::default());
    let from_dir = import(
        &samples.join("slack/export"),
        Format::SlackExport,
        &ImportOptions::default(),
    );
    assert!(!from_zip.is_empty());
    assert_eq!(from_zip, from_dir);
}

#[test]
fn every_sample_source_is_detected_from_its_content() {
    let Some(samples) = samples_dir() else { return };
    let cases = [
        ("slack/export", Format::SlackExport),
        (
            "slack/Quaystone Slack export Mar 30 2024 - Mar 31 2024.zip",
            Format::SlackExport,
        ),
        ("irc/irssi/quaystone/#dbops.log", Format::IrcIrssi),
        (
            "irc/weechat/irc.quaystone.#dbops.weechatlog",
            Format::IrcWeechat,
        ),
        (
            "irc/znc/moddata/log/quaystone/#dbops/2024-03-30.log",
            Format::IrcZnc,
        ),
        ("irc/hexchat/quaystone/#dbops.log", Format::IrcHexchat),
        ("irc/plain/pasted-transcript-dbops.txt", Format::IrcPlain),
        (
            "pagerduty/rest/incident_log_entries.json",
            Format::PagerDutyLogEntries,
        ),
        (
            "pagerduty/webhooks-v3/01-incident.triggered.json",
            Format::PagerDutyWebhook,
        ),
        (
            "alertmanager/01-firing-pg-orders.json",
            Format::Alertmanager,
        ),
        ("grafana/01-firing-5xx.json", Format::Grafana),
        ("opsgenie/01-create.json", Format::Opsgenie),
        (
            "deploys/github/10-deployment-v3.8.0.json",
            Format::GithubDeployment,
        ),
        ("deploys/git/git-log-machine.txt", Format::GitLog),
        ("deploys/git/git-log-default.txt", Format::GitLog),
        ("jira/issue-OPS-482.v3.json", Format::JiraIssue),
        (
            "github-issues/create-issue-response.201.json",
            Format::GithubIssue,
        ),
        ("morgue/morgue-dump.sql", Format::MorgueSql),
        ("mattermost/bulk-export.jsonl", Format::Jsonl),
    ];
    for (path, format) in cases {
        assert_eq!(
            secondstory_import::detect_format(&samples.join(path)).unwrap(),
            format,
            "{path}"
        );
    }
}
