//! Live alert ingestion: Alertmanager, Grafana and PagerDuty push to `/api/v1/hooks/*` with a
//! webhook token (or PagerDuty's signature); alerts join the live incident for their service or
//! open one; re-deliveries add nothing; nothing is written for a body that cannot be read.

mod common;

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{OPEN, RESTRICTED, Reply, TestServer, Who};
use secondstory_domain::IncidentId;
use secondstory_server::{HookRule, ServerConfig, crypto};
use secondstory_store_sql::testing;
use serde_json::json;

const SIGNING_SECRET: &str = "pd-webhook-signing-secret";

/// The shared sample payloads, or `None` (with a message) when they are not there; in CI their
/// absence is a failure.
fn samples() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/samples"
    ));
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("CI=true but the samples are missing at {}", dir.display());
    }
    eprintln!(
        "skipping: no samples at {} (CI=true makes this fail)",
        dir.display()
    );
    None
}

fn sample_files(dir: &Path, sub: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))
        .expect("samples directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('0'))
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            (name, std::fs::read(&p).expect("sample"))
        })
        .collect()
}

fn config(rules: Vec<HookRule>) -> ServerConfig {
    ServerConfig {
        insecure_cookies: true,
        hook_rules: rules,
        pagerduty_signing_secret: Some(SIGNING_SECRET.into()),
        ..ServerConfig::default()
    }
}

fn rule(label: &str, severity: &str) -> HookRule {
    HookRule {
        label: label.into(),
        value: None,
        severity: severity.into(),
    }
}

/// A server per available backend (SQLite always, PostgreSQL when reachable) with `config`.
async fn servers(config: ServerConfig) -> Vec<TestServer> {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("server.db").display());
    let mut servers = vec![TestServer::on(&url, "sqlite", dir, config.clone()).await];
    if let Some(base) = testing::postgres_base_url().await {
        let url = testing::scratch_postgres_url(&base).await;
        let dir = tempfile::tempdir().expect("temp dir");
        servers.push(TestServer::on(&url, "postgres", dir, config).await);
    }
    servers
}

/// A webhook token for `source`, as `secondstory hook-token create` makes one.
async fn hook_token(server: &TestServer, source: &str, name: &str) -> String {
    let secret = crypto::random_token("sshook_");
    server
        .store
        .create_hook_token(source, name, &crypto::token_hash(&secret), common::now())
        .await
        .expect("hook token");
    secret
}

