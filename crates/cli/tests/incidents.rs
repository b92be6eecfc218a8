//! The incident commands, and how they refuse bad input: a clear message naming the argument,
//! exit 1, and the database exactly as it was.

mod common;

use common::databases;

#[test]
fn an_incident_is_created_listed_shown_and_moved_through_its_lifecycle() {
    for db in databases() {
        let out = db.ok(&[
            "incident",
            "new",
            "--title",
            "Checkout 5xx after deploy",
            "--severity",
            "sev2",
            "--service",
            "checkout-api",
            "--impact-started",
            "2026-11-20T09:12:00+01:00",
            "--json",
        ]);
        let created: serde_json::Value = serde_json::from_str(&out).expect("json");
        let id = created["id"].as_str().expect("id").to_owned();
        assert!(id.starts_with("INC-2026-"), "[{}] {id}", db.name);
        assert_eq!(created["severity"], "SEV2", "severity is canonicalised");
        assert!(
            db.ok(&["incident", "list"])
                .contains("Checkout 5xx after deploy")
        );
        db.ok(&[
            "incident",
            "status",
            &id,
            "mitigated",
            "--at",
            "2026-11-20T09:40:00+01:00",
        ]);
        db.ok(&[
            "incident",
            "status",
            &id,
            "resolved",
            "--at",
            "2026-11-20T10:05:00+01:00",
        ]);
        let shown = db.ok(&["incident", "show", &id]);
        assert!(
            shown.contains("time to mitigate  28m 00s"),
            "[{}] {shown}",
            db.name
        );
        assert!(
            shown.contains("time to resolve   53m 00s"),
            "[{}] {shown}",
            db.name
        );
        db.ok(&["review", "status", &id, "in-review"]);
        db.ok(&["review", "status", &id, "published"]);
        let listed: serde_json::Value =
            serde_json::from_str(&db.ok(&["incident", "list", "--status", "resolved", "--json"]))
                .expect("json");
        assert_eq!(listed[0]["review"]["state"], "published");
    }
}

#[test]
fn an_unknown_severity_is_refused_and_nothing_is_written() {
    for db in databases() {
        db.ok(&["demo"]);
        let before = db.snapshot();
        let err = db.fails(1, &["incident", "new", "--title", "x", "--severity", "P0"]);
        assert!(
            err.contains(
                "--severity: `P0` is not a configured severity (configured: SEV1, SEV2, SEV3, SEV4)"
            ),
            "{err}"
        );
        assert_eq!(db.snapshot(), before, "[{}] database unchanged", db.name);
        // A refused incident does not use up an id either.
        let out = db.ok(&[
            "incident",
            "new",
            "--title",
            "x",
            "--severity",
            "SEV3",
            "--json",
        ]);
        assert!(out.contains("-0001\""), "[{}] {out}", db.name);
    }
}

#[test]
fn impossible_times_are_refused_naming_the_argument() {
    for db in databases() {
        db.ok(&["demo"]);
        let before = db.snapshot();
        let err = db.fails(
            1,
            &[
                "incident",
                "new",
                "--title",
                "x",
                "--severity",
                "SEV3",
                "--status",
                "resolved",
                "--impact-started",
                "2026-11-20T10:00:00Z",
                "--resolved",
                "2026-11-20T09:00:00Z",
            ],
        );
        assert!(
            err.contains("--resolved: 2026-11-20T09:00:00Z is before impact_started"),
            "{err}"
        );
        let err = db.fails(
            1,
            &[
                "incident",
                "new",
                "--title",
                "x",
                "--severity",
                "SEV3",
                "--detected",
                "2099-01-01T00:00:00Z",
            ],
        );
        assert!(
            err.contains("--detected:") && err.contains("in the future"),
            "{err}"
        );
        let err = db.fails(
            1,
            &[
                "incident",
                "new",
                "--title",
                "x",
                "--severity",
                "SEV3",
                "--detected",
                "2026-11-20 10:00",
            ],
        );
        assert!(
            err.contains("--detected:") && err.contains("RFC 3339"),
            "{err}"
        );
        let err = db.fails(
            1,
            &[
                "incident",
                "update",
                "INC-4711",
                "--mitigated",
                "2024-03-30T20:00:00Z",
            ],
        );
        assert!(
            err.contains("--mitigated:") && err.contains("before impact_started"),
            "{err}"
        );
        assert_eq!(db.snapshot(), before, "[{}] database unchanged", db.name);
    }
}

#[test]
fn a_duplicate_incident_id_is_refused_and_nothing_is_written() {
    for db in databases() {
        db.ok(&["demo"]);
        let before = db.snapshot();
        let err = db.fails(
            1,
            &[
                "incident",
                "new",
                "--id",
                "INC-4711",
                "--title",
                "Other",
                "--severity",
                "SEV3",
            ],
        );
        assert!(err.contains("incident `INC-4711` already exists"), "{err}");
        assert_eq!(db.snapshot(), before, "[{}] database unchanged", db.name);
    }
}

