//! Single sign-on with an OpenID Connect provider: the authorization code flow with PKCE.
//!
//! `GET /auth/oidc/login?next=` starts a sign-in: it remembers the flow (PKCE verifier, nonce,
//! where to go afterwards) in the database under the hash of a random `state`, binds the `state`
//! to the browser with a short-lived cookie, and sends the browser to the provider.
//! `GET /auth/oidc/callback?code=&state=` finishes it on whichever instance the provider's
//! redirect reaches: the flow is taken out (once), the code is exchanged for an ID token, the
//! token is checked (signature, issuer, audience, times, nonce) and a session starts like after a
//! password sign-in.
//!
//! Only the provider's discovery document is kept in memory: it is configuration, not state.

use std::collections::HashSet;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::SignedDuration;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secondstory_store::{NewUser, StoreError, User};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::api::session::start_session;
use crate::crypto;
use crate::error::ApiError;
use crate::state::{AppState, OidcConfig};
use crate::ui::{UiError, UiResult, local_path, see_other};

/// The cookie binding a flow's `state` to the browser that started it (against login CSRF).
pub const FLOW_COOKIE: &str = "ss_oidc";
/// How long a sign-in at the provider may take.
const FLOW_LIFETIME: SignedDuration = SignedDuration::from_mins(10);
/// Clock skew tolerated between us and the provider.
const LEEWAY_SECS: i64 = 60;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/oidc/login", get(login))
        .route("/auth/oidc/callback", get(callback))
}

/// What the provider's discovery document says that we use.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub jwks_uri: Option<String>,
}

/// The HTTP client and the provider's discovery document, made once per process.
#[derive(Debug, Default)]
pub struct OidcCache {
    client: OnceCell<reqwest::Client>,
    discovery: OnceCell<Discovery>,
}

fn refused(status: StatusCode, detail: impl Into<String>) -> UiError {
    ApiError::new(status, detail).into()
}

fn provider_failed(what: &str, e: impl std::fmt::Display) -> UiError {
    tracing::warn!(error = %e, "single sign-on: {what}");
    refused(
        StatusCode::BAD_GATEWAY,
        format!("the single sign-on provider could not be reached ({what}); try again later"),
    )
}

fn config(state: &AppState) -> UiResult<&OidcConfig> {
    state.config.oidc.as_ref().ok_or_else(|| {
        refused(
            StatusCode::NOT_FOUND,
            "single sign-on is not configured here",
        )
    })
}

async fn client(state: &AppState) -> UiResult<&reqwest::Client> {
    state
        .oidc
        .client
        .get_or_try_init(|| async {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                // Never follow a provider elsewhere with a code or a secret.
                .redirect(reqwest::redirect::Policy::none())
                .build()
        })
        .await
        .map_err(|e| provider_failed("making an HTTP client", e))
}

async fn discovery<'a>(state: &'a AppState, config: &OidcConfig) -> UiResult<&'a Discovery> {
    let client = client(state).await?;
    state
        .oidc
        .discovery
        .get_or_try_init(|| async {
            let url = format!("{}/.well-known/openid-configuration", config.issuer_url);
            let found: Discovery = client
                .get(&url)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| provider_failed("discovery", e))?
                .json()
                .await
                .map_err(|e| provider_failed("reading the discovery document", e))?;
            if found.issuer.trim_end_matches('/') != config.issuer_url {
                return Err(provider_failed(
                    "discovery",
                    format!(
                        "the provider says its issuer is {}, not {}",
                        found.issuer, config.issuer_url
                    ),
                ));
            }
            Ok(found)
        })
        .await
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

