//! Importers: turn the traces an incident leaves behind (chat exports, IRC logs, pages, alerts,
//! deploys, tickets, spreadsheets) into [`TimelineEvent`]s.
//!
//! This crate is pure: it reads files and returns events; storing them is the store's job and
//! choosing what to import is the CLI's. Each format has its own module producing a streaming
//! iterator, so memory stays flat however large the input (a Slack export is read one day file at
//! a time). [`read_events`] is the single entry point the CLI calls; [`detect_format`] guesses the
//! format from content; [`merge_events`] orders a batch from several sources into one timeline
//! and drops duplicates (re-imports, overlapping exports, one IRC line seen by several clients).
//!
//! Every event carries a stable `source_ref` derived from the source's own identity (Slack
//! channel + `ts`, PagerDuty log entry id, alert fingerprint + start, commit sha, …) or, where the
//! source has none (IRC, CSV), from its content, so importing the same trace twice adds nothing.

use std::path::Path;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use secondstory_domain::timeline::TimelineEvent;

mod alerts;
mod common;
mod deploys;
mod detect;
mod error;
mod irc;
mod merge;
mod morgue;
mod pagerduty;
mod slack;
mod tabular;
mod tickets;

pub use detect::detect_format;
pub use error::{ImportError, Position};
pub use irc::{SAME_IRC_LINE_WITHIN_MICROS, dedup_irc_events, irc_line_key};
pub use merge::merge_events;
pub use slack::{SlackExportSummary, check_day_file_readers_agree, import_slack_export};
pub use tabular::ColumnMapping;

/// The formats this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// Slack workspace export: a ZIP or the unpacked directory.
    SlackExport,
    /// irssi's default log format (`HH:MM <@nick> text`, `--- Day changed …`).
    IrcIrssi,
    /// WeeChat logger files (`YYYY-MM-DD HH:MM:SS<TAB>prefix<TAB>message`).
    IrcWeechat,
    /// ZNC `log` module files (`[HH:MM:SS] <nick> text`; the date is in the file name).
    IrcZnc,
    /// HexChat logs (`Mon DD HH:MM:SS <nick><TAB>text`).
    IrcHexchat,
    /// Pasted `[HH:MM] <nick> text` transcripts without dates.
    IrcPlain,
    /// PagerDuty REST v2 `GET /incidents/{id}/log_entries` responses.
    PagerDutyLogEntries,
    /// PagerDuty V3 webhook bodies, one event per file.
    PagerDutyWebhook,
    /// Prometheus Alertmanager webhook bodies (version "4").
    Alertmanager,
    /// Grafana-managed alerting webhook bodies.
    Grafana,
    /// Opsgenie outgoing webhook bodies.
    Opsgenie,
    /// `git log`: the default format, or the `\x1e`/`\x1f` machine format of `samples/deploys/git/COMMANDS.txt`.
    GitLog,
    /// GitHub `deployment` / `deployment_status` webhook bodies.
    GithubDeployment,
    /// GitHub `POST /repos/{owner}/{repo}/issues` responses (issue created).
    GithubIssue,
    /// Jira `GET /rest/api/2|3/issue/{key}` responses (issue created).
    JiraIssue,
    /// Etsy Morgue MySQL dump (postmortem start, detect and end times).
    MorgueSql,
    /// CSV with a header row and a [`ColumnMapping`].
    Csv,
    /// JSON Lines (one object per line) with a [`ColumnMapping`].
    Jsonl,
}

impl Format {
    pub const ALL: [Format; 18] = [
        Format::SlackExport,
        Format::IrcIrssi,
        Format::IrcWeechat,
        Format::IrcZnc,
        Format::IrcHexchat,
        Format::IrcPlain,
        Format::PagerDutyLogEntries,
        Format::PagerDutyWebhook,
        Format::Alertmanager,
        Format::Grafana,
        Format::Opsgenie,
        Format::GitLog,
        Format::GithubDeployment,
        Format::GithubIssue,
        Format::JiraIssue,
        Format::MorgueSql,
        Format::Csv,
        Format::Jsonl,
    ];

