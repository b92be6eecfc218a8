//! `secondstory incident new|list|show|update|status`.

use clap::{Args, Subcommand};
use secondstory_domain::incident::NewIncident;
use secondstory_domain::{
    Incident, IncidentKind, IncidentStatus, IncidentTimes, RecordedTime, ReviewStatus, Visibility,
};
use secondstory_store::{IncidentFilter, Store};

use super::{optional_time, time_arg};
use crate::app::{App, CliError, incident_id};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident (or record a near miss). Prints its id.
    #[command(
        after_help = "Examples:\n  secondstory incident new --title \"Checkout 5xx\" --severity SEV2 --service checkout-api\n  secondstory incident new --title \"Disk almost full on db-3\" --severity SEV4 --kind near-miss --detected now"
    )]
    New(NewArgs),
    /// List incidents, newest first.
    #[command(
        after_help = "Examples:\n  secondstory incident list --status active\n  secondstory incident list --service orders-api --json"
    )]
    List(ListArgs),
    /// Show one incident: times and durations, factors, action items, participants.
    #[command(after_help = "Example:\n  secondstory incident show INC-2026-0001")]
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change fields of an incident.
    #[command(
        after_help = "Examples:\n  secondstory incident update INC-2026-0001 --severity SEV1 --service payments\n  secondstory incident update INC-2026-0001 --restricted-to security"
    )]
    Update(UpdateArgs),
    /// Move an incident along active → mitigated → resolved (or reopen it as active).
    #[command(
        after_help = "Examples:\n  secondstory incident status INC-2026-0001 mitigated --at 2026-11-25T10:02:00+01:00\n  secondstory incident status INC-2026-0001 resolved"
    )]
    Status {
        id: String,
        /// active, mitigated or resolved.
        status: String,
        /// When it happened (default: now).
        #[arg(long, default_value = "now")]
        at: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct TimeArgs {
    /// When impact started (RFC 3339 with offset, e.g. 2026-11-25T09:12:00+01:00, or `now`).
    #[arg(long)]
    impact_started: Option<String>,
    #[arg(long)]
    detected: Option<String>,
    #[arg(long)]
    responded: Option<String>,
    #[arg(long)]
    mitigated: Option<String>,
    #[arg(long)]
    resolved: Option<String>,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    #[arg(long)]
    title: String,
    /// A configured severity (default scale: SEV1–SEV4).
    #[arg(long)]
    severity: String,
    /// Explicit id; default: the next PREFIX-YEAR-NNNN.
    #[arg(long)]
    id: Option<String>,
    /// incident or near-miss.
    #[arg(long, default_value = "incident")]
    kind: String,
    #[arg(long, default_value = "active")]
    status: String,
    /// A service affected (repeatable).
    #[arg(long = "service")]
    services: Vec<String>,
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Only members of this group (and admins) may see it (repeatable).
    #[arg(long = "restricted-to")]
    restricted_to: Vec<String>,
    #[arg(long, default_value = "")]
    summary: String,
    #[command(flatten)]
    times: TimeArgs,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    status: Option<String>,
    #[arg(long)]
    severity: Option<String>,
    #[arg(long)]
    service: Option<String>,
    #[arg(long)]
    tag: Option<String>,
    /// Words in the title.
    #[arg(long)]
    search: Option<String>,
    #[arg(long)]
    limit: Option<i64>,
    #[arg(long, default_value_t = 0)]
    offset: i64,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    id: String,
    #[arg(long)]
    title: Option<String>,
    #[arg(long)]
    severity: Option<String>,
    #[arg(long)]
    kind: Option<String>,
    /// Replace the services with these (repeatable).
    #[arg(long = "service")]
    services: Vec<String>,
    /// Replace the tags with these (repeatable).
    #[arg(long = "tag")]
    tags: Vec<String>,
    #[arg(long = "restricted-to", conflicts_with = "everyone")]
    restricted_to: Vec<String>,
    /// Make a restricted incident visible to everyone.
    #[arg(long)]
    everyone: bool,
    #[arg(long)]
    summary: Option<String>,
    #[command(flatten)]
    times: TimeArgs,
    #[arg(long)]
    json: bool,
}

pub async fn run(app: &App, command: IncidentCommand) -> Result<(), CliError> {
    match command {
        IncidentCommand::New(args) => new(app, args).await,
        IncidentCommand::List(args) => list(app, args).await,
        IncidentCommand::Show { id, json } => show(app, &id, json).await,
        IncidentCommand::Update(args) => update(app, args).await,
        IncidentCommand::Status {
            id,
            status,
            at,
            json,
        } => {
            let mut incident = app.store.incident(&incident_id(&id)?).await?;
            let next = status
                .parse::<IncidentStatus>()
                .map_err(CliError::argument)?;
            let at = time_arg(app, "at", &at)?;
            incident
                .change_status(next, at, app.now)
                .map_err(CliError::argument)?;
            let saved = app.store.update_incident(&incident).await?;
            print_incident_line(&saved, json)
        }
    }
}

fn times(app: &App, args: &TimeArgs, base: IncidentTimes) -> Result<IncidentTimes, CliError> {
    let pick = |field: &str, arg: &Option<String>, old: Option<RecordedTime>| {
        Ok::<_, CliError>(optional_time(app, field, arg.as_deref())?.or(old))
    };
    Ok(IncidentTimes {
        impact_started: pick("impact_started", &args.impact_started, base.impact_started)?,
        detected: pick("detected", &args.detected, base.detected)?,
        responded: pick("responded", &args.responded, base.responded)?,
        mitigated: pick("mitigated", &args.mitigated, base.mitigated)?,
        resolved: pick("resolved", &args.resolved, base.resolved)?,
    })
}

fn visibility(groups: Vec<String>) -> Result<Visibility, CliError> {
    if groups.is_empty() {
        Ok(Visibility::Everyone)
    } else {
        Visibility::restricted(groups).map_err(CliError::argument)
    }
}

async fn new(app: &App, args: NewArgs) -> Result<(), CliError> {
    // Validate everything before reserving an id, so refused input leaves no trace.
    let severity = app
        .settings
        .severities
        .severity(&args.severity)
        .map_err(CliError::argument)?;
    let kind = args
        .kind
        .parse::<IncidentKind>()
        .map_err(CliError::argument)?;
    let status = args
        .status
        .parse::<IncidentStatus>()
        .map_err(CliError::argument)?;
    let times = times(app, &args.times, IncidentTimes::default())?;
    let visibility = visibility(args.restricted_to)?;
    let explicit_id = args.id.as_deref().map(incident_id).transpose()?;
    let mut new = NewIncident {
        // Until the input is known to be valid, a stand-in id: the real one is reserved after.
        id: match &explicit_id {
            Some(id) => id.clone(),
            None => secondstory_domain::IncidentId::numbered(&app.settings.id_prefix, 2000, 1)
                .map_err(CliError::argument)?,
        },
        title: args.title,
        kind,
        severity,
        status,
        services: args.services,
        tags: args.tags,
        visibility,
        times,
        summary: args.summary,
    };
    Incident::new(new.clone(), app.now).map_err(CliError::argument)?;
    if explicit_id.is_none() {
        let year = app.today().year();
        new.id = app
            .store
            .next_incident_id(&app.settings.id_prefix, year)
            .await?;
    }
    let incident = Incident::new(new, app.now).map_err(CliError::argument)?;
    let stored = app.store.create_incident(&incident).await?;
    print_incident_line(&stored, args.json)
}

fn print_incident_line(incident: &Incident, json: bool) -> Result<(), CliError> {
    if json {
        return output::json(incident);
    }
    println!(
        "{}  {}  {}  {}  {}",
        incident.id, incident.severity, incident.status, incident.review, incident.title
    );
    Ok(())
}

async fn list(app: &App, args: ListArgs) -> Result<(), CliError> {
    let filter = IncidentFilter {
        status: args
            .status
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(CliError::argument)?,
        severity: args
            .severity
            .as_deref()
            .map(|s| app.settings.severities.severity(s).map(|s| s.to_string()))
            .transpose()
            .map_err(CliError::argument)?,
        service: args.service,
        tag: args.tag,
        text: args.search,
        limit: args.limit,
        offset: args.offset,
        ..IncidentFilter::default()
    };
    let incidents = app.store.list_incidents(&filter).await?;
    if args.json {
        return output::json(&incidents);
    }
    if incidents.is_empty() {
        println!("no incidents");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = incidents
        .iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                i.severity.to_string(),
                i.status.to_string(),
                i.review.to_string(),
                i.times
                    .impact_started
                    .as_ref()
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                output::one_line(&i.title, 60),
            ]
        })
        .collect();
    output::table(
        &[
            "ID",
            "SEVERITY",
            "STATUS",
            "REVIEW",
            "IMPACT STARTED",
            "TITLE",
        ],
        &rows,
    );
    Ok(())
}

