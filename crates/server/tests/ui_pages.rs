//! The web UI in-process, without a browser and without JavaScript: every page answers, every
//! form field has a label, forms need the session's CSRF token, a restricted incident is the same
//! 404 page as a missing one, and the no-script flows (new incident, review save, the merge view
//! on a conflict, timeline changes, action status) work with plain form posts.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{OPEN, RESTRICTED, Reply, TestServer};
use secondstory_server::{AppState, ServerConfig};
use secondstory_store::AppStore;
use secondstory_store_sql::SqlStore;

/// A browser-like session: cookie, and the CSRF token read from a page.
struct Browser<'a> {
    server: &'a TestServer,
    cookie: String,
    csrf: String,
}

fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn post_request(path: &str, cookie: Option<&str>, body: String) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::HOST, "localhost")
        .header(header::ORIGIN, "http://localhost")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::from(body)).expect("request")
}

fn get_request(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::builder()
        .uri(path)
        .header(header::HOST, "localhost");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::empty()).expect("request")
}

fn session_cookie(reply: &Reply) -> String {
    let set = reply
        .headers
        .get(header::SET_COOKIE)
        .expect("a session cookie")
        .to_str()
        .expect("ascii");
    set.split(';').next().expect("pair").to_owned()
}

fn csrf_of(html: &str) -> String {
    let start = html
        .find("name=\"csrf-token\" content=\"")
        .expect("csrf meta")
        + 27;
    html[start..start + html[start..].find('"').expect("end")].to_owned()
}

fn location(reply: &Reply) -> String {
    reply
        .headers
        .get(header::LOCATION)
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default()
}

