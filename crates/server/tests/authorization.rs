//! The authorization matrix: every operation of the router's own OpenAPI document × every kind of
//! caller × an open and a restricted incident, with the status each must get.
//!
//! The policy table below is the specification. An operation in the router that is not in the
//! table fails the test (decide its policy and add it); so does a table entry the router lacks.
//! Expected outcomes: anonymous → 401 (except public operations); a role too low → 403 (the
//! viewer signs in with a read-only token, so an unsafe method is 403 for them too); the
//! outsider (an editor in another group) on the restricted incident → 404 with the same body as
//! an incident that does not exist; otherwise not 401/403/404 and never 5xx. Webhooks
//! authenticate with webhook tokens, never user tokens: 401 for everyone here.

mod common;

use axum::http::Method;
use common::{OPEN, RESTRICTED, TestServer, Who};
use secondstory_domain::{
    ActionItem, ActionKind, ActionStatus, EventKind, EventSource, IncidentId, Priority,
    RecordedTime, TimelineEvent,
};
use secondstory_server::crypto;
use secondstory_store::{NewUser, Role, TokenScope};
use serde_json::{Value, json};

const MISSING: &str = "INC-2099-0001";
const EVENT_REF: &str = "setup:1";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    /// Anyone, signed in or not.
    Public,
    /// At least this role (and a write-scoped credential for unsafe methods).
    Role(Role),
    /// Webhook senders with a webhook token; user credentials are refused.
    Hook,
}

use Policy::{Hook, Public};
const VIEWER: Policy = Policy::Role(Role::Viewer);
const EDITOR: Policy = Policy::Role(Role::Editor);
const ADMIN: Policy = Policy::Role(Role::Admin);

/// Every operation's policy. A path ending in `/*` covers every path below it (webhooks, whose
/// endpoints another module defines) and may match nothing yet.
const POLICIES: &[(&str, &str, Policy)] = &[
    ("POST", "/api/v1/session", Public),
    ("GET", "/api/v1/session", VIEWER),
    ("DELETE", "/api/v1/session", VIEWER),
    ("GET", "/api/v1/incidents", VIEWER),
    ("POST", "/api/v1/incidents", EDITOR),
    ("GET", "/api/v1/incidents/{id}", VIEWER),
    ("PATCH", "/api/v1/incidents/{id}", EDITOR),
    ("DELETE", "/api/v1/incidents/{id}", EDITOR),
    ("POST", "/api/v1/incidents/{id}/restore", EDITOR),
    ("GET", "/api/v1/incidents/{id}/events", VIEWER),
    ("POST", "/api/v1/incidents/{id}/events", EDITOR),
    (
        "PATCH",
        "/api/v1/incidents/{id}/events/{source_ref}",
        EDITOR,
    ),
    ("POST", "/api/v1/incidents/{id}/events/import", EDITOR),
    ("GET", "/api/v1/incidents/{id}/review", VIEWER),
    ("PUT", "/api/v1/incidents/{id}/review", EDITOR),
    ("GET", "/api/v1/incidents/{id}/review/revisions", VIEWER),
    (
        "GET",
        "/api/v1/incidents/{id}/review/revisions/{number}",
        VIEWER,
    ),
    ("GET", "/api/v1/incidents/{id}/review/diff", VIEWER),
    ("GET", "/api/v1/incidents/{id}/review/html", VIEWER),
    ("GET", "/api/v1/incidents/{id}/actions", VIEWER),
    ("POST", "/api/v1/incidents/{id}/actions", EDITOR),
    ("GET", "/api/v1/incidents/{id}/actions/{number}", VIEWER),
    ("PATCH", "/api/v1/incidents/{id}/actions/{number}", EDITOR),
    ("DELETE", "/api/v1/incidents/{id}/actions/{number}", EDITOR),
    (
        "POST",
        "/api/v1/incidents/{id}/actions/{number}/restore",
        EDITOR,
    ),
    ("GET", "/api/v1/actions", VIEWER),
    ("GET", "/api/v1/incidents/{id}/factors", VIEWER),
    ("POST", "/api/v1/incidents/{id}/factors", EDITOR),
    ("GET", "/api/v1/incidents/{id}/participants", VIEWER),
    ("POST", "/api/v1/incidents/{id}/participants", EDITOR),
    ("GET", "/api/v1/search", VIEWER),
    ("GET", "/api/v1/incidents/{id}/export", VIEWER),
    ("POST", "/api/v1/import", EDITOR),
    ("POST", "/api/v1/lint", VIEWER),
    ("GET", "/api/v1/users", ADMIN),
    ("POST", "/api/v1/users", ADMIN),
    ("PATCH", "/api/v1/users/{id}", ADMIN),
    ("POST", "/api/v1/users/{id}/password", ADMIN),
    ("GET", "/api/v1/tokens", VIEWER),
    ("POST", "/api/v1/tokens", VIEWER),
    ("DELETE", "/api/v1/tokens/{id}", VIEWER),
    ("GET", "/api/v1/audit", ADMIN),
    ("GET", "/api/v1/hook-tokens", ADMIN),
    ("POST", "/api/v1/hook-tokens", ADMIN),
    ("DELETE", "/api/v1/hook-tokens/{id}", ADMIN),
    ("*", "/api/v1/hooks/*", Hook),
];

