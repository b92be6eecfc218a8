//! The behaviour every store backend must show, written once and run against each backend.
//!
//! A backend crate calls [`conformance_tests!`](crate::conformance_tests) with an expression
//! that makes a fresh, empty store; each case below becomes a `#[tokio::test]` there. Cases panic
//! with a message saying which promise was broken.

use std::sync::Arc;

use jiff::Timestamp;
use secondstory_domain::action::parse_due;
use secondstory_domain::{
    ActionItem, ActionKind, ActionStatus, ContributingFactor, EventKind, EventSource, Incident,
    IncidentId, IncidentKind, IncidentRecord, IncidentStatus, IncidentTimes, NewIncident,
    Participant, Priority, RecordedTime, SeverityScale, TimelineEvent, Visibility,
};

use crate::{
    ActionFilter, AppStore, Audience, EventChange, EventFeed, IncidentFilter, NewUser, Role,
    SEARCH_MATCH_END, SEARCH_MATCH_START, StoreError, TokenScope,
};

/// Generates one `#[tokio::test]` per conformance case for a backend.
///
/// `$make` is an expression evaluating to a future of `Option<Arc<dyn AppStore>>`: a fresh, empty
/// store, or `None` when the backend's server is absent and the run is not CI (the case is then
/// skipped with the message the maker printed).
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@cases $make;
            an_incident_reads_back_exactly_as_created,
            a_duplicate_incident_id_is_refused_and_nothing_changes,
            an_unknown_incident_is_not_found,
            a_stale_incident_update_is_a_conflict_and_changes_nothing,
            two_incident_writers_with_one_version_exactly_one_wins_100_times,
            two_review_writers_with_one_version_exactly_one_wins_100_times,
            two_action_writers_with_one_version_exactly_one_wins_100_times,
            every_review_save_is_a_revision_with_author_and_time,
            a_stale_review_save_is_refused_and_the_saved_text_kept,
            re_importing_events_adds_nothing_and_order_is_by_time_then_source,
            a_fed_import_is_one_transaction_and_a_failing_feed_writes_nothing,
            the_same_source_ref_may_appear_in_two_incidents,
            event_flags_and_kinds_can_be_changed,
            action_items_are_numbered_per_incident_and_updates_are_versioned,
            factors_and_participants_round_trip,
            incident_lists_filter_and_page,
            incident_ids_are_allocated_in_sequence_per_prefix_and_year,
            an_imported_record_reads_back_identically,
            an_import_with_a_bad_record_writes_nothing,
            re_importing_a_record_updates_it_and_keeps_history,
            users_are_unique_and_sessions_end_when_they_expire_or_the_user_is_disabled,
            api_tokens_are_found_by_hash_until_revoked,
            webhook_tokens_are_per_source,
            the_audit_log_reads_newest_first_and_pages_back,
            attempts_are_counted_per_key_and_window,
            oidc_flows_are_taken_once_and_expire,
            restricted_incidents_are_invisible_to_other_groups_everywhere,
            search_finds_words_in_titles_reviews_and_factors_and_marks_them,
            archived_incidents_and_actions_leave_lists_and_can_be_restored,
            the_action_board_spans_incidents_and_filters_overdue
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store: Option<::std::sync::Arc<dyn $crate::AppStore>> = $make.await;
                let Some(store) = store else { return };
                $crate::conformance::$case(store).await;
            }
        )+
    };
}

pub type SharedStore = Arc<dyn AppStore>;

fn now() -> Timestamp {
    "2026-11-25T12:00:00Z".parse().expect("fixed time")
}

fn time(text: &str) -> RecordedTime {
    RecordedTime::parse("time", text).expect("test time")
}

/// A realistic incident with every field set.
pub fn sample_incident(id: &str) -> Incident {
    let severities = SeverityScale::default();
    Incident::new(
        NewIncident {
            id: IncidentId::parse(id).expect("test id"),
            title: "Orders API write errors after Patroni failover — ünïcode ✔".into(),
            kind: IncidentKind::Incident,
            severity: severities.severity("SEV2").expect("SEV2"),
            status: IncidentStatus::Resolved,
            services: vec!["orders-api".into(), "pg-orders".into()],
            tags: vec!["database".into(), "failover".into()],
            visibility: Visibility::Restricted(vec!["dba".into(), "sre".into()]),
            times: IncidentTimes {
                impact_started: Some(time("2024-03-31T00:41:58+01:00")),
                detected: Some(time("2024-03-30T23:43:19Z")),
                responded: Some(time("2024-03-30T19:50:37-04:00")),
                mitigated: Some(time("2024-03-31T00:15:19Z")),
                resolved: Some(time("2024-03-31T03:25:03+02:00[Europe/Berlin]")),
            },
            summary: "412 orders were written to the demoted primary.".into(),
        },
        now(),
    )
    .expect("sample incident is valid")
}

pub fn sample_event(source_ref: &str, at: &str, source: &str) -> TimelineEvent {
    TimelineEvent {
        at: time(at),
        source: EventSource::parse(source).expect("source"),
        source_ref: source_ref.into(),
        actor: Some("jbecker".into()),
        kind: EventKind::Communication,
        text: format!("event {source_ref}: pgbouncer restarted on 6/6 pods 📉"),
        key_moment: false,
        hidden: false,
        evidence_url: Some("https://chat.example/archives/C1/p1".into()),
    }
}

