//! Accounts and access: users (admin), your own API tokens (anyone signed in; admins see all),
//! webhook tokens (admin), and the audit log (admin).
//!
//! Secrets are shown exactly once, in the response that creates them; the store keeps only their
//! SHA-256 hashes (tokens) or Argon2id hashes (passwords). Nothing is deleted: users are
//! disabled, tokens revoked. Disabling a user or setting their password ends their sessions.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use secondstory_store::{ApiToken, AuditEntry, HookToken, NewUser, Role, TokenScope, User};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::audit;
use crate::auth::{Caller, Credential};
use crate::crypto;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(update_user))
        .routes(routes!(set_password))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(read_audit))
        .routes(routes!(list_hook_tokens, create_hook_token))
        .routes(routes!(revoke_hook_token))
}

/// Shortest password accepted (as the CLI).
const MIN_PASSWORD_CHARS: usize = 12;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserBody {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// viewer, editor or admin.
    pub role: String,
    pub groups: Vec<String>,
    pub disabled: bool,
    pub created: String,
}

impl From<&User> for UserBody {
    fn from(u: &User) -> Self {
        UserBody {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: u.role.to_string(),
            groups: u.groups.clone(),
            disabled: u.disabled,
            created: u.created_at.to_string(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserBody>,
}

/// Every account.
#[utoipa::path(get, path = "/api/v1/users", tag = "admin",
    responses((status = 200, body = UserList), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<UserList>> {
    caller.admin()?;
    let users = state.store.users().await?;
    Ok(Json(UserList {
        items: users.iter().map(UserBody::from).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    pub username: String,
    /// Default: the username.
    #[serde(default)]
    pub display_name: Option<String>,
    /// viewer, editor or admin.
    pub role: String,
    #[serde(default)]
    pub groups: Vec<String>,
    /// At least 12 characters.
    pub password: String,
}

fn check_password(password: &str) -> ApiResult<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::invalid(
            "password",
            format!("use at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > 1024 {
        return Err(ApiError::invalid("password", "is longer than 1024 bytes"));
    }
    crypto::hash_password(password).map_err(|e| {
        tracing::error!(error = %e, "could not hash a password");
        ApiError::internal()
    })
}

fn clean_groups(groups: Vec<String>) -> Vec<String> {
    let mut groups: Vec<String> = groups.into_iter().map(|g| g.trim().to_owned()).collect();
    groups.sort();
    groups.dedup();
    groups
}

/// Create an account.
#[utoipa::path(post, path = "/api/v1/users", tag = "admin", request_body = NewUserBody,
    responses((status = 201, body = UserBody), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewUserBody>,
) -> ApiResult<(StatusCode, Json<UserBody>)> {
    let who = caller.admin()?;
    let role: Role = body.role.parse()?;
    let username = body.username.trim().to_owned();
    let mut new = NewUser {
        display_name: body
            .display_name
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| username.clone()),
        username,
        role,
        groups: clean_groups(body.groups),
        password_hash: String::new(),
    };
    new.validate()?;
    new.password_hash = check_password(&body.password)?;
    let user = state.store.create_user(&new, state.now()).await?;
    audit(
        &state,
        &who,
        "user.create",
        &user.username,
        serde_json::json!({"role": user.role, "groups": user.groups}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(UserBody::from(&user))))
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UserPatchBody {
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    /// Disabling signs the user out everywhere; their tokens stop working.
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub display_name: Option<String>,
}

/// Change an account's role, groups, display name, or disable it.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "admin", request_body = UserPatchBody,
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = UserBody), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem)))]
pub async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(patch): Json<UserPatchBody>,
) -> ApiResult<Json<UserBody>> {
    let who = caller.admin()?;
    let mut user = state.store.user(id).await?;
    if let Some(role) = &patch.role {
        let role: Role = role.parse()?;
        if user.id == who.user.id && role != Role::Admin {
            return Err(ApiError::invalid(
                "role",
                "you cannot take away your own admin role; ask another admin",
            ));
        }
        user.role = role;
    }
    if let Some(groups) = patch.groups {
        user.groups = clean_groups(groups);
    }
    if let Some(display_name) = patch.display_name {
        let display_name = display_name.trim().to_owned();
        if display_name.is_empty() {
            return Err(ApiError::invalid("display_name", "must not be empty"));
        }
        user.display_name = display_name;
    }
    if let Some(disabled) = patch.disabled {
        if disabled && user.id == who.user.id {
            return Err(ApiError::invalid(
                "disabled",
                "you cannot disable your own account; ask another admin",
            ));
        }
        user.disabled = disabled;
    }
    NewUser {
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        role: user.role,
        groups: user.groups.clone(),
        password_hash: String::new(),
    }
    .validate()?;
    let saved = state.store.update_user(&user).await?;
    if saved.disabled {
        state.store.delete_sessions_of(saved.id).await?;
    }
    audit(
        &state,
        &who,
        "user.update",
        &saved.username,
        serde_json::json!({"role": saved.role, "groups": saved.groups, "disabled": saved.disabled}),
    )
    .await;
    Ok(Json(UserBody::from(&saved)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    /// At least 12 characters.
    pub password: String,
}

/// Set a user's password; their sessions end.
#[utoipa::path(post, path = "/api/v1/users/{id}/password", tag = "admin", request_body = PasswordBody,
    params(("id" = i64, Path, description = "User id")),
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem)))]
pub async fn set_password(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Json(body): Json<PasswordBody>,
) -> ApiResult<StatusCode> {
    let who = caller.admin()?;
    let user = state.store.user(id).await?;
    let hash = check_password(&body.password)?;
    state.store.set_password(user.id, &hash).await?;
    state.store.delete_sessions_of(user.id).await?;
    audit(
        &state,
        &who,
        "user.password",
        &user.username,
        serde_json::json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenBody {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    /// read or write.
    pub scope: String,
    pub created: String,
    pub last_used: Option<String>,
    pub revoked: bool,
}

impl From<&ApiToken> for TokenBody {
    fn from(t: &ApiToken) -> Self {
        TokenBody {
            id: t.id,
            user_id: t.user_id,
            name: t.name.clone(),
            scope: t.scope.as_str().into(),
            created: t.created_at.to_string(),
            last_used: t.last_used_at.as_ref().map(ToString::to_string),
            revoked: t.revoked,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub items: Vec<TokenBody>,
}

/// API tokens (never their secrets): your own, or everyone's for an admin.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = TokenList), (status = 401, body = Problem)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<TokenList>> {
    let who = caller.viewer()?;
    let whose = (who.user.role != Role::Admin).then_some(who.user.id);
    let tokens = state.store.tokens(whose).await?;
    Ok(Json(TokenList {
        items: tokens.iter().map(TokenBody::from).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenBody {
    /// What the token is for (`ci`, `laptop`).
    pub name: String,
    /// read or write.
    pub scope: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    pub token: TokenBody,
    /// The secret, shown only now: send it as `Authorization: Bearer …`.
    pub secret: String,
}

/// Create an API token for yourself. The secret is in this response only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewTokenBody,
    responses((status = 201, body = CreatedToken), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewTokenBody>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let who = caller.viewer()?;
    let scope: TokenScope = body.scope.parse()?;
    if scope == TokenScope::Write
        && who.credential
            == (Credential::Token {
                scope: TokenScope::Read,
            })
    {
        return Err(ApiError::forbidden(
            "a read-only token can only create read-only tokens",
        ));
    }
    let name = body.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::invalid("name", "must be 1 to 100 bytes"));
    }
    let secret = crypto::random_token("ss_");
    let token = state
        .store
        .create_token(
            who.user.id,
            name,
            scope,
            &crypto::token_hash(&secret),
            state.now(),
        )
        .await?;
    audit(
        &state,
        &who,
        "token.create",
        &format!("token:{}", token.id),
        serde_json::json!({"name": token.name, "scope": token.scope}),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: TokenBody::from(&token),
            secret,
        }),
    ))
}

/// Revoke an API token: your own, or anyone's for an admin.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = i64, Path, description = "Token id")),
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let who = caller.viewer()?;
    let whose = (who.user.role != Role::Admin).then_some(who.user.id);
    // Someone else's token is "not found" to a non-admin: ids do not reveal other accounts.
    let token = state
        .store
        .tokens(whose)
        .await?
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| ApiError::not_found("token", &id.to_string()))?;
    state.store.revoke_token(token.id, state.now()).await?;
    audit(
        &state,
        &who,
        "token.revoke",
        &format!("token:{}", token.id),
        serde_json::json!({"name": token.name, "user_id": token.user_id}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// At most this many entries, 1–500 (default 100).
    limit: Option<i64>,
    /// Entries older than this id (for the next page).
    before: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryBody {
    pub id: i64,
    pub at: String,
    /// Who made the change (a username).
    pub actor: String,
    /// What was done (`incident.update`, `review.save`, …).
    pub action: String,
    /// What it was done to (an incident id, `INC-…#2`, a username, `token:3`).
    pub target: String,
    /// Details of the change.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<AuditEntry> for AuditEntryBody {
    fn from(e: AuditEntry) -> Self {
        let detail = serde_json::from_str::<serde_json::Value>(&e.detail)
            .ok()
            .filter(serde_json::Value::is_object)
            .unwrap_or_else(|| serde_json::json!({"text": e.detail}));
        AuditEntryBody {
            id: e.id,
            at: e.at.to_string(),
            actor: e.actor,
            action: e.action,
            target: e.target,
            detail,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntryBody>,
    /// Pass as `before` for the next (older) page; absent on the last.
    pub next_before: Option<i64>,
}

/// The audit log, newest first: who changed what, and when.
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn read_audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<AuditParams>,
) -> ApiResult<Json<AuditPage>> {
    caller.admin()?;
    let limit = params.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 500"));
    }
    let entries = state.store.audit(limit, params.before).await?;
    let next_before = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(Json(AuditPage {
        items: entries.into_iter().map(AuditEntryBody::from).collect(),
        next_before,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HookTokenBody {
    pub id: i64,
    /// alertmanager, grafana or pagerduty.
    pub source: String,
    pub name: String,
    pub created: String,
    pub revoked: bool,
}

impl From<&HookToken> for HookTokenBody {
    fn from(t: &HookToken) -> Self {
        HookTokenBody {
            id: t.id,
            source: t.source.clone(),
            name: t.name.clone(),
            created: t.created_at.to_string(),
            revoked: t.revoked,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HookTokenList {
    pub items: Vec<HookTokenBody>,
}

/// Webhook tokens (never their secrets).
#[utoipa::path(get, path = "/api/v1/hook-tokens", tag = "admin",
    responses((status = 200, body = HookTokenList), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_hook_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<HookTokenList>> {
    caller.admin()?;
    let tokens = state.store.hook_tokens().await?;
    Ok(Json(HookTokenList {
        items: tokens.iter().map(HookTokenBody::from).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHookTokenBody {
    /// alertmanager, grafana or pagerduty.
    pub source: String,
    /// Which sender it is for (`prod-alertmanager`).
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedHookToken {
    pub token: HookTokenBody,
    /// The secret, shown only now: configure the sender with `Authorization: Bearer …`.
    pub secret: String,
}

/// Create a token for a webhook sender. The secret is in this response only.
#[utoipa::path(post, path = "/api/v1/hook-tokens", tag = "admin", request_body = NewHookTokenBody,
    responses((status = 201, body = CreatedHookToken), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn create_hook_token(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewHookTokenBody>,
) -> ApiResult<(StatusCode, Json<CreatedHookToken>)> {
    let who = caller.admin()?;
    if !matches!(
        body.source.as_str(),
        "alertmanager" | "grafana" | "pagerduty"
    ) {
        return Err(ApiError::invalid(
            "source",
            format!(
                "`{}` is not a webhook source (alertmanager, grafana or pagerduty)",
                body.source
            ),
        ));
    }
    let name = body.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::invalid("name", "must be 1 to 100 bytes"));
    }
    let secret = crypto::random_token("sshook_");
    let token = state
        .store
        .create_hook_token(
            &body.source,
            name,
            &crypto::token_hash(&secret),
            state.now(),
        )
        .await?;
    audit(
        &state,
        &who,
        "hook-token.create",
        &format!("hook-token:{}", token.id),
        serde_json::json!({"source": token.source, "name": token.name}),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(CreatedHookToken {
            token: HookTokenBody::from(&token),
            secret,
        }),
    ))
}

/// Revoke a webhook token.
#[utoipa::path(delete, path = "/api/v1/hook-tokens/{id}", tag = "admin",
    params(("id" = i64, Path, description = "Webhook token id")),
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn revoke_hook_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let who = caller.admin()?;
    let token = state.store.revoke_hook_token(id, state.now()).await?;
    audit(
        &state,
        &who,
        "hook-token.revoke",
        &format!("hook-token:{}", token.id),
        serde_json::json!({"source": token.source, "name": token.name}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