impl<'a> Browser<'a> {
    async fn sign_in(server: &'a TestServer, username: &str) -> Browser<'a> {
        let reply = server
            .raw(post_request(
                "/signin",
                None,
                form_body(&[
                    ("username", username),
                    ("password", &format!("{username}-password")),
                    ("next", "/incidents"),
                ]),
            ))
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
        assert_eq!(location(&reply), "/incidents");
        let cookie = session_cookie(&reply);
        let page = server.raw(get_request("/incidents", Some(&cookie))).await;
        assert_eq!(page.status, StatusCode::OK);
        let csrf = csrf_of(&page.text());
        Browser {
            server,
            cookie,
            csrf,
        }
    }

    async fn get(&self, path: &str) -> Reply {
        self.server.raw(get_request(path, Some(&self.cookie))).await
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let mut all = vec![("csrf_token", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.server
            .raw(post_request(path, Some(&self.cookie), form_body(&all)))
            .await
    }
}

/// Every `<input>`, `<select>` and `<textarea>` (but hidden inputs) has an id named by a label.
fn assert_every_field_is_labelled(path: &str, html: &str) {
    for tag in ["<input", "<select", "<textarea"] {
        for (at, _) in html.match_indices(tag) {
            let element = &html[at..at + html[at..].find('>').expect("tag end")];
            if element.contains("type=\"hidden\"") {
                continue;
            }
            let id_at = element
                .find(" id=\"")
                .unwrap_or_else(|| panic!("{path}: a field without an id: {element}"));
            let id = &element[id_at + 5..];
            let id = &id[..id.find('"').expect("id end")];
            assert!(
                html.contains(&format!("for=\"{id}\"")),
                "{path}: field `{id}` has no label"
            );
        }
    }
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in_and_back() {
    let server = TestServer::sqlite().await;
    let reply = server
        .raw(get_request("/incidents?status=active", None))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        location(&reply),
        "/signin?next=/incidents%3Fstatus%3Dactive"
    );
    let page = server.raw(get_request("/signin?next=/actions", None)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("value=\"/actions\""));
    assert_every_field_is_labelled("/signin", &page.text());
    // Another site is never a destination.
    let page = server
        .raw(get_request("/signin?next=//evil.example/", None))
        .await;
    assert!(page.text().contains("value=\"/incidents\""));
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_the_reason() {
    let server = TestServer::sqlite().await;
    let reply = server
        .raw(post_request(
            "/signin",
            None,
            form_body(&[("username", "editor"), ("password", "nope")]),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.text().contains("wrong username or password"));
    assert!(reply.headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn every_page_answers_with_labelled_fields_and_strict_headers() {
    let server = TestServer::sqlite().await;
    let admin = Browser::sign_in(&server, "admin").await;
    for path in [
        "/incidents".to_owned(),
        "/incidents?q=Test&status=active&severity=SEV2&sort=title&since=2024-01-01&until=2026-01-01".to_owned(),
        "/incidents/new".to_owned(),
        format!("/incidents/{OPEN}"),
        format!("/incidents/{OPEN}?from=2024-03-30T23:00:00Z&to=2024-03-31T01:00:00Z"),
        format!("/incidents/{OPEN}/review/edit"),
        format!("/incidents/{OPEN}/review/history"),
        format!("/incidents/{OPEN}/timeline"),
        "/actions".to_owned(),
        "/actions?overdue=1&sort=owner".to_owned(),
        "/admin".to_owned(),
    ] {
        let reply = admin.get(&path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text());
        let html = reply.text();
        assert!(html.starts_with("<!doctype html>"), "{path}");
        assert!(!html.contains("<script>") && !html.contains(" style="), "{path}: inline script or style");
        assert_every_field_is_labelled(&path, &html);
        let csp = reply.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        assert_eq!(reply.headers["x-frame-options"], "DENY");
    }
}

#[tokio::test]
async fn static_assets_have_their_types_and_cache_headers() {
    let server = TestServer::sqlite().await;
    for (path, kind) in [
        ("/static/app.css", "text/css"),
        ("/static/app.js", "text/javascript"),
        ("/static/favicon.svg", "image/svg+xml"),
    ] {
        let reply = server.raw(get_request(path, None)).await;
        assert_eq!(reply.status, StatusCode::OK, "{path} {}", reply.text());
        assert!(
            reply.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        assert!(
            reply.headers[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("max-age")
        );
    }
    assert_eq!(
        server
            .raw(get_request("/static/nope.js", None))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused() {
    let server = TestServer::sqlite().await;
    let editor = Browser::sign_in(&server, "editor").await;
    let reply = server
        .raw(post_request(
            "/incidents",
            Some(&editor.cookie),
            form_body(&[
                ("title", "Forged"),
                ("severity", "SEV3"),
                ("kind", "incident"),
                ("status", "active"),
            ]),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.text().contains("csrf_token"));
    let reply = server
        .raw(post_request(
            &format!("/incidents/{OPEN}/review"),
            Some(&editor.cookie),
            form_body(&[("csrf_token", "wrong"), ("version", "0"), ("body", "x")]),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        server
            .store
            .review(&secondstory_domain::IncidentId::parse(OPEN).unwrap())
            .await
            .unwrap()
            .version,
        0
    );
}

#[tokio::test]
async fn a_restricted_incident_is_the_same_404_page_as_a_missing_one() {
    let server = TestServer::sqlite().await;
    let outsider = Browser::sign_in(&server, "outsider").await;
    for suffix in ["", "/review/edit", "/review/history", "/timeline"] {
        let hidden = outsider
            .get(&format!("/incidents/{RESTRICTED}{suffix}"))
            .await;
        let missing = outsider
            .get(&format!("/incidents/INC-2024-0777{suffix}"))
            .await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{suffix}");
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{suffix}");
        assert_eq!(
            hidden.text().replace(RESTRICTED, "ID"),
            missing.text().replace("INC-2024-0777", "ID"),
            "{suffix}"
        );
    }
    let list = outsider.get("/incidents").await.text();
    assert!(list.contains(OPEN) && !list.contains(RESTRICTED));
    let viewer = Browser::sign_in(&server, "viewer").await;
    assert_eq!(
        viewer.get(&format!("/incidents/{RESTRICTED}")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn viewers_cannot_reach_editor_pages() {
    let server = TestServer::sqlite().await;
    let viewer = Browser::sign_in(&server, "viewer").await;
    assert_eq!(
        viewer.get("/incidents/new").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        viewer
            .get(&format!("/incidents/{OPEN}/review/edit"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(viewer.get("/admin").await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_new_incident_form_shows_messages_beside_the_fields_then_creates_it() {
    let server = TestServer::sqlite().await;
    let editor = Browser::sign_in(&server, "editor").await;
    let reply = editor
        .post(
            "/incidents",
            &[
                ("title", ""),
                ("kind", "incident"),
                ("severity", "SEV9"),
                ("status", "active"),
                ("impact_started", "yesterday"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = reply.text();
    for field in ["title", "severity", "impact_started"] {
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "no message beside {field}"
        );
    }
    let reply = editor
        .post(
            "/incidents",
            &[
                ("title", "Checkout latency"),
                ("kind", "incident"),
                ("severity", "SEV2"),
                ("status", "active"),
                ("services", "checkout, payments"),
                ("impact_started", "2026-11-25T10:15"),
                ("tz", "Europe/Berlin"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let to = location(&reply);
    assert!(to.starts_with("/incidents/INC-2026-"), "{to}");
    let page = editor.get(&to).await.text();
    assert!(page.contains("Checkout latency") && page.contains("checkout, payments"));
    assert!(
        page.contains("datetime=\"2026-11-25T09:15:00Z\""),
        "Berlin time kept as an instant"
    );
}

#[tokio::test]
async fn saving_on_a_stale_version_shows_the_merge_view_with_both_texts() {
    let server = TestServer::sqlite().await;
    let editor = Browser::sign_in(&server, "editor").await;
    let admin = Browser::sign_in(&server, "admin").await;
    let path = format!("/incidents/{OPEN}/review");
    // Check wording without saving: the coach, without script.
    let check = editor
        .post(
            &path,
            &[
                ("version", "0"),
                ("intent", "check"),
                ("body", "The engineer should have checked the dashboard."),
            ],
        )
        .await;
    assert_eq!(check.status, StatusCode::OK);
    assert!(check.text().contains("counterfactual"), "{}", check.text());
    let first = admin
        .post(
            &path,
            &[
                ("version", "0"),
                ("body", "# Theirs\n\nAdmin wrote this.\n"),
            ],
        )
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let second = editor
        .post(
            &path,
            &[("version", "0"), ("body", "# Mine\n\nEditor wrote this.\n")],
        )
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    let html = second.text();
    assert!(html.contains("Admin wrote this.") && html.contains("Editor wrote this."));
    assert!(html.contains("name=\"version\" value=\"1\""));
    assert!(html.contains("class=\"diff\""));
    let merged = editor
        .post(
            &path,
            &[
                ("version", "1"),
                ("body", "# Both\n\nAdmin wrote this.\nEditor wrote this.\n"),
            ],
        )
        .await;
    assert_eq!(merged.status, StatusCode::SEE_OTHER);
    let history = editor.get(&format!("{path}/history")).await.text();
    assert!(history.contains("admin") && history.contains("editor"));
    let diff = editor.get(&format!("{path}/diff?from=1&to=2")).await;
    assert_eq!(diff.status, StatusCode::OK);
    assert!(diff.text().contains("Editor wrote this."));
}

#[tokio::test]
async fn timeline_events_and_action_items_change_through_forms() {
    let server = TestServer::sqlite().await;
    let editor = Browser::sign_in(&server, "editor").await;
    let reply = editor
        .post(
            &format!("/incidents/{OPEN}/timeline/events"),
            &[
                ("at", "2024-03-30T23:45:00Z"),
                ("kind", "action"),
                ("actor", "maria"),
                ("text", "Restarted pgbouncer"),
                ("key_moment", "1"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let page = editor.get(&format!("/incidents/{OPEN}")).await.text();
    assert!(page.contains("Restarted pgbouncer") && page.contains("Key moment:"));
    let id = secondstory_domain::IncidentId::parse(OPEN).unwrap();
    let source_ref = server.store.events(&id).await.unwrap()[0]
        .source_ref
        .clone();
    let reply = editor
        .post(
            &format!("/incidents/{OPEN}/timeline/event"),
            &[
                ("source_ref", &source_ref),
                ("kind", "decision"),
                ("hidden", "1"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let event = &server.store.events(&id).await.unwrap()[0];
    assert!(event.hidden && !event.key_moment);
    let reply = editor
        .post(
            &format!("/incidents/{OPEN}/actions"),
            &[
                ("title", "Alert on pool saturation"),
                ("owner", "team-db"),
                ("kind", "detect"),
                ("priority", "high"),
                ("due", "2026-01-10"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let board = editor.get("/actions").await.text();
    assert!(board.contains("Alert on pool saturation") && board.contains("overdue"));
    let reply = editor
        .post(
            "/actions/status",
            &[
                ("incident", OPEN),
                ("number", "1"),
                ("status", "in-progress"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(
        server.store.actions(&id).await.unwrap()[0].status.name(),
        "in-progress"
    );
}

#[tokio::test]
async fn admins_create_tokens_that_are_shown_once() {
    let server = TestServer::sqlite().await;
    let admin = Browser::sign_in(&server, "admin").await;
    let reply = admin
        .post("/admin/tokens", &[("name", "ci"), ("scope", "read")])
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let html = reply.text();
    assert!(html.contains("shown once") && html.contains("value=\"ss_"));
    assert!(!admin.get("/admin").await.text().contains("value=\"ss_"));
    let reply = admin
        .post(
            "/admin/hooks",
            &[("source", "alertmanager"), ("name", "prod")],
        )
        .await;
    assert!(reply.text().contains("value=\"sshook_"));
    let reply = admin
        .post(
            "/admin/users",
            &[
                ("username", "newbie"),
                ("role", "viewer"),
                ("groups", "sre"),
                ("password", "long enough password"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(reply.text().contains("newbie"));
}

#[tokio::test]
async fn the_first_run_page_creates_the_administrator_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("empty.db").display());
    let store: Arc<dyn AppStore> = Arc::new(SqlStore::open(&url).await.unwrap());
    let state = AppState::new(
        store.clone(),
        ServerConfig {
            insecure_cookies: true,
            ..ServerConfig::default()
        },
        Arc::new(common::now),
    );
    let router = secondstory_server::router(state);
    let send = |request: Request<Body>| {
        let router = router.clone();
        async move {
            use tower::ServiceExt;
            let response = router.oneshot(request).await.unwrap();
            let status = response.status();
            let headers = response.headers().clone();
            let body = http_body_util::BodyExt::collect(response.into_body())
                .await
                .unwrap()
                .to_bytes()
                .to_vec();
            Reply {
                status,
                headers,
                body,
            }
        }
    };
    let signin = send(get_request("/signin", None)).await;
    assert_eq!(location(&signin), "/setup");
    let setup = send(get_request("/setup", None)).await;
    assert_eq!(setup.status, StatusCode::OK);
    assert_every_field_is_labelled("/setup", &setup.text());
    let short = send(post_request(
        "/setup",
        None,
        form_body(&[
            ("username", "root"),
            ("password", "short"),
            ("confirm", "short"),
        ]),
    ))
    .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.text().contains("id=\"password-error\""));
    let done = send(post_request(
        "/setup",
        None,
        form_body(&[
            ("username", "root"),
            ("password", "a long password"),
            ("confirm", "a long password"),
        ]),
    ))
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert!(done.headers.get(header::SET_COOKIE).is_some());
    assert_eq!(store.count_users().await.unwrap(), 1);
    let again = send(get_request("/setup", None)).await;
    assert_eq!(location(&again), "/signin");
}

/// Render times for `bench/ui.sh` (run with `--ignored --nocapture`, in release): the incident
/// page with 5,000 events, the list over 10,000 incidents, and a lint round-trip for 20 KB.
#[tokio::test]
#[ignore = "a benchmark: run through bench/ui.sh"]
async fn bench_ui_render_times() {
    use secondstory_domain::incident::NewIncident;
    use secondstory_domain::*;
    let server = TestServer::sqlite().await;
    let id = IncidentId::parse(OPEN).unwrap();
    let start = jiff::Timestamp::from_second(1_711_842_118).unwrap();
    let events: Vec<TimelineEvent> = (0..5_000)
        .map(|i| TimelineEvent {
            at: RecordedTime::utc(
                start
                    .checked_add(jiff::SignedDuration::from_secs(i * 3))
                    .unwrap(),
            ),
            source: EventSource::parse(
                ["slack", "pagerduty", "alertmanager", "git", "manual"][i as usize % 5],
            )
            .unwrap(),
            source_ref: format!("bench:{i}"),
            actor: Some(format!("person{}", i % 17)),
            kind: EventKind::Observation,
            text: format!(
                "Event number {i}: connection pool at {}% and rising",
                i % 100
            ),
            key_moment: i % 500 == 0,
            hidden: false,
            evidence_url: None,
        })
        .collect();
    server.store.add_events(&id, &events).await.unwrap();
    for n in 0..10_000 {
        let incident = Incident::new(
            NewIncident {
                id: IncidentId::numbered("BEN", 2025, n + 1).unwrap(),
                title: format!("Bench incident {n}"),
                kind: IncidentKind::Incident,
                severity: SeverityScale::default().severity("SEV3").unwrap(),
                status: IncidentStatus::Active,
                services: vec!["orders-api".into()],
                tags: vec![],
                visibility: Visibility::Everyone,
                times: IncidentTimes::default(),
                summary: String::new(),
            },
            common::now(),
        )
        .unwrap();
        server.store.create_incident(&incident).await.unwrap();
    }
    let editor = Browser::sign_in(&server, "editor").await;
    let measure = |samples: &mut Vec<f64>| {
        samples.sort_by(|a, b| a.total_cmp(b));
        (
            samples[samples.len() / 2],
            samples[samples.len() * 95 / 100],
        )
    };
    for (name, path) in [
        ("incident page, 5,000 events", format!("/incidents/{OPEN}")),
        (
            "incident list, 10,000 incidents (page 1)",
            "/incidents".to_owned(),
        ),
        (
            "incident list, 10,000 incidents, search + sort",
            "/incidents?q=incident+99&sort=title".to_owned(),
        ),
    ] {
        let mut samples = Vec::new();
        for _ in 0..20 {
            let t = std::time::Instant::now();
            let reply = editor.get(&path).await;
            samples.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(reply.status, StatusCode::OK);
        }
        let (median, p95) = measure(&mut samples);
        println!("| {name} | {median:.1} ms | {p95:.1} ms |");
    }
    let paragraph = "At 23:41 the orders API began returning write errors; the on-call engineer \
        checked the pool dashboard, which showed saturation, and the team decided to fail over. ";
    let mut review = String::from("# Review\n\n## Summary\n\n");
    while review.len() < 20 * 1024 {
        review.push_str(paragraph);
        review.push_str(
            "The engineer should have checked the dashboard. The fix was simply to restart.\n\n",
        );
    }
    let body = serde_json::to_vec(&serde_json::json!({ "text": review })).unwrap();
    let mut samples = Vec::new();
    for _ in 0..50 {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/lint")
            .header(header::HOST, "localhost")
            .header(header::ORIGIN, "http://localhost")
            .header(header::COOKIE, &editor.cookie)
            .header("x-csrf-token", &editor.csrf)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.clone()))
            .unwrap();
        let t = std::time::Instant::now();
        let reply = server.raw(request).await;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let (median, p95) = measure(&mut samples);
    println!(
        "| lint round-trip, {} KB review | {median:.1} ms | {p95:.1} ms |",
        review.len() / 1024
    );
}
