//! Accounts and access from the outside: CSRF for cookie sessions, cookie flags, token scopes and
//! revocation, sign-in rate limits, the trusted proxy header, disabled users, and restricted
//! incidents staying out of every list, search, export, board and count.

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use common::{OPEN, RESTRICTED, TestServer, Who};
use secondstory_server::ServerConfig;
use serde_json::{Value, json};

fn sign_in_request(username: &str, password: &str, peer: Option<SocketAddr>) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/session")
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(peer) = peer {
        request = request.extension(ConnectInfo(peer));
    }
    request
        .body(Body::from(
            json!({"username": username, "password": password}).to_string(),
        ))
        .expect("request")
}

/// Signs in; returns the session cookie (`ss_session=…`), the CSRF token and the Set-Cookie line.
async fn sign_in(server: &TestServer, username: &str) -> (String, String, String) {
    let reply = server
        .raw(sign_in_request(
            username,
            &format!("{username}-password"),
            None,
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let set_cookie = reply.headers[header::SET_COOKIE]
        .to_str()
        .expect("text")
        .to_owned();
    let cookie = set_cookie.split(';').next().expect("pair").to_owned();
    let csrf = reply.json()["csrf_token"]
        .as_str()
        .expect("csrf token")
        .to_owned();
    (cookie, csrf, set_cookie)
}

fn lint_with_cookie(cookie: &str, origin: Option<&str>, csrf: Option<&str>) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/lint")
        .header(header::HOST, "localhost")
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    request
        .body(Body::from(
            json!({"text": "The deploy went out."}).to_string(),
        ))
        .expect("request")
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_token_and_our_origin_for_changes() {
    let server = TestServer::sqlite().await;
    let (cookie, csrf, _) = sign_in(&server, "editor").await;
    let reply = server
        .raw(lint_with_cookie(&cookie, Some("http://localhost"), None))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "no X-CSRF-Token");
    let reply = server
        .raw(lint_with_cookie(
            &cookie,
            Some("http://localhost"),
            Some("wrong"),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "wrong X-CSRF-Token");
    let reply = server
        .raw(lint_with_cookie(
            &cookie,
            Some("https://evil.example"),
            Some(&csrf),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "foreign Origin");
    assert!(reply.text().contains("cross-site"), "{}", reply.text());
    let reply = server
        .raw(lint_with_cookie(&cookie, None, Some(&csrf)))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "no Origin at all");
    let reply = server
        .raw(lint_with_cookie(
            &cookie,
            Some("http://localhost"),
            Some(&csrf),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    // Reading needs no CSRF token.
    let read = Request::builder()
        .uri("/api/v1/session")
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .expect("request");
    assert_eq!(server.raw(read).await.status, StatusCode::OK);
}

#[tokio::test]
async fn bearer_tokens_need_no_csrf_token() {
    let server = TestServer::sqlite().await;
    let reply = server
        .send(
            Method::POST,
            "/api/v1/lint",
            Who::Editor,
            Some(json!({"text": "x"})),
            &[("origin", "https://elsewhere.example")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
}

#[tokio::test]
async fn session_cookies_are_http_only_same_site_lax_and_secure_unless_configured_otherwise() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite:{}", dir.path().join("secure.db").display());
    let secure = TestServer::on(&url, "sqlite", dir, ServerConfig::default()).await;
    let (_, _, set_cookie) = sign_in(&secure, "viewer").await;
    for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(set_cookie.contains(flag), "{flag} missing: {set_cookie}");
    }
    let insecure = TestServer::sqlite().await;
    let (_, _, set_cookie) = sign_in(&insecure, "viewer").await;
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
    assert!(!set_cookie.contains("Secure"), "{set_cookie}");
}

#[tokio::test]
async fn a_read_token_cannot_change_anything_and_a_revoked_token_is_refused() {
    for server in TestServer::all().await {
        let created = server
            .send(
                Method::POST,
                "/api/v1/tokens",
                Who::Editor,
                Some(json!({"name": "dashboards", "scope": "read"})),
                &[],
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        let created = created.json();
        let secret = created["secret"].as_str().expect("secret").to_owned();
        assert!(secret.starts_with("ss_"));
        let listed = server.get("/api/v1/tokens", Who::Editor).await.text();
        assert!(!listed.contains(&secret), "the secret is shown only once");
        let as_reader = |method: Method, path: &str, body: Option<Value>| {
            let mut request = Request::builder()
                .method(method)
                .uri(path)
                .header(header::AUTHORIZATION, format!("Bearer {secret}"));
            if body.is_some() {
                request = request.header(header::CONTENT_TYPE, "application/json");
            }
            request
                .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
                .expect("request")
        };
        let path = format!("/api/v1/incidents/{OPEN}");
        let read = server.raw(as_reader(Method::GET, &path, None)).await;
        assert_eq!(read.status, StatusCode::OK, "[{}]", server.backend);
        for (method, path, body) in [
            (
                Method::PATCH,
                path.clone(),
                Some(json!({"title": "Renamed"})),
            ),
            (
                Method::POST,
                format!("{path}/actions"),
                Some(json!({"title": "x", "owner": "y"})),
            ),
            (Method::DELETE, path.clone(), None),
            (
                Method::POST,
                "/api/v1/tokens".to_owned(),
                Some(json!({"name": "escalate", "scope": "write"})),
            ),
        ] {
            let reply = server.raw(as_reader(method.clone(), &path, body)).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "[{}] {method} {path}: {}",
                server.backend,
                reply.text()
            );
        }
        let id = created["token"]["id"].as_i64().expect("id");
        let revoked = server
            .send(
                Method::DELETE,
                &format!("/api/v1/tokens/{id}"),
                Who::Editor,
                None,
                &[],
            )
            .await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT);
        let after = server.raw(as_reader(Method::GET, &path, None)).await;
        assert_eq!(
            after.status,
            StatusCode::UNAUTHORIZED,
            "[{}]",
            server.backend
        );
    }
}

#[tokio::test]
async fn someone_elses_token_cannot_be_revoked_except_by_an_admin() {
    let server = TestServer::sqlite().await;
    let tokens = server.get("/api/v1/tokens", Who::Admin).await.json();
    let items = tokens["items"].as_array().expect("items");
    assert_eq!(items.len(), 4, "an admin sees every token");
    let editor_id = server
        .store
        .user_by_name("editor")
        .await
        .expect("user")
        .0
        .id;
    let editors = items
        .iter()
        .find(|t| t["user_id"] == editor_id)
        .expect("editor's token");
    let path = format!("/api/v1/tokens/{}", editors["id"]);
    let outsider = server
        .send(Method::DELETE, &path, Who::Outsider, None, &[])
        .await;
    assert_eq!(outsider.status, StatusCode::NOT_FOUND);
    assert_eq!(
        server.get("/api/v1/tokens", Who::Outsider).await.json()["items"]
            .as_array()
            .expect("items")
            .len(),
        1,
        "everyone else sees only their own"
    );
    let admin = server
        .send(Method::DELETE, &path, Who::Admin, None, &[])
        .await;
    assert_eq!(admin.status, StatusCode::NO_CONTENT);
    assert_eq!(
        server.get("/api/v1/session", Who::Editor).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_eleventh_wrong_password_locks_the_account_even_for_the_right_one() {
    for server in TestServer::all().await {
        for attempt in 1..=10 {
            let reply = server
                .raw(sign_in_request("editor", "not-the-password", None))
                .await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "[{}] attempt {attempt}",
                server.backend
            );
        }
        let reply = server
            .raw(sign_in_request("editor", "editor-password", None))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::TOO_MANY_REQUESTS,
            "[{}]",
            server.backend
        );
        assert_eq!(
            reply.headers[header::CONTENT_TYPE],
            "application/problem+json"
        );
        // Another account is not affected.
        let other = server
            .raw(sign_in_request("viewer", "viewer-password", None))
            .await;
        assert_eq!(other.status, StatusCode::OK, "[{}]", server.backend);
    }
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_limited_too() {
    let server = TestServer::sqlite().await;
    let attacker: SocketAddr = "203.0.113.7:40000".parse().expect("addr");
    for n in 1..=10 {
        let reply = server
            .raw(sign_in_request(
                &format!("guess{n}"),
                "password123",
                Some(attacker),
            ))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let reply = server
        .raw(sign_in_request("viewer", "viewer-password", Some(attacker)))
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    let elsewhere: SocketAddr = "198.51.100.2:40000".parse().expect("addr");
    let reply = server
        .raw(sign_in_request(
            "viewer",
            "viewer-password",
            Some(elsewhere),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "another address may sign in");
}

fn as_proxy_user(username: &str, peer: Option<SocketAddr>) -> Request<Body> {
    let mut request = Request::builder()
        .uri("/api/v1/session")
        .header("x-forwarded-user", username);
    if let Some(peer) = peer {
        request = request.extension(ConnectInfo(peer));
    }
    request.body(Body::empty()).expect("request")
}

#[tokio::test]
async fn the_forwarded_user_header_is_believed_only_from_a_trusted_proxy() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite:{}", dir.path().join("proxy.db").display());
    let server = TestServer::on(
        &url,
        "sqlite",
        dir,
        ServerConfig {
            insecure_cookies: true,
            trusted_proxies: vec!["10.0.0.5".parse().expect("ip")],
            ..ServerConfig::default()
        },
    )
    .await;
    let spoofed = server
        .raw(as_proxy_user(
            "admin",
            Some("10.0.0.99:5000".parse().expect("addr")),
        ))
        .await;
    assert_eq!(
        spoofed.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        spoofed.text()
    );
    let unknown_peer = server.raw(as_proxy_user("admin", None)).await;
    assert_eq!(unknown_peer.status, StatusCode::UNAUTHORIZED);
    let trusted = server
        .raw(as_proxy_user(
            "admin",
            Some("10.0.0.5:5000".parse().expect("addr")),
        ))
        .await;
    assert_eq!(trusted.status, StatusCode::OK, "{}", trusted.text());
    assert_eq!(trusted.json()["username"], "admin");
    let nobody = server
        .raw(as_proxy_user(
            "nobody",
            Some("10.0.0.5:5000".parse().expect("addr")),
        ))
        .await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_disabled_users_token_and_session_stop_working() {
    for server in TestServer::all().await {
        let (cookie, _, _) = sign_in(&server, "editor").await;
        let users = server.get("/api/v1/users", Who::Admin).await.json();
        let editor = users["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|u| u["username"] == "editor")
            .expect("editor")
            .clone();
        let reply = server
            .send(
                Method::PATCH,
                &format!("/api/v1/users/{}", editor["id"]),
                Who::Admin,
                Some(json!({"disabled": true})),
                &[],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        assert_eq!(
            server.get("/api/v1/session", Who::Editor).await.status,
            StatusCode::UNAUTHORIZED,
            "[{}] token",
            server.backend
        );
        let with_cookie = Request::builder()
            .uri("/api/v1/session")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .expect("request");
        assert_eq!(
            server.raw(with_cookie).await.status,
            StatusCode::UNAUTHORIZED,
            "[{}] session",
            server.backend
        );
        let sign_in_again = server
            .raw(sign_in_request("editor", "editor-password", None))
            .await;
        assert_eq!(sign_in_again.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn restricted_incidents_stay_out_of_search_exports_counts_boards_and_the_audit_log() {
    for server in TestServer::all().await {
        let backend = server.backend;
        // Something findable and an action item on the restricted incident, by a member.
        let review = format!("/api/v1/incidents/{RESTRICTED}/review");
        let saved = server
            .send(
                Method::PUT,
                &review,
                Who::Editor,
                Some(json!({"markdown": "# Review\n\nThe zephyrine failover stalled.\n"})),
                &[("if-match", "\"review-0\"")],
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "[{backend}] {}", saved.text());
        let action = server
            .send(
                Method::POST,
                &format!("/api/v1/incidents/{RESTRICTED}/actions"),
                Who::Editor,
                Some(json!({"title": "Fence the old primary", "owner": "team-db", "due": "2020-01-01"})),
                &[],
            )
            .await;
        assert_eq!(action.status, StatusCode::CREATED, "{}", action.text());

        let found = |who| {
            let server = &server;
            async move {
                server.get("/api/v1/search?q=zephyrine", who).await.json()["items"]
                    .as_array()
                    .expect("items")
                    .len()
            }
        };
        assert_eq!(found(Who::Viewer).await, 1, "[{backend}] members find it");
        assert_eq!(found(Who::Admin).await, 1, "[{backend}] admins find it");
        assert_eq!(
            found(Who::Outsider).await,
            0,
            "[{backend}] outsiders do not"
        );
        let everything = server
            .get("/api/v1/search?q=incident", Who::Outsider)
            .await
            .text();
        assert!(!everything.contains(RESTRICTED), "[{backend}] {everything}");

        let export = server
            .get(
                &format!("/api/v1/incidents/{RESTRICTED}/export"),
                Who::Outsider,
            )
            .await;
        assert_eq!(export.status, StatusCode::NOT_FOUND, "[{backend}]");
        let export = server
            .get(
                &format!("/api/v1/incidents/{RESTRICTED}/export?format=json"),
                Who::Viewer,
            )
            .await;
        assert_eq!(export.status, StatusCode::OK, "[{backend}]");

        assert_eq!(
            server.get("/api/v1/incidents", Who::Outsider).await.json()["total"],
            1
        );
        assert_eq!(
            server.get("/api/v1/incidents", Who::Viewer).await.json()["total"],
            2
        );

        let board = |who| {
            let server = &server;
            async move { server.get("/api/v1/actions?overdue=true", who).await.text() }
        };
        assert!(board(Who::Viewer).await.contains(RESTRICTED), "[{backend}]");
        assert!(
            !board(Who::Outsider).await.contains(RESTRICTED),
            "[{backend}]"
        );

        for who in [Who::Viewer, Who::Editor, Who::Outsider] {
            assert_eq!(
                server.get("/api/v1/audit", who).await.status,
                StatusCode::FORBIDDEN,
                "[{backend}] {who:?}"
            );
        }
        let audit = server.get("/api/v1/audit", Who::Admin).await.json();
        let entries = audit["items"].as_array().expect("items");
        assert!(
            entries.iter().any(|e| e["action"] == "review.save"
                && e["target"] == RESTRICTED
                && e["actor"] == "editor"),
            "[{backend}] {audit}"
        );
    }
}
