//! The resources below an incident, through the API: the review and its history, action items
//! with If-Match, factors, participants, the timeline (by hand and imported from a file), and
//! export/import of whole incident documents.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{OPEN, RESTRICTED, TestServer, Who};
use serde_json::json;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/samples");

fn raw_post(
    server: &TestServer,
    path: &str,
    who: Who,
    content_type: &str,
    body: Vec<u8>,
) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", server.token(who).expect("token")),
        )
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .expect("request")
}

#[tokio::test]
async fn review_saves_are_revisions_with_history_diffs_and_no_lost_updates() {
    for server in TestServer::all().await {
        let backend = server.backend;
        let path = format!("/api/v1/incidents/{OPEN}/review");
        let read = server.get(&path, Who::Viewer).await;
        assert_eq!(read.status, StatusCode::OK);
        assert_eq!(read.headers["etag"], "\"review-0\"");
        let first = "# Review\n\nThe failover took 20 minutes.\n";
        let no_match = server
            .send(
                Method::PUT,
                &path,
                Who::Editor,
                Some(json!({"markdown": first})),
                &[],
            )
            .await;
        assert_eq!(
            no_match.status,
            StatusCode::PRECONDITION_REQUIRED,
            "[{backend}]"
        );
        let saved = server
            .send(
                Method::PUT,
                &path,
                Who::Editor,
                Some(json!({"markdown": first})),
                &[("if-match", "\"review-0\"")],
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "[{backend}] {}", saved.text());
        assert_eq!(saved.headers["etag"], "\"review-1\"");
        let stale = server
            .send(
                Method::PUT,
                &path,
                Who::Admin,
                Some(json!({"markdown": "# Review\n\nMy version.\n"})),
                &[("if-match", "\"review-0\"")],
            )
            .await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "[{backend}]");
        assert_eq!(stale.headers["content-type"], "application/problem+json");
        let problem = stale.json();
        assert_eq!(
            problem["current_markdown"], first,
            "the merge view gets the current text"
        );
        assert_eq!(problem["current_version"], 1);
        assert_eq!(problem["status"], 412);
        let second = "# Review\n\nThe failover took 22 minutes.\n";
        let saved = server
            .send(
                Method::PUT,
                &path,
                Who::Admin,
                Some(json!({"markdown": second})),
                &[("if-match", "\"review-1\"")],
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "[{backend}]");
        assert_eq!(saved.json()["revisions"], 2);

        let history = server
            .get(&format!("{path}/revisions"), Who::Viewer)
            .await
            .json();
        let items = history["items"].as_array().expect("items");
        assert_eq!(items.len(), 2, "[{backend}] {history}");
        assert_eq!(items[0]["author"], "editor");
        assert_eq!(items[1]["author"], "admin");
        let one = server
            .get(&format!("{path}/revisions/1"), Who::Viewer)
            .await
            .json();
        assert_eq!(one["markdown"], first);
        assert_eq!(
            server
                .get(&format!("{path}/revisions/9"), Who::Viewer)
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let diff = server
            .get(&format!("{path}/diff?from=1&to=2"), Who::Viewer)
            .await
            .json();
        let diff = diff["diff"].as_str().expect("diff");
        assert!(diff.contains("-The failover took 20 minutes."), "{diff}");
        assert!(diff.contains("+The failover took 22 minutes."), "{diff}");
        let html = server
            .get(&format!("{path}/html"), Who::Viewer)
            .await
            .json();
        assert!(
            html["html"]
                .as_str()
                .expect("html")
                .contains("<h1>Review</h1>"),
            "{html}"
        );
    }
}