#[test]
fn an_unknown_incident_is_named_in_the_error() {
    for db in databases() {
        db.ok(&["demo"]);
        let before = db.snapshot();
        for args in [
            vec!["incident", "show", "INC-2020-0404"],
            vec!["incident", "status", "INC-2020-0404", "resolved"],
            vec![
                "timeline",
                "add",
                "INC-2020-0404",
                "--at",
                "2024-01-01T00:00:00Z",
                "--text",
                "x",
            ],
            vec![
                "action",
                "add",
                "INC-2020-0404",
                "--title",
                "x",
                "--owner",
                "team",
            ],
            vec!["review", "history", "INC-2020-0404"],
        ] {
            let err = db.fails(1, &args);
            assert!(
                err.contains("incident `INC-2020-0404` not found"),
                "{args:?}: {err}"
            );
        }
        let err = db.fails(1, &["incident", "show", "not an id"]);
        assert!(
            err.contains("--id: `not an id` is not an incident id"),
            "{err}"
        );
        assert_eq!(db.snapshot(), before, "[{}] database unchanged", db.name);
    }
}

#[test]
fn a_status_change_outside_the_lifecycle_is_refused() {
    for db in databases() {
        db.ok(&["demo"]);
        let before = db.snapshot();
        let err = db.fails(1, &["incident", "status", "INC-4711", "mitigated"]);
        assert!(
            err.contains("cannot change status from resolved to mitigated"),
            "{err}"
        );
        let err = db.fails(1, &["incident", "status", "INC-4711", "closed"]);
        assert!(
            err.contains(
                "--status: `closed` is not valid (expected one of: active, mitigated, resolved)"
            ),
            "{err}"
        );
        let err = db.fails(1, &["review", "status", "INC-4711", "not-required"]);
        assert!(err.contains("needs a reason"), "{err}");
        assert_eq!(db.snapshot(), before, "[{}] database unchanged", db.name);
    }
}

#[test]
fn usage_errors_exit_with_2() {
    for db in databases().into_iter().take(1) {
        db.fails(2, &["incident", "new", "--title", "x"]);
        db.fails(2, &["incident", "frobnicate"]);
        db.ok(&["demo"]);
        let err = db.fails(2, &["review", "edit", "INC-4711"]);
        assert!(err.contains("set $EDITOR"), "{err}");
    }
}

#[test]
fn every_command_has_help_with_examples() {
    let db = databases().remove(0);
    for command in [
        vec!["init"],
        vec!["incident", "new"],
        vec!["incident", "list"],
        vec!["incident", "show"],
        vec!["incident", "update"],
        vec!["incident", "status"],
        vec!["timeline", "add"],
        vec!["timeline", "list"],
        vec!["factor", "add"],
        vec!["factor", "list"],
        vec!["action", "add"],
        vec!["action", "list"],
        vec!["action", "update"],
        vec!["review", "edit"],
        vec!["review", "history"],
        vec!["review", "diff"],
        vec!["export"],
        vec!["import"],
        vec!["demo"],
    ] {
        let mut args = command.clone();
        args.push("--help");
        let out = db.ok(&args);
        assert!(
            out.contains("Example"),
            "{command:?} --help has no examples:\n{out}"
        );
    }
}

#[test]
fn the_configuration_file_sets_severities_and_is_checked_with_its_path() {
    let db = databases().remove(0);
    let config = common::write(
        &db,
        "team.toml",
        "[incidents]\nid_prefix = \"OPS\"\nseverities = [{ name = \"P1\", description = \"Critical\" }, { name = \"P2\", description = \"Major\" }]\n\n[[hooks.rules]]\nlabel = \"service\"\nseverity = \"P2\"\n",
    );
    let config = config.to_str().expect("utf-8");
    let out = db.ok(&[
        "--config",
        config,
        "incident",
        "new",
        "--title",
        "x",
        "--severity",
        "p1",
        "--json",
    ]);
    assert!(
        out.contains("\"id\": \"OPS-") && out.contains("\"severity\": \"P1\""),
        "{out}"
    );
    let bad = common::write(
        &db,
        "bad.toml",
        "[[hooks.rules]]\nlabel = \"service\"\nseverity = \"SEV9\"\n",
    );
    let err = db.fails(
        1,
        &["--config", bad.to_str().expect("utf-8"), "incident", "list"],
    );
    assert!(
        err.contains("bad.toml: hooks.rules[0].severity: `SEV9` is not a configured severity"),
        "{err}"
    );
}