pub async fn show(app: &App, id: &str, json: bool) -> Result<(), CliError> {
    let record = app.store.record(&incident_id(id)?).await?;
    if json {
        return output::json(&serde_json::json!({
            "incident": record.incident,
            "participants": record.participants,
            "factors": record.factors,
            "actions": record.actions,
            "events": record.events.len(),
            "review_bytes": record.review.len(),
        }));
    }
    let i = &record.incident;
    println!("{}  {}", i.id, i.title);
    println!(
        "{} · {} · {} · review {}{}",
        i.kind,
        i.severity,
        i.status,
        i.review,
        i.review
            .reason()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    );
    if !i.services.is_empty() {
        println!("services: {}", i.services.join(", "));
    }
    if !i.tags.is_empty() {
        println!("tags: {}", i.tags.join(", "));
    }
    if let Visibility::Restricted(groups) = &i.visibility {
        println!("restricted to: {}", groups.join(", "));
    }
    if !i.summary.is_empty() {
        println!("\n{}", i.summary);
    }
    println!("\nTimes");
    for (name, time) in i.times.named() {
        if let Some(time) = time {
            println!("  {:<15} {time}", name.replace('_', " "));
        }
    }
    let durations = [
        ("time to detect", i.times.time_to_detect()),
        ("time to respond", i.times.time_to_respond()),
        ("time to mitigate", i.times.time_to_mitigate()),
        ("time to resolve", i.times.time_to_resolve()),
    ];
    for (name, d) in durations {
        if let Some(d) = d {
            println!("  {name:<17} {}", output::duration(d));
        }
    }
    if !record.participants.is_empty() {
        println!("\nParticipants");
        for p in &record.participants {
            println!("  {} ({})", p.name, p.role);
        }
    }
    if !record.factors.is_empty() {
        println!("\nContributing factors");
        for f in &record.factors {
            println!(
                "  [{}] {}",
                f.category,
                output::one_line(&f.description, 100)
            );
        }
    }
    if !record.actions.is_empty() {
        println!("\nAction items");
        let today = app.today();
        for a in &record.actions {
            let due = a.due.map(|d| format!(" due {d}")).unwrap_or_default();
            let overdue = if a.is_overdue(today) { " OVERDUE" } else { "" };
            println!(
                "  #{} [{}] {} — {}{due}{overdue}",
                a.number, a.status, a.title, a.owner
            );
        }
    }
    let hidden = record.events.iter().filter(|e| e.hidden).count();
    println!(
        "\nTimeline: {} events ({} key moments, {hidden} hidden); review: {} bytes",
        record.events.len(),
        record.events.iter().filter(|e| e.key_moment).count(),
        record.review.len()
    );
    Ok(())
}