async fn deliver(
    server: &TestServer,
    source: &str,
    body: &[u8],
    headers: &[(&str, String)],
) -> Reply {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/hooks/{source}"))
        .header(header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    server
        .raw(request.body(Body::from(body.to_vec())).expect("request"))
        .await
}

fn bearer(token: &str) -> Vec<(&'static str, String)> {
    vec![("authorization", format!("Bearer {token}"))]
}

async fn event_count(server: &TestServer, id: &str) -> usize {
    server
        .store
        .events(&IncidentId::parse(id).expect("id"))
        .await
        .expect("events")
        .len()
}

async fn incident_count(server: &TestServer) -> i64 {
    server
        .store
        .count_incidents(&secondstory_store::IncidentFilter::default())
        .await
        .expect("count")
}

/// Archives the two fixture incidents so the test decides which live incidents exist.
async fn archive_fixtures(server: &TestServer) {
    for id in [OPEN, RESTRICTED] {
        server
            .store
            .set_incident_archived(&IncidentId::parse(id).expect("id"), Some(common::now()))
            .await
            .expect("archive");
    }
}

#[tokio::test]
async fn alertmanager_deliveries_join_the_live_incident_for_their_service_and_redelivery_adds_nothing()
 {
    let Some(samples) = samples() else { return };
    let files = sample_files(&samples, "alertmanager");
    assert_eq!(files.len(), 5);
    for server in servers(config(vec![
        rule("service", "SEV2"),
        rule("cluster", "SEV1"),
    ]))
    .await
    {
        let b = server.backend;
        archive_fixtures(&server).await;
        let token = hook_token(&server, "alertmanager", "prod-alertmanager").await;
        let created = server
            .send(
                Method::POST,
                "/api/v1/incidents",
                Who::Editor,
                Some(json!({"title": "Orders writes fail", "severity": "SEV2",
                    "services": ["orders-api", "pg-orders"]})),
                &[],
            )
            .await;
        assert_eq!(
            created.status,
            StatusCode::CREATED,
            "[{b}] {}",
            created.text()
        );
        let id = created.json()["id"].as_str().expect("id").to_owned();
        let (mut added, mut present) = (0, 0);
        for (name, body) in &files {
            let reply = deliver(&server, "alertmanager", body, &bearer(&token)).await;
            assert_eq!(
                reply.status,
                StatusCode::ACCEPTED,
                "[{b}] {name}: {}",
                reply.text()
            );
            let answer = reply.json();
            assert_eq!(answer["incident"], id.as_str(), "[{b}] {name}");
            assert_eq!(answer["opened"], false, "[{b}] {name}");
            added += answer["events_added"].as_u64().expect("count");
            present += answer["already_present"].as_u64().expect("count");
        }
        // 01: two firing; 02: one; 03: one resolved + one repeat; 04: one resolved;
        // 05: one resolved + one repeat.
        assert_eq!((added, present), (6, 2), "[{b}]");
        assert_eq!(event_count(&server, &id).await, 6, "[{b}]");
        for (name, body) in &files {
            let again = deliver(&server, "alertmanager", body, &bearer(&token))
                .await
                .json();
            assert_eq!(again["events_added"], 0, "[{b}] re-delivery of {name}");
            assert_eq!(again["opened"], false, "[{b}]");
        }
        assert_eq!(event_count(&server, &id).await, 6, "[{b}]");
        assert_eq!(
            incident_count(&server).await,
            1,
            "[{b}] no incident was opened"
        );
    }
}

#[tokio::test]
async fn grafana_alerts_join_by_service_or_cluster_like_alertmanager_ones() {
    let Some(samples) = samples() else { return };
    for server in servers(config(vec![
        rule("service", "SEV2"),
        rule("cluster", "SEV1"),
    ]))
    .await
    {
        let b = server.backend;
        let token = hook_token(&server, "grafana", "grafana").await;
        let mut incidents = Vec::new();
        for (name, body) in sample_files(&samples, "grafana") {
            let reply = deliver(&server, "grafana", &body, &bearer(&token)).await;
            assert_eq!(
                reply.status,
                StatusCode::ACCEPTED,
                "[{b}] {name}: {}",
                reply.text()
            );
            incidents.push((name, reply.json()));
        }
        // The 5xx alert (service orders-api) joins the newest live orders-api incident; the lag
        // alert (cluster pg-orders only) opens one for pg-orders, which the resolve then joins.
        assert_eq!(incidents[0].1["incident"], RESTRICTED, "[{b}]");
        assert_eq!(incidents[2].1["incident"], RESTRICTED, "[{b}]");
        assert_eq!(incidents[1].1["opened"], true, "[{b}]");
        let lag = incidents[1].1["incident"].as_str().expect("id").to_owned();
        assert_eq!(incidents[3].1["incident"], lag.as_str(), "[{b}]");
        assert_eq!(incidents[3].1["opened"], false, "[{b}]");
        let opened = server
            .get(&format!("/api/v1/incidents/{lag}"), Who::Admin)
            .await
            .json();
        assert_eq!(opened["severity"], "SEV1", "[{b}]");
        assert_eq!(opened["services"], json!(["pg-orders"]), "[{b}]");
        assert_eq!(
            opened["times"]["impact_started"], "2024-03-31T00:42:40+01:00",
            "[{b}] the alert's own start, in its own offset"
        );
        assert_eq!(event_count(&server, &lag).await, 2, "[{b}]");
    }
}

#[tokio::test]
async fn an_alert_for_a_service_without_a_live_incident_opens_one_with_its_title_severity_and_start()
 {
    let Some(samples) = samples() else { return };
    let body =
        std::fs::read(samples.join("alertmanager/02-firing-orders-api.json")).expect("sample");
    let body = String::from_utf8(body)
        .expect("utf-8")
        .replace("orders-api", "checkout");
    for server in servers(config(vec![rule("service", "SEV1")])).await {
        let b = server.backend;
        let token = hook_token(&server, "alertmanager", "prod-alertmanager").await;
        let first = deliver(&server, "alertmanager", body.as_bytes(), &bearer(&token)).await;
        assert_eq!(first.status, StatusCode::ACCEPTED, "[{b}] {}", first.text());
        let answer = first.json();
        assert_eq!(answer["opened"], true, "[{b}]");
        assert_eq!(answer["events_added"], 1, "[{b}]");
        let id = answer["incident"].as_str().expect("id").to_owned();
        assert!(
            id.starts_with("INC-2026-"),
            "[{b}] numbered in this year: {id}"
        );
        let incident = server
            .get(&format!("/api/v1/incidents/{id}"), Who::Viewer)
            .await
            .json();
        assert_eq!(
            incident["title"],
            "OrdersApiHighErrorRate: 5xx ratio 31.2% > 5% for 1m on checkout (prod)",
            "[{b}]"
        );
        assert_eq!(incident["severity"], "SEV1", "[{b}]");
        assert_eq!(incident["status"], "active", "[{b}]");
        assert_eq!(incident["services"], json!(["checkout"]), "[{b}]");
        assert_eq!(
            incident["times"]["impact_started"], "2024-03-30T23:43:19.502143Z",
            "[{b}]"
        );
        let audit = server.store.audit(10, None).await.expect("audit");
        let entry = audit
            .iter()
            .find(|e| e.target == id)
            .expect("the opening is audited");
        assert_eq!(entry.actor, "hook:alertmanager:prod-alertmanager", "[{b}]");
        assert_eq!(entry.action, "incident.create", "[{b}]");

        let again = deliver(&server, "alertmanager", body.as_bytes(), &bearer(&token))
            .await
            .json();
        assert_eq!(again["incident"], id.as_str(), "[{b}] the same incident");
        assert_eq!(
            (again["opened"].clone(), again["events_added"].clone()),
            (json!(false), json!(0))
        );

        // Once resolved, the incident is no longer live: the next alert opens another.
        let etag = server
            .get(&format!("/api/v1/incidents/{id}"), Who::Admin)
            .await
            .headers[header::ETAG]
            .to_str()
            .expect("etag")
            .to_owned();
        let resolved = server
            .send(
                Method::PATCH,
                &format!("/api/v1/incidents/{id}"),
                Who::Admin,
                Some(json!({"status": {"status": "resolved"}})),
                &[("if-match", &etag)],
            )
            .await;
        assert_eq!(resolved.status, StatusCode::OK, "[{b}] {}", resolved.text());
        let later = deliver(&server, "alertmanager", body.as_bytes(), &bearer(&token))
            .await
            .json();
        assert_eq!(later["opened"], true, "[{b}]");
        assert_ne!(later["incident"], id.as_str(), "[{b}]");
    }
}

#[tokio::test]
async fn deliveries_need_a_live_webhook_token_of_their_own_source() {
    let Some(samples) = samples() else { return };
    let body =
        std::fs::read(samples.join("alertmanager/02-firing-orders-api.json")).expect("sample");
    for server in TestServer::all().await {
        let b = server.backend;
        let grafana = hook_token(&server, "grafana", "grafana").await;
        let revoked = hook_token(&server, "alertmanager", "old").await;
        let old = server
            .store
            .hook_tokens()
            .await
            .expect("tokens")
            .into_iter()
            .find(|t| t.name == "old")
            .expect("old token");
        server
            .store
            .revoke_hook_token(old.id, common::now())
            .await
            .expect("revoke");
        let admin_api_token = server.token(Who::Admin).expect("token").to_owned();
        let refused: [(&str, Vec<(&str, String)>); 5] = [
            ("no credential", vec![]),
            ("a made-up token", bearer("sshook_nonsense")),
            ("a user's API token", bearer(&admin_api_token)),
            ("another source's token", bearer(&grafana)),
            ("a revoked token", bearer(&revoked)),
        ];
        for (what, headers) in refused {
            let reply = deliver(&server, "alertmanager", &body, &headers).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "[{b}] {what}");
            assert_eq!(
                reply.headers[header::CONTENT_TYPE],
                "application/problem+json",
                "[{b}]"
            );
        }
        assert_eq!(
            event_count(&server, RESTRICTED).await,
            0,
            "[{b}] nothing written"
        );
        assert_eq!(event_count(&server, OPEN).await, 0, "[{b}] nothing written");
    }
}

