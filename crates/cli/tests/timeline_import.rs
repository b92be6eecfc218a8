//! `secondstory timeline import` on the shared samples: every source into one incident, re-import
//! safe, and bad input refused with file and position, leaving nothing written.

mod common;

use std::path::PathBuf;

use common::{Db, databases};

fn samples() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/samples"
    ));
    if dir.join("README.md").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the shared samples are missing at {}",
        dir.display()
    );
    eprintln!("skipping: samples not found at {}", dir.display());
    None
}

fn path(samples: &std::path::Path, p: &str) -> String {
    samples.join(p).to_str().expect("utf-8").to_owned()
}

const NIGHT: [&str; 4] = [
    "--since",
    "2024-03-30T22:00:00Z",
    "--until",
    "2024-03-31T12:00:00Z",
];

/// Imports every sample source the way a user would, one command per source. Seconds-precision
/// IRC logs come before minute-precision ones: the first copy of a line is the one kept.
fn import_everything(db: &Db, samples: &std::path::Path) -> Vec<String> {
    let s = |p: &str| path(samples, p);
    let runs: Vec<Vec<String>> = vec![
        vec![s("slack/export")],
        vec![
            "--tz".into(),
            "Europe/Berlin".into(),
            s("irc/weechat/irc.quaystone.#dbops.weechatlog"),
        ],
        vec![
            "--tz".into(),
            "UTC".into(),
            s("irc/znc/moddata/log/quaystone/#dbops"),
        ],
        vec![
            "--tz".into(),
            "America/New_York".into(),
            s("irc/hexchat/quaystone/#dbops.log"),
        ],
        vec![
            "--tz".into(),
            "Europe/Berlin".into(),
            s("irc/irssi/quaystone/#dbops.log"),
        ],
        vec![
            "--tz".into(),
            "Europe/Berlin".into(),
            "--date".into(),
            "2024-03-30".into(),
            "--channel".into(),
            "#dbops".into(),
            s("irc/plain/pasted-transcript-dbops.txt"),
        ],
        vec![
            s("pagerduty/rest/incident_log_entries.json"),
            s("pagerduty/webhooks-v3"),
        ],
        vec![
            s("alertmanager"),
            s("grafana"),
            s("opsgenie"),
            s("deploys/github"),
        ],
        vec![
            s("deploys/git/git-log-machine.txt"),
            s("deploys/git/git-log-default.txt"),
        ],
        vec![
            s("jira/issue-OPS-482.v2.json"),
            s("jira/issue-OPS-482.v3.json"),
            s("github-issues/create-issue-response.201.json"),
            s("morgue/morgue-dump.sql"),
        ],
    ];
    runs.into_iter()
        .map(|extra| {
            let mut args: Vec<&str> = vec!["timeline", "import", "--incident", "INC-2024-0001"];
            args.extend(NIGHT);
            args.extend(extra.iter().map(String::as_str));
            db.ok(&args)
        })
        .collect()
}

fn stored_events(db: &Db) -> Vec<serde_json::Value> {
    let out = db.ok(&["timeline", "list", "INC-2024-0001", "--all", "--json"]);
    serde_json::from_str::<serde_json::Value>(&out)
        .expect("json")
        .as_array()
        .expect("list")
        .clone()
}

fn new_incident(db: &Db) {
    db.ok(&[
        "incident",
        "new",
        "--id",
        "INC-2024-0001",
        "--title",
        "Orders API write errors",
        "--severity",
        "SEV2",
        "--impact-started",
        "2024-03-30T23:41:58Z",
    ]);
}

