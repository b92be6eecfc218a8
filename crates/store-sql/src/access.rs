//! [`AccessStore`] for the SQL store: accounts, sessions, tokens, audit log and rate limits.

use async_trait::async_trait;
use jiff::Timestamp;
use secondstory_domain::RecordedTime;
use secondstory_store::{
    AccessStore, ApiToken, AuditEntry, HookToken, NewUser, Role, Session, StoreError, StoreResult,
    TokenScope, User,
};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::rows::{corrupt, get, json_list};
use crate::{SqlStore, db};

const USER_COLUMNS: &str = "id, username, display_name, role, groups, disabled, created_us";
const TOKEN_COLUMNS: &str = "id, user_id, name, scope, created_us, last_used_us, revoked_us";

fn utc(micros: i64, table: &str, column: &str) -> StoreResult<RecordedTime> {
    RecordedTime::from_parts(micros, 0, None).map_err(|e| corrupt(table, column, e))
}

fn user(row: &AnyRow) -> StoreResult<User> {
    const T: &str = "users";
    let role: String = get(row, T, "role")?;
    let groups: String = get(row, T, "groups")?;
    Ok(User {
        id: get(row, T, "id")?,
        username: get(row, T, "username")?,
        display_name: get(row, T, "display_name")?,
        role: role.parse::<Role>().map_err(|e| corrupt(T, "role", e))?,
        groups: serde_json::from_str(&groups).map_err(|e| corrupt(T, "groups", e))?,
        disabled: get::<i64>(row, T, "disabled")? != 0,
        created_at: utc(get(row, T, "created_us")?, T, "created_us")?,
    })
}

fn token(row: &AnyRow) -> StoreResult<ApiToken> {
    const T: &str = "api_tokens";
    let scope: String = get(row, T, "scope")?;
    let last_used: Option<i64> = get(row, T, "last_used_us")?;
    Ok(ApiToken {
        id: get(row, T, "id")?,
        user_id: get(row, T, "user_id")?,
        name: get(row, T, "name")?,
        scope: scope
            .parse::<TokenScope>()
            .map_err(|e| corrupt(T, "scope", e))?,
        created_at: utc(get(row, T, "created_us")?, T, "created_us")?,
        last_used_at: last_used.map(|t| utc(t, T, "last_used_us")).transpose()?,
        revoked: get::<Option<i64>>(row, T, "revoked_us")?.is_some(),
    })
}

fn hook_token(row: &AnyRow) -> StoreResult<HookToken> {
    const T: &str = "hook_tokens";
    Ok(HookToken {
        id: get(row, T, "id")?,
        source: get(row, T, "source")?,
        name: get(row, T, "name")?,
        created_at: utc(get(row, T, "created_us")?, T, "created_us")?,
        revoked: get::<Option<i64>>(row, T, "revoked_us")?.is_some(),
    })
}

fn not_found(what: &'static str, key: impl ToString) -> StoreError {
    StoreError::NotFound {
        what,
        key: key.to_string(),
    }
}

/// The tables whose rows are revoked, never deleted.
#[derive(Debug, Clone, Copy)]
enum RevocableTable {
    ApiTokens,
    HookTokens,
}

impl SqlStore {
    /// Marks a token revoked (keeping the first revocation time); not found when the id is unknown.
    async fn revoke(&self, table: RevocableTable, id: i64, at: Timestamp) -> StoreResult<()> {
        let (sql, what) = match table {
            RevocableTable::ApiTokens => (
                "UPDATE api_tokens SET revoked_us = COALESCE(revoked_us, $2) WHERE id = $1",
                "token",
            ),
            RevocableTable::HookTokens => (
                "UPDATE hook_tokens SET revoked_us = COALESCE(revoked_us, $2) WHERE id = $1",
                "webhook token",
            ),
        };
        let done = sqlx::query(sql)
            .bind(id)
            .bind(at.as_microsecond())
            .execute(&self.pool)
            .await
            .map_err(db("revoking a token"))?;
        if done.rows_affected() == 0 {
            return Err(not_found(what, id));
        }
        Ok(())
    }

