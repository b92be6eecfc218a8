//! `secondstory participant add|list`: who took part, their role, what they saw.

use clap::Subcommand;
use secondstory_domain::Participant;
use secondstory_store::Store;

use crate::app::{App, CliError, incident_id};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum ParticipantCommand {
    /// Add a participant with their role and, optionally, an alias for published reviews.
    #[command(
        after_help = "Example:\n  secondstory participant add INC-2026-0001 --name \"Jonas Becker\" --role \"on-call SRE\" --alias \"Engineer A\""
    )]
    Add {
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        alias: Option<String>,
        /// Interview notes: what they knew, saw and tried at the time.
        #[arg(long, default_value = "")]
        perspective: String,
    },
    /// List an incident's participants.
    #[command(after_help = "Example:\n  secondstory participant list INC-2026-0001")]
    List {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(app: &App, command: ParticipantCommand) -> Result<(), CliError> {
    match command {
        ParticipantCommand::Add {
            id,
            name,
            role,
            alias,
            perspective,
        } => {
            let participant = Participant {
                name: name.trim().to_owned(),
                role: role.trim().to_owned(),
                alias: alias.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()),
                perspective,
            };
            participant.validate().map_err(CliError::argument)?;
            app.store
                .add_participant(&incident_id(&id)?, &participant)
                .await?;
            println!("added {} ({})", participant.name, participant.role);
            Ok(())
        }
        ParticipantCommand::List { id, json } => {
            let participants = app.store.participants(&incident_id(&id)?).await?;
            if json {
                return output::json(&participants);
            }
            let rows: Vec<Vec<String>> = participants
                .iter()
                .map(|p| {
                    vec![
                        p.name.clone(),
                        p.role.clone(),
                        p.alias.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            output::table(&["NAME", "ROLE", "ALIAS"], &rows);
            Ok(())
        }
    }
}