#[tokio::test]
async fn review_html_is_sanitised() {
    let server = TestServer::sqlite().await;
    let path = format!("/api/v1/incidents/{OPEN}/review");
    let saved = server
        .send(
            Method::PUT,
            &path,
            Who::Editor,
            Some(
                json!({"markdown": "Hi <script>alert(1)</script> <a href=\"javascript:x\">l</a>"}),
            ),
            &[("if-match", "\"review-0\"")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK);
    let html = server
        .get(&format!("{path}/html"), Who::Viewer)
        .await
        .json()["html"]
        .to_string();
    assert!(
        !html.contains("<script") && !html.contains("javascript:"),
        "{html}"
    );
}

#[tokio::test]
async fn action_items_change_with_if_match_archive_and_restore() {
    for server in TestServer::all().await {
        let backend = server.backend;
        let base = format!("/api/v1/incidents/{OPEN}/actions");
        let created = server
            .send(
                Method::POST,
                &base,
                Who::Editor,
                Some(json!({"title": "Alert on replication lag", "owner": "team-db", "kind": "detect",
                    "priority": "high", "due": "2027-01-10"})),
                &[],
            )
            .await;
        assert_eq!(
            created.status,
            StatusCode::CREATED,
            "[{backend}] {}",
            created.text()
        );
        assert_eq!(created.headers["etag"], "\"action-1\"");
        let action = created.json();
        assert_eq!(action["number"], 1);
        assert_eq!(action["overdue"], false, "due after today (2026-11-25)");
        let item = format!("{base}/1");
        let patch = json!({"status": "in-progress", "due": "2020-01-01"});
        let missing = server
            .send(Method::PATCH, &item, Who::Editor, Some(patch.clone()), &[])
            .await;
        assert_eq!(
            missing.status,
            StatusCode::PRECONDITION_REQUIRED,
            "[{backend}]"
        );
        let changed = server
            .send(
                Method::PATCH,
                &item,
                Who::Editor,
                Some(patch.clone()),
                &[("if-match", "\"action-1\"")],
            )
            .await;
        assert_eq!(
            changed.status,
            StatusCode::OK,
            "[{backend}] {}",
            changed.text()
        );
        assert_eq!(changed.headers["etag"], "\"action-2\"");
        assert_eq!(changed.json()["status"], "in-progress");
        assert_eq!(changed.json()["overdue"], true);
        let stale = server
            .send(
                Method::PATCH,
                &item,
                Who::Editor,
                Some(json!({"title": "Other"})),
                &[("if-match", "\"action-1\"")],
            )
            .await;
        assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "[{backend}]");
        let wont_do = server
            .send(
                Method::PATCH,
                &item,
                Who::Editor,
                Some(json!({"status": "wont-do"})),
                &[("if-match", "\"action-2\"")],
            )
            .await;
        assert_eq!(wont_do.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(wont_do.json()["errors"][0]["field"], "reason");

        let board = server
            .get("/api/v1/actions?overdue=true&owner=team-db", Who::Viewer)
            .await
            .json();
        assert_eq!(
            board["items"].as_array().expect("items").len(),
            1,
            "[{backend}] {board}"
        );

        let archived = server
            .send(Method::DELETE, &item, Who::Editor, None, &[])
            .await;
        assert_eq!(archived.status, StatusCode::NO_CONTENT);
        let list = server.get(&base, Who::Viewer).await.json();
        assert_eq!(list["items"].as_array().expect("items").len(), 0);
        assert_eq!(
            server.get(&item, Who::Viewer).await.status,
            StatusCode::NOT_FOUND
        );
        let restored = server
            .send(
                Method::POST,
                &format!("{item}/restore"),
                Who::Editor,
                None,
                &[],
            )
            .await;
        assert_eq!(
            restored.status,
            StatusCode::OK,
            "[{backend}] {}",
            restored.text()
        );
        assert_eq!(restored.json()["title"], "Alert on replication lag");
        let list = server.get(&base, Who::Viewer).await.json();
        assert_eq!(list["items"].as_array().expect("items").len(), 1);
    }
}

#[tokio::test]
async fn factors_use_the_taxonomy_and_link_only_to_events_that_exist() {
    let server = TestServer::sqlite().await;
    let events = format!("/api/v1/incidents/{OPEN}/events");
    let added = server
        .send(
            Method::POST,
            &events,
            Who::Editor,
            Some(json!({"at": "2024-03-31T00:45:00+01:00", "text": "Failover started", "kind": "action", "key_moment": true})),
            &[],
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    let event = added.json();
    assert_eq!(event["source"], "manual");
    assert_eq!(event["actor"], "editor");
    let source_ref = event["source_ref"].as_str().expect("ref").to_owned();
    let factors = format!("/api/v1/incidents/{OPEN}/factors");
    let unknown = server
        .send(
            Method::POST,
            &factors,
            Who::Editor,
            Some(json!({"category": "human error", "description": "x"})),
            &[],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.json()["errors"][0]["field"], "category");
    let dangling = server
        .send(
            Method::POST,
            &factors,
            Who::Editor,
            Some(json!({"category": "change", "description": "x", "events": ["nope"]})),
            &[],
        )
        .await;
    assert_eq!(dangling.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(dangling.json()["errors"][0]["field"], "events[0]");
    let ok = server
        .send(
            Method::POST,
            &factors,
            Who::Editor,
            Some(json!({"category": "Detection and monitoring", "description": "No alert on lag", "events": [source_ref]})),
            &[],
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text());
    assert_eq!(ok.json()["category"], "detection-and-monitoring");
    assert_eq!(
        server.get(&factors, Who::Viewer).await.json()["items"]
            .as_array()
            .expect("items")
            .len(),
        1
    );

    let participants = format!("/api/v1/incidents/{OPEN}/participants");
    let added = server
        .send(
            Method::POST,
            &participants,
            Who::Editor,
            Some(json!({"name": "Ana", "role": "incident commander", "alias": "Engineer A"})),
            &[],
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    assert_eq!(
        server.get(&participants, Who::Viewer).await.json()["items"][0]["alias"],
        "Engineer A"
    );

    let patched = server
        .send(
            Method::PATCH,
            &format!("{events}/{}", source_ref.replace(':', "%3A")),
            Who::Editor,
            Some(json!({"hidden": true})),
            &[],
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    assert_eq!(
        server.get(&events, Who::Viewer).await.json()["items"]
            .as_array()
            .expect("items")
            .len(),
        0
    );
    assert_eq!(
        server
            .get(&format!("{events}?include_hidden=true"), Who::Viewer)
            .await
            .json()["items"]
            .as_array()
            .expect("items")
            .len(),
        1
    );
}

#[tokio::test]
async fn a_grafana_alert_file_imports_once_and_a_bad_file_imports_nothing() {
    let sample = std::path::Path::new(SAMPLES).join("grafana/01-firing-5xx.json");
    let Ok(body) = std::fs::read(&sample) else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but the sample {} is missing", sample.display());
        }
        eprintln!("skipping: sample {} not found", sample.display());
        return;
    };
    for server in TestServer::all().await {
        let backend = server.backend;
        let path = format!("/api/v1/incidents/{OPEN}/events/import");
        let first = server
            .raw(raw_post(
                &server,
                &path,
                Who::Editor,
                "application/json",
                body.clone(),
            ))
            .await;
        assert_eq!(first.status, StatusCode::OK, "[{backend}] {}", first.text());
        let report = first.json();
        assert_eq!(report["detected_format"], "grafana");
        assert!(
            report["imported"].as_u64().expect("imported") >= 1,
            "{report}"
        );
        let again = server
            .raw(raw_post(
                &server,
                &path,
                Who::Editor,
                "application/json",
                body.clone(),
            ))
            .await;
        let again = again.json();
        assert_eq!(again["imported"], 0, "[{backend}] re-import adds nothing");
        assert_eq!(again["already_present"], report["imported"]);
        let events = server
            .get(&format!("/api/v1/incidents/{OPEN}/events"), Who::Viewer)
            .await
            .json();
        let count = events["items"].as_array().expect("items").len();
        assert!(events.to_string().contains("grafana"), "{events}");

        let bad = b"{\"time\": \"2024-03-31T00:00:00Z\", \"text\": \"ok\"}\n{\"time\": \"yesterday\", \"text\": \"bad\"}\n";
        let refused = server
            .raw(raw_post(
                &server,
                &format!("{path}?format=jsonl"),
                Who::Editor,
                "application/octet-stream",
                bad.to_vec(),
            ))
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[{backend}] {}",
            refused.text()
        );
        let detail = refused.json()["detail"]
            .as_str()
            .expect("detail")
            .to_owned();
        assert!(detail.contains("upload:2"), "names the position: {detail}");
        assert!(!detail.contains("/tmp"), "no server paths: {detail}");
        let after = server
            .get(&format!("/api/v1/incidents/{OPEN}/events"), Who::Viewer)
            .await
            .json();
        assert_eq!(
            after["items"].as_array().expect("items").len(),
            count,
            "nothing imported"
        );
        let skipping = server
            .raw(raw_post(
                &server,
                &format!("{path}?format=jsonl&skip_invalid=true"),
                Who::Editor,
                "application/octet-stream",
                bad.to_vec(),
            ))
            .await;
        let skipping = skipping.json();
        assert_eq!(skipping["imported"], 1, "{skipping}");
        assert_eq!(skipping["skipped"].as_array().expect("skipped").len(), 1);
        let restricted = server
            .raw(raw_post(
                &server,
                &format!("/api/v1/incidents/{RESTRICTED}/events/import"),
                Who::Outsider,
                "application/json",
                body.clone(),
            ))
            .await;
        assert_eq!(restricted.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn export_and_import_round_trip_and_never_reach_an_incident_you_cannot_see() {
    for server in TestServer::all().await {
        let backend = server.backend;
        let markdown = server
            .get(
                &format!("/api/v1/incidents/{RESTRICTED}/export"),
                Who::Editor,
            )
            .await;
        assert_eq!(markdown.status, StatusCode::OK, "[{backend}]");
        assert!(
            markdown.headers["content-type"]
                .to_str()
                .expect("ct")
                .starts_with("text/markdown")
        );
        assert!(markdown.text().starts_with("---\n"), "{}", markdown.text());
        let json_export = server
            .get(
                &format!("/api/v1/incidents/{RESTRICTED}/export?format=json"),
                Who::Editor,
            )
            .await;
        assert_eq!(json_export.headers["content-type"], "application/json");
        assert_eq!(json_export.json()["incident"]["id"], RESTRICTED);

        let changed = markdown
            .text()
            .replace("Test incident INC-2024-0002", "Imported title");
        let by_outsider = server
            .raw(raw_post(
                &server,
                "/api/v1/import",
                Who::Outsider,
                "text/markdown",
                changed.clone().into_bytes(),
            ))
            .await;
        assert_eq!(
            by_outsider.status,
            StatusCode::NOT_FOUND,
            "[{backend}] {}",
            by_outsider.text()
        );
        let missing = server
            .get("/api/v1/incidents/INC-2099-0001", Who::Outsider)
            .await;
        assert_eq!(
            by_outsider.text().replace(RESTRICTED, "ID"),
            missing.text().replace("INC-2099-0001", "ID"),
            "the same answer as for a missing incident"
        );
        let title = server
            .get(&format!("/api/v1/incidents/{RESTRICTED}"), Who::Editor)
            .await
            .json()["title"]
            .clone();
        assert_eq!(title, "Test incident INC-2024-0002", "unchanged");

        let by_member = server
            .raw(raw_post(
                &server,
                "/api/v1/import",
                Who::Editor,
                "text/markdown",
                changed.into_bytes(),
            ))
            .await;
        assert_eq!(
            by_member.status,
            StatusCode::OK,
            "[{backend}] {}",
            by_member.text()
        );
        assert_eq!(by_member.json()["updated"], 1);
        let title = server
            .get(&format!("/api/v1/incidents/{RESTRICTED}"), Who::Editor)
            .await
            .json()["title"]
            .clone();
        assert_eq!(title, "Imported title");

        let broken = json_export.text().replace("\"SEV2\"", "\"P0\"");
        let refused = server
            .raw(raw_post(
                &server,
                "/api/v1/import",
                Who::Editor,
                "application/json",
                broken.into_bytes(),
            ))
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "[{backend}] {}",
            refused.text()
        );
        assert_eq!(
            refused.json()["errors"][0]["field"],
            "incident.severity",
            "{}",
            refused.text()
        );
        let broken_yaml = "---\nid: INC-2024-0009\ntitle: [unclosed\n---\n";
        let refused = server
            .raw(raw_post(
                &server,
                "/api/v1/import",
                Who::Editor,
                "text/markdown",
                broken_yaml.as_bytes().to_vec(),
            ))
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            refused.json()["errors"][0]["message"]
                .as_str()
                .expect("message")
                .starts_with("line "),
            "{}",
            refused.text()
        );
    }
}

#[tokio::test]
async fn admins_manage_users_and_webhook_tokens_and_secrets_are_shown_once() {
    let server = TestServer::sqlite().await;
    let created = server
        .send(
            Method::POST,
            "/api/v1/users",
            Who::Admin,
            Some(
                json!({"username": "bo", "role": "editor", "groups": ["sre"], "password": "short"}),
            ),
            &[],
        )
        .await;
    assert_eq!(created.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(created.json()["errors"][0]["field"], "password");
    let created = server
        .send(
            Method::POST,
            "/api/v1/users",
            Who::Admin,
            Some(json!({"username": "bo", "role": "editor", "groups": ["sre"], "password": "correct horse battery"})),
            &[],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_i64().expect("id");
    assert!(!created.text().contains("argon2"), "no hashes in responses");
    let duplicate = server
        .send(
            Method::POST,
            "/api/v1/users",
            Who::Admin,
            Some(json!({"username": "bo", "role": "viewer", "password": "correct horse battery"})),
            &[],
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT);
    let demoted = server
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Who::Admin,
            Some(json!({"role": "viewer", "groups": []})),
            &[],
        )
        .await;
    assert_eq!(demoted.json()["role"], "viewer");
    let password = server
        .send(
            Method::POST,
            &format!("/api/v1/users/{id}/password"),
            Who::Admin,
            Some(json!({"password": "another good passphrase"})),
            &[],
        )
        .await;
    assert_eq!(password.status, StatusCode::NO_CONTENT);
    let admin_id = server
        .store
        .user_by_name("admin")
        .await
        .expect("admin")
        .0
        .id;
    let own = server
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{admin_id}"),
            Who::Admin,
            Some(json!({"disabled": true})),
            &[],
        )
        .await;
    assert_eq!(
        own.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "admins cannot lock themselves out"
    );

    let hook = server
        .send(
            Method::POST,
            "/api/v1/hook-tokens",
            Who::Admin,
            Some(json!({"source": "alertmanager", "name": "prod"})),
            &[],
        )
        .await;
    assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.text());
    let secret = hook.json()["secret"].as_str().expect("secret").to_owned();
    let listed = server.get("/api/v1/hook-tokens", Who::Admin).await;
    assert!(!listed.text().contains(&secret));
    let hook_id = hook.json()["token"]["id"].as_i64().expect("id");
    let revoked = server
        .send(
            Method::DELETE,
            &format!("/api/v1/hook-tokens/{hook_id}"),
            Who::Admin,
            None,
            &[],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert_eq!(
        server.get("/api/v1/hook-tokens", Who::Admin).await.json()["items"][0]["revoked"],
        true
    );
    let bad_source = server
        .send(
            Method::POST,
            "/api/v1/hook-tokens",
            Who::Admin,
            Some(json!({"source": "nagios", "name": "x"})),
            &[],
        )
        .await;
    assert_eq!(bad_source.json()["errors"][0]["field"], "source");
}

#[tokio::test]
async fn malformed_requests_get_problem_documents_too() {
    let server = TestServer::sqlite().await;
    let not_json = server
        .raw(raw_post(
            &server,
            &format!("/api/v1/incidents/{OPEN}/actions"),
            Who::Editor,
            "application/json",
            b"{not json".to_vec(),
        ))
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_json.headers["content-type"], "application/problem+json");
    assert_eq!(not_json.json()["status"], 400);
    let bad_number = server
        .get(
            &format!("/api/v1/incidents/{OPEN}/actions/first"),
            Who::Viewer,
        )
        .await;
    assert_eq!(bad_number.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_number.headers["content-type"],
        "application/problem+json"
    );
}
