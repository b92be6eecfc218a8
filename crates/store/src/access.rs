//! People and access: users, roles and groups, sessions, API and webhook tokens, the audit log,
//! and the counters behind login rate limits.
//!
//! The server keeps no state of its own: everything it needs to recognise a person or limit
//! attempts lives here, so any number of instances behind a load balancer behave as one. Secrets
//! are never stored: sessions and tokens are kept as SHA-256 hashes, passwords as Argon2id hashes
//! computed by the caller.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use jiff::Timestamp;
use secondstory_domain::{RecordedTime, ValidationError};
use serde::Serialize;

use crate::StoreResult;

/// What a person may do. Ordered: an admin can do everything an editor can, and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            other => Err(ValidationError::new(
                "role",
                format!("`{other}` is not a role (expected viewer, editor or admin)"),
            )),
        }
    }
}

/// A person with an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub groups: Vec<String>,
    pub disabled: bool,
    pub created_at: RecordedTime,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub groups: Vec<String>,
    /// An Argon2id PHC string.
    pub password_hash: String,
}

impl NewUser {
    pub fn validate(&self) -> Result<(), ValidationError> {
        let name_ok = !self.username.is_empty()
            && self.username.len() <= 64
            && self
                .username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
        if !name_ok {
            return Err(ValidationError::new(
                "username",
                format!(
                    "`{}` is not a username (letters, digits, . - _ @; at most 64)",
                    self.username
                ),
            ));
        }
        if let Some(bad) = self
            .groups
            .iter()
            .find(|g| g.trim().is_empty() || g.contains(','))
        {
            return Err(ValidationError::new(
                "groups",
                format!("`{bad}` is not a group name"),
            ));
        }
        Ok(())
    }
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    Read,
    Write,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        }
    }
}

impl FromStr for TokenScope {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "read" => Ok(TokenScope::Read),
            "write" => Ok(TokenScope::Write),
            other => Err(ValidationError::new(
                "scope",
                format!("`{other}` is not a token scope (expected read or write)"),
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub scope: TokenScope,
    pub created_at: RecordedTime,
    pub last_used_at: Option<RecordedTime>,
    pub revoked: bool,
}

/// A signed-in browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: User,
    /// The per-session token forms must echo (CSRF protection).
    pub csrf_token: String,
    pub expires_at: Timestamp,
}

/// A token a webhook sender (Alertmanager, Grafana, PagerDuty) presents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookToken {
    pub id: i64,
    pub source: String,
    pub name: String,
    pub created_at: RecordedTime,
    pub revoked: bool,
}

/// One entry of the audit log: who did what to which thing, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: RecordedTime,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

#[async_trait]
pub trait AccessStore: Send + Sync {
    async fn create_user(&self, user: &NewUser, at: Timestamp) -> StoreResult<User>;
    async fn user(&self, id: i64) -> StoreResult<User>;
    /// The user and their password hash, for signing in; disabled users are returned too (the
    /// caller refuses them) so timing does not reveal which accounts exist.
    async fn user_by_name(&self, username: &str) -> StoreResult<(User, String)>;
    async fn users(&self) -> StoreResult<Vec<User>>;
    async fn count_users(&self) -> StoreResult<i64>;
    async fn update_user(&self, user: &User) -> StoreResult<User>;
    async fn set_password(&self, user_id: i64, password_hash: &str) -> StoreResult<()>;

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// The live session for a token hash; expired sessions and disabled users give `None`.
    async fn session(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<Session>>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Sign a user out everywhere (password reset, disabling).
    async fn delete_sessions_of(&self, user_id: i64) -> StoreResult<()>;

    async fn create_token(
        &self,
        user_id: i64,
        name: &str,
        scope: TokenScope,
        token_hash: &str,
        at: Timestamp,
    ) -> StoreResult<ApiToken>;
    /// The live token and its user; revoked tokens and disabled users give `None`.
    async fn token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<(ApiToken, User)>>;
    async fn tokens(&self, user_id: Option<i64>) -> StoreResult<Vec<ApiToken>>;
    async fn revoke_token(&self, id: i64, at: Timestamp) -> StoreResult<ApiToken>;

    async fn create_hook_token(
        &self,
        source: &str,
        name: &str,
        token_hash: &str,
        at: Timestamp,
    ) -> StoreResult<HookToken>;
    async fn hook_token(&self, source: &str, token_hash: &str) -> StoreResult<Option<HookToken>>;
    async fn hook_tokens(&self) -> StoreResult<Vec<HookToken>>;
    async fn revoke_hook_token(&self, id: i64, at: Timestamp) -> StoreResult<HookToken>;

    async fn record_audit(
        &self,
        at: Timestamp,
        actor: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> StoreResult<()>;
    /// Newest first; `before` pages back by id.
    async fn audit(&self, limit: i64, before: Option<i64>) -> StoreResult<Vec<AuditEntry>>;

    /// Counts one attempt under `key` in a fixed window and returns the attempts so far in it.
    async fn count_attempt(&self, key: &str, window_start: Timestamp) -> StoreResult<i64>;
    async fn clear_attempts(&self, key: &str) -> StoreResult<()>;

    /// Remembers a single sign-on (OIDC) flow in progress, keyed by the hash of its `state`, so
    /// whichever instance receives the provider's callback can finish it.
    async fn create_oidc_flow(
        &self,
        state_hash: &str,
        pkce_verifier: &str,
        nonce: &str,
        return_to: &str,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// Takes a flow out (it can be used once): its PKCE verifier, nonce and return path.
    /// Unknown, already taken and expired flows give `None`.
    async fn take_oidc_flow(
        &self,
        state_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<(String, String, String)>>;
}