fn covers(entry_method: &str, entry_path: &str, method: &str, path: &str) -> bool {
    let method_ok = entry_method == "*" || entry_method == method;
    let path_ok = match entry_path.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => entry_path == path,
    };
    method_ok && path_ok
}

/// Every (method, path) of the router, from its OpenAPI document.
fn operations() -> Vec<(String, String)> {
    let doc = serde_json::to_value(secondstory_server::api().1).expect("OpenAPI as JSON");
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ] {
            if item.get(method).is_some() {
                ops.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

fn policy_of(method: &str, path: &str) -> Option<Policy> {
    POLICIES
        .iter()
        .find(|(m, p, _)| covers(m, p, method, path))
        .map(|(_, _, policy)| *policy)
}

#[test]
fn the_policy_table_and_the_router_list_the_same_operations() {
    let ops = operations();
    let unlisted: Vec<String> = ops
        .iter()
        .filter(|(m, p)| policy_of(m, p).is_none())
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert!(
        unlisted.is_empty(),
        "operations in the router without a policy in tests/authorization.rs (add them to \
         POLICIES): {unlisted:#?}"
    );
    let stale: Vec<String> = POLICIES
        .iter()
        .filter(|(_, p, _)| !p.ends_with('*'))
        .filter(|(m, p, _)| !ops.iter().any(|(om, op)| om == m && op == p))
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    assert!(
        stale.is_empty(),
        "policies for operations the router does not have (remove them): {stale:#?}"
    );
}

/// What each request needs besides the path: a body, a query, a content type.
struct Request {
    path: String,
    body: Option<Vec<u8>>,
    content_type: &'static str,
    headers: Vec<(String, String)>,
}

struct Fixture {
    subject_id: i64,
    counter: std::cell::Cell<u32>,
    import_document: String,
}

impl Fixture {
    fn next(&self) -> u32 {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        n
    }
}

async fn setup(server: &TestServer) -> Fixture {
    let store = &server.store;
    for id in [OPEN, RESTRICTED] {
        let id = IncidentId::parse(id).expect("id");
        let event = TimelineEvent {
            at: RecordedTime::parse("at", "2024-03-31T00:00:00Z").expect("time"),
            source: EventSource::parse("manual").expect("source"),
            source_ref: EVENT_REF.into(),
            actor: Some("setup".into()),
            kind: EventKind::Observation,
            text: "Replication lag rose".into(),
            key_moment: false,
            hidden: false,
            evidence_url: None,
        };
        store.add_events(&id, &[event]).await.expect("event");
        store
            .save_review(&id, 0, "# Review\n\nFirst draft.\n", "setup", common::now())
            .await
            .expect("review");
        store
            .add_action(
                &id,
                &ActionItem {
                    number: 0,
                    title: "Alert on replication lag".into(),
                    description: String::new(),
                    kind: ActionKind::Detect,
                    owner: "team-db".into(),
                    priority: Priority::High,
                    due: None,
                    status: ActionStatus::Open,
                    external_url: None,
                    version: 0,
                },
            )
            .await
            .expect("action");
    }
    let subject = store
        .create_user(
            &NewUser {
                username: "subject".into(),
                display_name: "Subject".into(),
                role: Role::Viewer,
                groups: vec![],
                password_hash: crypto::hash_password("subject-password").expect("hash"),
            },
            common::now(),
        )
        .await
        .expect("user");
    let record = store
        .record(&IncidentId::parse(OPEN).expect("id"))
        .await
        .expect("record");
    Fixture {
        subject_id: subject.id,
        counter: Default::default(),
        import_document: secondstory_review::write_json(&record),
    }
}

async fn user_id(server: &TestServer, who: Who) -> Option<i64> {
    let name = who.username()?;
    Some(server.store.user_by_name(name).await.expect("user").0.id)
}

/// The request for one operation by `who` on incident `id`, with whatever the operation needs
/// to get past validation, so what is measured is the authorization outcome.
async fn request(
    server: &TestServer,
    fixture: &Fixture,
    method: &str,
    template: &str,
    id: &str,
    who: Who,
) -> Request {
    let store = &server.store;
    let incident = IncidentId::parse(id).expect("id");
    let mut path = template
        .replace("{id}", id)
        .replace("{source_ref}", EVENT_REF)
        .replace("{number}", "1");
    let mut headers = Vec::new();
    let json = |v: Value| Some(serde_json::to_vec(&v).expect("json"));
    let mut content_type = "application/json";
    let body = match (method, template) {
        ("POST", "/api/v1/session") => {
            json(json!({"username": "viewer", "password": "viewer-password"}))
        }
        ("POST", "/api/v1/incidents") => {
            json(json!({"title": "Checkout errors", "severity": "SEV3"}))
        }
        ("PATCH", "/api/v1/incidents/{id}") => {
            if let Ok(i) = store.incident(&incident).await {
                headers.push(("if-match".into(), format!("\"incident-{}\"", i.version)));
            }
            json(json!({"summary": "Writes failed for 20 minutes."}))
        }
        ("POST", "/api/v1/incidents/{id}/events") => json(
            json!({"at": "2024-03-31T00:05:00Z", "text": "Paged the DBA", "kind": "communication"}),
        ),
        ("PATCH", "/api/v1/incidents/{id}/events/{source_ref}") => {
            json(json!({"key_moment": true}))
        }
        ("POST", "/api/v1/incidents/{id}/events/import") => {
            path.push_str("?format=jsonl");
            content_type = "application/octet-stream";
            Some(
                format!(
                    "{{\"time\": \"2024-03-31T00:{:02}:00Z\", \"text\": \"Imported line\"}}\n",
                    fixture.next() % 60
                )
                .into_bytes(),
            )
        }
        ("PUT", "/api/v1/incidents/{id}/review") => {
            if let Ok(r) = store.review(&incident).await {
                headers.push(("if-match".into(), format!("\"review-{}\"", r.version)));
            }
            json(json!({"markdown": format!("# Review\n\nDraft {}.\n", fixture.next())}))
        }
        ("GET", "/api/v1/incidents/{id}/review/diff") => {
            path.push_str("?from=0&to=1");
            None
        }
        ("POST", "/api/v1/incidents/{id}/actions") => {
            json(json!({"title": "Document the failover", "owner": "team-db"}))
        }
        ("PATCH", "/api/v1/incidents/{id}/actions/{number}") => {
            if let Ok(actions) = store.actions(&incident).await
                && let Some(a) = actions.iter().find(|a| a.number == 1)
            {
                headers.push(("if-match".into(), format!("\"action-{}\"", a.version)));
            }
            json(json!({"priority": "medium"}))
        }
        ("POST", "/api/v1/incidents/{id}/factors") => json(
            json!({"category": "change", "description": "A config change", "events": [EVENT_REF]}),
        ),
        ("POST", "/api/v1/incidents/{id}/participants") => {
            json(json!({"name": "Ana", "role": "incident commander"}))
        }
        ("GET", "/api/v1/search") => {
            path.push_str("?q=incident");
            None
        }
        ("POST", "/api/v1/import") => Some(fixture.import_document.clone().into_bytes()),
        ("POST", "/api/v1/lint") => json(json!({"text": "The deploy went out at noon."})),
        ("POST", "/api/v1/users") => json(json!({"username": format!("new{}", fixture.next()),
            "role": "viewer", "password": "a-long-enough-password"})),
        ("PATCH", "/api/v1/users/{id}") => {
            path = path.replace(id, &fixture.subject_id.to_string());
            json(json!({"display_name": "Subject Person"}))
        }
        ("POST", "/api/v1/users/{id}/password") => {
            path = path.replace(id, &fixture.subject_id.to_string());
            json(json!({"password": "another-long-password"}))
        }
        ("POST", "/api/v1/tokens") => json(json!({"name": "laptop", "scope": "read"})),
        ("DELETE", "/api/v1/tokens/{id}") => {
            // A fresh token of the caller's own, so the outcome is about permission.
            let owner = match user_id(server, who).await {
                Some(owner) => owner,
                None => fixture.subject_id,
            };
            let token = store
                .create_token(
                    owner,
                    "spare",
                    TokenScope::Read,
                    &crypto::token_hash(&crypto::random_token("ss_")),
                    common::now(),
                )
                .await
                .expect("token");
            path = path.replace(id, &token.id.to_string());
            None
        }
        ("POST", "/api/v1/hook-tokens") => json(json!({"source": "grafana", "name": "prod"})),
        ("DELETE", "/api/v1/hook-tokens/{id}") => {
            let token = store
                .create_hook_token(
                    "grafana",
                    "spare",
                    &crypto::token_hash(&crypto::random_token("sshook_")),
                    common::now(),
                )
                .await
                .expect("hook token");
            path = path.replace(id, &token.id.to_string());
            None
        }
        (_, p) if p.starts_with("/api/v1/hooks/") => json(json!({})),
        _ => None,
    };
    Request {
        path,
        body,
        content_type,
        headers,
    }
}

async fn send(server: &TestServer, method: &str, request: &Request, who: Who) -> common::Reply {
    let mut builder = axum::http::Request::builder()
        .method(Method::from_bytes(method.as_bytes()).expect("method"))
        .uri(&request.path);
    if let Some(token) = server.token(who) {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let body = match &request.body {
        Some(bytes) => {
            builder = builder.header("content-type", request.content_type);
            axum::body::Body::from(bytes.clone())
        }
        None => axum::body::Body::empty(),
    };
    server.raw(builder.body(body).expect("request")).await
}

/// Undo what a request may have done that would change later outcomes.
async fn reset(server: &TestServer) {
    for id in [OPEN, RESTRICTED] {
        let id = IncidentId::parse(id).expect("id");
        server
            .store
            .set_incident_archived(&id, None)
            .await
            .expect("restore incident");
        server
            .store
            .set_action_archived(&id, 1, None)
            .await
            .expect("restore action");
    }
}

fn expected(policy: Policy, method: &str, who: Who, restricted: bool) -> Result<u16, &'static str> {
    let unsafe_method = !matches!(method, "GET" | "HEAD" | "OPTIONS");
    match policy {
        Policy::Hook => Ok(401),
        Policy::Public => Err("allowed"),
        Policy::Role(role) => {
            let Some(name) = who.username() else {
                return Ok(401);
            };
            let has = match name {
                "admin" => Role::Admin,
                "editor" | "outsider" => Role::Editor,
                _ => Role::Viewer,
            };
            // The viewer's credential is a read-only token.
            if has < role || (who == Who::Viewer && unsafe_method) {
                Ok(403)
            } else if who == Who::Outsider && restricted {
                Ok(404)
            } else {
                Err("allowed")
            }
        }
    }
}

#[tokio::test]
async fn every_operation_answers_every_caller_as_the_policy_says() {
    for server in TestServer::all().await {
        let fixture = setup(&server).await;
        let mut failures = Vec::new();
        let mut checked = 0;
        for (method, template) in operations() {
            let policy = policy_of(&method, &template)
                .unwrap_or_else(|| panic!("{method} {template} has no policy"));
            let scoped = template.starts_with("/api/v1/incidents/{id}");
            let incidents: &[&str] = if scoped { &[OPEN, RESTRICTED] } else { &[OPEN] };
            for &incident in incidents {
                let restricted = incident == RESTRICTED;
                for who in Who::ALL {
                    let req = request(&server, &fixture, &method, &template, incident, who).await;
                    let reply = send(&server, &method, &req, who).await;
                    reset(&server).await;
                    checked += 1;
                    let status = reply.status.as_u16();
                    let label = format!("[{}] {method} {} as {who:?}", server.backend, req.path);
                    match expected(policy, &method, who, restricted) {
                        Ok(want) if status != want => failures.push(format!(
                            "{label}: expected {want}, got {status}: {}",
                            reply.text()
                        )),
                        Ok(404) => {
                            // Exactly what a missing incident gets, but for the id itself.
                            let missing_req =
                                request(&server, &fixture, &method, &template, MISSING, who).await;
                            let missing = send(&server, &method, &missing_req, who).await;
                            reset(&server).await;
                            if missing.status != reply.status
                                || missing.text().replace(MISSING, "ID")
                                    != reply.text().replace(RESTRICTED, "ID")
                            {
                                failures.push(format!(
                                    "{label}: the restricted incident's 404 differs from a \
                                     missing one's: {} vs {}",
                                    reply.text(),
                                    missing.text()
                                ));
                            }
                        }
                        Ok(_) => {}
                        Err(_) => {
                            if matches!(status, 401 | 403 | 404) || status >= 500 {
                                failures.push(format!(
                                    "{label}: expected to be allowed, got {status}: {}",
                                    reply.text()
                                ));
                            }
                        }
                    }
                }
            }
        }
        assert!(
            checked > 200,
            "only {checked} requests: is the table empty?"
        );
        assert!(
            failures.is_empty(),
            "{} of {checked} checks failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}