#[tokio::test]
async fn a_signed_session_cookie_is_not_a_webhook_credential() {
    let Some(samples) = samples() else { return };
    let body =
        std::fs::read(samples.join("alertmanager/02-firing-orders-api.json")).expect("sample");
    for server in TestServer::all().await {
        let session = crypto::random_token("");
        let user = server.store.user_by_name("admin").await.expect("admin").0;
        let expires = common::now()
            .checked_add(jiff::SignedDuration::from_hours(1))
            .expect("time");
        server
            .store
            .create_session(
                &crypto::token_hash(&session),
                user.id,
                "csrf",
                common::now(),
                expires,
            )
            .await
            .expect("session");
        let reply = deliver(
            &server,
            "alertmanager",
            &body,
            &[
                ("cookie", format!("ss_session={session}")),
                ("x-csrf-token", "csrf".into()),
            ],
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "[{}]",
            server.backend
        );
    }
}

#[tokio::test]
async fn pagerduty_accepts_a_valid_signature_refuses_an_invalid_one_and_notes_follow_their_page() {
    let Some(samples) = samples() else { return };
    let files = sample_files(&samples, "pagerduty/webhooks-v3");
    assert_eq!(files.len(), 5);
    for server in servers(config(vec![rule("service", "SEV2")])).await {
        let b = server.backend;
        let (_, triggered) = &files[0];
        let sign = |body: &[u8]| {
            vec![(
                "x-pagerduty-signature",
                secondstory_server::hooks::pagerduty_signature(SIGNING_SECRET, body),
            )]
        };
        let wrong_secret = vec![(
            "x-pagerduty-signature",
            secondstory_server::hooks::pagerduty_signature("not the secret", triggered),
        )];
        let other_body = sign(b"{}");
        for (what, headers) in [
            ("a signature with another secret", wrong_secret),
            ("a signature of another body", other_body),
            (
                "a malformed signature",
                vec![("x-pagerduty-signature", "v1=zz".to_owned())],
            ),
        ] {
            let reply = deliver(&server, "pagerduty", triggered, &headers).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "[{b}] {what}");
        }
        assert_eq!(event_count(&server, RESTRICTED).await, 0, "[{b}]");

        for (name, body) in &files {
            let reply = deliver(&server, "pagerduty", body, &sign(body)).await;
            assert_eq!(
                reply.status,
                StatusCode::ACCEPTED,
                "[{b}] {name}: {}",
                reply.text()
            );
            let answer = reply.json();
            // "orders-api (Alertmanager)" is the orders-api service; the note, which names no
            // service, follows the page it annotates.
            assert_eq!(answer["incident"], RESTRICTED, "[{b}] {name}");
            assert_eq!(answer["events_added"], 1, "[{b}] {name}");
        }
        assert_eq!(event_count(&server, RESTRICTED).await, 5, "[{b}]");

        // A PagerDuty webhook token works too, and re-delivery adds nothing.
        let token = hook_token(&server, "pagerduty", "pd").await;
        let again = deliver(&server, "pagerduty", triggered, &bearer(&token)).await;
        assert_eq!(again.status, StatusCode::ACCEPTED, "[{b}]");
        assert_eq!(again.json()["events_added"], 0, "[{b}]");
        assert_eq!(again.json()["already_present"], 1, "[{b}]");
    }
}

