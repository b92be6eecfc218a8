//! `secondstory action add|list|update`: follow-up work with owners and due dates.

use clap::{Args, Subcommand};
use secondstory_domain::action::parse_due;
use secondstory_domain::{ActionItem, ActionStatus};
use secondstory_store::Store;

use crate::app::{App, CliError, incident_id};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum ActionCommand {
    /// Add an action item. Owning a fix is not blame: a team is a fine owner.
    #[command(
        after_help = "Example:\n  secondstory action add INC-2026-0001 --title \"Set pgbouncer dns_max_ttl\" --owner team-db --kind prevent --priority high --due 2026-12-12"
    )]
    Add(AddArgs),
    /// List an incident's action items; overdue ones are marked.
    #[command(
        after_help = "Examples:\n  secondstory action list INC-2026-0001\n  secondstory action list INC-2026-0001 --json"
    )]
    List {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change an action item (by its number within the incident).
    #[command(
        after_help = "Examples:\n  secondstory action update INC-2026-0001 1 --status in-progress\n  secondstory action update INC-2026-0001 2 --status wont-do --reason \"covered by OPS-490\""
    )]
    Update(UpdateArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    id: String,
    #[arg(long)]
    title: String,
    /// A team or a person.
    #[arg(long)]
    owner: String,
    /// mitigate, prevent, detect, process or learn.
    #[arg(long, default_value = "prevent")]
    kind: String,
    /// high, medium or low.
    #[arg(long, default_value = "medium")]
    priority: String,
    /// Due date, like 2026-12-12.
    #[arg(long)]
    due: Option<String>,
    /// The issue tracking the work (GitHub, Jira, …).
    #[arg(long)]
    url: Option<String>,
    #[arg(long, default_value = "")]
    description: String,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    id: String,
    number: i64,
    /// open, in-progress, done or wont-do (with --reason).
    #[arg(long)]
    status: Option<String>,
    #[arg(long)]
    reason: Option<String>,
    #[arg(long)]
    title: Option<String>,
    #[arg(long)]
    owner: Option<String>,
    #[arg(long)]
    kind: Option<String>,
    #[arg(long)]
    priority: Option<String>,
    /// New due date, or `none`.
    #[arg(long)]
    due: Option<String>,
    #[arg(long)]
    url: Option<String>,
    #[arg(long)]
    description: Option<String>,
    #[arg(long)]
    json: bool,
}

pub async fn run(app: &App, command: ActionCommand) -> Result<(), CliError> {
    match command {
        ActionCommand::Add(args) => {
            let action = ActionItem {
                number: 0,
                title: args.title.trim().to_owned(),
                description: args.description,
                kind: args.kind.parse().map_err(CliError::argument)?,
                owner: args.owner.trim().to_owned(),
                priority: args.priority.parse().map_err(CliError::argument)?,
                due: args
                    .due
                    .as_deref()
                    .map(parse_due)
                    .transpose()
                    .map_err(CliError::argument)?,
                status: ActionStatus::Open,
                external_url: args.url,
                version: 0,
            };
            action.validate().map_err(CliError::argument)?;
            let stored = app
                .store
                .add_action(&incident_id(&args.id)?, &action)
                .await?;
            print_actions(app, &[stored], args.json)
        }
        ActionCommand::List { id, json } => {
            let actions = app.store.actions(&incident_id(&id)?).await?;
            print_actions(app, &actions, json)
        }
        ActionCommand::Update(args) => update(app, args).await,
    }
}

async fn update(app: &App, args: UpdateArgs) -> Result<(), CliError> {
    let id = incident_id(&args.id)?;
    let actions = app.store.actions(&id).await?;
    let mut action = actions
        .into_iter()
        .find(|a| a.number == args.number)
        .ok_or_else(|| CliError::invalid(format!("action item {id}#{} not found", args.number)))?;
    if let Some(status) = args.status {
        action.status =
            ActionStatus::parse(&status, args.reason.as_deref()).map_err(CliError::argument)?;
    }
    if let Some(title) = args.title {
        action.title = title.trim().to_owned();
    }
    if let Some(owner) = args.owner {
        action.owner = owner.trim().to_owned();
    }
    if let Some(kind) = args.kind {
        action.kind = kind.parse().map_err(CliError::argument)?;
    }
    if let Some(priority) = args.priority {
        action.priority = priority.parse().map_err(CliError::argument)?;
    }
    if let Some(due) = args.due {
        action.due = if due == "none" {
            None
        } else {
            Some(parse_due(&due).map_err(CliError::argument)?)
        };
    }
    if let Some(url) = args.url {
        action.external_url = Some(url).filter(|u| !u.is_empty());
    }
    if let Some(description) = args.description {
        action.description = description;
    }
    action.validate().map_err(CliError::argument)?;
    let saved = app.store.update_action(&id, &action).await?;
    print_actions(app, &[saved], args.json)
}

fn print_actions(app: &App, actions: &[ActionItem], json: bool) -> Result<(), CliError> {
    let today = app.today();
    if json {
        let with_overdue: Vec<_> = actions
            .iter()
            .map(|a| serde_json::json!({ "action": a, "overdue": a.is_overdue(today) }))
            .collect();
        return output::json(&with_overdue);
    }
    let rows: Vec<Vec<String>> = actions
        .iter()
        .map(|a| {
            vec![
                format!("#{}", a.number),
                a.status.to_string(),
                a.priority.to_string(),
                a.kind.to_string(),
                a.owner.clone(),
                a.due.map(|d| d.to_string()).unwrap_or_default()
                    + if a.is_overdue(today) { " OVERDUE" } else { "" },
                output::one_line(&a.title, 60),
            ]
        })
        .collect();
    output::table(
        &["#", "STATUS", "PRIORITY", "KIND", "OWNER", "DUE", "TITLE"],
        &rows,
    );
    Ok(())
}
