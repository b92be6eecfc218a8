//! `secondstory timeline import`: traces from chat, paging, alerting and deploys into a timeline.
//!
//! Each path's format is given with `--from` or detected from its content (and said). Events
//! stream from the importers into the store in batches inside one transaction, so memory stays
//! flat and a bad record anywhere leaves nothing written (unless `--skip-invalid`, which imports
//! the rest and lists every skipped record). By default only events within the incident's window,
//! widened by a margin, are kept, the way Morgue pulled chat for an incident's span.

use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use jiff::{SignedDuration, Timestamp};
use secondstory_domain::{Incident, TimelineEvent};
use secondstory_import::{ColumnMapping, EventStream, Format, ImportItem, ImportOptions};
use secondstory_store::{EventFeed, Store};

use crate::app::{App, CliError, incident_id};
use crate::output;

/// Events per insert batch: large enough for multi-row inserts, small enough for flat memory.
const BATCH: usize = 5_000;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  secondstory timeline import --incident INC-4711 slack-export.zip
  secondstory timeline import --incident INC-4711 --tz Europe/Berlin ~/irclogs/quaystone/#dbops.log
  secondstory timeline import --incident INC-4711 --from irc-plain --date 2024-03-30 --tz Europe/Berlin --channel '#dbops' pasted.txt
  secondstory timeline import --incident INC-4711 --from csv --time-column when --text-column what --actor-column who notes.csv
  secondstory timeline import --incident INC-4711 --dry-run alertmanager/

Formats: slack, irc-irssi, irc-weechat, irc-znc, irc-hexchat, irc-plain, pagerduty-log-entries,
pagerduty-webhook, alertmanager, grafana, opsgenie, git-log, github-deployment, github-issue,
jira-issue, morgue-sql, csv, jsonl.")]
pub struct ImportArgs {
    #[arg(long)]
    incident: String,
    /// The format of every PATH; default: detected from each file's content.
    #[arg(long = "from", value_name = "FORMAT")]
    format: Option<String>,
    /// Files or directories (a Slack export as ZIP or directory; a directory of webhook bodies).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Time zone of logs written in local time (IRC, CSV without offsets), e.g. Europe/Berlin.
    #[arg(long)]
    tz: Option<String>,
    /// The date of a log that has none (pasted IRC transcripts), e.g. 2024-03-30.
    #[arg(long)]
    date: Option<String>,
    /// Only these channels (Slack or IRC; repeatable).
    #[arg(long = "channel")]
    channels: Vec<String>,
    /// Only events at or after this time (default: the incident window minus the margin).
    #[arg(long)]
    since: Option<String>,
    /// Only events before this time (default: the incident window plus the margin).
    #[arg(long)]
    until: Option<String>,
    /// How far beyond the incident's known times to import, e.g. 2h, 30m.
    #[arg(long, default_value = "2h")]
    margin: String,
    /// Import everything, ignoring the incident window.
    #[arg(long, conflicts_with_all = ["since", "until"])]
    all_time: bool,
    /// Leave out IRC joins, parts, quits and nick changes.
    #[arg(long)]
    drop_presence: bool,
    /// Import what can be read and list every record that could not be.
    #[arg(long)]
    skip_invalid: bool,
    /// Show what would be imported without writing anything.
    #[arg(long)]
    dry_run: bool,
    /// CSV/JSONL: the column with the time.
    #[arg(long, default_value = "time")]
    time_column: String,
    /// CSV/JSONL: the column with the text.
    #[arg(long, default_value = "text")]
    text_column: String,
    /// CSV/JSONL: the column with who acted.
    #[arg(long)]
    actor_column: Option<String>,
    /// CSV/JSONL: strftime format of the time column when it is not RFC 3339, e.g. "%d/%m/%Y %H:%M".
    #[arg(long)]
    time_format: Option<String>,
}