    /// The name the CLI accepts (`--format irc-weechat`).
    pub fn name(self) -> &'static str {
        match self {
            Format::SlackExport => "slack",
            Format::IrcIrssi => "irc-irssi",
            Format::IrcWeechat => "irc-weechat",
            Format::IrcZnc => "irc-znc",
            Format::IrcHexchat => "irc-hexchat",
            Format::IrcPlain => "irc-plain",
            Format::PagerDutyLogEntries => "pagerduty-log-entries",
            Format::PagerDutyWebhook => "pagerduty-webhook",
            Format::Alertmanager => "alertmanager",
            Format::Grafana => "grafana",
            Format::Opsgenie => "opsgenie",
            Format::GitLog => "git-log",
            Format::GithubDeployment => "github-deployment",
            Format::GithubIssue => "github-issue",
            Format::JiraIssue => "jira-issue",
            Format::MorgueSql => "morgue-sql",
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    /// The inverse of [`Format::name`].
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the caller tells an importer that the files do not say themselves.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Zone of local, zone-less times (IRC logs, CSV without offsets). Required where a format
    /// has no offset: a guessed zone would silently shift the whole timeline.
    pub tz: Option<TimeZone>,
    /// The date of a log that has none (pasted IRC transcripts; HexChat logs without a
    /// `BEGIN LOGGING` line).
    pub date: Option<jiff::civil::Date>,
    /// Only these channels (Slack folder names or IRC channel names, with or without `#`).
    /// Empty: all channels.
    pub channels: Vec<String>,
    /// Only events at or after this instant.
    pub since: Option<Timestamp>,
    /// Only events before this instant.
    pub until: Option<Timestamp>,
    /// Drop IRC joins, parts, quits and nick changes.
    pub drop_presence: bool,
    /// Yield bad records as [`ImportItem::Skipped`] and continue, instead of stopping at the first.
    pub skip_invalid: bool,
    /// The IRC channel a log is for, when the file name does not say (pasted transcripts).
    pub irc_channel: Option<String>,
    /// Which columns hold what, for CSV and JSONL.
    pub columns: ColumnMapping,
}

impl ImportOptions {
    /// True when `channel` passes the `channels` filter.
    pub fn wants_channel(&self, channel: &str) -> bool {
        let bare = channel.trim_start_matches('#');
        self.channels.is_empty()
            || self
                .channels
                .iter()
                .any(|c| c.trim_start_matches('#') == bare)
    }

