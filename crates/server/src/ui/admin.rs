//! Administration: users with their roles and groups, API tokens and webhook tokens. A new
//! token's secret is shown once, in the answer to the form that created it, and never again.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use secondstory_store::{NewUser, Role, TokenScope, User};
use serde::Deserialize;

use super::session::MIN_PASSWORD;
use super::view::split_list;
use super::{Chrome, SignedIn, TimeView, UiResult, check_csrf, page, see_other};
use crate::api::audit;
use crate::crypto;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone)]
struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    role: String,
    groups: String,
    disabled: bool,
}

#[derive(Debug, Clone)]
struct TokenRow {
    id: i64,
    owner: String,
    name: String,
    scope: &'static str,
    created: TimeView,
    last_used: Option<TimeView>,
    revoked: bool,
}

#[derive(Debug, Clone)]
struct HookRow {
    id: i64,
    source: String,
    name: String,
    created: TimeView,
    revoked: bool,
}

#[derive(Debug, Clone)]
struct GroupRow {
    name: String,
    members: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin.html")]
struct AdminPage {
    chrome: Chrome,
    users: Vec<UserRow>,
    groups: Vec<GroupRow>,
    tokens: Vec<TokenRow>,
    hooks: Vec<HookRow>,
    roles: Vec<&'static str>,
    /// A secret just created: what it is for, and the secret, shown this once.
    new_secret: Option<(String, String)>,
    notice: Option<String>,
}

async fn admin_page(
    state: &AppState,
    who: &SignedIn,
    new_secret: Option<(String, String)>,
    notice: Option<String>,
) -> UiResult<AdminPage> {
    let users = state.store.users().await?;
    let name_of = |id: i64| {
        users
            .iter()
            .find(|u| u.id == id)
            .map_or_else(|| id.to_string(), |u| u.username.clone())
    };
    let mut groups: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for u in &users {
        for g in &u.groups {
            groups
                .entry(g.clone())
                .or_default()
                .push(u.username.clone());
        }
    }
    let tokens = state
        .store
        .tokens(None)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            owner: name_of(t.user_id),
            name: t.name,
            scope: t.scope.as_str(),
            created: TimeView::new(&t.created_at),
            last_used: TimeView::maybe(&t.last_used_at),
            revoked: t.revoked,
        })
        .collect();
    let hooks = state
        .store
        .hook_tokens()
        .await?
        .into_iter()
        .map(|h| HookRow {
            id: h.id,
            source: h.source,
            name: h.name,
            created: TimeView::new(&h.created_at),
            revoked: h.revoked,
        })
        .collect();
    Ok(AdminPage {
        chrome: who.chrome("Admin", "admin"),
        users: users
            .iter()
            .map(|u| UserRow {
                id: u.id,
                username: u.username.clone(),
                display_name: u.display_name.clone(),
                role: u.role.to_string(),
                groups: u.groups.join(", "),
                disabled: u.disabled,
            })
            .collect(),
        groups: groups
            .into_iter()
            .map(|(name, members)| GroupRow {
                name,
                members: members.join(", "),
            })
            .collect(),
        tokens,
        hooks,
        roles: vec!["viewer", "editor", "admin"],
        new_secret,
        notice,
    })
}

pub async fn page_get(State(state): State<AppState>, who: SignedIn) -> UiResult<Response> {
    who.at_least(Role::Admin)?;
    Ok(page(admin_page(&state, &who, None, None).await?))
}

#[derive(Debug, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    groups: String,
    #[serde(default)]
    password: String,
}

pub async fn create_user(
    State(state): State<AppState>,
    who: SignedIn,
    Form(form): Form<NewUserForm>,
) -> UiResult<Response> {
    let principal = who.at_least(Role::Admin)?;
    check_csrf(principal, &form.csrf_token)?;
    if form.password.chars().count() < MIN_PASSWORD {
        return Err(ApiError::invalid(
            "password",
            format!("use at least {MIN_PASSWORD} characters"),
        )
        .into());
    }
    let username = form.username.trim().to_owned();
    let new = NewUser {
        display_name: Some(form.display_name.trim().to_owned())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| username.clone()),
        username,
        role: form.role.parse()?,
        groups: split_list(&form.groups),
        password_hash: crypto::hash_password(&form.password).map_err(|e| {
            tracing::error!(error = %e, "could not hash a password");
            ApiError::internal()
        })?,
    };
    new.validate()?;
    let user = state.store.create_user(&new, state.now()).await?;
    audit(
        &state,
        principal,
        "user.create",
        &user.username,
        serde_json::json!({"role": user.role}),
    )
    .await;
    let notice = format!("Created {}.", user.username);
    Ok(page(admin_page(&state, &who, None, Some(notice)).await?))
}

#[derive(Debug, Deserialize)]
pub struct UpdateUserForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    groups: String,
    disabled: Option<String>,
}

