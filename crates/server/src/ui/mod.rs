//! The web UI: server-rendered pages (askama templates in `crates/server/templates/`) that work
//! without JavaScript, enhanced by our own small script and stylesheet in `crates/server/static/`.
//!
//! Pages read and write through the store directly, with the same rules as the API next door
//! (`crate::api`): a [`Principal`] from the session, roles checked first, incidents reached only
//! through [`crate::api::visible_incident`] so a restricted incident is the same 404 page as a
//! missing one. Every form posts a hidden `csrf_token` that must match the session's (the
//! [`Caller`] extractor has already checked the Origin). Problems render as a page, never JSON.

mod actions;
mod admin;
mod diff;
mod incidents;
mod review;
mod session;
mod timeline;
mod view;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use secondstory_store::{Role, StoreError};

use crate::auth::{Caller, Credential, Principal};
use crate::crypto;
use crate::error::{ApiError, FieldError};
use crate::state::AppState;

pub use view::{Chrome, TimeView};

/// Every UI route. Merged into the application router before the API's fallback.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/incidents") }))
        .route("/static/{file}", get(static_file))
        .route("/signin", get(session::signin_page).post(session::signin))
        .route("/signout", post(session::signout))
        .route("/setup", get(session::setup_page).post(session::setup))
        .route("/incidents", get(incidents::list).post(incidents::create))
        .route("/incidents/new", get(incidents::new_page))
        .route("/incidents/{id}", get(incidents::show))
        .route("/incidents/{id}/actions", post(actions::add))
        .route("/incidents/{id}/review", post(review::save))
        .route("/incidents/{id}/review/edit", get(review::editor))
        .route("/incidents/{id}/review/history", get(review::history))
        .route("/incidents/{id}/review/diff", get(review::diff))
        .route("/incidents/{id}/timeline", get(timeline::editor))
        .route("/incidents/{id}/timeline/events", post(timeline::add_event))
        .route(
            "/incidents/{id}/timeline/event",
            post(timeline::change_event),
        )
        .route("/incidents/{id}/timeline/import", post(timeline::import))
        .route("/actions", get(actions::board))
        .route("/actions/status", post(actions::update_status))
        .route("/admin", get(admin::page_get))
        .route("/admin/users", post(admin::create_user))
        .route("/admin/users/{user}", post(admin::update_user))
        .route("/admin/tokens", post(admin::create_token))
        .route("/admin/tokens/{token}/revoke", post(admin::revoke_token))
        .route("/admin/hooks", post(admin::create_hook))
        .route("/admin/hooks/{token}/revoke", post(admin::revoke_hook))
}

const APP_CSS: &str = include_str!("../../static/app.css");
const APP_JS: &str = include_str!("../../static/app.js");
const FAVICON: &[u8] = include_bytes!("../../static/favicon.svg");

/// Our stylesheet, script and icon. Names are stable, so caches revalidate daily rather than
/// keeping a stale script for a year.
async fn static_file(Path(file): Path<String>) -> Response {
    let (body, content_type): (&'static [u8], &str) = match file.as_str() {
        "app.css" => (APP_CSS.as_bytes(), "text/css; charset=utf-8"),
        "app.js" => (APP_JS.as_bytes(), "text/javascript; charset=utf-8"),
        "favicon.svg" => (FAVICON, "image/svg+xml"),
        _ => return UiError::not_found("file", &file).into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

/// A problem, shown as a page.
#[derive(Debug)]
pub struct UiError {
    pub status: StatusCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
}

impl UiError {
    pub fn not_found(what: &str, key: &str) -> Self {
        ApiError::not_found(what, key).into()
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::bad_request(detail).into()
    }
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        UiError {
            status: e.status,
            detail: e.detail,
            errors: e.errors,
        }
    }
}

impl From<StoreError> for UiError {
    fn from(e: StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<secondstory_domain::ValidationError> for UiError {
    fn from(e: secondstory_domain::ValidationError) -> Self {
        ApiError::from(e).into()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    chrome: Chrome,
    status: u16,
    reason: String,
    detail: String,
    errors: Vec<FieldError>,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let reason = self.status.canonical_reason().unwrap_or("Error").to_owned();
        let page = ErrorPage {
            chrome: Chrome::anonymous(&reason),
            status: self.status.as_u16(),
            reason,
            detail: self.detail,
            errors: self.errors,
        };
        let mut response = match page.render() {
            Ok(html) => (self.status, html).into_response(),
            Err(_) => (self.status, "error").into_response(),
        };
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        response
    }
}

pub type UiResult<T> = Result<T, UiError>;

/// A rendered page (askama template) as a response.
pub fn page<T: Template>(template: T) -> Response {
    page_with_status(StatusCode::OK, template)
}

/// A page with a status other than 200 (a form re-shown with its errors, the merge view).
pub fn page_with_status<T: Template>(status: StatusCode, template: T) -> Response {
    match template.render() {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            UiError::from(ApiError::internal()).into_response()
        }
    }
}

/// A signed-in person on a page; signed-out visitors are sent to the sign-in page and back.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Principal);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state)
            .await
            .map_err(|e| UiError::from(e).into_response())?;
        match caller.principal {
            Some(principal) => Ok(SignedIn(principal)),
            None => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_owned();
                Err(
                    Redirect::to(&format!("/signin?next={}", view::url_encode(&next)))
                        .into_response(),
                )
            }
        }
    }
}

impl SignedIn {
    /// The person, if their role is at least `role`; otherwise a 403 page saying what is needed.
    pub fn at_least(&self, role: Role) -> UiResult<&Principal> {
        if self.0.user.role < role {
            return Err(ApiError::forbidden(format!(
                "this needs the {role} role; you are {}",
                self.0.user.role
            ))
            .into());
        }
        Ok(&self.0)
    }

    /// The page chrome (navigation, CSRF token for forms and scripts) for this person.
    pub fn chrome(&self, title: impl Into<String>, section: &'static str) -> Chrome {
        Chrome::for_user(&self.0, title.into(), section)
    }
}

/// A form's `csrf_token` must be the session's. Requests with an API token are not from a
/// browser form and carry no ambient credential, so they need none.
pub fn check_csrf(who: &Principal, sent: &str) -> UiResult<()> {
    match &who.credential {
        Credential::Session { csrf_token, .. } if crypto::same_secret(sent, csrf_token) => Ok(()),
        Credential::Token { .. } => Ok(()),
        _ => Err(ApiError::forbidden(
            "this form has expired or did not come from this site (missing or wrong csrf_token); \
             reload the page and try again",
        )
        .into()),
    }
}

/// Where to go after a form: a local path only, never another site.
pub fn local_path(next: Option<&str>, default: &str) -> String {
    match next {
        Some(next) if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') => {
            next.to_owned()
        }
        _ => default.to_owned(),
    }
}

/// 303 See Other: the answer to a successful form post.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}
