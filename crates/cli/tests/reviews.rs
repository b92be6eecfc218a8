//! Timeline, factors, action items and the review document through the CLI.

mod common;

use common::{databases, write};

#[test]
fn timeline_events_are_added_listed_in_time_order_and_marked() {
    for db in databases() {
        db.ok(&[
            "incident",
            "new",
            "--id",
            "INC-2026-0100",
            "--title",
            "Queue backlog",
            "--severity",
            "SEV3",
        ]);
        db.ok(&[
            "timeline",
            "add",
            "INC-2026-0100",
            "--at",
            "2026-11-20T10:05:00+01:00",
            "--text",
            "Second",
            "--kind",
            "action",
        ]);
        db.ok(&[
            "timeline",
            "add",
            "INC-2026-0100",
            "--at",
            "2026-11-20T08:59:00Z",
            "--text",
            "First",
            "--kind",
            "alert",
            "--evidence",
            "https://grafana.example/d/1",
        ]);
        let events: serde_json::Value =
            serde_json::from_str(&db.ok(&["timeline", "list", "INC-2026-0100", "--json"]))
                .expect("json");
        assert_eq!(events[0]["text"], "First");
        assert_eq!(events[1]["at"], "2026-11-20T10:05:00+01:00", "offset kept");
        let reference = events[1]["source_ref"].as_str().expect("ref").to_owned();
        db.ok(&[
            "timeline",
            "mark",
            "INC-2026-0100",
            &reference,
            "--key",
            "--hide",
        ]);
        assert!(
            !db.ok(&["timeline", "list", "INC-2026-0100"])
                .contains("Second"),
            "hidden by default"
        );
        assert!(
            db.ok(&["timeline", "list", "INC-2026-0100", "--all", "--key-only"])
                .contains("Second")
        );
        let err = db.fails(
            1,
            &[
                "timeline",
                "add",
                "INC-2026-0100",
                "--at",
                "now",
                "--text",
                "x",
                "--kind",
                "paging",
            ],
        );
        assert!(
            err.contains("--kind: `paging` is not an event kind"),
            "{err}"
        );
        let err = db.fails(
            1,
            &[
                "timeline",
                "add",
                "INC-2026-0100",
                "--at",
                "now",
                "--text",
                "x",
                "--evidence",
                "file:///etc/passwd",
            ],
        );
        assert!(
            err.contains("--evidence-url: `file:///etc/passwd` is not an http(s) URL"),
            "{err}"
        );
    }
}

#[test]
fn factors_link_to_events_and_unknown_categories_are_refused() {
    for db in databases() {
        db.ok(&["demo"]);
        db.ok(&[
            "factor",
            "add",
            "INC-4711",
            "--category",
            "Knowledge and documentation",
            "--description",
            "No runbook for fencing",
            "--event",
            "git:a3f9c1e",
        ]);
        let factors: serde_json::Value =
            serde_json::from_str(&db.ok(&["factor", "list", "INC-4711", "--json"])).expect("json");
        assert_eq!(factors.as_array().expect("list").len(), 6);
        assert_eq!(factors[5]["category"], "knowledge-and-documentation");
        let before = db.snapshot();
        let err = db.fails(
            1,
            &[
                "factor",
                "add",
                "INC-4711",
                "--category",
                "human error",
                "--description",
                "x",
            ],
        );
        assert!(
            err.contains("--category: `human error` is not a configured factor category"),
            "{err}"
        );
        let err = db.fails(
            1,
            &[
                "factor",
                "add",
                "INC-4711",
                "--category",
                "process",
                "--description",
                "x",
                "--event",
                "nope",
            ],
        );
        assert!(
            err.contains("`nope` is not the ref of an event of INC-4711"),
            "{err}"
        );
        assert_eq!(db.snapshot(), before);
    }
}