pub async fn update_user(
    State(state): State<AppState>,
    who: SignedIn,
    Path(user_id): Path<i64>,
    Form(form): Form<UpdateUserForm>,
) -> UiResult<Response> {
    let principal = who.at_least(Role::Admin)?;
    check_csrf(principal, &form.csrf_token)?;
    let current = state.store.user(user_id).await?;
    let disabled = form.disabled.is_some();
    let role: Role = form.role.parse()?;
    if current.id == principal.user.id && (disabled || role != Role::Admin) {
        return Err(ApiError::invalid(
            "role",
            "you cannot remove your own admin role or disable yourself; ask another admin",
        )
        .into());
    }
    let user = User {
        display_name: Some(form.display_name.trim().to_owned())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| current.username.clone()),
        role,
        groups: split_list(&form.groups),
        disabled,
        ..current.clone()
    };
    NewUser {
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        role: user.role,
        groups: user.groups.clone(),
        password_hash: String::new(),
    }
    .validate()?;
    let saved = state.store.update_user(&user).await?;
    if saved.disabled && !current.disabled {
        state.store.delete_sessions_of(saved.id).await?;
    }
    audit(
        &state,
        principal,
        "user.update",
        &saved.username,
        serde_json::json!({"role": saved.role, "groups": saved.groups, "disabled": saved.disabled}),
    )
    .await;
    Ok(see_other(&format!("/admin#user-{}", saved.id)))
}

#[derive(Debug, Deserialize)]
pub struct NewTokenForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
    user: Option<i64>,
}

pub async fn create_token(
    State(state): State<AppState>,
    who: SignedIn,
    Form(form): Form<NewTokenForm>,
) -> UiResult<Response> {
    let principal = who.at_least(Role::Admin)?;
    check_csrf(principal, &form.csrf_token)?;
    let name = form.name.trim();
    if name.is_empty() {
        return Err(ApiError::invalid("name", "name the token after where it is used").into());
    }
    let scope: TokenScope = form.scope.parse()?;
    let owner = state
        .store
        .user(form.user.unwrap_or(principal.user.id))
        .await?;
    let secret = crypto::random_token("ss_");
    let token = state
        .store
        .create_token(
            owner.id,
            name,
            scope,
            &crypto::token_hash(&secret),
            state.now(),
        )
        .await?;
    audit(
        &state,
        principal,
        "token.create",
        &owner.username,
        serde_json::json!({"token": token.id, "scope": token.scope}),
    )
    .await;
    let label = format!(
        "API token “{}” for {} ({})",
        token.name,
        owner.username,
        scope.as_str()
    );
    Ok(page(
        admin_page(&state, &who, Some((label, secret)), None).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf_token: String,
}

pub async fn revoke_token(
    State(state): State<AppState>,
    who: SignedIn,
    Path(token_id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> UiResult<Response> {
    let principal = who.at_least(Role::Admin)?;
    check_csrf(principal, &form.csrf_token)?;
    let token = state.store.revoke_token(token_id, state.now()).await?;
    audit(
        &state,
        principal,
        "token.revoke",
        &token.id.to_string(),
        serde_json::json!({}),
    )
    .await;
    Ok(see_other("/admin#tokens"))
}

#[derive(Debug, Deserialize)]
pub struct NewHookForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    name: String,
}

pub const HOOK_SOURCES: [&str; 3] = ["alertmanager", "grafana", "pagerduty"];

pub async fn create_hook(
    State(state): State<AppState>,
    who: SignedIn,
    Form(form): Form<NewHookForm>,
) -> UiResult<Response> {
    let principal = who.at_least(Role::Admin)?;
    check_csrf(principal, &form.csrf_token)?;
    if !HOOK_SOURCES.contains(&form.source.as_str()) {
        return Err(ApiError::invalid(
            "source",
            format!("expected one of {}", HOOK_SOURCES.join(", ")),
        )
        .into());
    }
    let name = form.name.trim();
    if name.is_empty() {
        return Err(ApiError::invalid("name", "name the sender (e.g. prod alertmanager)").into());
    }
    let secret = crypto::random_token("sshook_");
    let hook = state
        .store
        .create_hook_token(
            &form.source,
            name,
            &crypto::token_hash(&secret),
            state.now(),
        )
        .await?;
    audit(
        &state,
        principal,
        "hook_token.create",
        &hook.source,
        serde_json::json!({"id": hook.id}),
    )
    .await;
    let label = format!("Webhook token “{}” for {}", hook.name, hook.source);
    Ok(page(
        admin_page(&state, &who, Some((label, secret)), None).await?,
    ))
}

pub async fn revoke_hook(
    State(state): State<AppState>,
    who: SignedIn,
    Path(token_id): Path<i64>,
    Form(form): Form<CsrfOnly>,
) -> UiResult<Response> {
    let principal = who.at_least(Role::Admin)?;
    check_csrf(principal, &form.csrf_token)?;
    let hook = state.store.revoke_hook_token(token_id, state.now()).await?;
    audit(
        &state,
        principal,
        "hook_token.revoke",
        &hook.source,
        serde_json::json!({"id": hook.id}),
    )
    .await;
    Ok(see_other("/admin#hooks"))
}
