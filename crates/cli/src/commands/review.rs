//! `secondstory review edit|show|history|diff|status`: the review document and its revisions.
//!
//! Every save is a revision. An edit is based on the version read before the editor opened; if
//! someone saved in the meantime the save is refused and the edited text is kept in a file, so
//! nothing a person wrote is lost.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use secondstory_store::{Store, StoreError};

use crate::app::{App, CliError, incident_id};
use crate::output;

#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Open the review in $EDITOR (starting from the template) and save a revision if it changed.
    #[command(
        after_help = "Examples:\n  secondstory review edit INC-2026-0001\n  EDITOR=nano secondstory review edit INC-2026-0001\n  secondstory review edit INC-2026-0001 --from draft.md   # save a file as the new revision"
    )]
    Edit {
        id: String,
        /// Save this file's text instead of opening an editor.
        #[arg(long)]
        from: Option<PathBuf>,
    },
    /// Print the current review (Markdown).
    #[command(after_help = "Example:\n  secondstory review show INC-2026-0001 --html")]
    Show {
        id: String,
        /// Rendered, sanitised HTML instead of Markdown.
        #[arg(long)]
        html: bool,
    },
    /// List the saved revisions: number, author, time, size.
    #[command(after_help = "Example:\n  secondstory review history INC-2026-0001 --json")]
    History {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Show what changed between two revisions (default: the last two).
    #[command(
        after_help = "Examples:\n  secondstory review diff INC-2026-0001\n  secondstory review diff INC-2026-0001 1 3"
    )]
    Diff {
        id: String,
        from: Option<i64>,
        to: Option<i64>,
    },
    /// Move the review along draft → in-review → published, or mark it not-required (with a reason).
    #[command(
        after_help = "Examples:\n  secondstory review status INC-2026-0001 in-review\n  secondstory review status INC-2026-0002 not-required --reason \"duplicate of INC-2026-0001\""
    )]
    Status {
        id: String,
        state: String,
        #[arg(long)]
        reason: Option<String>,
    },
}

pub async fn run(app: &App, command: ReviewCommand) -> Result<(), CliError> {
    match command {
        ReviewCommand::Edit { id, from } => edit(app, &id, from).await,
        ReviewCommand::Show { id, html } => {
            let review = app.store.review(&incident_id(&id)?).await?;
            if html {
                print!("{}", secondstory_review::render_html(&review.body));
            } else {
                print!("{}", review.body);
            }
            Ok(())
        }
        ReviewCommand::History { id, json } => {
            let revisions = app.store.revisions(&incident_id(&id)?).await?;
            if json {
                return output::json(&revisions);
            }
            let rows: Vec<Vec<String>> = revisions
                .iter()
                .map(|r| {
                    vec![
                        r.number.to_string(),
                        r.author.clone(),
                        r.saved_at.to_string(),
                        r.bytes.to_string(),
                    ]
                })
                .collect();
            output::table(&["REVISION", "AUTHOR", "SAVED", "BYTES"], &rows);
            Ok(())
        }
        ReviewCommand::Diff { id, from, to } => {
            let id = incident_id(&id)?;
            let latest = app.store.review(&id).await?.revisions;
            let to = to.unwrap_or(latest);
            let from = from.unwrap_or(to - 1);
            let old = if from == 0 {
                String::new()
            } else {
                app.store.revision(&id, from).await?.body
            };
            let new = app.store.revision(&id, to).await?.body;
            print!(
                "{}",
                secondstory_review::diff_unified(
                    &old,
                    &new,
                    &format!("revision {from}"),
                    &format!("revision {to}")
                )
            );
            Ok(())
        }
        ReviewCommand::Status { id, state, reason } => {
            let incident =
                super::incident::change_review(app, &id, &state, reason.as_deref()).await?;
            println!("{}  review {}", incident.id, incident.review);
            Ok(())
        }
    }
}

async fn edit(app: &App, id: &str, from: Option<PathBuf>) -> Result<(), CliError> {
    let id = incident_id(id)?;
    let incident = app.store.incident(&id).await?;
    let current = app.store.review(&id).await?;
    let starting_text = if current.body.is_empty() {
        secondstory_domain::review::template(&incident.title)
    } else {
        current.body.clone()
    };
    let edited = match from {
        Some(path) => std::fs::read_to_string(&path)
            .map_err(|e| CliError::invalid(format!("{}: cannot read: {e}", path.display())))?,
        None => run_editor(&id.to_string(), &starting_text)?,
    };
    if edited == current.body || (current.body.is_empty() && edited == starting_text) {
        println!("no changes; nothing saved");
        return Ok(());
    }
    match app
        .store
        .save_review(&id, current.version, &edited, &app.author, app.now)
        .await
    {
        Ok(saved) => {
            println!("saved revision {} of {id}", saved.revisions);
            Ok(())
        }
        Err(StoreError::Conflict { .. }) => {
            let kept = keep_text(&id.to_string(), &edited)?;
            Err(CliError::invalid(format!(
                "someone else saved the review of {id} while you were editing; your text is kept in {} \
                 — see `secondstory review diff {id}`, merge, then `secondstory review edit {id} --from {}`",
                kept.display(),
                kept.display()
            )))
        }
        Err(e) => {
            let kept = keep_text(&id.to_string(), &edited)?;
            Err(CliError::invalid(format!(
                "{e}; your text is kept in {}",
                kept.display()
            )))
        }
    }
}

fn run_editor(id: &str, text: &str) -> Result<String, CliError> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .map_err(|_| {
            CliError::Usage("set $EDITOR (or use --from FILE) to edit the review".into())
        })?;
    let mut file = tempfile::Builder::new()
        .prefix(&format!("secondstory-{id}-"))
        .suffix(".md")
        .tempfile()?;
    file.write_all(text.as_bytes())?;
    file.flush()?;
    let path = file.path().to_owned();
    // The editor may carry arguments (`code --wait`): run it through the shell like git does.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("secondstory-editor")
        .arg(&path)
        .status()
        .map_err(|e| CliError::invalid(format!("could not run editor `{editor}`: {e}")))?;
    if !status.success() {
        return Err(CliError::invalid(format!(
            "editor `{editor}` exited with {status}; nothing saved (the text is in {})",
            file.keep()
                .map(|(_, p)| p.display().to_string())
                .unwrap_or_default()
        )));
    }
    Ok(std::fs::read_to_string(&path)?)
}

/// Keeps text that could not be saved in a file the user can find.
fn keep_text(id: &str, text: &str) -> Result<PathBuf, CliError> {
    let file = tempfile::Builder::new()
        .prefix(&format!("secondstory-{id}-unsaved-"))
        .suffix(".md")
        .tempfile()?;
    std::fs::write(file.path(), text)?;
    let (_, path) = file.keep().map_err(|e| CliError::invalid(e.to_string()))?;
    Ok(path)
}