pub fn sample_action(title: &str) -> ActionItem {
    ActionItem {
        number: 0,
        title: title.into(),
        description: "Set `dns_max_ttl` so pgbouncer follows the primary.".into(),
        kind: ActionKind::Prevent,
        owner: "team-db".into(),
        priority: Priority::High,
        due: Some(parse_due("2024-04-12").expect("date")),
        status: ActionStatus::Open,
        external_url: Some("https://quaystone.atlassian.net/browse/OPS-482".into()),
        version: 0,
    }
}

fn sample_record(id: &str) -> IncidentRecord {
    let mut actions = vec![
        sample_action("Set dns_max_ttl"),
        sample_action("Alert on stale leader"),
    ];
    for (i, a) in actions.iter_mut().enumerate() {
        a.number = i as i64 + 1;
    }
    actions[1].status = ActionStatus::WontDo {
        reason: "covered by OPS-490".into(),
    };
    actions[1].due = None;
    actions[1].external_url = None;
    IncidentRecord {
        incident: sample_incident(id),
        participants: vec![Participant {
            name: "Jonas Becker".into(),
            role: "on-call SRE".into(),
            alias: Some("Engineer A".into()),
            perspective: "Saw the 5xx page first; the dashboard showed a healthy cluster.".into(),
        }],
        // In merge order, as the store returns them.
        events: vec![
            sample_event("irc:dbops:1", "2024-03-31T00:42:06+01:00", "irc"),
            sample_event(
                "slack:C1:1711842230.974112",
                "2024-03-30T23:43:50.974112Z",
                "slack",
            ),
        ],
        factors: vec![ContributingFactor {
            category: "configuration".into(),
            description: "pgbouncer resolved the primary's name once at start-up.".into(),
            events: vec!["irc:dbops:1".into()],
        }],
        actions,
        review: "# Review\n\nThe rollback took two minutes.\n".into(),
    }
}

async fn created(store: &SharedStore, id: &str) -> Incident {
    store
        .create_incident(&sample_incident(id))
        .await
        .expect("create incident")
}

pub async fn an_incident_reads_back_exactly_as_created(store: SharedStore) {
    let stored = created(&store, "INC-2024-0001").await;
    assert_eq!(stored.version, 1, "a new incident starts at version 1");
    let read = store.incident(&stored.id).await.expect("read");
    let mut expected = sample_incident("INC-2024-0001");
    expected.version = 1;
    assert_eq!(
        read, expected,
        "every field, offset and zone survives storage"
    );
    let review = store.review(&stored.id).await.expect("review");
    assert_eq!((review.body.as_str(), review.version), ("", 0));
}

pub async fn a_duplicate_incident_id_is_refused_and_nothing_changes(store: SharedStore) {
    let first = created(&store, "INC-2024-0001").await;
    let mut other = sample_incident("INC-2024-0001");
    other.title = "A different incident".into();
    let err = store
        .create_incident(&other)
        .await
        .expect_err("duplicate must fail");
    assert!(matches!(err, StoreError::Duplicate { .. }), "got {err:?}");
    assert!(err.to_string().contains("INC-2024-0001"), "{err}");
    assert_eq!(
        store.incident(&first.id).await.expect("read").title,
        first.title
    );
    assert_eq!(
        store
            .list_incidents(&IncidentFilter::default())
            .await
            .expect("list")
            .len(),
        1
    );
}

pub async fn an_unknown_incident_is_not_found(store: SharedStore) {
    let id = IncidentId::parse("INC-9999-0001").expect("id");
    let err = store.incident(&id).await.expect_err("missing");
    assert!(matches!(err, StoreError::NotFound { .. }), "got {err:?}");
    let err = store
        .add_events(&id, &[sample_event("x", "2024-03-30T23:00:00Z", "irc")])
        .await;
    assert!(
        matches!(err, Err(StoreError::NotFound { .. })),
        "got {err:?}"
    );
    let err = store.save_review(&id, 0, "text", "me", now()).await;
    assert!(
        matches!(err, Err(StoreError::NotFound { .. })),
        "got {err:?}"
    );
}

