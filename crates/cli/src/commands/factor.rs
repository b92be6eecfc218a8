//! `secondstory factor add|list`: contributing factors (several per incident, never one cause).

use clap::Subcommand;
use secondstory_domain::ContributingFactor;
use secondstory_store::Store;

use crate::app::{App, CliError, incident_id};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum FactorCommand {
    /// Add a contributing factor, optionally linked to the events that show it.
    #[command(
        after_help = "Example:\n  secondstory factor add INC-2026-0001 --category configuration --description \"pgbouncer resolved the primary once at start-up\" --event slack:C1:1711843272.200000"
    )]
    Add {
        id: String,
        /// A configured category (default: change, configuration, capacity, dependency, …).
        #[arg(long)]
        category: String,
        #[arg(long)]
        description: String,
        /// The ref of a timeline event that shows this factor (repeatable).
        #[arg(long = "event")]
        events: Vec<String>,
    },
    /// List an incident's contributing factors.
    #[command(after_help = "Example:\n  secondstory factor list INC-2026-0001 --json")]
    List {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(app: &App, command: FactorCommand) -> Result<(), CliError> {
    match command {
        FactorCommand::Add {
            id,
            category,
            description,
            events,
        } => {
            let id = incident_id(&id)?;
            let factor =
                ContributingFactor::new(&app.settings.taxonomy, &category, &description, events)
                    .map_err(CliError::argument)?;
            if !factor.events.is_empty() {
                let known = app.store.events(&id).await?;
                if let Some(missing) = factor
                    .events
                    .iter()
                    .find(|r| !known.iter().any(|e| &e.source_ref == *r))
                {
                    return Err(CliError::invalid(format!(
                        "--event: `{missing}` is not the ref of an event of {id} (see `secondstory timeline list {id}`)"
                    )));
                }
            }
            app.store.add_factor(&id, &factor).await?;
            println!("added [{}] {}", factor.category, factor.description);
            Ok(())
        }
        FactorCommand::List { id, json } => {
            let factors = app.store.factors(&incident_id(&id)?).await?;
            if json {
                return output::json(&factors);
            }
            let rows: Vec<Vec<String>> = factors
                .iter()
                .map(|f| {
                    vec![
                        f.category.clone(),
                        output::one_line(&f.description, 90),
                        f.events.join(", "),
                    ]
                })
                .collect();
            output::table(&["CATEGORY", "DESCRIPTION", "EVENTS"], &rows);
            Ok(())
        }
    }
}