pub async fn run(app: &App, args: ImportArgs) -> Result<(), CliError> {
    let id = incident_id(&args.incident)?;
    let incident = app.store.incident(&id).await?;
    let options = options(&args)?;
    let window = window(app, &args, &incident)?;
    let explicit = match &args.format {
        Some(name) => Some(Format::from_name(name).ok_or_else(|| {
            CliError::Usage(format!(
                "--from: `{name}` is not a format (expected one of: {})",
                Format::ALL.map(Format::name).join(", ")
            ))
        })?),
        None => None,
    };
    // Open every input first: a missing file or an undetectable format stops before any work.
    let mut streams = Vec::with_capacity(args.paths.len());
    let mut reads_irc = false;
    for path in &args.paths {
        let format = match explicit {
            Some(format) => format,
            None => {
                let format = secondstory_import::detect_format(path).map_err(import_error)?;
                eprintln!("{}: detected {format}", path.display());
                format
            }
        };
        reads_irc |= format.name().starts_with("irc");
        streams
            .push(secondstory_import::read_events(path, format, &options).map_err(import_error)?);
    }
    // The same channel line in another client's log, imported earlier with a clock a few seconds
    // off, is already in the timeline under a neighbouring minute's reference.
    let mut irc_lines = IrcLines::default();
    if reads_irc {
        for event in app.store.events(&id).await? {
            irc_lines.seen(&event);
        }
    }
    let mut feed = Feed::new(streams, window, irc_lines, std::io::stderr().is_terminal())?;
    if args.dry_run {
        // References already stored, then those this import adds: an event seen twice in the
        // inputs (an alert re-sent, an overlapping export) counts once, as the import would.
        let mut known: BTreeSet<String> = app
            .store
            .events(&id)
            .await?
            .into_iter()
            .map(|e| e.source_ref)
            .collect();
        let mut new_events = Vec::new();
        while let Some(batch) = feed.next_batch().map_err(CliError::invalid)? {
            let fresh: Vec<TimelineEvent> = batch
                .into_iter()
                .filter(|e| known.insert(e.source_ref.clone()))
                .collect();
            feed.inserted(fresh.len());
            new_events.extend(fresh);
        }
        feed.finish();
        new_events.sort_by(TimelineEvent::merge_order);
        super::timeline::print_events(&new_events);
        feed.print_summary(&id.to_string(), true);
        return Ok(());
    }
    let added = app.store.add_events_from(&id, &mut feed).await;
    feed.finish();
    added?;
    feed.print_summary(&id.to_string(), false);
    Ok(())
}

fn import_error(e: secondstory_import::ImportError) -> CliError {
    CliError::invalid(e.to_string())
}

fn options(args: &ImportArgs) -> Result<ImportOptions, CliError> {
    let tz = args
        .tz
        .as_deref()
        .map(|name| {
            jiff::tz::TimeZone::get(name).map_err(|e| {
                CliError::Usage(format!("--tz: `{name}` is not an IANA time zone name: {e}"))
            })
        })
        .transpose()?;
    let date = args
        .date
        .as_deref()
        .map(|d| {
            d.parse::<jiff::civil::Date>().map_err(|e| {
                CliError::Usage(format!("--date: `{d}` is not a date like 2024-03-30: {e}"))
            })
        })
        .transpose()?;
    Ok(ImportOptions {
        tz,
        date,
        channels: args.channels.clone(),
        since: None,
        until: None,
        drop_presence: args.drop_presence,
        skip_invalid: args.skip_invalid,
        irc_channel: args.channels.first().cloned(),
        columns: ColumnMapping {
            time: args.time_column.clone(),
            text: args.text_column.clone(),
            actor: args.actor_column.clone(),
            time_format: args.time_format.clone(),
            ..ColumnMapping::default()
        },
    })
}

/// The span of time to keep: explicit bounds, or the incident's known times widened by the margin.
#[derive(Debug, Clone, Copy)]
struct Window {
    since: Option<Timestamp>,
    until: Option<Timestamp>,
}

impl Window {
    fn contains(&self, at: Timestamp) -> bool {
        self.since.is_none_or(|s| at >= s) && self.until.is_none_or(|u| at < u)
    }

    fn describe(&self) -> String {
        let show = |t: Option<Timestamp>| t.map_or_else(|| "…".to_owned(), |t| t.to_string());
        format!("{} to {}", show(self.since), show(self.until))
    }
}

