//! What every request handler shares: the store, configuration, linter and clock.
//!
//! Nothing here is mutable per request: the server keeps no state of its own, so several
//! instances on one PostgreSQL database behave as one.

use std::net::IpAddr;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use secondstory_domain::{FactorTaxonomy, SeverityScale};
use secondstory_store::{AppStore, Role};

/// How the server is set up; everything has a sensible default for a laptop.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Send cookies without `Secure` (for http://localhost only).
    pub insecure_cookies: bool,
    /// The origin browsers use to reach the server (`https://incidents.example.com`); when unset,
    /// the request's own Host header is trusted for the Origin check.
    pub public_origin: Option<String>,
    /// Reverse proxies whose `X-Forwarded-User` header is believed.
    pub trusted_proxies: Vec<IpAddr>,
    pub session_lifetime: SignedDuration,
    /// Failed sign-ins allowed per account and per address in one window.
    pub login_attempts_per_window: i64,
    pub login_window: SignedDuration,
    pub severities: SeverityScale,
    pub taxonomy: FactorTaxonomy,
    pub id_prefix: String,
    /// Largest request body accepted, including imports.
    pub max_body_bytes: usize,
    /// Rules matching alerts to incidents for the webhook endpoints.
    pub hook_rules: Vec<HookRule>,
    /// The secret of the PagerDuty webhook subscription: deliveries signed with it
    /// (`X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the body>`) need no bearer token.
    pub pagerduty_signing_secret: Option<String>,
    /// Single sign-on with an OpenID Connect provider (authorization code with PKCE).
    pub oidc: Option<OidcConfig>,
}

/// An OpenID Connect provider people may sign in with.
#[derive(Clone)]
pub struct OidcConfig {
    /// The provider's issuer (`https://login.example.com/realms/main`); its discovery document
    /// is `{issuer_url}/.well-known/openid-configuration`.
    pub issuer_url: String,
    pub client_id: String,
    /// Sent with HTTP basic auth to the token endpoint; also the key of HS256 ID tokens.
    pub client_secret: Option<String>,
    /// Where the provider sends the browser back: `<public origin>/auth/oidc/callback`.
    pub redirect_url: String,
    /// Accounts created on first sign-in get this role; `None`: only existing users may sign in.
    pub auto_create_role: Option<Role>,
    /// The ID token claim that is the username (falling back to `email`).
    pub username_claim: String,
}

impl OidcConfig {
    pub fn new(issuer_url: &str, client_id: &str, redirect_url: &str) -> Self {
        OidcConfig {
            issuer_url: issuer_url.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret: None,
            redirect_url: redirect_url.to_owned(),
            auto_create_role: None,
            username_claim: "preferred_username".to_owned(),
        }
    }
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer_url", &self.issuer_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "…"))
            .field("redirect_url", &self.redirect_url)
            .field("auto_create_role", &self.auto_create_role)
            .field("username_claim", &self.username_claim)
            .finish()
    }
}

/// Which active incident an alert joins: the first rule whose label matches decides the label
/// compared with incidents' services, and the severity of an incident opened for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookRule {
    /// The alert label (Alertmanager/Grafana) or PagerDuty service name key to match on.
    pub label: String,
    /// Only alerts whose label has this value; `None` matches any value.
    pub value: Option<String>,
    /// Severity for an incident opened by a matching alert.
    pub severity: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            insecure_cookies: false,
            public_origin: None,
            trusted_proxies: Vec::new(),
            session_lifetime: SignedDuration::from_hours(12),
            login_attempts_per_window: 10,
            login_window: SignedDuration::from_mins(15),
            severities: SeverityScale::default(),
            taxonomy: FactorTaxonomy::default(),
            id_prefix: "INC".into(),
            max_body_bytes: 64 * 1024 * 1024,
            hook_rules: vec![HookRule {
                label: "service".into(),
                value: None,
                severity: "SEV3".into(),
            }],
            pagerduty_signing_secret: None,
            oidc: None,
        }
    }
}

/// The source of "now"; tests pass a fixed clock.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

pub fn system_clock() -> Clock {
    #[allow(
        clippy::disallowed_methods,
        reason = "the server's one place that reads the clock"
    )]
    Arc::new(Timestamp::now)
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn AppStore>,
    pub config: Arc<ServerConfig>,
    pub clock: Clock,
    pub linter: Arc<secondstory_lint::Linter>,
    /// The OIDC provider's discovery document and keys, fetched once (configuration, not state).
    pub oidc: Arc<crate::oidc::OidcCache>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(store: Arc<dyn AppStore>, config: ServerConfig, clock: Clock) -> Self {
        AppState {
            store,
            config: Arc::new(config),
            clock,
            linter: Arc::new(secondstory_lint::Linter::default()),
            oidc: Arc::default(),
        }
    }

    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }
}
