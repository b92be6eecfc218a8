//! Single sign-on with OpenID Connect against an in-process mock provider.
//!
//! The test plays the browser: it asks `/auth/oidc/login` where to go, reads the provider's
//! authorization URL, "approves" by having the mock issue a code for the PKCE challenge and nonce
//! it saw, and brings the code back to `/auth/oidc/callback`. The mock's token endpoint checks
//! the client secret, the code (once) and the PKCE verifier, and answers with an HS256 ID token.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{Reply, TestServer};
use secondstory_server::{OidcConfig, ServerConfig};
use secondstory_store::Role;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CLIENT_ID: &str = "secondstory";
const CLIENT_SECRET: &str = "a-client-secret-shared-with-the-provider";
const REDIRECT: &str = "http://localhost/auth/oidc/callback";

#[derive(Default)]
struct Issued {
    /// code → (PKCE challenge, ID token claims)
    codes: BTreeMap<String, (String, Value)>,
    next_code: u64,
    /// Sign RS256 ID tokens with this key rather than the published one.
    forger: Option<Arc<aws_lc_rs::rsa::KeyPair>>,
}

#[derive(Clone)]
struct Mock {
    base: String,
    issued: Arc<Mutex<Issued>>,
    /// Sign ID tokens with RS256 and this key (published at `/jwks`) instead of HS256.
    rsa: Option<Arc<aws_lc_rs::rsa::KeyPair>>,
}

impl Mock {
    async fn start() -> Mock {
        Self::start_with(None).await
    }

    async fn start_with(rsa: Option<aws_lc_rs::rsa::KeyPair>) -> Mock {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let mock = Mock {
            base: base.clone(),
            issued: Arc::default(),
            rsa: rsa.map(Arc::new),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", routing::get(discovery))
            .route("/token", routing::post(token))
            .route("/jwks", routing::get(jwks))
            .with_state(mock.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        mock
    }

    /// The person approves at the provider: a code for this challenge, with these claims.
    fn approve(&self, challenge: &str, claims: Value) -> String {
        let mut issued = self.issued.lock().expect("lock");
        issued.next_code += 1;
        let code = format!("code-{}", issued.next_code);
        issued
            .codes
            .insert(code.clone(), (challenge.to_owned(), claims));
        code
    }

    fn claims(&self, username: &str, nonce: &str) -> Value {
        let now = common::now().as_second();
        json!({
            "iss": self.base,
            "sub": format!("sub-{username}"),
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "preferred_username": username,
            "name": format!("{username} (SSO)"),
        })
    }
}

async fn discovery(State(mock): State<Mock>) -> impl IntoResponse {
    axum::Json(json!({
        "issuer": mock.base,
        "authorization_endpoint": format!("{}/authorize", mock.base),
        "token_endpoint": format!("{}/token", mock.base),
        "jwks_uri": format!("{}/jwks", mock.base),
    }))
}

async fn token(
    State(mock): State<Mock>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> axum::response::Response {
    let refuse = |error: &str| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "error": error })),
        )
            .into_response()
    };
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(basic.as_str())
    {
        return (StatusCode::UNAUTHORIZED, "invalid_client").into_response();
    }
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    if field("grant_type") != "authorization_code"
        || field("redirect_uri") != REDIRECT
        || field("client_id") != CLIENT_ID
    {
        return refuse("invalid_request");
    }
    let Some((challenge, claims)) = mock
        .issued
        .lock()
        .expect("lock")
        .codes
        .remove(field("code"))
    else {
        return refuse("invalid_grant");
    };
    let verifier = field("code_verifier");
    if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != challenge {
        return refuse("invalid_grant");
    }
    let forger = mock.issued.lock().expect("lock").forger.clone();
    let id_token = match forger.as_deref().or(mock.rsa.as_deref()) {
        Some(key) => rs256(key, &claims),
        None => jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(CLIENT_SECRET.as_bytes()),
        )
        .expect("sign"),
    };
    axum::Json(json!({ "access_token": "at", "token_type": "Bearer", "id_token": id_token }))
        .into_response()
}

