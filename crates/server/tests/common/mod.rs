//! A server on a scratch database with a known cast, driven in-process (no sockets).
//!
//! The cast: `admin`; `editor` and `viewer` in group `sre`; `outsider`, an editor in group
//! `payments`. Each has a write (editor/admin) or read (viewer) API token. Two incidents:
//! `INC-2024-0001` open to everyone and `INC-2024-0002` restricted to `sre`.
#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use secondstory_domain::incident::NewIncident;
use secondstory_domain::*;
use secondstory_server::{AppState, ServerConfig, crypto};
use secondstory_store::{AppStore, NewUser, Role, TokenScope};
use secondstory_store_sql::{SqlStore, testing};
use tower::ServiceExt;

pub const NOW: &str = "2026-11-25T12:00:00Z";
pub const OPEN: &str = "INC-2024-0001";
pub const RESTRICTED: &str = "INC-2024-0002";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Anonymous,
    Viewer,
    Editor,
    Admin,
    Outsider,
}

impl Who {
    pub const ALL: [Who; 5] = [
        Who::Anonymous,
        Who::Viewer,
        Who::Editor,
        Who::Admin,
        Who::Outsider,
    ];

    pub fn username(self) -> Option<&'static str> {
        match self {
            Who::Anonymous => None,
            Who::Viewer => Some("viewer"),
            Who::Editor => Some("editor"),
            Who::Admin => Some("admin"),
            Who::Outsider => Some("outsider"),
        }
    }
}

pub struct TestServer {
    pub router: Router,
    pub state: AppState,
    pub store: Arc<dyn AppStore>,
    pub tokens: Vec<(Who, String)>,
    pub backend: &'static str,
    _dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn now() -> jiff::Timestamp {
    NOW.parse().expect("time")
}

fn incident(id: &str, visibility: Visibility) -> Incident {
    Incident::new(
        NewIncident {
            id: IncidentId::parse(id).expect("id"),
            title: format!("Test incident {id}"),
            kind: IncidentKind::Incident,
            severity: SeverityScale::default().severity("SEV2").expect("sev"),
            status: IncidentStatus::Active,
            services: vec!["orders-api".into()],
            tags: vec![],
            visibility,
            times: IncidentTimes {
                impact_started: Some(RecordedTime::parse("t", "2024-03-30T23:41:58Z").expect("t")),
                ..Default::default()
            },
            summary: "Writes failed.".into(),
        },
        now(),
    )
    .expect("valid")
}

impl TestServer {
    /// A server on SQLite.
    pub async fn sqlite() -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("server.db").display());
        Self::on(
            &url,
            "sqlite",
            dir,
            ServerConfig {
                insecure_cookies: true,
                ..ServerConfig::default()
            },
        )
        .await
    }

    /// A server on a fresh PostgreSQL schema, or `None` outside CI when there is no server.
    pub async fn postgres() -> Option<TestServer> {
        let base = testing::postgres_base_url().await?;
        let url = testing::scratch_postgres_url(&base).await;
        let dir = tempfile::tempdir().expect("temp dir");
        Some(
            Self::on(
                &url,
                "postgres",
                dir,
                ServerConfig {
                    insecure_cookies: true,
                    ..ServerConfig::default()
                },
            )
            .await,
        )
    }

    /// Every available backend.
    pub async fn all() -> Vec<TestServer> {
        let mut servers = vec![Self::sqlite().await];
        servers.extend(Self::postgres().await);
        servers
    }

    pub async fn on(
        url: &str,
        backend: &'static str,
        dir: tempfile::TempDir,
        config: ServerConfig,
    ) -> TestServer {
        let store: Arc<dyn AppStore> = Arc::new(SqlStore::open(url).await.expect("open store"));
        let mut tokens = Vec::new();
        for (who, role, groups) in [
            (Who::Admin, Role::Admin, vec![]),
            (Who::Editor, Role::Editor, vec!["sre".to_owned()]),
            (Who::Viewer, Role::Viewer, vec!["sre".to_owned()]),
            (Who::Outsider, Role::Editor, vec!["payments".to_owned()]),
        ] {
            let name = who.username().expect("named");
            let user = store
                .create_user(
                    &NewUser {
                        username: name.into(),
                        display_name: name.into(),
                        role,
                        groups,
                        password_hash: crypto::hash_password(&format!("{name}-password"))
                            .expect("hash"),
                    },
                    now(),
                )
                .await
                .expect("user");
            let secret = crypto::random_token("ss_");
            let scope = if role == Role::Viewer {
                TokenScope::Read
            } else {
                TokenScope::Write
            };
            store
                .create_token(user.id, "test", scope, &crypto::token_hash(&secret), now())
                .await
                .expect("token");
            tokens.push((who, secret));
        }
        store
            .create_incident(&incident(OPEN, Visibility::Everyone))
            .await
            .expect("open incident");
        store
            .create_incident(&incident(
                RESTRICTED,
                Visibility::Restricted(vec!["sre".into()]),
            ))
            .await
            .expect("restricted incident");
        let fixed = now();
        let state = AppState::new(store.clone(), config, Arc::new(move || fixed));
        TestServer {
            router: secondstory_server::router(state.clone()),
            state,
            store,
            tokens,
            backend,
            _dir: dir,
        }
    }

    pub fn token(&self, who: Who) -> Option<&str> {
        self.tokens
            .iter()
            .find(|(w, _)| *w == who)
            .map(|(_, t)| t.as_str())
    }

    /// Sends a request as `who` (by API token) with an optional JSON body and extra headers.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        who: Who,
        body: Option<serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = self.token(who) {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(&body).expect("json"))),
            None => request.body(Body::empty()),
        }
        .expect("request");
        self.raw(request).await
    }

    pub async fn raw(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, who: Who) -> Reply {
        self.send(Method::GET, path, who, None, &[]).await
    }
}
