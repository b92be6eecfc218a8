//! `secondstory serve`: the web UI and REST API; and the account commands an admin runs on the
//! server's machine (`user`, `token`, `hook-token`).

use std::io::IsTerminal;
use std::net::IpAddr;
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use secondstory_server::{AppState, OidcConfig, ServerConfig, crypto};
use secondstory_store::{AccessStore, NewUser, Role, TokenScope};

use crate::app::{App, CliError};
use crate::output;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable (the default on a terminal).
    Human,
    /// One JSON object per line (the default otherwise).
    Json,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  secondstory serve --demo                       # a fresh database with the demo incident and an admin
  secondstory serve --addr 0.0.0.0:8080 --public-origin https://incidents.example.com
  secondstory --database postgres://app@db/secondstory serve --addr 0.0.0.0:8080 --log-format json")]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Load the demo incident and create an admin account with a one-time password (printed).
    #[arg(long)]
    demo: bool,
    /// Send cookies without `Secure`, for plain http on localhost.
    #[arg(long)]
    insecure_cookies: bool,
    /// The origin browsers use (scheme://host[:port]), for the cross-site request check.
    #[arg(long)]
    public_origin: Option<String>,
    /// A reverse proxy whose X-Forwarded-User header is trusted (repeatable).
    #[arg(long = "trusted-proxy")]
    trusted_proxies: Vec<IpAddr>,
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
    /// The PagerDuty webhook subscription's secret: signed deliveries need no bearer token.
    #[arg(long, env = "SECONDSTORY_PAGERDUTY_SECRET", hide_env_values = true)]
    pagerduty_secret: Option<String>,
    /// Single sign-on: the OpenID Connect provider's issuer URL (with --oidc-client-id).
    #[arg(long)]
    oidc_issuer: Option<String>,
    /// Single sign-on: this server's client id at the provider.
    #[arg(long)]
    oidc_client_id: Option<String>,
    /// Single sign-on: the client secret, for a confidential client.
    #[arg(long, env = "SECONDSTORY_OIDC_CLIENT_SECRET", hide_env_values = true)]
    oidc_client_secret: Option<String>,
    /// Single sign-on: the redirect URL registered at the provider
    /// [default: <public origin>/auth/oidc/callback].
    #[arg(long)]
    oidc_redirect_url: Option<String>,
    /// Single sign-on: create accounts on first sign-in with this role (otherwise only
    /// existing accounts may sign in).
    #[arg(long, value_parser = ["viewer", "editor"])]
    oidc_auto_create: Option<String>,
}

/// The single sign-on settings, when any were given: all of them or none.
fn oidc_config(args: &ServeArgs) -> Result<Option<OidcConfig>, CliError> {
    let redirect = args.oidc_redirect_url.clone().or_else(|| {
        args.public_origin
            .as_deref()
            .map(|o| format!("{}/auth/oidc/callback", o.trim_end_matches('/')))
    });
    let any = args.oidc_issuer.is_some()
        || args.oidc_client_id.is_some()
        || args.oidc_redirect_url.is_some()
        || args.oidc_auto_create.is_some();
    if !any {
        return Ok(None);
    }
    let (Some(issuer), Some(client_id), Some(redirect)) =
        (&args.oidc_issuer, &args.oidc_client_id, &redirect)
    else {
        return Err(CliError::invalid(
            "single sign-on needs --oidc-issuer, --oidc-client-id and --oidc-redirect-url \
             (or --public-origin) together",
        ));
    };
    let mut config = OidcConfig::new(issuer, client_id, redirect);
    config.client_secret = args.oidc_client_secret.clone();
    config.auto_create_role = args
        .oidc_auto_create
        .as_deref()
        .map(str::parse::<Role>)
        .transpose()
        .map_err(CliError::argument)?;
    Ok(Some(config))
}