pub async fn a_stale_incident_update_is_a_conflict_and_changes_nothing(store: SharedStore) {
    let v1 = created(&store, "INC-2024-0001").await;
    let mut first = v1.clone();
    first.title = "First edit".into();
    let v2 = store.update_incident(&first).await.expect("first update");
    assert_eq!(v2.version, 2);
    let mut stale = v1.clone();
    stale.title = "Stale edit".into();
    let err = store.update_incident(&stale).await.expect_err("stale");
    match err {
        StoreError::Conflict {
            expected, actual, ..
        } => assert_eq!((expected, actual), (1, 2)),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(
        store.incident(&v1.id).await.expect("read").title,
        "First edit"
    );
}

pub async fn two_incident_writers_with_one_version_exactly_one_wins_100_times(store: SharedStore) {
    let base = created(&store, "INC-2024-0001").await;
    let mut current = base;
    for round in 0..100 {
        let (mut a, mut b) = (current.clone(), current.clone());
        a.title = format!("A{round}");
        b.title = format!("B{round}");
        let (sa, sb) = (store.clone(), store.clone());
        let ta = tokio::spawn(async move { sa.update_incident(&a).await });
        let tb = tokio::spawn(async move { sb.update_incident(&b).await });
        let (ra, rb) = (ta.await.expect("join"), tb.await.expect("join"));
        let winner = exactly_one_winner(round, ra, rb);
        let read = store.incident(&current.id).await.expect("read");
        assert_eq!(
            read.title, winner.title,
            "round {round}: the winner's write is what is stored"
        );
        assert_eq!(
            read.version,
            current.version + 1,
            "round {round}: one write, one version"
        );
        current = read;
    }
}

pub async fn two_review_writers_with_one_version_exactly_one_wins_100_times(store: SharedStore) {
    let incident = created(&store, "INC-2024-0001").await;
    let mut version = 0;
    for round in 0..100 {
        let (sa, sb) = (store.clone(), store.clone());
        let (ia, ib) = (incident.id.clone(), incident.id.clone());
        let ta = tokio::spawn(async move {
            sa.save_review(&ia, version, &format!("A{round}"), "alice", now())
                .await
        });
        let tb = tokio::spawn(async move {
            sb.save_review(&ib, version, &format!("B{round}"), "bob", now())
                .await
        });
        let winner = exactly_one_winner(round, ta.await.expect("join"), tb.await.expect("join"));
        let read = store.review(&incident.id).await.expect("read");
        assert_eq!(read.body, winner.body, "round {round}");
        assert_eq!(read.version, version + 1, "round {round}");
        version = read.version;
    }
    let revisions = store.revisions(&incident.id).await.expect("revisions");
    assert_eq!(
        revisions.len(),
        100,
        "every winning save is a revision, no loser is"
    );
}

pub async fn two_action_writers_with_one_version_exactly_one_wins_100_times(store: SharedStore) {
    let incident = created(&store, "INC-2024-0001").await;
    let mut current = store
        .add_action(&incident.id, &sample_action("Set dns_max_ttl"))
        .await
        .expect("add");
    for round in 0..100 {
        let (mut a, mut b) = (current.clone(), current.clone());
        a.owner = format!("team-a-{round}");
        b.owner = format!("team-b-{round}");
        let (sa, sb) = (store.clone(), store.clone());
        let (ia, ib) = (incident.id.clone(), incident.id.clone());
        let ta = tokio::spawn(async move { sa.update_action(&ia, &a).await });
        let tb = tokio::spawn(async move { sb.update_action(&ib, &b).await });
        let winner = exactly_one_winner(round, ta.await.expect("join"), tb.await.expect("join"));
        let read = store
            .actions(&incident.id)
            .await
            .expect("actions")
            .remove(0);
        assert_eq!(read.owner, winner.owner, "round {round}");
        assert_eq!(read.version, current.version + 1, "round {round}");
        current = read;
    }
}

fn exactly_one_winner<T: std::fmt::Debug>(
    round: usize,
    a: Result<T, StoreError>,
    b: Result<T, StoreError>,
) -> T {
    match (a, b) {
        (Ok(w), Err(StoreError::Conflict { .. })) | (Err(StoreError::Conflict { .. }), Ok(w)) => w,
        (a, b) => panic!(
            "round {round}: expected exactly one winner and one conflict, got {a:?} and {b:?}"
        ),
    }
}

pub async fn every_review_save_is_a_revision_with_author_and_time(store: SharedStore) {
    let incident = created(&store, "INC-2024-0001").await;
    let t1: Timestamp = "2024-04-01T09:00:00Z".parse().expect("t");
    let t2: Timestamp = "2024-04-02T10:30:00Z".parse().expect("t");
    let r1 = store
        .save_review(&incident.id, 0, "# Draft\n", "alice", t1)
        .await
        .expect("save 1");
    let r2 = store
        .save_review(&incident.id, r1.version, "# Draft\n\nMore.\n", "bob", t2)
        .await
        .expect("save 2");
    assert_eq!((r1.version, r2.version, r2.revisions), (1, 2, 2));
    let history = store.revisions(&incident.id).await.expect("history");
    let authors: Vec<_> = history
        .iter()
        .map(|r| (r.number, r.author.as_str(), r.saved_at.instant()))
        .collect();
    assert_eq!(authors, [(1, "alice", t1), (2, "bob", t2)]);
    assert_eq!(
        store.revision(&incident.id, 1).await.expect("rev 1").body,
        "# Draft\n"
    );
    assert!(matches!(
        store.revision(&incident.id, 3).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn a_stale_review_save_is_refused_and_the_saved_text_kept(store: SharedStore) {
    let incident = created(&store, "INC-2024-0001").await;
    store
        .save_review(&incident.id, 0, "alice's text", "alice", now())
        .await
        .expect("first");
    let err = store
        .save_review(&incident.id, 0, "bob's text", "bob", now())
        .await
        .expect_err("stale");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: 0,
                actual: 1,
                ..
            }
        ),
        "got {err:?}"
    );
    assert_eq!(
        store.review(&incident.id).await.expect("read").body,
        "alice's text"
    );
    assert_eq!(
        store.revisions(&incident.id).await.expect("history").len(),
        1
    );
}

pub async fn re_importing_events_adds_nothing_and_order_is_by_time_then_source(store: SharedStore) {
    let incident = created(&store, "INC-2024-0001").await;
    let events = vec![
        sample_event("slack:2", "2024-03-30T23:44:30Z", "slack"),
        sample_event("irc:1", "2024-03-31T00:42:40+01:00", "irc"),
        sample_event("grafana:1", "2024-03-30T23:42:40Z", "grafana"),
        sample_event("slack:1", "2024-03-30T23:43:05.118Z", "slack"),
    ];
    let added = store.add_events(&incident.id, &events).await.expect("add");
    assert_eq!((added.inserted, added.already_present), (4, 0));
    let again = store
        .add_events(&incident.id, &events)
        .await
        .expect("re-add");
    assert_eq!((again.inserted, again.already_present), (0, 4));
    let stored = store.events(&incident.id).await.expect("events");
    let refs: Vec<_> = stored.iter().map(|e| e.source_ref.as_str()).collect();
    assert_eq!(refs, ["grafana:1", "irc:1", "slack:1", "slack:2"]);
    assert_eq!(
        stored[1].at.to_string(),
        "2024-03-31T00:42:40+01:00",
        "original offset kept"
    );
    assert_eq!(stored[2], events[3], "every field survives");
}

pub async fn the_same_source_ref_may_appear_in_two_incidents(store: SharedStore) {
    let a = created(&store, "INC-2024-0001").await;
    let b = created(&store, "INC-2024-0002").await;
    let event = sample_event("pagerduty:R1", "2024-03-30T23:43:51Z", "pagerduty");
    assert_eq!(
        store
            .add_events(&a.id, std::slice::from_ref(&event))
            .await
            .expect("a")
            .inserted,
        1
    );
    assert_eq!(
        store.add_events(&b.id, &[event]).await.expect("b").inserted,
        1
    );
}

pub async fn event_flags_and_kinds_can_be_changed(store: SharedStore) {
    let incident = created(&store, "INC-2024-0001").await;
    let event = sample_event("slack:1", "2024-03-30T23:43:05Z", "slack");
    store.add_events(&incident.id, &[event]).await.expect("add");
    let change = EventChange {
        key_moment: Some(true),
        hidden: Some(true),
        kind: Some(EventKind::Decision),
    };
    let changed = store
        .change_event(&incident.id, "slack:1", &change)
        .await
        .expect("change");
    assert!(changed.key_moment && changed.hidden);
    assert_eq!(changed.kind, EventKind::Decision);
    assert_eq!(
        store.events(&incident.id).await.expect("events")[0],
        changed
    );
    let missing = store.change_event(&incident.id, "nope", &change).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "got {missing:?}"
    );
}