fn flow_cookie(state: &AppState, value: Option<&str>) -> String {
    let secure = if state.config.insecure_cookies {
        ""
    } else {
        "; Secure"
    };
    let (value, age) = match value {
        Some(v) => (v, FLOW_LIFETIME.as_secs()),
        None => ("", 0),
    };
    format!("{FLOW_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/auth/oidc; Max-Age={age}{secure}")
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn add_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The PKCE S256 challenge of a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Starts a sign-in at the provider.
async fn login(
    State(state): State<AppState>,
    Query(query): Query<LoginQuery>,
) -> UiResult<Response> {
    let config = config(&state)?;
    let discovery = discovery(&state, config).await?;
    let flow_state = crypto::random_token("");
    let nonce = crypto::random_token("");
    let verifier = crypto::random_token("");
    let return_to = local_path(query.next.as_deref(), "/");
    let now = state.now();
    let expires = now.saturating_add(FLOW_LIFETIME).unwrap_or(now);
    state
        .store
        .create_oidc_flow(
            &crypto::token_hash(&flow_state),
            &verifier,
            &nonce,
            &return_to,
            expires,
        )
        .await?;
    let mut url = reqwest::Url::parse(&discovery.authorization_endpoint)
        .map_err(|e| provider_failed("the authorization endpoint is not a URL", e))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", &config.redirect_url)
        .append_pair("scope", "openid profile email")
        .append_pair("state", &flow_state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &pkce_challenge(&verifier))
        .append_pair("code_challenge_method", "S256");
    let mut response = see_other(url.as_str());
    add_cookie(&mut response, &flow_cookie(&state, Some(&flow_state)));
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

/// Finishes a sign-in: the provider sent the browser back with a code.
async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> UiResult<Response> {
    let config = config(&state)?;
    if let Some(error) = &query.error {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            format!(
                "the single sign-on provider refused: {error} {}",
                query.error_description.as_deref().unwrap_or("")
            )
            .trim_end()
            .to_owned(),
        ));
    }
    let start_again = "this sign-in is unknown, expired or already used; sign in again";
    let (Some(code), Some(flow_state)) = (&query.code, &query.state) else {
        return Err(refused(StatusCode::BAD_REQUEST, start_again));
    };
    let bound = cookie(&headers, FLOW_COOKIE).unwrap_or("");
    if !crypto::same_secret(bound, flow_state) {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            "this sign-in was started in another browser; sign in again",
        ));
    }
    let now = state.now();
    let Some((verifier, nonce, return_to)) = state
        .store
        .take_oidc_flow(&crypto::token_hash(flow_state), now)
        .await?
    else {
        return Err(refused(StatusCode::BAD_REQUEST, start_again));
    };
    let discovery = discovery(&state, config).await?;
    let client = client(&state).await?;
    let mut request = client.post(&discovery.token_endpoint).form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &config.redirect_url),
        ("client_id", &config.client_id),
        ("code_verifier", &verifier),
    ]);
    if let Some(secret) = &config.client_secret {
        request = request.basic_auth(&config.client_id, Some(secret));
    }
    let reply = request
        .send()
        .await
        .map_err(|e| provider_failed("the token endpoint", e))?;
    if !reply.status().is_success() {
        let status = reply.status();
        let body = reply.text().await.unwrap_or_default();
        tracing::warn!(%status, body = %body.chars().take(500).collect::<String>(), "single sign-on: the token endpoint refused the code");
        return Err(refused(
            StatusCode::BAD_REQUEST,
            "the single sign-on provider refused the sign-in; sign in again",
        ));
    }
    let tokens: TokenResponse = reply
        .json()
        .await
        .map_err(|e| provider_failed("reading the token response", e))?;
    let id_token = tokens
        .id_token
        .ok_or_else(|| provider_failed("the token response", "no id_token"))?;
    let claims = validate_id_token(&state, config, discovery, &id_token, &nonce, now).await?;
    let user = user_for(&state, config, &claims).await?;
    let (session, _) = start_session(&state, &user).await?;
    state
        .store
        .record_audit(
            now,
            &user.username,
            "session.oidc",
            &user.username,
            &serde_json::json!({ "issuer": discovery.issuer }).to_string(),
        )
        .await?;
    let mut response = see_other(&local_path(Some(&return_to), "/"));
    add_cookie(&mut response, &session);
    add_cookie(&mut response, &flow_cookie(&state, None));
    Ok(response)
}

