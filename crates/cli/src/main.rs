//! `secondstory`: blameless post-incident reviews from the terminal.
//!
//! A thin binary over the library crates: it parses arguments (clap), reads the clock and the
//! configuration once, opens the store named by `--database`, and calls the domain, review, lint
//! and import crates. Exit codes: 0 success, 1 validation errors or lint findings, 2 usage errors.

mod app;
mod commands;
mod lint_command;
mod output;
mod settings;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::{App, CliError};

/// Blameless post-incident reviews: incidents, timelines, reviews, contributing factors and
/// action items, kept in SQLite (default) or PostgreSQL.
#[derive(Debug, Parser)]
#[command(name = "secondstory", version, propagate_version = true, after_help = TOUR)]
struct Cli {
    /// Database URL: sqlite:PATH (created on first use) or postgres://USER@HOST/DB.
    #[arg(long, global = true, env = "SECONDSTORY_DATABASE_URL", default_value = secondstory_store_sql::DEFAULT_DATABASE_URL)]
    database: String,

    /// Configuration file (severity levels, factor categories, id prefix); default:
    /// `.secondstory.toml` found upward from the current directory.
    #[arg(long, global = true, env = "SECONDSTORY_CONFIG")]
    config: Option<std::path::PathBuf>,

    /// Who is making changes, recorded with review revisions; default: $USER.
    #[arg(long, global = true, env = "SECONDSTORY_AUTHOR")]
    author: Option<String>,

    #[command(subcommand)]
    command: Command,
}

const TOUR: &str = "\
Examples:
  secondstory demo                                   # a realistic incident to look at
  secondstory incident new --title \"Checkout errors\" --severity SEV2 --impact-started 2026-11-25T09:12:00+01:00
  secondstory timeline add INC-2026-0001 --at now --text \"Rolled back v3.8.0\" --kind action
  secondstory review edit INC-2026-0001              # opens $EDITOR, saves a revision
  secondstory lint reviews/                          # the blameless-language coach
  secondstory export --format markdown --out reviews/";

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the database (or bring its schema up to date) and say where it is.
    #[command(
        after_help = "Examples:\n  secondstory init\n  secondstory --database postgres://app@db/secondstory init"
    )]
    Init,
    /// Open, list, show and change incidents.
    #[command(subcommand)]
    Incident(commands::incident::IncidentCommand),
    /// The timeline: what happened, in order, from people and tools.
    #[command(subcommand)]
    Timeline(commands::timeline::TimelineCommand),
    /// Contributing factors: the conditions that combined (never one root cause).
    #[command(subcommand)]
    Factor(commands::factor::FactorCommand),
    /// Action items: follow-up work with owners and due dates.
    #[command(subcommand)]
    Action(commands::action::ActionCommand),
    /// People who took part, their roles and what they saw.
    #[command(subcommand)]
    Participant(commands::participant::ParticipantCommand),
    /// The review document: edit, show, history, diff, workflow.
    #[command(subcommand)]
    Review(commands::review::ReviewCommand),
    /// Write incidents as Markdown (front matter + review) or JSON files, one per incident.
    Export(commands::transfer::ExportArgs),
    /// Read incidents from Markdown or JSON files written by `export` (or by hand, or by git).
    Import(commands::transfer::ImportArgs),
    /// Fill the database with a realistic example incident (the fictional Quaystone failover).
    #[command(
        after_help = "Example:\n  secondstory --database sqlite:demo.db demo && secondstory --database sqlite:demo.db incident show INC-4711"
    )]
    Demo,
    /// Serve the web UI and REST API.
    Serve(commands::serve::ServeArgs),
    /// Accounts: add, list, disable, reset a password.
    #[command(subcommand)]
    User(commands::serve::UserCommand),
    /// API tokens: create (shown once), list, revoke.
    #[command(subcommand)]
    Token(commands::serve::TokenCommand),
    /// Tokens for webhook senders (Alertmanager, Grafana, PagerDuty).
    #[command(subcommand)]
    HookToken(commands::serve::HookTokenCommand),
    /// Check review prose for blame, counterfactuals, hindsight and judgmental wording.
    Lint(lint_command::LintArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The linter needs no database: it runs without opening one.
    if let Command::Lint(args) = &cli.command {
        return match lint_command::run_lint(args) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let settings = settings::Settings::load(cli.config.as_deref())?;
    let app = App::open(&cli.database, settings, cli.author).await?;
    let result = match cli.command {
        Command::Init => {
            println!("database ready: {}", app.describe_database(&cli.database));
            Ok(())
        }
        Command::Incident(c) => commands::incident::run(&app, c).await,
        Command::Timeline(c) => commands::timeline::run(&app, c).await,
        Command::Factor(c) => commands::factor::run(&app, c).await,
        Command::Action(c) => commands::action::run(&app, c).await,
        Command::Participant(c) => commands::participant::run(&app, c).await,
        Command::Review(c) => commands::review::run(&app, c).await,
        Command::Export(args) => commands::transfer::export(&app, args).await,
        Command::Import(args) => commands::transfer::import(&app, args).await,
        Command::Demo => commands::demo::run(&app).await,
        Command::Serve(args) => commands::serve::serve(&app, args).await,
        Command::User(c) => commands::serve::user(&app, c).await,
        Command::Token(c) => commands::serve::token(&app, c).await,
        Command::HookToken(c) => commands::serve::hook_token(&app, c).await,
        // Handled in main before a database is opened.
        Command::Lint(_) => Ok(()),
    };
    app.close().await;
    result
}