pub async fn action_items_are_numbered_per_incident_and_updates_are_versioned(store: SharedStore) {
    let a = created(&store, "INC-2024-0001").await;
    let b = created(&store, "INC-2024-0002").await;
    let first = store
        .add_action(&a.id, &sample_action("one"))
        .await
        .expect("add");
    let second = store
        .add_action(&a.id, &sample_action("two"))
        .await
        .expect("add");
    let other = store
        .add_action(&b.id, &sample_action("three"))
        .await
        .expect("add");
    assert_eq!((first.number, second.number, other.number), (1, 2, 1));
    assert_eq!(first.version, 1);
    let mut done = first.clone();
    done.status = ActionStatus::Done;
    let done = store.update_action(&a.id, &done).await.expect("update");
    assert_eq!(done.version, 2);
    let mut stale = first.clone();
    stale.status = ActionStatus::WontDo {
        reason: "no".into(),
    };
    let err = store.update_action(&a.id, &stale).await.expect_err("stale");
    assert!(matches!(err, StoreError::Conflict { .. }), "got {err:?}");
    let stored = store.actions(&a.id).await.expect("actions");
    assert_eq!(stored, vec![done, second]);
}

pub async fn factors_and_participants_round_trip(store: SharedStore) {
    let record = sample_record("INC-2024-0001");
    let incident = store
        .create_incident(&record.incident)
        .await
        .expect("create");
    store
        .add_events(&incident.id, &record.events)
        .await
        .expect("events");
    for f in &record.factors {
        store.add_factor(&incident.id, f).await.expect("factor");
    }
    for p in &record.participants {
        store
            .add_participant(&incident.id, p)
            .await
            .expect("participant");
    }
    assert_eq!(
        store.factors(&incident.id).await.expect("factors"),
        record.factors
    );
    assert_eq!(
        store
            .participants(&incident.id)
            .await
            .expect("participants"),
        record.participants
    );
}

