//! Who is asking: sessions (cookie), API tokens (bearer), a trusted reverse proxy's header, or
//! nobody; and what they may do.
//!
//! Every handler takes a [`Caller`] and asks it for the role it needs. Browser sessions must also
//! prove a request came from our own pages: unsafe methods need a matching `Origin` and the
//! session's CSRF token (header `X-CSRF-Token` for the API, form field for HTML forms).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use secondstory_store::{Audience, Role, TokenScope, User};

use crate::crypto;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "ss_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const PROXY_USER_HEADER: &str = "x-forwarded-user";

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Session {
        token_hash: String,
        csrf_token: String,
    },
    Token {
        scope: TokenScope,
    },
    Proxy,
}

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub credential: Credential,
}

impl Principal {
    /// Whose eyes queries are for: admins see restricted incidents of every group.
    pub fn audience(&self) -> Audience {
        if self.user.role == Role::Admin {
            Audience::All
        } else {
            Audience::Groups(self.user.groups.clone())
        }
    }

    /// The name recorded with changes.
    pub fn name(&self) -> &str {
        &self.user.username
    }

    pub fn csrf_token(&self) -> Option<&str> {
        match &self.credential {
            Credential::Session { csrf_token, .. } => Some(csrf_token),
            _ => None,
        }
    }
}

/// The caller of a request, signed in or not.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Option<Principal>,
    unsafe_method: bool,
}

impl Caller {
    /// Requires a signed-in caller with at least `role`.
    pub fn require(&self, role: Role) -> ApiResult<Principal> {
        let principal = self.principal.clone().ok_or_else(ApiError::unauthorized)?;
        if principal.user.role < role {
            return Err(ApiError::forbidden(format!(
                "this needs the {role} role; you are {}",
                principal.user.role
            )));
        }
        if self.unsafe_method
            && principal.credential
                == (Credential::Token {
                    scope: TokenScope::Read,
                })
        {
            return Err(ApiError::forbidden("this API token is read-only"));
        }
        Ok(principal)
    }

    pub fn viewer(&self) -> ApiResult<Principal> {
        self.require(Role::Viewer)
    }

    pub fn editor(&self) -> ApiResult<Principal> {
        self.require(Role::Editor)
    }

    pub fn admin(&self) -> ApiResult<Principal> {
        self.require(Role::Admin)
    }
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

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The origin our pages are served from, for the CSRF Origin check.
fn expected_origin(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(origin) = &state.config.public_origin {
        return Some(origin.trim_end_matches('/').to_owned());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let scheme = if state.config.insecure_cookies {
        "http"
    } else {
        "https"
    };
    Some(format!("{scheme}://{host}"))
}

/// A cookie-authenticated unsafe request must come from our own origin.
fn check_origin(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    let expected = expected_origin(state, headers);
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            // Some browsers omit Origin on same-origin form posts; the Referer then tells.
            let referer = headers.get(header::REFERER)?.to_str().ok()?;
            let after_scheme = referer.find("://")? + 3;
            let end = referer[after_scheme..]
                .find('/')
                .map_or(referer.len(), |i| after_scheme + i);
            Some(referer[..end].to_owned())
        });
    match (origin, expected) {
        (Some(origin), Some(expected)) if origin == expected => Ok(()),
        (Some(origin), _) => Err(ApiError::forbidden(format!(
            "cross-site request refused (Origin {origin} is not this server)"
        ))),
        (None, _) => Err(ApiError::forbidden(
            "cross-site request refused (no Origin or Referer)",
        )),
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unsafe_method = is_unsafe(&parts.method);
        let now = state.now();
        let headers = &parts.headers;
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or_else(ApiError::unauthorized)?;
            let (token, user) = state
                .store
                .token(&crypto::token_hash(token), now)
                .await?
                .ok_or_else(ApiError::unauthorized)?;
            return Ok(Caller {
                principal: Some(Principal {
                    user,
                    credential: Credential::Token { scope: token.scope },
                }),
                unsafe_method,
            });
        }
        if let Some(value) = headers.get(PROXY_USER_HEADER) {
            let peer = parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip());
            if peer.is_some_and(|ip| state.config.trusted_proxies.contains(&ip)) {
                let username = value.to_str().map_err(|_| ApiError::unauthorized())?;
                let (user, _) = state
                    .store
                    .user_by_name(username)
                    .await
                    .map_err(|_| ApiError::unauthorized())?;
                if user.disabled {
                    return Err(ApiError::unauthorized());
                }
                return Ok(Caller {
                    principal: Some(Principal {
                        user,
                        credential: Credential::Proxy,
                    }),
                    unsafe_method,
                });
            }
            tracing::warn!(
                ?peer,
                "ignored X-Forwarded-User from an address that is not a trusted proxy"
            );
        }
        if let Some(token) = cookie(headers, SESSION_COOKIE) {
            let token_hash = crypto::token_hash(token);
            if let Some(session) = state.store.session(&token_hash, now).await? {
                if unsafe_method {
                    check_origin(state, headers)?;
                    let on_api = parts.uri.path().starts_with("/api/");
                    if on_api {
                        let sent = headers
                            .get(CSRF_HEADER)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        if !crypto::same_secret(sent, &session.csrf_token) {
                            return Err(ApiError::forbidden(
                                "missing or wrong X-CSRF-Token for a signed-in browser session",
                            ));
                        }
                    }
                }
                return Ok(Caller {
                    principal: Some(Principal {
                        user: session.user,
                        credential: Credential::Session {
                            token_hash,
                            csrf_token: session.csrf_token,
                        },
                    }),
                    unsafe_method,
                });
            }
        }
        Ok(Caller {
            principal: None,
            unsafe_method,
        })
    }
}

/// The `Set-Cookie` value for a new session (or, with `None`, one that clears it).
pub fn session_cookie(state: &AppState, token: Option<&str>) -> String {
    let secure = if state.config.insecure_cookies {
        ""
    } else {
        "; Secure"
    };
    match token {
        Some(token) => format!(
            "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
            state.config.session_lifetime.as_secs()
        ),
        None => format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{secure}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; ss_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }
}

/// The address of the other end of the connection, when the server knows it (not in tests that
/// call the router directly).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}