#[tokio::test]
async fn a_truncated_or_malformed_body_is_refused_with_its_position_and_nothing_is_written() {
    let Some(samples) = samples() else { return };
    let truncated =
        std::fs::read(samples.join("pagerduty/bad/webhook-truncated.json")).expect("sample");
    let bad_times =
        std::fs::read(samples.join("alertmanager/bad/bad-timestamps.json")).expect("sample");
    for server in TestServer::all().await {
        let b = server.backend;
        let pd = hook_token(&server, "pagerduty", "pd").await;
        let am = hook_token(&server, "alertmanager", "am").await;
        let before = incident_count(&server).await;

        let reply = deliver(&server, "pagerduty", &truncated, &bearer(&pd)).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[{b}] {}",
            reply.text()
        );
        let problem = reply.json();
        let field = problem["errors"][0]["field"].as_str().expect("field");
        let mut position = field.trim_start_matches("body:").split(':');
        assert!(
            field.starts_with("body:")
                && position.next().is_some_and(|l| l.parse::<u64>().is_ok())
                && position.next().is_some_and(|c| c.parse::<u64>().is_ok()),
            "[{b}] a line and column: {field}"
        );
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("malformed JSON")),
            "[{b}] {problem}"
        );

        let reply = deliver(&server, "alertmanager", &bad_times, &bearer(&am)).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[{b}] {}",
            reply.text()
        );
        assert_eq!(
            reply.json()["errors"][0]["field"],
            "body.alerts[0].startsAt",
            "[{b}]"
        );

        let reply = deliver(&server, "alertmanager", b"[1, 2", &bearer(&am)).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "[{b}]");

        assert_eq!(
            incident_count(&server).await,
            before,
            "[{b}] no incident opened"
        );
        assert_eq!(
            event_count(&server, RESTRICTED).await,
            0,
            "[{b}] no event written"
        );
        assert_eq!(
            event_count(&server, OPEN).await,
            0,
            "[{b}] no event written"
        );
    }
}