#[test]
fn every_sample_source_imports_into_the_expected_timeline_once() {
    let Some(samples) = samples() else { return };
    for db in databases() {
        new_incident(&db);
        let summaries = import_everything(&db, &samples);
        assert!(
            summaries[0].contains("imported 27 new event(s)"),
            "[{}] {}",
            db.name,
            summaries[0]
        );
        let events = stored_events(&db);
        assert_eq!(
            events.len(),
            92,
            "[{}] the 92 rows of the samples' expected timeline",
            db.name
        );
        let at = |i: usize| events[i]["at"].as_str().expect("at").to_owned();
        // Times keep the source's offset; the order is by instant.
        assert_eq!(
            at(0),
            "2024-03-30T22:31:40+00:00[UTC]",
            "first: tkoch joins #dbops (from the ZNC log, in UTC)"
        );
        assert_eq!(events[91]["source"], "git");
        let ack = events
            .iter()
            .find(|e| {
                e["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("Acknowledged by Jonas Becker"))
            })
            .expect("ack");
        assert_eq!(ack["at"], "2024-03-30T19:50:37-04:00");
        // Everything again, plus the ZIP beside the unpacked export: nothing new.
        let again = import_everything(&db, &samples);
        assert!(
            again.iter().all(|s| s.contains("imported 0 new event(s)")),
            "[{}] {again:?}",
            db.name
        );
        let zip = path(
            &samples,
            "slack/Quaystone Slack export Mar 30 2024 - Mar 31 2024.zip",
        );
        let out = db.ok(&["timeline", "import", "--incident", "INC-2024-0001", &zip]);
        assert!(
            out.contains("imported 0 new event(s) into INC-2024-0001; 27 already present"),
            "{out}"
        );
        assert_eq!(stored_events(&db).len(), 92);
    }
}

#[test]
fn the_default_window_is_the_incident_span_widened_by_the_margin() {
    let Some(samples) = samples() else { return };
    for db in databases() {
        db.ok(&[
            "incident",
            "new",
            "--id",
            "INC-2024-0001",
            "--title",
            "x",
            "--severity",
            "SEV2",
            "--status",
            "resolved",
            "--impact-started",
            "2024-03-30T23:41:58Z",
            "--resolved",
            "2024-03-31T00:15:19Z",
        ]);
        let out = db.ok(&[
            "timeline",
            "import",
            "--incident",
            "INC-2024-0001",
            "--margin",
            "10m",
            &path(&samples, "slack/export"),
        ]);
        assert!(
            out.contains("outside 2024-03-30T23:31:58Z to 2024-03-31T00:25:19Z"),
            "{out}"
        );
        let kept = stored_events(&db);
        assert!(
            !kept.is_empty() && kept.len() < 27,
            "[{}] {} kept",
            db.name,
            kept.len()
        );
        let out = db.ok(&[
            "timeline",
            "import",
            "--incident",
            "INC-2024-0001",
            "--all-time",
            &path(&samples, "slack/export"),
        ]);
        assert!(
            out.contains(&format!("imported {} new event(s)", 27 - kept.len())),
            "{out}"
        );
    }
}

#[test]
fn bad_input_names_the_file_and_position_and_imports_nothing() {
    let Some(samples) = samples() else { return };
    for db in databases() {
        new_incident(&db);
        db.ok(&[
            "timeline",
            "add",
            "INC-2024-0001",
            "--at",
            "2024-03-30T23:50:00Z",
            "--text",
            "before",
        ]);
        let before = db.snapshot();
        let cases: Vec<(Vec<String>, &str)> = vec![
            (
                vec!["--from".into(), "slack".into(), path(&samples, "slack/bad")],
                "2024-03-30.json:86",
            ),
            (
                vec![
                    "--tz".into(),
                    "Europe/Berlin".into(),
                    path(&samples, "irc/bad/irssi-malformed.log"),
                ],
                "irssi-malformed.log:4",
            ),
            (
                vec![
                    "--from".into(),
                    "pagerduty-webhook".into(),
                    path(&samples, "pagerduty/bad/webhook-truncated.json"),
                ],
                "webhook-truncated.json",
            ),
            (
                vec![
                    "--from".into(),
                    "alertmanager".into(),
                    path(&samples, "alertmanager/bad/bad-timestamps.json"),
                ],
                "bad-timestamps.json",
            ),
            (
                vec![path(&samples, "irc/hexchat/quaystone/#dbops.log")],
                "needs a time zone",
            ),
            (vec![path(&samples, "nope.json")], "nope.json"),
        ];
        for (extra, expected) in cases {
            let mut args: Vec<&str> = vec![
                "timeline",
                "import",
                "--incident",
                "INC-2024-0001",
                "--all-time",
            ];
            args.extend(extra.iter().map(String::as_str));
            let err = db.fails(1, &args);
            assert!(
                err.contains(expected),
                "[{}] {extra:?}: expected `{expected}` in {err}",
                db.name
            );
            assert_eq!(
                db.snapshot(),
                before,
                "[{}] {extra:?}: nothing imported",
                db.name
            );
        }
        let out = db.run(&[
            "timeline",
            "import",
            "--incident",
            "INC-2024-0001",
            "--all-time",
            "--skip-invalid",
            "--from",
            "slack",
            &path(&samples, "slack/bad"),
        ]);
        assert!(out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("skipped: ") && err.contains("found the number 1711843000.123456"),
            "{err}"
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("skipped"),
            "the summary counts skipped records"
        );
    }
}

#[test]
fn arguments_that_cannot_be_read_are_usage_errors_with_exit_code_2() {
    let Some(samples) = samples() else { return };
    for db in databases() {
        new_incident(&db);
        let cases = [
            (
                vec!["--from", "irc-weird"],
                "--from: `irc-weird` is not a format",
            ),
            (
                vec!["--tz", "Mars/Base"],
                "--tz: `Mars/Base` is not an IANA time zone name",
            ),
            (
                vec!["--date", "2024-02-30"],
                "--date: `2024-02-30` is not a date",
            ),
        ];
        let logs = path(&samples, "irc/hexchat");
        for (extra, expected) in cases {
            let mut args = vec!["timeline", "import", "--incident", "INC-2024-0001"];
            args.extend(extra);
            args.push(&logs);
            let err = db.fails(2, &args);
            assert!(
                err.contains(expected),
                "[{}] expected `{expected}` in {err}",
                db.name
            );
        }
    }
}

#[test]
fn a_dry_run_counts_an_event_seen_twice_in_the_inputs_once_as_the_import_would() {
    let Some(samples) = samples() else { return };
    for db in databases() {
        new_incident(&db);
        let grafana = path(&samples, "grafana");
        let args = [
            "timeline",
            "import",
            "--incident",
            "INC-2024-0001",
            "--all-time",
            "--dry-run",
            &grafana,
            &grafana,
        ];
        let dry = db.ok(&args);
        assert!(dry.contains("would import 4 new event(s)"), "{dry}");
        assert!(dry.contains("4 already present"), "{dry}");
        let real = db.ok(&args[..5]
            .iter()
            .chain(&args[6..])
            .copied()
            .collect::<Vec<_>>());
        assert!(real.contains("imported 4 new event(s)"), "{real}");
        assert!(real.contains("4 already present"), "{real}");
    }
}

#[test]
fn a_dry_run_shows_what_would_be_imported_and_writes_nothing() {
    let Some(samples) = samples() else { return };
    for db in databases() {
        new_incident(&db);
        let before = db.snapshot();
        let out = db.ok(&[
            "timeline",
            "import",
            "--incident",
            "INC-2024-0001",
            "--all-time",
            "--dry-run",
            &path(&samples, "grafana"),
        ]);
        assert!(out.contains("would import 4 new event(s)"), "{out}");
        assert!(out.contains("grafana"), "{out}");
        assert_eq!(db.snapshot(), before, "[{}] nothing written", db.name);
    }
}

#[test]
fn the_same_irc_line_in_two_clients_logs_with_clocks_a_minute_boundary_apart_is_one_event() {
    for db in databases() {
        new_incident(&db);
        let dir = tempfile::tempdir().expect("temp dir");
        // WeeChat in Sydney saw the line at 14:45:55Z; the ZNC bouncer (UTC) ten seconds later,
        // in the next minute. Imported one after the other, as people do with their own logs.
        let weechat = dir.path().join("irc.net.#ledger.weechatlog");
        std::fs::write(
            &weechat,
            "2025-01-01 01:45:55\tlee\tunique message crossing minute\n\
             2025-01-01 01:50:30\tsam\tsecond unique\n",
        )
        .expect("write");
        let znc_dir = dir.path().join("znc").join("#ledger");
        std::fs::create_dir_all(&znc_dir).expect("dir");
        let znc = znc_dir.join("2024-12-31.log");
        std::fs::write(
            &znc,
            "[14:46:05] <lee> unique message crossing minute\n\
             [14:50:31] <sam> second unique\n\
             [14:52:00] <lee> only the bouncer saw this\n",
        )
        .expect("write");
        let import = |tz: &str, path: &std::path::Path| {
            db.ok(&[
                "timeline",
                "import",
                "--incident",
                "INC-2024-0001",
                "--all-time",
                "--tz",
                tz,
                "--channel",
                "#ledger",
                &path.display().to_string(),
            ])
        };
        let first = import("Australia/Sydney", &weechat);
        assert!(first.contains("imported 2 new event(s)"), "{first}");
        let second = import("UTC", &znc);
        assert!(
            second.contains("imported 1 new event(s)") && second.contains("2 already present"),
            "[{}] {second}",
            db.name
        );
        let texts: Vec<String> = stored_events(&db)
            .iter()
            .map(|e| e["text"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
    }
}
