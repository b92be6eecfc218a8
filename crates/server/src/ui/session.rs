//! Signing in and out, and the first-run page that creates the administrator when there is no
//! account yet. Sign-in shares its rate limits and timing with the API (`attempt_sign_in`).

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use secondstory_store::{NewUser, Role};
use serde::Deserialize;

use super::{
    Chrome, SignedIn, UiResult, check_csrf, local_path, page, page_with_status, see_other,
};
use crate::api::session::attempt_sign_in;
use crate::auth::{Credential, PeerAddr, session_cookie};
use crate::crypto;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Template, WebTemplate)]
#[template(path = "signin.html")]
struct SignInPage {
    chrome: Chrome,
    next: String,
    username: String,
    error: Option<String>,
    /// Single sign-on is configured: offer it.
    sso: bool,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn signin_page(
    State(state): State<AppState>,
    Query(query): Query<NextQuery>,
) -> UiResult<Response> {
    if state.store.count_users().await? == 0 {
        return Ok(see_other("/setup"));
    }
    Ok(page(SignInPage {
        chrome: Chrome::anonymous("Sign in"),
        next: local_path(query.next.as_deref(), "/incidents"),
        username: String::new(),
        error: None,
        sso: state.config.oidc.is_some(),
    }))
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

pub async fn signin(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = local_path(form.next.as_deref(), "/incidents");
    match attempt_sign_in(&state, peer, form.username.trim(), &form.password).await {
        Ok((cookie, _)) => with_cookie(see_other(&next), &cookie),
        Err(e) => page_with_status(
            e.status,
            SignInPage {
                chrome: Chrome::anonymous("Sign in"),
                next,
                username: form.username,
                error: Some(e.detail),
                sso: state.config.oidc.is_some(),
            },
        ),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf_token: String,
}

pub async fn signout(
    State(state): State<AppState>,
    who: SignedIn,
    Form(form): Form<CsrfForm>,
) -> UiResult<Response> {
    check_csrf(&who.0, &form.csrf_token)?;
    if let Credential::Session { token_hash, .. } = &who.0.credential {
        state.store.delete_session(token_hash).await?;
    }
    Ok(with_cookie(
        see_other("/signin"),
        &session_cookie(&state, None),
    ))
}

#[derive(Template, WebTemplate)]
#[template(path = "setup.html")]
struct SetupPage {
    chrome: Chrome,
    username: String,
    display_name: String,
    errors: BTreeMap<String, String>,
}

pub async fn setup_page(State(state): State<AppState>) -> UiResult<Response> {
    if state.store.count_users().await? > 0 {
        return Ok(see_other("/signin"));
    }
    Ok(page(SetupPage {
        chrome: Chrome::anonymous("First run"),
        username: String::new(),
        display_name: String::new(),
        errors: BTreeMap::new(),
    }))
}

#[derive(Debug, Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub const MIN_PASSWORD: usize = 10;

pub async fn setup(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    Form(form): Form<SetupForm>,
) -> UiResult<Response> {
    if state.store.count_users().await? > 0 {
        // Someone finished the first run already; this page creates exactly one account.
        return Ok(see_other("/signin"));
    }
    let username = form.username.trim().to_owned();
    let mut errors = BTreeMap::new();
    if form.password.chars().count() < MIN_PASSWORD {
        errors.insert(
            "password".to_owned(),
            format!("use at least {MIN_PASSWORD} characters"),
        );
    } else if form.password != form.confirm {
        errors.insert("password".to_owned(), "the two passwords differ".to_owned());
    }
    let display_name = if form.display_name.trim().is_empty() {
        username.clone()
    } else {
        form.display_name.trim().to_owned()
    };
    let new = NewUser {
        username: username.clone(),
        display_name: display_name.clone(),
        role: Role::Admin,
        groups: Vec::new(),
        password_hash: String::new(),
    };
    if let Err(e) = new.validate() {
        errors.insert(e.field, e.message);
    }
    if !errors.is_empty() {
        return Ok(page_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            SetupPage {
                chrome: Chrome::anonymous("First run"),
                username,
                display_name: form.display_name,
                errors,
            },
        ));
    }
    let hash = crypto::hash_password(&form.password).map_err(|e| {
        tracing::error!(error = %e, "could not hash a password");
        ApiError::internal()
    })?;
    state
        .store
        .create_user(
            &NewUser {
                password_hash: hash,
                ..new
            },
            state.now(),
        )
        .await?;
    let (cookie, _) = attempt_sign_in(&state, peer, &username, &form.password).await?;
    Ok(with_cookie(see_other("/incidents"), &cookie))
}
