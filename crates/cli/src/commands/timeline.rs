//! `secondstory timeline add|list|import|mark`.

use clap::{Args, Subcommand};
use secondstory_domain::{EventKind, EventSource, TimelineEvent};
use secondstory_store::{EventChange, Store};

use super::time_arg;
use crate::app::{App, CliError, incident_id};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum TimelineCommand {
    /// Add an event by hand.
    #[command(
        after_help = "Examples:\n  secondstory timeline add INC-2026-0001 --at 2026-11-25T09:14:00+01:00 --text \"Paged the on-call DBA\" --kind communication\n  secondstory timeline add INC-2026-0001 --at now --text \"Rollback finished\" --kind action --key"
    )]
    Add(AddArgs),
    /// List the timeline in order (time, then source).
    #[command(
        after_help = "Examples:\n  secondstory timeline list INC-2026-0001\n  secondstory timeline list INC-2026-0001 --key-only --json"
    )]
    List {
        id: String,
        /// Include hidden events.
        #[arg(long)]
        all: bool,
        /// Only key moments.
        #[arg(long)]
        key_only: bool,
        #[arg(long)]
        json: bool,
    },
    /// Import events from chat exports, IRC logs, paging, alerting, deploys, CSV/JSONL.
    Import(super::timeline_import::ImportArgs),
    /// Mark an event as a key moment, hide it, or change its kind (found by its ref).
    #[command(
        after_help = "Example:\n  secondstory timeline mark INC-2026-0001 manual:1764062040000000:1 --key --kind decision"
    )]
    Mark {
        id: String,
        source_ref: String,
        #[arg(long, conflicts_with = "not_key")]
        key: bool,
        #[arg(long)]
        not_key: bool,
        #[arg(long, conflicts_with = "show")]
        hide: bool,
        #[arg(long)]
        show: bool,
        #[arg(long)]
        kind: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    id: String,
    /// RFC 3339 with offset, RFC 9557 with zone, or `now`.
    #[arg(long)]
    at: String,
    #[arg(long)]
    text: String,
    /// alert, detection, diagnosis, action, decision, communication, deploy or observation.
    #[arg(long, default_value = "observation")]
    kind: String,
    /// As written in the source (a name, a nick, a bot).
    #[arg(long)]
    actor: Option<String>,
    /// Mark as a key moment (shown in the review's timeline section).
    #[arg(long)]
    key: bool,
    /// A link to the evidence (chat message, graph, log query).
    #[arg(long)]
    evidence: Option<String>,
    #[arg(long)]
    json: bool,
}

pub async fn run(app: &App, command: TimelineCommand) -> Result<(), CliError> {
    match command {
        TimelineCommand::Add(args) => add(app, args).await,
        TimelineCommand::Import(args) => super::timeline_import::run(app, args).await,
        TimelineCommand::List {
            id,
            all,
            key_only,
            json,
        } => {
            let events = app.store.events(&incident_id(&id)?).await?;
            let events: Vec<_> = events
                .into_iter()
                .filter(|e| (all || !e.hidden) && (!key_only || e.key_moment))
                .collect();
            if json {
                return output::json(&events);
            }
            print_events(&events);
            Ok(())
        }
        TimelineCommand::Mark {
            id,
            source_ref,
            key,
            not_key,
            hide,
            show,
            kind,
        } => {
            let change = EventChange {
                key_moment: (key || not_key).then_some(key),
                hidden: (hide || show).then_some(hide),
                kind: kind
                    .as_deref()
                    .map(str::parse::<EventKind>)
                    .transpose()
                    .map_err(CliError::argument)?,
            };
            let event = app
                .store
                .change_event(&incident_id(&id)?, &source_ref, &change)
                .await?;
            print_events(&[event]);
            Ok(())
        }
    }
}

async fn add(app: &App, args: AddArgs) -> Result<(), CliError> {
    let id = incident_id(&args.id)?;
    let at = time_arg(app, "at", &args.at)?;
    let existing = app.store.events(&id).await?;
    let event = TimelineEvent {
        // Manual events are identified by their time and position, so re-adding is visible.
        source_ref: format!("manual:{}:{}", at.as_micros(), existing.len() + 1),
        at,
        source: EventSource::manual(),
        actor: args.actor.or_else(|| Some(app.author.clone())),
        kind: args.kind.parse().map_err(CliError::argument)?,
        text: args.text.trim().to_owned(),
        key_moment: args.key,
        hidden: false,
        evidence_url: args.evidence,
    };
    event.validate().map_err(CliError::argument)?;
    app.store
        .add_events(&id, std::slice::from_ref(&event))
        .await?;
    if args.json {
        return output::json(&event);
    }
    print_events(&[event]);
    Ok(())
}

pub fn print_events(events: &[TimelineEvent]) {
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            let flags = format!(
                "{}{}",
                if e.key_moment { "★" } else { "" },
                if e.hidden { "h" } else { "" }
            );
            vec![
                e.at.to_string(),
                e.source.to_string(),
                e.kind.to_string(),
                flags,
                e.actor.clone().unwrap_or_default(),
                output::one_line(&e.text, 80),
                e.source_ref.clone(),
            ]
        })
        .collect();
    output::table(
        &["TIME", "SOURCE", "KIND", "", "ACTOR", "TEXT", "REF"],
        &rows,
    );
}