    fn in_window(&self, event: &TimelineEvent) -> bool {
        let at = event.at.instant();
        self.since.is_none_or(|since| at >= since) && self.until.is_none_or(|until| at < until)
    }
}

/// A record that was skipped under `skip_invalid`, with the reason and where it is.
#[derive(Debug)]
pub struct SkippedRecord {
    pub error: ImportError,
}

/// One item of an import: an event, or (with `skip_invalid`) a record that could not be read.
#[derive(Debug)]
pub enum ImportItem {
    Event(TimelineEvent),
    Skipped(SkippedRecord),
}

type EventIter = Box<dyn Iterator<Item = Result<TimelineEvent, ImportError>> + Send>;

/// The events of one import, in the source's own order, read lazily.
///
/// Without `skip_invalid` the stream yields the first error and then ends; with it, errors become
/// [`ImportItem::Skipped`] records and reading continues with the next record or file.
pub struct EventStream {
    inner: EventIter,
    options: ImportOptions,
    finished: bool,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl EventStream {
    fn new(inner: EventIter, options: &ImportOptions) -> Self {
        EventStream {
            inner,
            options: options.clone(),
            finished: false,
        }
    }

    /// Collects the events, stopping at the first error (skip records are dropped).
    pub fn into_events(self) -> Result<Vec<TimelineEvent>, ImportError> {
        let mut events = Vec::new();
        for item in self {
            if let ImportItem::Event(event) = item? {
                events.push(event);
            }
        }
        Ok(events)
    }
}

impl Iterator for EventStream {
    type Item = Result<ImportItem, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        loop {
            match self.inner.next()? {
                Ok(event) => {
                    if self.options.in_window(&event) {
                        return Some(Ok(ImportItem::Event(event)));
                    }
                }
                Err(error) if self.options.skip_invalid => {
                    return Some(Ok(ImportItem::Skipped(SkippedRecord { error })));
                }
                Err(error) => {
                    self.finished = true;
                    return Some(Err(error));
                }
            }
        }
    }
}

/// Reads the events of `path` (a file, or a directory of files of one format) in `format`.
///
/// Errors that concern the whole input (missing file, unreadable archive, a required option such
/// as `tz` not given) are returned here; errors in individual records come through the stream.
pub fn read_events(
    path: &Path,
    format: Format,
    options: &ImportOptions,
) -> Result<EventStream, ImportError> {
    let inner: EventIter = match format {
        Format::SlackExport => Box::new(slack::import_slack_export(path, options)?),
        Format::IrcIrssi
        | Format::IrcWeechat
        | Format::IrcZnc
        | Format::IrcHexchat
        | Format::IrcPlain => irc::import_irc_logs(path, format, options)?,
        Format::PagerDutyLogEntries => {
            per_file(path, options, ".json", pagerduty::parse_log_entries)?
        }
        Format::PagerDutyWebhook => per_file(path, options, ".json", pagerduty::parse_webhook)?,
        Format::Alertmanager => per_file(path, options, ".json", alerts::parse_alertmanager)?,
        Format::Grafana => per_file(path, options, ".json", alerts::parse_grafana)?,
        Format::Opsgenie => per_file(path, options, ".json", tickets::parse_opsgenie)?,
        Format::GithubDeployment => {
            per_file(path, options, ".json", deploys::parse_github_deployment)?
        }
        Format::GithubIssue => per_file(path, options, ".json", tickets::parse_github_issue)?,
        Format::JiraIssue => per_file(path, options, ".json", tickets::parse_jira_issue)?,
        Format::MorgueSql => per_file(path, options, ".sql", morgue::parse_morgue_dump)?,
        Format::GitLog => deploys::import_git_log(path)?,
        Format::Csv => tabular::import_csv(path, options)?,
        Format::Jsonl => tabular::import_jsonl(path, options)?,
    };
    Ok(EventStream::new(inner, options))
}

/// Detects the format of `path` and reads it: the convenience the CLI uses without `--format`.
pub fn read_events_detected(
    path: &Path,
    options: &ImportOptions,
) -> Result<EventStream, ImportError> {
    read_events(path, detect_format(path)?, options)
}

/// Parses one document already in memory (a webhook body the server received) in a format whose
/// files each hold one document: PagerDuty, Alertmanager, Grafana, Opsgenie, GitHub, Jira, Morgue.
/// `name` stands for the file name in error positions. Formats read from files or directories
/// (Slack, IRC, git log, CSV, JSONL) yield one [`ImportError::UnknownFormat`].
pub fn parse_document(
    format: Format,
    name: &str,
    bytes: &[u8],
    options: &ImportOptions,
) -> Vec<Result<TimelineEvent, ImportError>> {
    let parse: DocumentParser = match format {
        Format::PagerDutyLogEntries => pagerduty::parse_log_entries,
        Format::PagerDutyWebhook => pagerduty::parse_webhook,
        Format::Alertmanager => alerts::parse_alertmanager,
        Format::Grafana => alerts::parse_grafana,
        Format::Opsgenie => tickets::parse_opsgenie,
        Format::GithubDeployment => deploys::parse_github_deployment,
        Format::GithubIssue => tickets::parse_github_issue,
        Format::JiraIssue => tickets::parse_jira_issue,
        Format::MorgueSql => morgue::parse_morgue_dump,
        other => {
            return vec![Err(ImportError::UnknownFormat {
                file: name.to_owned(),
                reason: format!("{other} is not read from a single in-memory document"),
            })];
        }
    };
    parse(name, bytes, options)
        .into_iter()
        .filter(|item| !matches!(item, Ok(event) if !options.in_window(event)))
        .collect()
}

type DocumentParser = fn(&str, &[u8], &ImportOptions) -> Vec<Result<TimelineEvent, ImportError>>;

/// Formats with one small document per file (webhook bodies, API responses): a file is parsed
/// whole, a directory file by file in name order, one file in memory at a time.
fn per_file(
    path: &Path,
    options: &ImportOptions,
    extension: &'static str,
    parse: DocumentParser,
) -> Result<EventIter, ImportError> {
    let files = if path.is_dir() {
        common::sorted_files(path, |name| name.ends_with(extension))?
    } else {
        vec![path.to_path_buf()]
    };
    let options = options.clone();
    Ok(Box::new(files.into_iter().flat_map(move |file| {
        let name = common::display_path(&file);
        match common::read_file(&file) {
            Ok(bytes) => parse(&name, &bytes, &options),
            Err(error) => vec![Err(error)],
        }
    })))
}
