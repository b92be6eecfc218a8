//! The Second Story server: REST API (with its OpenAPI document), accounts and access,
//! webhooks for live alerts, and the web UI, over the same store the CLI uses.
//!
//! Stateless by design: sessions, rate limits and search live in the database, so several
//! `secondstory serve` processes on one PostgreSQL behave as one. The binary (`secondstory serve`)
//! builds a [`ServerConfig`], opens the store and calls [`serve`].

pub mod api;
pub mod auth;
pub mod crypto;
pub mod error;
pub mod hooks;
pub mod oidc;
pub mod ops;
pub mod state;
pub mod ui;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, StatusCode};
use axum::routing::get;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

pub use state::{AppState, Clock, HookRule, OidcConfig, ServerConfig, system_clock};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The OpenAPI document and the API routes.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let mut openapi = utoipa::openapi::OpenApiBuilder::new()
        .info(
            utoipa::openapi::InfoBuilder::new()
                .title("Second Story API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Blameless post-incident reviews: incidents, timelines, reviews, contributing \
                     factors, action items. Errors are RFC 9457 problem details.",
                ))
                .build(),
        )
        .build();
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::SESSION_COOKIE))),
    );
    let (router, openapi) = OpenApiRouter::with_openapi(openapi)
        .merge(api::routes())
        .merge(hooks::routes())
        .split_for_parts();
    let mut openapi = openapi;
    error::document_rejections(&mut openapi);
    (router, openapi)
}

/// The whole application: API, OpenAPI document, operations endpoints and middleware.
pub fn router(state: AppState) -> Router {
    let (api_router, openapi) = api();
    let openapi_json = serde_json::to_string(&openapi).unwrap_or_default();
    let max_body = state.config.max_body_bytes;
    Router::new()
        .merge(api_router)
        .merge(ui::routes())
        .merge(oidc::routes())
        .route(
            "/api/openapi.json",
            get(move || {
                let body = openapi_json.clone();
                async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], body) }
            }),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(|| async { error::ApiError::new(StatusCode::NOT_FOUND, "no such endpoint") })
        .layer(axum::middleware::from_fn(error::problem_for_rejections))
        .layer(axum::middleware::from_fn(ops::record_metrics))
        .layer(axum::middleware::from_fn(ops::security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(120)))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// Serves until `shutdown` resolves; requests in flight then finish before this returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    ops::metrics_handle();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