fn window(app: &App, args: &ImportArgs, incident: &Incident) -> Result<Window, CliError> {
    if args.all_time {
        return Ok(Window {
            since: None,
            until: None,
        });
    }
    let bound = |field: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| super::time_arg(app, field, v).map(|t| t.instant()))
            .transpose()
    };
    let (since, until) = (bound("since", &args.since)?, bound("until", &args.until)?);
    let margin: SignedDuration = args.margin.parse().map_err(|e| {
        CliError::invalid(format!(
            "--margin: `{}` is not a duration like 2h or 30m: {e}",
            args.margin
        ))
    })?;
    let known: Vec<Timestamp> = incident
        .times
        .named()
        .iter()
        .filter_map(|(_, t)| t.as_ref().map(|t| t.instant()))
        .collect();
    let earliest = known
        .iter()
        .min()
        .map(|t| t.saturating_sub(margin).unwrap_or(*t));
    let latest = if incident.times.resolved.is_some() {
        known
            .iter()
            .max()
            .map(|t| t.saturating_add(margin).unwrap_or(*t))
    } else {
        None
    };
    Ok(Window {
        since: since.or(earliest),
        until: until.or(latest),
    })
}

/// Batches the store has not taken yet: parsing runs this far ahead of the inserts and no further,
/// so it overlaps the database writes while memory stays flat.
const BATCHES_AHEAD: usize = 2;

/// What the reading thread counted: events read per source, left outside the window, skipped.
#[derive(Debug, Default)]
struct Tally {
    read: BTreeMap<String, usize>,
    filtered: usize,
    skipped: Vec<String>,
    /// IRC lines already in the timeline from another client's log (see [`IrcLines`]).
    seen_in_other_logs: usize,
}

/// The IRC channel lines already in the timeline or read earlier in this import, by their
/// clock-independent key, with their instants: a line whose key matches one less than a minute
/// away is the same line in another client's log (the rule of `dedup_irc_events`), even when the
/// two clocks put it in different minutes and so under different references.
#[derive(Debug, Default)]
struct IrcLines {
    instants: BTreeMap<(String, String), Vec<i64>>,
}

impl IrcLines {
    /// Records `event` and says whether it is new, i.e. not the same line as one recorded before.
    fn seen(&mut self, event: &TimelineEvent) -> bool {
        let Some(key) = secondstory_import::irc_line_key(event) else {
            return true;
        };
        let at = event.at.as_micros();
        let instants = self.instants.entry(key).or_default();
        let same_line = instants.iter().any(|&other| {
            let gap = (other - at).abs();
            // The same reference is left to the store, which counts it as already present.
            gap > 0 && gap < secondstory_import::SAME_IRC_LINE_WITHIN_MICROS
        });
        if !same_line {
            instants.push(at);
        }
        !same_line
    }
}

type BatchResult = Result<Vec<TimelineEvent>, String>;

/// Reads the streams in order on a thread of its own, keeps what is in the window, and counts per
/// source; the store takes the batches in order. Parsing and counting thus overlap the inserts
/// (which wait on the database) instead of alternating with them.
struct Feed {
    batches: Option<Receiver<BatchResult>>,
    reader: Option<JoinHandle<Tally>>,
    tally: Tally,
    window: Window,
    inserted: usize,
    offered: usize,
    progress: ProgressBar,
}