#[test]
fn action_items_are_tracked_to_done_with_overdue_derived() {
    for db in databases() {
        db.ok(&[
            "incident",
            "new",
            "--id",
            "INC-2026-0100",
            "--title",
            "Queue backlog",
            "--severity",
            "SEV3",
        ]);
        db.ok(&[
            "action",
            "add",
            "INC-2026-0100",
            "--title",
            "Alert on queue age",
            "--owner",
            "team-queue",
            "--kind",
            "detect",
            "--due",
            "2020-01-31",
        ]);
        db.ok(&[
            "action",
            "add",
            "INC-2026-0100",
            "--title",
            "Document the drain procedure",
            "--owner",
            "team-queue",
            "--kind",
            "learn",
        ]);
        let list = db.ok(&["action", "list", "INC-2026-0100"]);
        assert!(list.contains("2020-01-31 OVERDUE"), "{list}");
        db.ok(&["action", "update", "INC-2026-0100", "1", "--status", "done"]);
        let actions: serde_json::Value =
            serde_json::from_str(&db.ok(&["action", "list", "INC-2026-0100", "--json"]))
                .expect("json");
        assert_eq!(actions[0]["action"]["status"]["state"], "done");
        assert_eq!(actions[0]["overdue"], false, "done items are never overdue");
        assert_eq!(actions[0]["action"]["version"], 2);
        let err = db.fails(
            1,
            &[
                "action",
                "update",
                "INC-2026-0100",
                "2",
                "--status",
                "wont-do",
            ],
        );
        assert!(err.contains("needs a reason"), "{err}");
        let err = db.fails(
            1,
            &["action", "update", "INC-2026-0100", "9", "--status", "done"],
        );
        assert!(err.contains("INC-2026-0100#9 not found"), "{err}");
        let err = db.fails(
            1,
            &[
                "action",
                "add",
                "INC-2026-0100",
                "--title",
                "x",
                "--owner",
                "t",
                "--due",
                "next week",
            ],
        );
        assert!(err.contains("--due: `next week` is not a date"), "{err}");
    }
}

#[test]
fn review_edits_are_revisions_with_history_and_diffs() {
    for db in databases() {
        db.ok(&["demo"]);
        let editor = write(
            &db,
            "append.sh",
            "#!/bin/sh\nprintf '\\nA paragraph added in the editor.\\n' >> \"$1\"\n",
        );
        let editor = editor.to_str().expect("utf-8").to_owned();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_secondstory"))
            .args(["review", "edit", "INC-4711"])
            .current_dir(db.dir.path())
            .env("SECONDSTORY_DATABASE_URL", &db.url)
            .env("SECONDSTORY_AUTHOR", "alice")
            .env("EDITOR", format!("sh {editor}"))
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("saved revision 2 of INC-4711"));
        let history: serde_json::Value =
            serde_json::from_str(&db.ok(&["review", "history", "INC-4711", "--json"]))
                .expect("json");
        assert_eq!(history[0]["author"], "demo");
        assert_eq!(history[1]["author"], "alice");
        let diff = db.ok(&["review", "diff", "INC-4711"]);
        assert!(diff.contains("+A paragraph added in the editor."), "{diff}");
        assert!(
            db.ok(&["review", "show", "INC-4711"])
                .ends_with("A paragraph added in the editor.\n")
        );
        let html = db.ok(&["review", "show", "INC-4711", "--html"]);
        assert!(html.contains("<h2>Summary</h2>"), "{html}");
    }
}

#[test]
fn a_new_review_starts_from_the_template_and_an_unchanged_edit_saves_nothing() {
    for db in databases() {
        db.ok(&[
            "incident",
            "new",
            "--id",
            "INC-2026-0100",
            "--title",
            "Queue backlog",
            "--severity",
            "SEV3",
        ]);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_secondstory"))
            .args(["review", "edit", "INC-2026-0100"])
            .current_dir(db.dir.path())
            .env("SECONDSTORY_DATABASE_URL", &db.url)
            .env("EDITOR", "true")
            .output()
            .expect("run");
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("no changes"));
        let draft = write(
            &db,
            "draft.md",
            "# Queue backlog\n\n## Summary\n\nThe queue grew for 40 minutes.\n",
        );
        db.ok(&[
            "review",
            "edit",
            "INC-2026-0100",
            "--from",
            draft.to_str().expect("utf-8"),
        ]);
        assert_eq!(
            db.ok(&["review", "show", "INC-2026-0100"]),
            "# Queue backlog\n\n## Summary\n\nThe queue grew for 40 minutes.\n"
        );
    }
}