const KID: &str = "key-1";

/// An RS256 JWT, signed by hand with the mock's key.
fn rs256(key: &aws_lc_rs::rsa::KeyPair, claims: &Value) -> String {
    use aws_lc_rs::signature::KeyPair as _;
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": KID });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; key.public_key().modulus_len()];
    key.sign(
        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .expect("sign");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

async fn jwks(State(mock): State<Mock>) -> impl IntoResponse {
    use aws_lc_rs::signature::KeyPair as _;
    let keys: Vec<Value> = mock
        .rsa
        .iter()
        .map(|key| {
            let public = key.public_key();
            json!({
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": KID,
                "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            })
        })
        .collect();
    axum::Json(json!({ "keys": keys }))
}

async fn setup(auto_create: Option<Role>) -> (TestServer, Mock) {
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("server.db").display());
    let server = TestServer::on(&url, "sqlite", dir, config(&mock, auto_create)).await;
    (server, mock)
}

fn config(mock: &Mock, auto_create: Option<Role>) -> ServerConfig {
    let mut oidc = OidcConfig::new(&mock.base, CLIENT_ID, REDIRECT);
    oidc.client_secret = Some(CLIENT_SECRET.to_owned());
    oidc.auto_create_role = auto_create;
    ServerConfig {
        insecure_cookies: true,
        oidc: Some(oidc),
        ..ServerConfig::default()
    }
}

async fn get(server: &TestServer, path: &str, cookie: Option<&str>) -> Reply {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    server
        .raw(request.body(Body::empty()).expect("request"))
        .await
}

fn set_cookie(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
}

fn location(reply: &Reply) -> String {
    reply
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no Location ({}): {}", reply.status, reply.text()))
        .to_owned()
}

/// A sign-in started at the server: the provider's query parameters and the flow cookie.
struct Started {
    params: BTreeMap<String, String>,
    cookie: String,
}

impl Started {
    fn param(&self, name: &str) -> &str {
        self.params.get(name).map(String::as_str).unwrap_or("")
    }
}

async fn start(server: &TestServer, mock: &Mock, next: &str) -> Started {
    let reply = get(
        server,
        &format!("/auth/oidc/login?next={}", urlencode(next)),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let url = reqwest::Url::parse(&location(&reply)).expect("a URL");
    assert!(
        url.as_str()
            .starts_with(&format!("{}/authorize?", mock.base)),
        "{url}"
    );
    let params: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    let cookie = set_cookie(&reply, "ss_oidc").expect("the flow is bound to the browser");
    Started { params, cookie }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn finish(server: &TestServer, started: &Started, code: &str) -> Reply {
    get(
        server,
        &format!(
            "/auth/oidc/callback?code={}&state={}",
            urlencode(code),
            urlencode(started.param("state"))
        ),
        Some(&started.cookie),
    )
    .await
}

/// The whole sign-in as `username`, with the ID token claims changed by `tweak`.
async fn sign_in(
    server: &TestServer,
    mock: &Mock,
    username: &str,
    next: &str,
    tweak: impl FnOnce(&mut Value),
) -> Reply {
    let started = start(server, mock, next).await;
    let mut claims = mock.claims(username, started.param("nonce"));
    tweak(&mut claims);
    let code = mock.approve(started.param("code_challenge"), claims);
    finish(server, &started, &code).await
}

/// A change to an ID token's claims.
type Tweak = Box<dyn FnOnce(&mut Value)>;

fn remove(claims: &mut Value, name: &str) {
    if let Some(object) = claims.as_object_mut() {
        object.remove(name);
    }
}

fn assert_no_session(reply: &Reply) {
    assert!(
        set_cookie(reply, "ss_session").is_none(),
        "no session may start: {:?}",
        reply.headers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_happy_path_signs_in_and_returns_to_next() {
    let (server, mock) = setup(None).await;
    let started = start(&server, &mock, "/incidents/INC-2024-0001").await;
    for (name, value) in [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("scope", "openid profile email"),
        ("code_challenge_method", "S256"),
    ] {
        assert_eq!(started.param(name), value, "{name}");
    }
    assert!(started.param("state").len() >= 32 && started.param("nonce").len() >= 32);
    let claims = mock.claims("editor", started.param("nonce"));
    let code = mock.approve(started.param("code_challenge"), claims);
    let reply = finish(&server, &started, &code).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    assert_eq!(location(&reply), "/incidents/INC-2024-0001");
    let session = set_cookie(&reply, "ss_session").expect("a session cookie");
    let me = get(&server, "/api/v1/session", Some(&session)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    assert_eq!(me.json()["username"], "editor");
    assert_eq!(me.json()["role"], "editor");
    let audit = server.store.audit(10, None).await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.action == "session.oidc" && e.actor == "editor"),
        "{audit:?}"
    );

    // The same state again (a replayed callback) is refused.
    let again = finish(&server, &started, &code).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.text());
    assert_no_session(&again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_state_or_one_from_another_browser_is_refused() {
    let (server, mock) = setup(None).await;
    let unknown = get(
        &server,
        "/auth/oidc/callback?code=code-1&state=made-up",
        Some("ss_oidc=made-up"),
    )
    .await;
    assert_eq!(
        unknown.status,
        StatusCode::BAD_REQUEST,
        "{}",
        unknown.text()
    );
    assert_no_session(&unknown);

    let started = start(&server, &mock, "/").await;
    let claims = mock.claims("editor", started.param("nonce"));
    let code = mock.approve(started.param("code_challenge"), claims);
    let no_cookie = get(
        &server,
        &format!(
            "/auth/oidc/callback?code={code}&state={}",
            started.param("state")
        ),
        None,
    )
    .await;
    assert_eq!(
        no_cookie.status,
        StatusCode::BAD_REQUEST,
        "{}",
        no_cookie.text()
    );
    assert_no_session(&no_cookie);
    // The flow was not spent by the refused attempt: the real browser still finishes.
    let reply = finish(&server, &started, &code).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pkce_verifier_is_refused_by_the_provider() {
    let (server, mock) = setup(None).await;
    let started = start(&server, &mock, "/").await;
    let claims = mock.claims("editor", started.param("nonce"));
    // The code was issued for another challenge: our verifier does not match it.
    let other = URL_SAFE_NO_PAD.encode(Sha256::digest(b"someone else's verifier"));
    let code = mock.approve(&other, claims);
    let reply = finish(&server, &started, &code).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    assert!(reply.text().contains("refused"), "{}", reply.text());
    assert_no_session(&reply);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_id_tokens_are_refused() {
    let (server, mock) = setup(None).await;
    let now = common::now().as_second();
    let cases: Vec<(&str, Tweak)> = vec![
        (
            "wrong nonce",
            Box::new(|c| c["nonce"] = json!("not-the-nonce")),
        ),
        ("no nonce", Box::new(|c| remove(c, "nonce"))),
        (
            "wrong audience",
            Box::new(|c| c["aud"] = json!("another-client")),
        ),
        (
            "wrong issuer",
            Box::new(|c| c["iss"] = json!("https://evil.example")),
        ),
        ("expired", Box::new(move |c| c["exp"] = json!(now - 61))),
        (
            "issued in the future",
            Box::new(move |c| c["iat"] = json!(now + 3600)),
        ),
    ];
    for (what, tweak) in cases {
        let reply = sign_in(&server, &mock, "editor", "/", tweak).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{what}: {}",
            reply.text()
        );
        assert_no_session(&reply);
    }
    // Within the leeway is fine.
    let reply = sign_in(&server, &mock, "editor", "/", |c| {
        c["exp"] = json!(now - 30)
    })
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_user_is_refused_unless_accounts_are_created() {
    let (server, mock) = setup(None).await;
    let reply = sign_in(&server, &mock, "newcomer", "/", |_| {}).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text());
    assert_no_session(&reply);
    assert!(server.store.user_by_name("newcomer").await.is_err());

    let (server, mock) = setup(Some(Role::Viewer)).await;
    let reply = sign_in(&server, &mock, "newcomer", "/incidents", |_| {}).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    let (user, _) = server
        .store
        .user_by_name("newcomer")
        .await
        .expect("created");
    assert_eq!(
        (user.role, user.groups.len(), user.display_name.as_str()),
        (Role::Viewer, 0, "newcomer (SSO)")
    );
    let session = set_cookie(&reply, "ss_session").expect("session");
    let me = get(&server, "/api/v1/session", Some(&session)).await;
    assert_eq!(me.json()["username"], "newcomer");
    // Its password is unknown to everyone: signing in with one fails.
    let by_password = server
        .send(
            axum::http::Method::POST,
            "/api/v1/session",
            common::Who::Anonymous,
            Some(json!({ "username": "newcomer", "password": "" })),
            &[],
        )
        .await;
    assert_eq!(by_password.status, StatusCode::UNAUTHORIZED);

    // Without preferred_username the email is the username.
    let reply = sign_in(&server, &mock, "ignored", "/", |c| {
        remove(c, "preferred_username");
        c["email"] = json!("mail.user@example.com");
    })
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    assert!(
        server
            .store
            .user_by_name("mail.user@example.com")
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_is_refused() {
    let (server, mock) = setup(Some(Role::Editor)).await;
    let (mut user, _) = server.store.user_by_name("viewer").await.expect("viewer");
    user.disabled = true;
    server.store.update_user(&user).await.expect("disable");
    let reply = sign_in(&server, &mock, "viewer", "/", |_| {}).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text());
    assert_no_session(&reply);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_never_leaves_the_site() {
    let (server, mock) = setup(None).await;
    for next in [
        "//evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "incidents",
    ] {
        let reply = sign_in(&server, &mock, "editor", next, |_| {}).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
        assert_eq!(location(&reply), "/", "{next}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sign_in_page_offers_single_sign_on_only_when_configured() {
    let (server, _mock) = setup(None).await;
    let page = get(&server, "/signin?next=/incidents", None).await;
    assert!(
        page.text().contains("/auth/oidc/login?next=/incidents\""),
        "{}",
        page.text()
    );
    let plain = TestServer::sqlite().await;
    let page = get(&plain, "/signin", None).await;
    assert!(!page.text().contains("/auth/oidc/login"));
    let login = get(&plain, "/auth/oidc/login", None).await;
    assert_eq!(login.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_sign_on_works_on_postgres() {
    let Some(base) = secondstory_store_sql::testing::postgres_base_url().await else {
        return;
    };
    let url = secondstory_store_sql::testing::scratch_postgres_url(&base).await;
    let mock = Mock::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let server = TestServer::on(&url, "postgres", dir, config(&mock, Some(Role::Viewer))).await;
    let reply = sign_in(&server, &mock, "editor", "/incidents", |_| {}).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    assert_eq!(location(&reply), "/incidents");
    let reply = sign_in(&server, &mock, "pg-newcomer", "/", |_| {}).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_id_tokens_are_checked_against_the_published_keys() {
    let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("key");
    let mock = Mock::start_with(Some(key)).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("server.db").display());
    let server = TestServer::on(&url, "sqlite", dir, config(&mock, None)).await;
    let reply = sign_in(&server, &mock, "editor", "/incidents", |_| {}).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    assert_eq!(location(&reply), "/incidents");
    assert!(set_cookie(&reply, "ss_session").is_some());

    // A token signed by another key (with the same kid) is refused.
    let other = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("key");
    mock.issued.lock().expect("lock").forger = Some(Arc::new(other));
    let reply = sign_in(&server, &mock, "editor", "/", |_| {}).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{}", reply.text());
    assert_no_session(&reply);
}