#[tokio::test]
async fn alerts_join_a_restricted_incident_but_the_answer_names_only_its_id() {
    let Some(samples) = samples() else { return };
    let body =
        std::fs::read(samples.join("alertmanager/02-firing-orders-api.json")).expect("sample");
    for server in TestServer::all().await {
        let b = server.backend;
        let token = hook_token(&server, "alertmanager", "am").await;
        let reply = deliver(&server, "alertmanager", &body, &bearer(&token)).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "[{b}] {}", reply.text());
        assert_eq!(
            reply.json()["incident"],
            RESTRICTED,
            "[{b}] the newest live orders-api incident"
        );
        assert!(
            !reply.text().contains("Test incident"),
            "[{b}] the title never reaches the sender: {}",
            reply.text()
        );
        let keys: Vec<String> = reply
            .json()
            .as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            keys,
            ["already_present", "events_added", "incident", "opened"],
            "[{b}]"
        );
        assert_eq!(event_count(&server, RESTRICTED).await, 1, "[{b}]");
        // The outsider still cannot see it: it looks missing, timeline and all.
        let hidden = server
            .get(&format!("/api/v1/incidents/{RESTRICTED}"), Who::Outsider)
            .await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "[{b}]");
    }
}

#[tokio::test]
async fn a_body_over_the_configured_limit_is_refused_before_anything_is_read() {
    let Some(samples) = samples() else { return };
    let body =
        std::fs::read(samples.join("alertmanager/01-firing-pg-orders.json")).expect("sample");
    assert!(body.len() > 1024);
    let config = ServerConfig {
        max_body_bytes: 1024,
        ..config(vec![rule("cluster", "SEV1")])
    };
    for server in servers(config).await {
        let token = hook_token(&server, "alertmanager", "am").await;
        let before = incident_count(&server).await;
        let reply = deliver(&server, "alertmanager", &body, &bearer(&token)).await;
        assert_eq!(
            reply.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "[{}] {}",
            server.backend,
            reply.text()
        );
        assert_eq!(incident_count(&server).await, before);
    }
}

#[tokio::test]
async fn an_alert_no_rule_matches_is_refused_and_says_which_labels_rules_look_for() {
    let Some(samples) = samples() else { return };
    let body =
        std::fs::read(samples.join("alertmanager/01-firing-pg-orders.json")).expect("sample");
    for server in servers(config(vec![rule("service", "SEV2")])).await {
        let token = hook_token(&server, "alertmanager", "am").await;
        let reply = deliver(&server, "alertmanager", &body, &bearer(&token)).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[{}]",
            server.backend
        );
        let detail = reply.json()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            detail.contains("rules look for: service") && detail.contains("cluster"),
            "{detail}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_first_alerts_for_a_service_open_one_incident() {
    let Some(samples) = samples() else { return };
    let body =
        std::fs::read(samples.join("alertmanager/02-firing-orders-api.json")).expect("sample");
    let body = String::from_utf8(body)
        .expect("utf-8")
        .replace("orders-api", "checkout");
    for server in servers(config(vec![rule("service", "SEV2")])).await {
        let b = server.backend;
        let token = hook_token(&server, "alertmanager", "am").await;
        let headers = bearer(&token);
        let (r1, r2, r3, r4) = tokio::join!(
            deliver(&server, "alertmanager", body.as_bytes(), &headers),
            deliver(&server, "alertmanager", body.as_bytes(), &headers),
            deliver(&server, "alertmanager", body.as_bytes(), &headers),
            deliver(&server, "alertmanager", body.as_bytes(), &headers),
        );
        let answers: Vec<serde_json::Value> = [r1, r2, r3, r4].iter().map(Reply::json).collect();
        let opened = answers.iter().filter(|a| a["opened"] == true).count();
        assert_eq!(opened, 1, "[{b}] {answers:?}");
        assert!(
            answers
                .iter()
                .all(|a| a["incident"] == answers[0]["incident"]),
            "[{b}] {answers:?}"
        );
        let added: u64 = answers
            .iter()
            .map(|a| a["events_added"].as_u64().expect("count"))
            .sum();
        assert_eq!(added, 1, "[{b}] the alert is stored once");
    }
}