    async fn user_where(
        &self,
        clause: &'static str,
        bind: impl FnOnce(crate::queries::AnyQuery<'static>) -> crate::queries::AnyQuery<'static>,
    ) -> StoreResult<Option<(User, String)>> {
        let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE {clause}");
        let row = bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
            .fetch_optional(&self.pool)
            .await
            .map_err(db("reading a user"))?;
        row.map(|row| Ok((user(&row)?, get(&row, "users", "password_hash")?)))
            .transpose()
    }
}

#[async_trait]
impl AccessStore for SqlStore {
    async fn create_user(&self, new: &NewUser, at: Timestamp) -> StoreResult<User> {
        new.validate()?;
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "INSERT INTO users (username, display_name, role, groups, password_hash, disabled, \
             created_us) VALUES ($1, $2, $3, $4, $5, 0, $6) RETURNING id",
        )
        .bind(new.username.clone())
        .bind(new.display_name.clone())
        .bind(new.role.as_str())
        .bind(json_list(&new.groups))
        .bind(new.password_hash.clone())
        .bind(at.as_microsecond())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate {
                what: "user",
                key: new.username.clone(),
            },
            _ => db("creating a user")(e),
        })?;
        let id: i64 = get(&row, "users", "id")?;
        tx.commit().await.map_err(db("creating a user"))?;
        self.user(id).await
    }

    async fn user(&self, id: i64) -> StoreResult<User> {
        self.user_where("id = $1", |q| q.bind(id))
            .await?
            .map(|(u, _)| u)
            .ok_or_else(|| not_found("user", id))
    }

    async fn user_by_name(&self, username: &str) -> StoreResult<(User, String)> {
        let name = username.to_owned();
        self.user_where("username = $1", |q| q.bind(name))
            .await?
            .ok_or_else(|| not_found("user", username))
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY username"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(db("listing users"))?;
        rows.iter().map(user).collect()
    }

    async fn count_users(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(db("counting users"))?;
        get(&row, "users", "n")
    }

    async fn update_user(&self, u: &User) -> StoreResult<User> {
        let done = sqlx::query(
            "UPDATE users SET display_name = $2, role = $3, groups = $4, disabled = $5 WHERE id = $1",
        )
        .bind(u.id)
        .bind(u.display_name.clone())
        .bind(u.role.as_str())
        .bind(json_list(&u.groups))
        .bind(i64::from(u.disabled))
        .execute(&self.pool)
        .await
        .map_err(db("updating a user"))?;
        if done.rows_affected() == 0 {
            return Err(not_found("user", u.id));
        }
        self.user(u.id).await
    }

    async fn set_password(&self, user_id: i64, password_hash: &str) -> StoreResult<()> {
        let done = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user_id)
            .bind(password_hash.to_owned())
            .execute(&self.pool)
            .await
            .map_err(db("setting a password"))?;
        if done.rows_affected() == 0 {
            return Err(not_found("user", user_id));
        }
        Ok(())
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        csrf_token: &str,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_us, expires_us) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash.to_owned())
        .bind(user_id)
        .bind(csrf_token.to_owned())
        .bind(at.as_microsecond())
        .bind(expires_at.as_microsecond())
        .execute(&self.pool)
        .await
        .map_err(db("creating a session"))?;
        Ok(())
    }

    async fn session(&self, token_hash: &str, now: Timestamp) -> StoreResult<Option<Session>> {
        let sql = format!(
            "SELECT s.csrf_token AS csrf_token, s.expires_us AS expires_us, {} FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_us > $2 \
             AND u.disabled = 0",
            USER_COLUMNS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash.to_owned())
            .bind(now.as_microsecond())
            .fetch_optional(&self.pool)
            .await
            .map_err(db("reading a session"))?;
        row.map(|row| {
            let expires: i64 = get(&row, "sessions", "expires_us")?;
            Ok(Session {
                user: user(&row)?,
                csrf_token: get(&row, "sessions", "csrf_token")?,
                expires_at: Timestamp::from_microsecond(expires)
                    .map_err(|e| corrupt("sessions", "expires_us", e))?,
            })
        })
        .transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .execute(&self.pool)
            .await
            .map_err(db("ending a session"))?;
        Ok(())
    }

    async fn delete_sessions_of(&self, user_id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(db("ending sessions"))?;
        Ok(())
    }

    async fn create_token(
        &self,
        user_id: i64,
        name: &str,
        scope: TokenScope,
        token_hash: &str,
        at: Timestamp,
    ) -> StoreResult<ApiToken> {
        self.user(user_id).await?;
        let row = sqlx::query(
            "INSERT INTO api_tokens (user_id, name, scope, token_hash, created_us) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user_id)
        .bind(name.to_owned())
        .bind(scope.as_str())
        .bind(token_hash.to_owned())
        .bind(at.as_microsecond())
        .fetch_one(&self.pool)
        .await
        .map_err(db("creating a token"))?;
        let id: i64 = get(&row, "api_tokens", "id")?;
        self.tokens(Some(user_id))
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| not_found("token", id))
    }

    async fn token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<(ApiToken, User)>> {
        // One statement for token and user: this runs before every API request.
        let sql = format!(
            "SELECT t.id AS token_id, t.user_id AS user_id, t.name AS name, t.scope AS scope, \
             t.created_us AS token_created_us, t.last_used_us AS last_used_us, \
             t.revoked_us AS revoked_us, {} FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_us IS NULL",
            USER_COLUMNS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token_hash.to_owned())
            .fetch_optional(&self.pool)
            .await
            .map_err(db("reading a token"))?;
        let Some(row) = row else { return Ok(None) };
        const T: &str = "api_tokens";
        let scope: String = get(&row, T, "scope")?;
        let last_used: Option<i64> = get(&row, T, "last_used_us")?;
        let token = ApiToken {
            id: get(&row, T, "token_id")?,
            user_id: get(&row, T, "user_id")?,
            name: get(&row, T, "name")?,
            scope: scope
                .parse::<TokenScope>()
                .map_err(|e| corrupt(T, "scope", e))?,
            created_at: utc(get(&row, T, "token_created_us")?, T, "created_us")?,
            last_used_at: last_used.map(|t| utc(t, T, "last_used_us")).transpose()?,
            revoked: false,
        };
        let user = user(&row)?;
        if user.disabled {
            return Ok(None);
        }
        // "Last used" is for people deciding what to revoke; minute precision is plenty, and
        // writing on every request would turn each API read into a write.
        let stale = token
            .last_used_at
            .as_ref()
            .is_none_or(|t| now.as_microsecond() - t.as_micros() >= 60_000_000);
        if stale {
            sqlx::query("UPDATE api_tokens SET last_used_us = $2 WHERE id = $1")
                .bind(token.id)
                .bind(now.as_microsecond())
                .execute(&self.pool)
                .await
                .map_err(db("recording token use"))?;
        }
        Ok(Some((token, user)))
    }

    async fn tokens(&self, user_id: Option<i64>) -> StoreResult<Vec<ApiToken>> {
        let rows = match user_id {
            Some(id) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id"
                )))
                .bind(id)
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id"
                )))
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(db("listing tokens"))?;
        rows.iter().map(token).collect()
    }

    async fn revoke_token(&self, id: i64, at: Timestamp) -> StoreResult<ApiToken> {
        self.revoke(RevocableTable::ApiTokens, id, at).await?;
        self.tokens(None)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| not_found("token", id))
    }

    async fn create_hook_token(
        &self,
        source: &str,
        name: &str,
        token_hash: &str,
        at: Timestamp,
    ) -> StoreResult<HookToken> {
        let row = sqlx::query(
            "INSERT INTO hook_tokens (source, name, token_hash, created_us) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(source.to_owned())
        .bind(name.to_owned())
        .bind(token_hash.to_owned())
        .bind(at.as_microsecond())
        .fetch_one(&self.pool)
        .await
        .map_err(db("creating a webhook token"))?;
        let id: i64 = get(&row, "hook_tokens", "id")?;
        self.hook_tokens()
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| not_found("webhook token", id))
    }

    async fn hook_token(&self, source: &str, token_hash: &str) -> StoreResult<Option<HookToken>> {
        let row = sqlx::query(
            "SELECT id, source, name, created_us, revoked_us FROM hook_tokens \
             WHERE source = $1 AND token_hash = $2 AND revoked_us IS NULL",
        )
        .bind(source.to_owned())
        .bind(token_hash.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(db("reading a webhook token"))?;
        row.as_ref().map(hook_token).transpose()
    }

    async fn hook_tokens(&self) -> StoreResult<Vec<HookToken>> {
        let rows = sqlx::query(
            "SELECT id, source, name, created_us, revoked_us FROM hook_tokens ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("listing webhook tokens"))?;
        rows.iter().map(hook_token).collect()
    }

    async fn revoke_hook_token(&self, id: i64, at: Timestamp) -> StoreResult<HookToken> {
        self.revoke(RevocableTable::HookTokens, id, at).await?;
        self.hook_tokens()
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| not_found("webhook token", id))
    }

    async fn record_audit(
        &self,
        at: Timestamp,
        actor: &str,
        action: &str,
        target: &str,
        detail: &str,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO audit_log (at_us, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)")
            .bind(at.as_microsecond())
            .bind(actor.to_owned())
            .bind(action.to_owned())
            .bind(target.to_owned())
            .bind(detail.to_owned())
            .execute(&self.pool)
            .await
            .map_err(db("recording an audit entry"))?;
        Ok(())
    }

    async fn audit(&self, limit: i64, before: Option<i64>) -> StoreResult<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT id, at_us, actor, action, target, detail FROM audit_log WHERE id < $1 \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit.clamp(1, 1000))
        .fetch_all(&self.pool)
        .await
        .map_err(db("reading the audit log"))?;
        rows.iter()
            .map(|row| {
                const T: &str = "audit_log";
                Ok(AuditEntry {
                    id: get(row, T, "id")?,
                    at: utc(get(row, T, "at_us")?, T, "at_us")?,
                    actor: get(row, T, "actor")?,
                    action: get(row, T, "action")?,
                    target: get(row, T, "target")?,
                    detail: get(row, T, "detail")?,
                })
            })
            .collect()
    }

    async fn count_attempt(&self, key: &str, window_start: Timestamp) -> StoreResult<i64> {
        // One statement: a new window resets the count; concurrent attempts all count.
        let row = sqlx::query(
            "INSERT INTO rate_limits (key, window_start_us, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (key) DO UPDATE SET \
             hits = CASE WHEN rate_limits.window_start_us = excluded.window_start_us \
                    THEN rate_limits.hits + 1 ELSE 1 END, \
             window_start_us = excluded.window_start_us RETURNING hits",
        )
        .bind(key.to_owned())
        .bind(window_start.as_microsecond())
        .fetch_one(&self.pool)
        .await
        .map_err(db("counting an attempt"))?;
        row.try_get::<i64, _>("hits")
            .map_err(|e| corrupt("rate_limits", "hits", e))
    }

    async fn clear_attempts(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM rate_limits WHERE key = $1")
            .bind(key.to_owned())
            .execute(&self.pool)
            .await
            .map_err(db("clearing attempts"))?;
        Ok(())
    }

    async fn create_oidc_flow(
        &self,
        state_hash: &str,
        pkce_verifier: &str,
        nonce: &str,
        return_to: &str,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oidc_flows (state_hash, pkce_verifier, nonce, return_to, expires_us) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(state_hash.to_owned())
        .bind(pkce_verifier.to_owned())
        .bind(nonce.to_owned())
        .bind(return_to.to_owned())
        .bind(expires_at.as_microsecond())
        .execute(&self.pool)
        .await
        .map_err(db("starting a single sign-on"))?;
        Ok(())
    }

    async fn take_oidc_flow(
        &self,
        state_hash: &str,
        now: Timestamp,
    ) -> StoreResult<Option<(String, String, String)>> {
        // DELETE … RETURNING: of two callbacks racing with one state, exactly one gets the row.
        let row = sqlx::query(
            "DELETE FROM oidc_flows WHERE state_hash = $1 \
             RETURNING pkce_verifier, nonce, return_to, expires_us",
        )
        .bind(state_hash.to_owned())
        .fetch_optional(&self.pool)
        .await
        .map_err(db("finishing a single sign-on"))?;
        // Sweep flows nobody finished; they are useless once expired.
        sqlx::query("DELETE FROM oidc_flows WHERE expires_us <= $1")
            .bind(now.as_microsecond())
            .execute(&self.pool)
            .await
            .map_err(db("clearing expired single sign-ons"))?;
        let Some(row) = row else { return Ok(None) };
        const T: &str = "oidc_flows";
        if get::<i64>(&row, T, "expires_us")? <= now.as_microsecond() {
            return Ok(None);
        }
        Ok(Some((
            get(&row, T, "pkce_verifier")?,
            get(&row, T, "nonce")?,
            get(&row, T, "return_to")?,
        )))
    }
}