pub async fn incident_lists_filter_and_page(store: SharedStore) {
    for n in 1..=5 {
        let mut incident = sample_incident(&format!("INC-2024-{n:04}"));
        if n % 2 == 0 {
            incident.status = IncidentStatus::Active;
            incident.times.resolved = None;
            incident.services = vec!["checkout".into()];
            incident.title = format!("Checkout latency {n}");
        }
        store.create_incident(&incident).await.expect("create");
    }
    let all = store
        .list_incidents(&IncidentFilter::default())
        .await
        .expect("list");
    assert_eq!(all.len(), 5);
    let active = IncidentFilter {
        status: Some(IncidentStatus::Active),
        ..Default::default()
    };
    assert_eq!(store.list_incidents(&active).await.expect("list").len(), 2);
    let by_service = IncidentFilter {
        service: Some("checkout".into()),
        ..Default::default()
    };
    assert_eq!(
        store.list_incidents(&by_service).await.expect("list").len(),
        2
    );
    let by_text = IncidentFilter {
        text: Some("LATENCY".into()),
        ..Default::default()
    };
    assert_eq!(store.list_incidents(&by_text).await.expect("list").len(), 2);
    let by_tag = IncidentFilter {
        tag: Some("failover".into()),
        ..Default::default()
    };
    assert_eq!(store.list_incidents(&by_tag).await.expect("list").len(), 5);
    let page = IncidentFilter {
        limit: Some(2),
        offset: 2,
        ..Default::default()
    };
    let ids: Vec<_> = store
        .list_incidents(&page)
        .await
        .expect("list")
        .into_iter()
        .map(|i| i.id.to_string())
        .collect();
    assert_eq!(
        ids,
        ["INC-2024-0003", "INC-2024-0002"],
        "newest id first, then paged"
    );
}

pub async fn incident_ids_are_allocated_in_sequence_per_prefix_and_year(store: SharedStore) {
    let a = store.next_incident_id("INC", 2026).await.expect("id");
    let b = store.next_incident_id("INC", 2026).await.expect("id");
    let c = store.next_incident_id("INC", 2027).await.expect("id");
    let d = store.next_incident_id("NM", 2026).await.expect("id");
    assert_eq!(
        [a.as_str(), b.as_str(), c.as_str(), d.as_str()],
        [
            "INC-2026-0001",
            "INC-2026-0002",
            "INC-2027-0001",
            "NM-2026-0001"
        ]
    );
}

pub async fn an_imported_record_reads_back_identically(store: SharedStore) {
    let record = sample_record("INC-2024-0001");
    let summary = store
        .import_records(std::slice::from_ref(&record), "import", now())
        .await
        .expect("import");
    assert_eq!(
        (summary.created, summary.updated, summary.events_added),
        (1, 0, 2)
    );
    let mut read = store.record(&record.incident.id).await.expect("record");
    assert_eq!(read.incident.version, 1);
    read.incident.version = record.incident.version;
    for a in &mut read.actions {
        assert_eq!(a.version, 1);
        a.version = 0;
    }
    assert_eq!(read, record);
    let history = store.revisions(&record.incident.id).await.expect("history");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].author, "import");
}