pub async fn serve(app: &App, args: ServeArgs) -> Result<(), CliError> {
    init_logging(args.log_format);
    let oidc = oidc_config(&args)?;
    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await
        .map_err(|e| CliError::invalid(format!("--addr: cannot listen on {}: {e}", args.addr)))?;
    let local = listener.local_addr()?;
    let insecure = args.insecure_cookies || (args.demo && local.ip().is_loopback());
    let config = ServerConfig {
        insecure_cookies: insecure,
        public_origin: args.public_origin.clone(),
        trusted_proxies: args.trusted_proxies.clone(),
        severities: app.settings.severities.clone(),
        taxonomy: app.settings.taxonomy.clone(),
        id_prefix: app.settings.id_prefix.clone(),
        pagerduty_signing_secret: args.pagerduty_secret.clone(),
        oidc,
        ..ServerConfig::default()
    };
    let config = if app.settings.hook_rules.is_empty() {
        config
    } else {
        ServerConfig {
            hook_rules: app.settings.hook_rules.clone(),
            ..config
        }
    };
    if args.demo {
        super::demo::load(app).await?;
        let password = crypto::random_token("")[..20].to_owned();
        let hash = crypto::hash_password(&password).map_err(CliError::invalid)?;
        match app.store.user_by_name("admin").await {
            Ok((user, _)) => app.store.set_password(user.id, &hash).await?,
            Err(_) => {
                let admin = NewUser {
                    username: "admin".into(),
                    display_name: "Administrator".into(),
                    role: Role::Admin,
                    groups: vec![],
                    password_hash: hash,
                };
                app.store.create_user(&admin, app.now).await?;
            }
        }
        let scheme = if insecure { "http" } else { "https" };
        println!("Second Story is running at {scheme}://{local}/");
        println!("Sign in as `admin` with the one-time password: {password}");
    } else {
        println!("Second Story is listening on {local}");
    }
    let state = AppState::new(
        Arc::new(app.store.clone()),
        config,
        secondstory_server::system_clock(),
    );
    secondstory_server::serve(listener, state, secondstory_server::shutdown_signal()).await?;
    Ok(())
}

fn init_logging(format: Option<LogFormat>) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SECONDSTORY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let format = format.unwrap_or(if std::io::stderr().is_terminal() {
        LogFormat::Human
    } else {
        LogFormat::Json
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from SECONDSTORY_PASSWORD or generated and printed.
    #[command(
        after_help = "Examples:\n  secondstory user add alice --role editor --group sre\n  SECONDSTORY_PASSWORD=… secondstory user add bob --role admin"
    )]
    Add {
        username: String,
        #[arg(long, default_value = "viewer")]
        role: String,
        /// A group whose restricted incidents this user may see (repeatable).
        #[arg(long = "group")]
        groups: Vec<String>,
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List accounts.
    #[command(after_help = "Example:\n  secondstory user list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable an account (it keeps its history; its sessions end).
    #[command(after_help = "Example:\n  secondstory user disable bob")]
    Disable { username: String },
    /// Set a new password (from SECONDSTORY_PASSWORD, or generated and printed); sessions end.
    #[command(after_help = "Example:\n  secondstory user reset-password alice")]
    ResetPassword { username: String },
}

fn password_from_env_or_new() -> Result<(String, bool), CliError> {
    match std::env::var("SECONDSTORY_PASSWORD") {
        Ok(p) if p.chars().count() >= 12 => Ok((p, false)),
        Ok(_) => Err(CliError::invalid(
            "SECONDSTORY_PASSWORD: use at least 12 characters",
        )),
        Err(_) => Ok((crypto::random_token("")[..20].to_owned(), true)),
    }
}