async fn update(app: &App, args: UpdateArgs) -> Result<(), CliError> {
    let mut incident = app.store.incident(&incident_id(&args.id)?).await?;
    if let Some(title) = args.title {
        incident.title = title.trim().to_owned();
    }
    if let Some(severity) = args.severity {
        incident.severity = app
            .settings
            .severities
            .severity(&severity)
            .map_err(CliError::argument)?;
    }
    if let Some(kind) = args.kind {
        incident.kind = kind.parse().map_err(CliError::argument)?;
    }
    if !args.services.is_empty() {
        incident.services = args.services;
    }
    if !args.tags.is_empty() {
        incident.tags = args.tags;
    }
    if args.everyone {
        incident.visibility = Visibility::Everyone;
    } else if !args.restricted_to.is_empty() {
        incident.visibility = visibility(args.restricted_to)?;
    }
    if let Some(summary) = args.summary {
        incident.summary = summary.trim().to_owned();
    }
    incident.times = times(app, &args.times, incident.times.clone())?;
    incident.validate(app.now).map_err(CliError::argument)?;
    let saved = app.store.update_incident(&incident).await?;
    print_incident_line(&saved, args.json)
}

/// Review workflow changes share the incident's validation.
pub async fn change_review(
    app: &App,
    id: &str,
    state: &str,
    reason: Option<&str>,
) -> Result<Incident, CliError> {
    let mut incident = app.store.incident(&incident_id(id)?).await?;
    let next = ReviewStatus::parse(state, reason).map_err(CliError::argument)?;
    incident
        .change_review(next, app.now)
        .map_err(CliError::argument)?;
    Ok(app.store.update_incident(&incident).await?)
}
