//! `secondstory export` and `secondstory import`: postmortems as code.
//!
//! Export writes one file per incident (`<ID>.md` with front matter, or `<ID>.json`); import reads
//! such files back. Import checks every file before writing anything and then writes all of them
//! in one transaction: a bad file anywhere means nothing changes. Export → import into an empty
//! database → export gives byte-identical files.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use secondstory_domain::{IncidentId, IncidentRecord};
use secondstory_store::{IncidentFilter, Store};

use crate::app::{App, CliError, incident_id};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Markdown,
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  secondstory export --format markdown --out reviews/\n  secondstory export --format json --out backup/ --incident INC-2026-0001"
)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value = "markdown")]
    format: Format,
    /// Directory to write into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Only these incidents (repeatable); default: all.
    #[arg(long = "incident")]
    incidents: Vec<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  secondstory import reviews/\n  secondstory import INC-2026-0001.md INC-2026-0002.json"
)]
pub struct ImportArgs {
    /// Files (.md, .json) or directories searched recursively for them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Check the files and report what would change, without writing.
    #[arg(long)]
    dry_run: bool,
}

pub async fn export(app: &App, args: ExportArgs) -> Result<(), CliError> {
    let ids: Vec<IncidentId> = if args.incidents.is_empty() {
        app.store
            .list_incidents(&IncidentFilter::default())
            .await?
            .into_iter()
            .map(|i| i.id)
            .collect()
    } else {
        args.incidents
            .iter()
            .map(|i| incident_id(i))
            .collect::<Result<_, _>>()?
    };
    std::fs::create_dir_all(&args.out)
        .map_err(|e| CliError::invalid(format!("{}: cannot create: {e}", args.out.display())))?;
    for id in &ids {
        let record = app.store.record(id).await?;
        let (text, extension) = match args.format {
            Format::Markdown => (secondstory_review::write_markdown(&record), "md"),
            Format::Json => (secondstory_review::write_json(&record), "json"),
        };
        write_atomically(&args.out.join(format!("{id}.{extension}")), &text)?;
    }
    println!(
        "exported {} incident(s) to {}",
        ids.len(),
        args.out.display()
    );
    Ok(())
}

/// Write to a temporary file beside the target, then rename: a reader never sees half a file.
fn write_atomically(path: &Path, text: &str) -> Result<(), CliError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let fail =
        |e: std::io::Error| CliError::invalid(format!("{}: cannot write: {e}", path.display()));
    let temp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    std::fs::write(temp.path(), text).map_err(fail)?;
    temp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

pub async fn import(app: &App, args: ImportArgs) -> Result<(), CliError> {
    let mut files = Vec::new();
    for path in &args.paths {
        collect_files(path, true, &mut files)?;
    }
    let context = app.settings.parse_context(app.now);
    let mut records: Vec<(IncidentRecord, PathBuf)> = Vec::with_capacity(files.len());
    let mut skipped = Vec::new();
    for (path, explicit) in &files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::invalid(format!("{}: cannot read: {e}", path.display())))?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        if !is_json && !explicit && !text.trim_start_matches('\u{feff}').starts_with("---") {
            // A README or notes file among the reviews: not an incident document.
            skipped.push(path.clone());
            continue;
        }
        let parsed = if is_json {
            secondstory_review::parse_json(&text, &context)
        } else {
            secondstory_review::parse_markdown(&text, &context)
        };
        let record = parsed.map_err(|e| CliError::in_file(path, e))?;
        if let Some((_, earlier)) = records
            .iter()
            .find(|(r, _)| r.incident.id == record.incident.id)
        {
            return Err(CliError::invalid(format!(
                "{}: incident {} is also in {}; nothing imported",
                path.display(),
                record.incident.id,
                earlier.display()
            )));
        }
        records.push((record, path.clone()));
    }
    for path in &skipped {
        eprintln!("skipped {} (no front matter)", path.display());
    }
    if args.dry_run {
        println!(
            "{} file(s) are valid; nothing written (--dry-run)",
            records.len()
        );
        return Ok(());
    }
    let records: Vec<IncidentRecord> = records.into_iter().map(|(r, _)| r).collect();
    let summary = app
        .store
        .import_records(&records, &app.author, app.now)
        .await?;
    println!(
        "imported {} file(s): {} incident(s) created, {} updated, {} timeline event(s) added",
        records.len(),
        summary.created,
        summary.updated,
        summary.events_added
    );
    Ok(())
}

/// Incident files under `path`, sorted for a deterministic order; `explicit` marks files named on
/// the command line (which must parse) as opposed to files found in a directory.
fn collect_files(
    path: &Path,
    explicit: bool,
    out: &mut Vec<(PathBuf, bool)>,
) -> Result<(), CliError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| CliError::invalid(format!("{}: {e}", path.display())))?;
    if meta.is_file() {
        out.push((path.to_owned(), explicit));
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| CliError::invalid(format!("{}: {e}", path.display())))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        let name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        if entry.is_dir() {
            collect_files(&entry, false, out)?;
        } else if entry
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("json"))
        {
            out.push((entry, false));
        }
    }
    Ok(())
}