impl Feed {
    fn new(
        streams: Vec<EventStream>,
        window: Window,
        irc_lines: IrcLines,
        on_terminal: bool,
    ) -> Result<Self, CliError> {
        let progress = if on_terminal {
            ProgressBar::new_spinner()
        } else {
            ProgressBar::hidden()
        };
        progress.set_style(
            ProgressStyle::with_template("{spinner} {pos} events read {msg} ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let (sender, batches) = mpsc::sync_channel(BATCHES_AHEAD);
        let reading = progress.clone();
        let reader = std::thread::Builder::new()
            .name("import-read".to_owned())
            .spawn(move || read_batches(streams, window, irc_lines, &reading, &sender))
            .map_err(|e| CliError::invalid(format!("starting the import's reading thread: {e}")))?;
        Ok(Feed {
            batches: Some(batches),
            reader: Some(reader),
            tally: Tally::default(),
            window,
            inserted: 0,
            offered: 0,
            progress,
        })
    }

    /// Stops the reading thread (if the import ended early) and collects its counts.
    fn finish(&mut self) {
        // Without a receiver the reader's next send fails and it stops after its current batch.
        self.batches = None;
        // A panic in the reader was already reported by `next_batch`, or the import failed anyway.
        if let Some(tally) = self.reader.take().and_then(|r| r.join().ok()) {
            self.tally = tally;
        }
        self.progress.finish_and_clear();
    }

    fn print_summary(&self, id: &str, dry_run: bool) {
        for reason in &self.tally.skipped {
            eprintln!("skipped: {reason}");
        }
        let verb = if dry_run { "would import" } else { "imported" };
        println!(
            "{verb} {} new event(s) into {id}; {} already present; {} outside {} (see --all-time); {} skipped",
            self.inserted,
            self.offered - self.inserted + self.tally.seen_in_other_logs,
            self.tally.filtered,
            self.window.describe(),
            self.tally.skipped.len()
        );
        let rows: Vec<Vec<String>> = self
            .tally
            .read
            .iter()
            .map(|(source, n)| vec![source.clone(), n.to_string()])
            .collect();
        output::table(&["SOURCE", "EVENTS READ"], &rows);
    }
}

/// The reading thread: sends full batches, then the last partial one, and stops at the first
/// error (sent as the last message) or when the receiver is gone.
fn read_batches(
    streams: Vec<EventStream>,
    window: Window,
    mut irc_lines: IrcLines,
    progress: &ProgressBar,
    sender: &SyncSender<BatchResult>,
) -> Tally {
    let mut tally = Tally::default();
    let mut batch = Vec::with_capacity(BATCH);
    for stream in streams {
        for item in stream {
            match item {
                Err(e) => {
                    // The import stops here; whether the store still listens does not matter.
                    let _ = sender.send(Err(e.to_string()));
                    return tally;
                }
                Ok(ImportItem::Skipped(skipped)) => tally.skipped.push(skipped.error.to_string()),
                Ok(ImportItem::Event(event)) => {
                    // Looked up before inserting: a `String` key per event would be an
                    // allocation per event.
                    match tally.read.get_mut(event.source.as_str()) {
                        Some(count) => *count += 1,
                        None => {
                            tally.read.insert(event.source.to_string(), 1);
                        }
                    }
                    progress.inc(1);
                    if !window.contains(event.at.instant()) {
                        tally.filtered += 1;
                    } else if !irc_lines.seen(&event) {
                        tally.seen_in_other_logs += 1;
                    } else {
                        batch.push(event);
                        if batch.len() == BATCH {
                            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                            if sender.send(Ok(full)).is_err() {
                                return tally;
                            }
                        }
                    }
                }
            }
        }
    }
    if !batch.is_empty() {
        let _ = sender.send(Ok(batch));
    }
    tally
}

impl EventFeed for Feed {
    fn next_batch(&mut self) -> Result<Option<Vec<TimelineEvent>>, String> {
        // Blocks this thread while the reader works, as reading in place did before; the store
        // holds the transaction open meanwhile either way.
        let received = self.batches.as_ref().and_then(|b| b.recv().ok());
        match received {
            Some(Ok(batch)) => {
                self.offered += batch.len();
                Ok(Some(batch))
            }
            Some(Err(e)) => Err(e),
            None => {
                // The reader hung up: it has sent everything, unless it panicked, and then the
                // import must fail rather than commit part of the input as if it were all.
                self.batches = None;
                match self.reader.take().map(JoinHandle::join) {
                    Some(Ok(tally)) => {
                        self.tally = tally;
                        Ok(None)
                    }
                    Some(Err(_)) => {
                        Err("the import's reading thread stopped unexpectedly".to_owned())
                    }
                    None => Ok(None),
                }
            }
        }
    }

    fn inserted(&mut self, count: usize) {
        self.inserted += count;
        self.progress
            .set_message(format!("· {} new", self.inserted));
    }
}
