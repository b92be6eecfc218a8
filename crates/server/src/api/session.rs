//! `/api/v1/session`: sign in (rate-limited per account and per address), who am I, sign out.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Caller, Credential, PeerAddr, session_cookie};
use crate::crypto;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sign_in, current_session, sign_out))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionBody {
    pub username: String,
    pub display_name: String,
    /// viewer, editor or admin.
    pub role: String,
    pub groups: Vec<String>,
    /// Send as `X-CSRF-Token` with every change made with this session.
    pub csrf_token: Option<String>,
}

/// What signing in did, for callers that are not the JSON API (the sign-in page).
#[derive(Debug)]
pub enum SignInOutcome {
    SignedIn { cookie: String, body: SessionBody },
    Refused(ApiError),
}

/// Checks a username and password, counting the attempt against the account and the address.
pub async fn attempt_sign_in(
    state: &AppState,
    peer: Option<SocketAddr>,
    username: &str,
    password: &str,
) -> ApiResult<(String, SessionBody)> {
    let now = state.now();
    let window_secs = state.config.login_window.as_secs().max(1);
    let window_start =
        jiff::Timestamp::from_second(now.as_second() - now.as_second().rem_euclid(window_secs))
            .unwrap_or(now);
    let limit = state.config.login_attempts_per_window;
    let account_key = format!("login:user:{}", username.to_lowercase());
    let mut over = state
        .store
        .count_attempt(&account_key, window_start)
        .await?
        > limit;
    if let Some(peer) = peer {
        over |= state
            .store
            .count_attempt(&format!("login:addr:{}", peer.ip()), window_start)
            .await?
            > limit;
    }
    if over {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many sign-in attempts; try again in up to {} minutes",
                window_secs / 60
            ),
        ));
    }
    let found = state.store.user_by_name(username).await;
    let (user, hash) = match found {
        Ok(found) => found,
        Err(_) => {
            // Spend the same time as a real check, so response time does not reveal accounts.
            crypto::verify_password(password, crypto::decoy_hash());
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "wrong username or password",
            ));
        }
    };
    if !crypto::verify_password(password, &hash) || user.disabled {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "wrong username or password",
        ));
    }
    state.store.clear_attempts(&account_key).await?;
    start_session(state, &user).await
}

/// Starts a session for a user who proved who they are (password or single sign-on): the
/// `Set-Cookie` value and what the session API reports.
pub async fn start_session(
    state: &AppState,
    user: &secondstory_store::User,
) -> ApiResult<(String, SessionBody)> {
    let now = state.now();
    let token = crypto::random_token("");
    let csrf = crypto::random_token("");
    let expires = now
        .saturating_add(state.config.session_lifetime)
        .unwrap_or(now);
    state
        .store
        .create_session(&crypto::token_hash(&token), user.id, &csrf, now, expires)
        .await?;
    let body = SessionBody {
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        role: user.role.to_string(),
        groups: user.groups.clone(),
        csrf_token: Some(csrf),
    };
    Ok((session_cookie(state, Some(&token)), body))
}

fn with_cookie(cookie: &str, response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Sign in with a username and password; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = SignIn,
    responses((status = 200, body = SessionBody), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn sign_in(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    Json(body): Json<SignIn>,
) -> ApiResult<Response> {
    let (cookie, session) = attempt_sign_in(&state, peer, &body.username, &body.password).await?;
    Ok(with_cookie(&cookie, Json(session)))
}

/// Who is signed in (and the CSRF token for a browser session).
#[utoipa::path(get, path = "/api/v1/session", tag = "session",
    responses((status = 200, body = SessionBody), (status = 401, body = Problem)))]
pub async fn current_session(caller: Caller) -> ApiResult<Json<SessionBody>> {
    let who = caller.viewer()?;
    Ok(Json(SessionBody {
        username: who.user.username.clone(),
        display_name: who.user.display_name.clone(),
        role: who.user.role.to_string(),
        groups: who.user.groups.clone(),
        csrf_token: who.csrf_token().map(str::to_owned),
    }))
}

/// Sign out: ends the session and clears the cookie.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session",
    responses((status = 204), (status = 401, body = Problem)))]
pub async fn sign_out(
    State(state): State<AppState>,
    caller: Caller,
    _headers: HeaderMap,
) -> ApiResult<Response> {
    let who = caller.viewer()?;
    if let Credential::Session { token_hash, .. } = &who.credential {
        state.store.delete_session(token_hash).await?;
    }
    Ok(with_cookie(
        &session_cookie(&state, None),
        StatusCode::NO_CONTENT,
    ))
}
