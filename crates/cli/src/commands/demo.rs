//! `secondstory demo`: a realistic incident to look at straight away.
//!
//! The fictional Quaystone failover (the same incident as the import samples), embedded as a
//! postmortem-as-code file and imported like any other: timeline, a blameless review,
//! contributing factors, action items and participants.

use secondstory_store::Store;

use crate::app::{App, CliError};

pub const DEMO_INCIDENT: &str = include_str!("../../demo/INC-4711.md");

pub async fn run(app: &App) -> Result<(), CliError> {
    let (id, verb) = load(app).await?;
    println!("demo incident {id} {verb}\n");
    super::incident::show(app, &id, false).await?;
    println!(
        "\nNext: `secondstory timeline list {id}`, `secondstory review show {id}`, `secondstory lint` on an export."
    );
    Ok(())
}

/// Loads the demo incident; returns its id and whether it was added or already there.
pub async fn load(app: &App) -> Result<(String, &'static str), CliError> {
    let context = app.settings.parse_context(app.now);
    let record = secondstory_review::parse_markdown(DEMO_INCIDENT, &context).map_err(|e| {
        CliError::invalid(format!("the embedded demo incident does not parse: {e}"))
    })?;
    let summary = app
        .store
        .import_records(std::slice::from_ref(&record), "demo", app.now)
        .await?;
    let verb = if summary.created == 1 {
        "added"
    } else {
        "already present, refreshed"
    };
    Ok((record.incident.id.to_string(), verb))
}