pub async fn an_import_with_a_bad_record_writes_nothing(store: SharedStore) {
    let good = sample_record("INC-2024-0001");
    let mut twice = sample_record("INC-2024-0002");
    twice.incident.title = "one".into();
    let mut again = twice.clone();
    again.incident.title = "two".into();
    let err = store
        .import_records(&[good.clone(), twice, again], "import", now())
        .await
        .expect_err("must fail");
    assert!(matches!(err, StoreError::Duplicate { .. }), "got {err:?}");
    assert!(
        store
            .list_incidents(&IncidentFilter::default())
            .await
            .expect("list")
            .is_empty(),
        "nothing written"
    );
    assert!(matches!(
        store.incident(&good.incident.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn re_importing_a_record_updates_it_and_keeps_history(store: SharedStore) {
    let record = sample_record("INC-2024-0001");
    store
        .import_records(std::slice::from_ref(&record), "import", now())
        .await
        .expect("import");
    let mut edited = record.clone();
    edited.incident.title = "Edited in git".into();
    edited.review.push_str("\nA new paragraph.\n");
    edited
        .events
        .push(sample_event("git:abc", "2024-03-31T07:12:40Z", "git"));
    edited.actions[0].status = ActionStatus::InProgress;
    let summary = store
        .import_records(&[edited.clone()], "git", now())
        .await
        .expect("re-import");
    assert_eq!(
        (summary.created, summary.updated, summary.events_added),
        (0, 1, 1)
    );
    let read = store.record(&record.incident.id).await.expect("record");
    assert_eq!(read.incident.title, "Edited in git");
    assert_eq!(read.review, edited.review);
    assert_eq!(read.events.len(), 3);
    assert_eq!(read.actions[0].status, ActionStatus::InProgress);
    let history = store.revisions(&record.incident.id).await.expect("history");
    assert_eq!(history.len(), 2, "the earlier text is kept as a revision");
    // Unchanged re-import writes no new revision.
    store
        .import_records(&[edited], "git", now())
        .await
        .expect("again");
    assert_eq!(
        store
            .revisions(&record.incident.id)
            .await
            .expect("history")
            .len(),
        2
    );
}

/// Feeds prepared batches, then optionally fails.
struct Batches {
    batches: std::vec::IntoIter<Vec<TimelineEvent>>,
    fail_at_end: bool,
    inserted: Vec<usize>,
}

impl EventFeed for Batches {
    fn next_batch(&mut self) -> Result<Option<Vec<TimelineEvent>>, String> {
        match self.batches.next() {
            Some(batch) => Ok(Some(batch)),
            None if self.fail_at_end => Err("line 3: not a log line".into()),
            None => Ok(None),
        }
    }

    fn inserted(&mut self, count: usize) {
        self.inserted.push(count);
    }
}

pub async fn a_fed_import_is_one_transaction_and_a_failing_feed_writes_nothing(store: SharedStore) {
    let incident = created(&store, "INC-2024-0001").await;
    let batch = |refs: &[&str]| -> Vec<TimelineEvent> {
        refs.iter()
            .map(|r| sample_event(r, "2024-03-30T23:44:30Z", "slack"))
            .collect()
    };
    let mut failing = Batches {
        batches: vec![batch(&["a", "b"]), batch(&["c"])].into_iter(),
        fail_at_end: true,
        inserted: vec![],
    };
    let err = store
        .add_events_from(&incident.id, &mut failing)
        .await
        .expect_err("feed fails");
    assert!(
        matches!(&err, StoreError::FeedFailed(m) if m.contains("line 3")),
        "got {err:?}"
    );
    assert!(err.to_string().contains("nothing was imported"), "{err}");
    assert!(
        store.events(&incident.id).await.expect("events").is_empty(),
        "rolled back"
    );
    let mut feed = Batches {
        batches: vec![batch(&["a", "b"]), batch(&["b", "c"])].into_iter(),
        fail_at_end: false,
        inserted: vec![],
    };
    let added = store
        .add_events_from(&incident.id, &mut feed)
        .await
        .expect("feed");
    assert_eq!((added.inserted, added.already_present), (3, 1));
    assert_eq!(feed.inserted, [2, 1], "each batch reports its new events");
}

fn new_user(name: &str, role: Role, groups: &[&str]) -> NewUser {
    NewUser {
        username: name.into(),
        display_name: format!("{name} (display)"),
        role,
        groups: groups.iter().map(|g| g.to_string()).collect(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$fake${name}"),
    }
}

fn at(text: &str) -> Timestamp {
    text.parse().expect("time")
}

pub async fn users_are_unique_and_sessions_end_when_they_expire_or_the_user_is_disabled(
    store: SharedStore,
) {
    assert_eq!(store.count_users().await.expect("count"), 0);
    let alice = store
        .create_user(&new_user("alice", Role::Editor, &["sre"]), now())
        .await
        .expect("create");
    assert_eq!(
        (alice.username.as_str(), alice.role, alice.groups.clone()),
        ("alice", Role::Editor, vec!["sre".to_owned()])
    );
    let dup = store
        .create_user(&new_user("alice", Role::Viewer, &[]), now())
        .await;
    assert!(
        matches!(dup, Err(StoreError::Duplicate { .. })),
        "got {dup:?}"
    );
    let bad = store
        .create_user(&new_user("no spaces please", Role::Viewer, &[]), now())
        .await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "got {bad:?}");
    let (found, hash) = store.user_by_name("alice").await.expect("by name");
    assert_eq!(found, alice);
    assert!(hash.starts_with("$argon2id$"));
    store
        .create_session(
            "hash-1",
            alice.id,
            "csrf-1",
            now(),
            at("2026-11-26T12:00:00Z"),
        )
        .await
        .expect("session");
    let session = store
        .session("hash-1", now())
        .await
        .expect("read")
        .expect("live");
    assert_eq!(
        (session.user.id, session.csrf_token.as_str()),
        (alice.id, "csrf-1")
    );
    assert!(
        store
            .session("hash-1", at("2026-11-27T00:00:00Z"))
            .await
            .expect("read")
            .is_none(),
        "expired"
    );
    assert!(store.session("nope", now()).await.expect("read").is_none());
    let mut disabled = alice.clone();
    disabled.disabled = true;
    store.update_user(&disabled).await.expect("disable");
    assert!(
        store
            .session("hash-1", now())
            .await
            .expect("read")
            .is_none(),
        "a disabled user has no session"
    );
    store.delete_session("hash-1").await.expect("delete");
    store
        .set_password(alice.id, "$argon2id$new")
        .await
        .expect("password");
    assert_eq!(
        store.user_by_name("alice").await.expect("by name").1,
        "$argon2id$new"
    );
    assert_eq!(store.users().await.expect("users").len(), 1);
}

pub async fn api_tokens_are_found_by_hash_until_revoked(store: SharedStore) {
    let bob = store
        .create_user(&new_user("bob", Role::Viewer, &[]), now())
        .await
        .expect("create");
    let token = store
        .create_token(bob.id, "ci", TokenScope::Read, "t-hash", now())
        .await
        .expect("token");
    assert_eq!(
        (token.scope, token.revoked, token.last_used_at.clone()),
        (TokenScope::Read, false, None)
    );
    let (found, user) = store
        .token("t-hash", at("2026-11-25T13:00:00Z"))
        .await
        .expect("read")
        .expect("live");
    assert_eq!((found.id, user.id), (token.id, bob.id));
    assert_eq!(
        store.tokens(Some(bob.id)).await.expect("list")[0]
            .last_used_at
            .as_ref()
            .map(|t| t.instant()),
        Some(at("2026-11-25T13:00:00Z"))
    );
    let revoked = store.revoke_token(token.id, now()).await.expect("revoke");
    assert!(revoked.revoked);
    assert!(store.token("t-hash", now()).await.expect("read").is_none());
    assert!(matches!(
        store.revoke_token(999, now()).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn webhook_tokens_are_per_source(store: SharedStore) {
    let token = store
        .create_hook_token("alertmanager", "prod", "h-hash", now())
        .await
        .expect("create");
    assert!(
        store
            .hook_token("alertmanager", "h-hash")
            .await
            .expect("read")
            .is_some()
    );
    assert!(
        store
            .hook_token("grafana", "h-hash")
            .await
            .expect("read")
            .is_none(),
        "a token is for one source"
    );
    store
        .revoke_hook_token(token.id, now())
        .await
        .expect("revoke");
    assert!(
        store
            .hook_token("alertmanager", "h-hash")
            .await
            .expect("read")
            .is_none()
    );
    assert_eq!(store.hook_tokens().await.expect("list").len(), 1);
}

pub async fn the_audit_log_reads_newest_first_and_pages_back(store: SharedStore) {
    for n in 1..=5 {
        store
            .record_audit(now(), "alice", "incident.update", &format!("INC-{n}"), "{}")
            .await
            .expect("audit");
    }
    let page = store.audit(2, None).await.expect("audit");
    assert_eq!(
        page.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(),
        ["INC-5", "INC-4"]
    );
    let next = store.audit(10, Some(page[1].id)).await.expect("audit");
    assert_eq!(
        next.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(),
        ["INC-3", "INC-2", "INC-1"]
    );
}

pub async fn attempts_are_counted_per_key_and_window(store: SharedStore) {
    let window = at("2026-11-25T12:00:00Z");
    for expected in 1..=3 {
        assert_eq!(
            store
                .count_attempt("login:alice", window)
                .await
                .expect("count"),
            expected
        );
    }
    assert_eq!(
        store
            .count_attempt("login:bob", window)
            .await
            .expect("count"),
        1
    );
    assert_eq!(
        store
            .count_attempt("login:alice", at("2026-11-25T12:15:00Z"))
            .await
            .expect("count"),
        1,
        "a new window starts over"
    );
    store.clear_attempts("login:alice").await.expect("clear");
    assert_eq!(
        store
            .count_attempt("login:alice", window)
            .await
            .expect("count"),
        1
    );
}

pub async fn restricted_incidents_are_invisible_to_other_groups_everywhere(store: SharedStore) {
    let restricted = created(&store, "INC-2024-0001").await; // restricted to dba, sre
    let mut open = sample_incident("INC-2024-0002");
    open.visibility = secondstory_domain::Visibility::Everyone;
    store.create_incident(&open).await.expect("open");
    store
        .add_action(&restricted.id, &sample_action("secret fix"))
        .await
        .expect("action");
    store
        .save_review(
            &restricted.id,
            0,
            "pgbouncer secret review words",
            "alice",
            now(),
        )
        .await
        .expect("review");
    let outsider = Audience::Groups(vec!["payments".into()]);
    let member = Audience::Groups(vec!["sre".into()]);
    for (audience, expected) in [(&Audience::All, 2), (&member, 2), (&outsider, 1)] {
        let filter = IncidentFilter {
            audience: audience.clone(),
            ..Default::default()
        };
        assert_eq!(
            store.list_incidents(&filter).await.expect("list").len(),
            expected,
            "{audience:?} list"
        );
        assert_eq!(
            store.count_incidents(&filter).await.expect("count"),
            expected as i64,
            "{audience:?} count"
        );
    }
    assert!(
        store
            .search("pgbouncer", &outsider, 10)
            .await
            .expect("search")
            .is_empty(),
        "search never leaks"
    );
    assert_eq!(
        store
            .search("pgbouncer", &member, 10)
            .await
            .expect("search")
            .len(),
        1
    );
    let board = ActionFilter {
        audience: outsider.clone(),
        ..Default::default()
    };
    assert!(
        store.action_board(&board).await.expect("board").is_empty(),
        "the board never leaks"
    );
    assert!(
        !outsider.can_see(&restricted)
            && member.can_see(&restricted)
            && Audience::All.can_see(&restricted)
    );
    // Changing visibility takes effect at once.
    let mut opened = store.incident(&restricted.id).await.expect("read");
    opened.visibility = secondstory_domain::Visibility::Everyone;
    store.update_incident(&opened).await.expect("update");
    let filter = IncidentFilter {
        audience: outsider,
        ..Default::default()
    };
    assert_eq!(store.count_incidents(&filter).await.expect("count"), 2);
}

pub async fn search_finds_words_in_titles_reviews_and_factors_and_marks_them(store: SharedStore) {
    let a = created(&store, "INC-2024-0001").await;
    let mut b = sample_incident("INC-2024-0002");
    b.title = "Checkout latency from a slow disk".into();
    store.create_incident(&b).await.expect("b");
    store
        .save_review(
            &a.id,
            0,
            "The rewind of the old primary took forty minutes.",
            "alice",
            now(),
        )
        .await
        .expect("review");
    store
        .add_factor(
            &b.id,
            &ContributingFactor {
                category: "capacity".into(),
                description: "The volume hit its IOPS ceiling.".into(),
                events: vec![],
            },
        )
        .await
        .expect("factor");
    let hits = store
        .search("rewind primary", &Audience::All, 10)
        .await
        .expect("search");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].incident.id, a.id);
    assert!(
        hits[0].snippet.contains(SEARCH_MATCH_START) && hits[0].snippet.contains(SEARCH_MATCH_END),
        "{}",
        hits[0].snippet
    );
    let hits = store
        .search("iops", &Audience::All, 10)
        .await
        .expect("search");
    assert_eq!(
        hits.iter()
            .map(|h| h.incident.id.as_str())
            .collect::<Vec<_>>(),
        ["INC-2024-0002"]
    );
    let hits = store
        .search("checkout", &Audience::All, 10)
        .await
        .expect("search");
    assert_eq!(hits[0].incident.id, b.id, "title words match");
    assert!(
        store.search("\"NEAR( OR", &Audience::All, 10).await.is_ok(),
        "query syntax is never an error"
    );
    assert!(
        store
            .search("   ", &Audience::All, 10)
            .await
            .expect("search")
            .is_empty()
    );
}

pub async fn archived_incidents_and_actions_leave_lists_and_can_be_restored(store: SharedStore) {
    let a = created(&store, "INC-2024-0001").await;
    created(&store, "INC-2024-0002").await;
    store
        .add_action(&a.id, &sample_action("one"))
        .await
        .expect("action");
    store
        .set_incident_archived(&a.id, Some(now()))
        .await
        .expect("archive");
    let live = store
        .list_incidents(&IncidentFilter::default())
        .await
        .expect("list");
    assert_eq!(
        live.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        ["INC-2024-0002"]
    );
    let archived = IncidentFilter {
        archived: true,
        ..Default::default()
    };
    assert_eq!(
        store.list_incidents(&archived).await.expect("list").len(),
        1
    );
    assert_eq!(
        store.incident(&a.id).await.expect("still readable").id,
        a.id
    );
    store
        .set_incident_archived(&a.id, None)
        .await
        .expect("restore");
    assert_eq!(
        store
            .count_incidents(&IncidentFilter::default())
            .await
            .expect("count"),
        2
    );
    store
        .set_action_archived(&a.id, 1, Some(now()))
        .await
        .expect("archive action");
    assert!(store.actions(&a.id).await.expect("actions").is_empty());
    store
        .set_action_archived(&a.id, 1, None)
        .await
        .expect("restore action");
    assert_eq!(store.actions(&a.id).await.expect("actions").len(), 1);
    assert!(matches!(
        store.set_action_archived(&a.id, 9, None).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn the_action_board_spans_incidents_and_filters_overdue(store: SharedStore) {
    let a = created(&store, "INC-2024-0001").await;
    let b = created(&store, "INC-2024-0002").await;
    store
        .add_action(&a.id, &sample_action("due in April"))
        .await
        .expect("a");
    let mut later = sample_action("no due date");
    later.due = None;
    later.owner = "team-app".into();
    store.add_action(&b.id, &later).await.expect("b");
    let all = store
        .action_board(&ActionFilter::default())
        .await
        .expect("board");
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].1.title, "due in April", "dated items first");
    let overdue = ActionFilter {
        overdue_on: Some("2024-05-01".parse().expect("date")),
        ..Default::default()
    };
    assert_eq!(store.action_board(&overdue).await.expect("board").len(), 1);
    let by_owner = ActionFilter {
        owner: Some("team-app".into()),
        ..Default::default()
    };
    assert_eq!(
        store.action_board(&by_owner).await.expect("board")[0].0,
        b.id
    );
}

pub async fn oidc_flows_are_taken_once_and_expire(store: SharedStore) {
    let expires = at("2026-11-25T12:10:00Z");
    store
        .create_oidc_flow("state-1", "verifier-1", "nonce-1", "/incidents", expires)
        .await
        .expect("create");
    store
        .create_oidc_flow("state-2", "verifier-2", "nonce-2", "/", expires)
        .await
        .expect("create");
    assert!(
        store
            .take_oidc_flow("unknown", now())
            .await
            .expect("take")
            .is_none(),
        "an unknown state has no flow"
    );
    assert_eq!(
        store.take_oidc_flow("state-1", now()).await.expect("take"),
        Some((
            "verifier-1".to_owned(),
            "nonce-1".to_owned(),
            "/incidents".to_owned()
        ))
    );
    assert!(
        store
            .take_oidc_flow("state-1", now())
            .await
            .expect("take")
            .is_none(),
        "a flow is taken once"
    );
    assert!(
        store
            .take_oidc_flow("state-2", expires)
            .await
            .expect("take")
            .is_none(),
        "an expired flow is gone"
    );
    assert!(
        store
            .take_oidc_flow("state-2", now())
            .await
            .expect("take")
            .is_none(),
        "an expired flow that was asked for is deleted"
    );
}