/// Checks an ID token: signature (HS256 with the client secret, or RS256 with the provider's
/// published keys), issuer, audience, expiry and issue time (with leeway), and nonce.
async fn validate_id_token(
    state: &AppState,
    config: &OidcConfig,
    discovery: &Discovery,
    id_token: &str,
    nonce: &str,
    now: jiff::Timestamp,
) -> UiResult<serde_json::Map<String, Value>> {
    let bad = |why: &str| {
        tracing::warn!(why, "single sign-on: ID token refused");
        refused(
            StatusCode::FORBIDDEN,
            format!("the single sign-on provider's answer was not acceptable ({why})"),
        )
    };
    let head = jsonwebtoken::decode_header(id_token).map_err(|_| bad("not a JWT"))?;
    let key = match head.alg {
        Algorithm::HS256 => {
            let secret = config
                .client_secret
                .as_deref()
                .ok_or_else(|| bad("HS256 without a client secret"))?;
            DecodingKey::from_secret(secret.as_bytes())
        }
        Algorithm::RS256 => {
            let jwks_uri = discovery
                .jwks_uri
                .as_deref()
                .ok_or_else(|| bad("the provider publishes no keys"))?;
            // Keys rotate: fetched for each sign-in rather than kept.
            let keys: JwkSet = client(state)
                .await?
                .get(jwks_uri)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| provider_failed("fetching the provider's keys", e))?
                .json()
                .await
                .map_err(|e| provider_failed("reading the provider's keys", e))?;
            let jwk = match &head.kid {
                Some(kid) => keys.find(kid),
                None if keys.keys.len() == 1 => keys.keys.first(),
                None => None,
            }
            .ok_or_else(|| bad("signed with an unknown key"))?;
            DecodingKey::from_jwk(jwk).map_err(|_| bad("the provider's key is unusable"))?
        }
        _ => return Err(bad("unsupported signature algorithm")),
    };
    let mut validation = Validation::new(head.alg);
    validation.set_issuer(&[discovery.issuer.as_str()]);
    validation.set_audience(&[config.client_id.as_str()]);
    validation.required_spec_claims = ["exp", "iat", "iss", "aud", "sub"]
        .into_iter()
        .map(str::to_owned)
        .collect::<HashSet<_>>();
    // Times are checked below against the server's clock (tests fix it).
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let data = jsonwebtoken::decode::<serde_json::Map<String, Value>>(id_token, &key, &validation)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidAudience => bad("issued for another client"),
                ErrorKind::InvalidIssuer => bad("issued by another provider"),
                ErrorKind::InvalidSignature => bad("bad signature"),
                ErrorKind::MissingRequiredClaim(_) => bad("a required claim is missing"),
                _ => bad("invalid ID token"),
            }
        })?;
    let claims = data.claims;
    let now = now.as_second();
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("no expiry"))?;
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("no issue time"))?;
    if exp + LEEWAY_SECS <= now {
        return Err(bad("expired"));
    }
    if iat - LEEWAY_SECS > now {
        return Err(bad("issued in the future"));
    }
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64)
        && nbf - LEEWAY_SECS > now
    {
        return Err(bad("not valid yet"));
    }
    let sent_nonce = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
    if !crypto::same_secret(sent_nonce, nonce) {
        return Err(bad("wrong nonce"));
    }
    Ok(claims)
}

/// The account an ID token names: an existing, enabled user, or (when configured) a new one.
async fn user_for(
    state: &AppState,
    config: &OidcConfig,
    claims: &serde_json::Map<String, Value>,
) -> UiResult<User> {
    let claim = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let username = claim(&config.username_claim)
        .or_else(|| claim("email"))
        .ok_or_else(|| {
            refused(
                StatusCode::FORBIDDEN,
                format!(
                    "the single sign-on provider did not say who you are (no `{}` or `email` claim)",
                    config.username_claim
                ),
            )
        })?
        .to_owned();
    let no_account = || {
        refused(
            StatusCode::FORBIDDEN,
            format!("there is no account `{username}` here; ask an administrator to create one"),
        )
    };
    let user = match state.store.user_by_name(&username).await {
        Ok((user, _)) => user,
        Err(StoreError::NotFound { .. }) => {
            let Some(role) = config.auto_create_role else {
                return Err(no_account());
            };
            // Nobody knows this password: the account signs in through the provider only.
            let hash = crypto::hash_password(&crypto::random_token("")).map_err(|e| {
                tracing::error!(error = %e, "could not hash a password");
                UiError::from(ApiError::internal())
            })?;
            let new = NewUser {
                username: username.clone(),
                display_name: claim("name").unwrap_or(&username).to_owned(),
                role,
                groups: Vec::new(),
                password_hash: hash,
            };
            if new.validate().is_err() {
                return Err(refused(
                    StatusCode::FORBIDDEN,
                    format!("`{username}` cannot be a username here; ask an administrator"),
                ));
            }
            match state.store.create_user(&new, state.now()).await {
                Ok(user) => {
                    state
                        .store
                        .record_audit(
                            state.now(),
                            &username,
                            "user.create",
                            &username,
                            &serde_json::json!({ "role": role, "via": "oidc" }).to_string(),
                        )
                        .await?;
                    user
                }
                // Two first sign-ins at once: the other one created it.
                Err(StoreError::Duplicate { .. }) => state.store.user_by_name(&username).await?.0,
                Err(e) => return Err(e.into()),
            }
        }
        Err(e) => return Err(e.into()),
    };
    if user.disabled {
        return Err(refused(
            StatusCode::FORBIDDEN,
            format!("the account `{username}` is disabled"),
        ));
    }
    Ok(user)
}
