//! The incidents API: lists, reads, changes with If-Match, archive, and who may see what.

mod common;

use axum::http::{Method, StatusCode};
use common::{OPEN, RESTRICTED, TestServer, Who};
use serde_json::json;

#[tokio::test]
async fn a_restricted_incident_looks_exactly_like_a_missing_one_to_outsiders() {
    for server in TestServer::all().await {
        let hidden = server
            .get(&format!("/api/v1/incidents/{RESTRICTED}"), Who::Outsider)
            .await;
        let missing = server
            .get("/api/v1/incidents/INC-2099-0001", Who::Outsider)
            .await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "[{}]", server.backend);
        assert_eq!(hidden.json()["status"], missing.json()["status"]);
        assert_eq!(hidden.json()["title"], missing.json()["title"]);
        assert_eq!(
            hidden.text().replace(RESTRICTED, "ID"),
            missing.text().replace("INC-2099-0001", "ID"),
            "same body but for the id the caller asked for"
        );
        let names = |r: &common::Reply| {
            let mut names: Vec<String> = r
                .headers
                .keys()
                .map(|k| k.to_string())
                .filter(|k| k != "x-request-id")
                .collect();
            names.sort();
            names
        };
        assert_eq!(names(&hidden), names(&missing), "same headers");
        let list = server.get("/api/v1/incidents", Who::Outsider).await.json();
        assert_eq!(
            list["total"], 1,
            "[{}] counts never include what you cannot see",
            server.backend
        );
        let list = server.get("/api/v1/incidents", Who::Viewer).await.json();
        assert_eq!(
            list["total"], 2,
            "[{}] group members see it",
            server.backend
        );
    }
}

#[tokio::test]
async fn updates_need_if_match_and_a_stale_one_is_refused() {
    for server in TestServer::all().await {
        let path = format!("/api/v1/incidents/{OPEN}");
        let read = server.get(&path, Who::Editor).await;
        let etag = read.headers["etag"].to_str().unwrap().to_owned();
        assert_eq!(etag, "\"incident-1\"");
        let patch = json!({"title": "Renamed"});
        let no_match = server
            .send(Method::PATCH, &path, Who::Editor, Some(patch.clone()), &[])
            .await;
        assert_eq!(
            no_match.status,
            StatusCode::PRECONDITION_REQUIRED,
            "[{}]",
            server.backend
        );
        let ok = server
            .send(
                Method::PATCH,
                &path,
                Who::Editor,
                Some(patch.clone()),
                &[("if-match", &etag)],
            )
            .await;
        assert_eq!(
            ok.status,
            StatusCode::OK,
            "[{}] {}",
            server.backend,
            ok.text()
        );
        assert_eq!(ok.headers["etag"], "\"incident-2\"");
        let stale = server
            .send(
                Method::PATCH,
                &path,
                Who::Editor,
                Some(json!({"title": "Other"})),
                &[("if-match", &etag)],
            )
            .await;
        assert_eq!(
            stale.status,
            StatusCode::PRECONDITION_FAILED,
            "[{}]",
            server.backend
        );
        assert_eq!(
            server.get(&path, Who::Viewer).await.json()["title"],
            "Renamed"
        );
    }
}

#[tokio::test]
async fn invalid_input_is_a_problem_document_naming_the_field() {
    let server = TestServer::sqlite().await;
    let reply = server
        .send(
            Method::POST,
            "/api/v1/incidents",
            Who::Editor,
            Some(json!({"title": "x", "severity": "P0"})),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.headers["content-type"], "application/problem+json");
    let problem = reply.json();
    assert_eq!(problem["errors"][0]["field"], "severity");
    assert!(problem["detail"].as_str().unwrap().contains("SEV1, SEV2"));
    let reply = server
        .send(Method::POST, "/api/v1/incidents", Who::Editor, Some(json!({"title": "x", "severity": "SEV2",
            "status": "resolved", "times": {"impact_started": "2026-01-01T10:00:00Z", "resolved": "2026-01-01T09:00:00Z"}})), &[])
        .await;
    assert_eq!(reply.json()["errors"][0]["field"], "resolved");
    let created = server
        .send(
            Method::POST,
            "/api/v1/incidents",
            Who::Editor,
            Some(json!({"title": "Checkout errors", "severity": "sev3"})),
            &[],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(
        created.json()["id"],
        "INC-2026-0001",
        "refused requests used up no id"
    );
}

#[tokio::test]
async fn archiving_is_a_delete_that_can_be_undone() {
    let server = TestServer::sqlite().await;
    let path = format!("/api/v1/incidents/{OPEN}");
    assert_eq!(
        server
            .send(Method::DELETE, &path, Who::Editor, None, &[])
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        server.get("/api/v1/incidents", Who::Editor).await.json()["total"],
        1
    );
    assert_eq!(
        server
            .get("/api/v1/incidents?archived=true", Who::Editor)
            .await
            .json()["total"],
        1
    );
    let restored = server
        .send(
            Method::POST,
            &format!("{path}/restore"),
            Who::Editor,
            None,
            &[],
        )
        .await;
    assert_eq!(restored.status, StatusCode::OK);
    assert_eq!(
        server.get("/api/v1/incidents", Who::Editor).await.json()["total"],
        2
    );
}