pub async fn user(app: &App, command: UserCommand) -> Result<(), CliError> {
    match command {
        UserCommand::Add {
            username,
            role,
            groups,
            display_name,
        } => {
            let role: Role = role.parse().map_err(CliError::argument)?;
            let (password, generated) = password_from_env_or_new()?;
            let new = NewUser {
                display_name: display_name.unwrap_or_else(|| username.clone()),
                username,
                role,
                groups,
                password_hash: crypto::hash_password(&password).map_err(CliError::invalid)?,
            };
            new.validate().map_err(CliError::argument)?;
            let user = app.store.create_user(&new, app.now).await?;
            println!("created {} ({})", user.username, user.role);
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
        UserCommand::List { json } => {
            let users = app.store.users().await?;
            if json {
                return output::json(&users);
            }
            let rows: Vec<Vec<String>> = users
                .iter()
                .map(|u| {
                    vec![
                        u.username.clone(),
                        u.role.to_string(),
                        u.groups.join(","),
                        if u.disabled {
                            "disabled".into()
                        } else {
                            "active".into()
                        },
                    ]
                })
                .collect();
            output::table(&["USERNAME", "ROLE", "GROUPS", "STATE"], &rows);
            Ok(())
        }
        UserCommand::Disable { username } => {
            let (mut user, _) = app.store.user_by_name(&username).await?;
            user.disabled = true;
            app.store.update_user(&user).await?;
            app.store.delete_sessions_of(user.id).await?;
            app.store
                .record_audit(app.now, &app.author, "user.disable", &username, "{}")
                .await?;
            println!("disabled {username}");
            Ok(())
        }
        UserCommand::ResetPassword { username } => {
            let (user, _) = app.store.user_by_name(&username).await?;
            let (password, generated) = password_from_env_or_new()?;
            app.store
                .set_password(
                    user.id,
                    &crypto::hash_password(&password).map_err(CliError::invalid)?,
                )
                .await?;
            app.store.delete_sessions_of(user.id).await?;
            app.store
                .record_audit(app.now, &app.author, "user.reset-password", &username, "{}")
                .await?;
            println!("password of {username} reset");
            if generated {
                println!("password: {password}");
            }
            Ok(())
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user; it is shown once and stored only as a hash.
    #[command(after_help = "Example:\n  secondstory token create alice --name ci --scope read")]
    Create {
        username: String,
        #[arg(long)]
        name: String,
        /// read or write.
        #[arg(long, default_value = "read")]
        scope: String,
    },
    /// List tokens (never their secrets).
    #[command(after_help = "Example:\n  secondstory token list --user alice")]
    List {
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id.
    #[command(after_help = "Example:\n  secondstory token revoke 3")]
    Revoke { id: i64 },
}

pub async fn token(app: &App, command: TokenCommand) -> Result<(), CliError> {
    match command {
        TokenCommand::Create {
            username,
            name,
            scope,
        } => {
            let scope: TokenScope = scope.parse().map_err(CliError::argument)?;
            let (user, _) = app.store.user_by_name(&username).await?;
            let secret = crypto::random_token("ss_");
            let token = app
                .store
                .create_token(user.id, &name, scope, &crypto::token_hash(&secret), app.now)
                .await?;
            println!(
                "token {} ({}, {}) for {username}:",
                token.id,
                token.name,
                token.scope.as_str()
            );
            println!("{secret}");
            println!("It is shown only now; send it as `Authorization: Bearer …`.");
            Ok(())
        }
        TokenCommand::List { user, json } => {
            let user_id = match user {
                Some(name) => Some(app.store.user_by_name(&name).await?.0.id),
                None => None,
            };
            let tokens = app.store.tokens(user_id).await?;
            if json {
                return output::json(&tokens);
            }
            let rows: Vec<Vec<String>> = tokens
                .iter()
                .map(|t| {
                    vec![
                        t.id.to_string(),
                        t.user_id.to_string(),
                        t.name.clone(),
                        t.scope.as_str().into(),
                        if t.revoked {
                            "revoked".into()
                        } else {
                            "active".into()
                        },
                    ]
                })
                .collect();
            output::table(&["ID", "USER", "NAME", "SCOPE", "STATE"], &rows);
            Ok(())
        }
        TokenCommand::Revoke { id } => {
            let token = app.store.revoke_token(id, app.now).await?;
            println!("revoked token {} ({})", token.id, token.name);
            Ok(())
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum HookTokenCommand {
    /// Create a token a webhook sender presents (alertmanager, grafana or pagerduty).
    #[command(
        after_help = "Example:\n  secondstory hook-token create alertmanager --name prod-alertmanager"
    )]
    Create {
        source: String,
        #[arg(long)]
        name: String,
    },
    /// List webhook tokens (never their secrets).
    #[command(after_help = "Example:\n  secondstory hook-token list")]
    List,
    /// Revoke a webhook token by its id.
    #[command(after_help = "Example:\n  secondstory hook-token revoke 2")]
    Revoke { id: i64 },
}

pub async fn hook_token(app: &App, command: HookTokenCommand) -> Result<(), CliError> {
    match command {
        HookTokenCommand::Create { source, name } => {
            if !matches!(source.as_str(), "alertmanager" | "grafana" | "pagerduty") {
                return Err(CliError::invalid(format!(
                    "`{source}` is not a webhook source (alertmanager, grafana or pagerduty)"
                )));
            }
            let secret = crypto::random_token("sshook_");
            let token = app
                .store
                .create_hook_token(&source, &name, &crypto::token_hash(&secret), app.now)
                .await?;
            println!("webhook token {} for {source} ({name}):", token.id);
            println!("{secret}");
            println!("It is shown only now; configure the sender with `Authorization: Bearer …`.");
            Ok(())
        }
        HookTokenCommand::List => {
            let rows: Vec<Vec<String>> = app
                .store
                .hook_tokens()
                .await?
                .iter()
                .map(|t| {
                    vec![
                        t.id.to_string(),
                        t.source.clone(),
                        t.name.clone(),
                        if t.revoked {
                            "revoked".into()
                        } else {
                            "active".into()
                        },
                    ]
                })
                .collect();
            output::table(&["ID", "SOURCE", "NAME", "STATE"], &rows);
            Ok(())
        }
        HookTokenCommand::Revoke { id } => {
            let token = app.store.revoke_hook_token(id, app.now).await?;
            println!("revoked webhook token {} ({})", token.id, token.name);
            Ok(())
        }
    }
}
