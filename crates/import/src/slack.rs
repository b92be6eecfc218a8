//! Slack workspace exports (the ZIP Slack produces, or its unpacked directory).
//!
//! Layout: `users.json` and `channels.json` at the root, one folder per channel (named after the
//! channel, not its id) with one JSON array of messages per UTC day. The export is streamed one
//! chunk of day files at a time; a chunk is parsed in parallel across cores and yielded in file
//! order, so output is deterministic and memory is bounded by the chunk, not the export.
//!
//! A message's `ts` is its id within the channel and is kept exactly as written in `source_ref`
//! (`slack:<channel-id>:<ts>`, or `slack:<channel-id>:<thread_ts>/<ts>` for a thread reply); its
//! instant is read from `ts` to the microsecond. Markup (`<@U…>`, `<#C…|name>`, `<url|label>`,
//! `<!here>`, `<!subteam^…|@x>`, `&amp;`) is rendered to plain text with display names.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use jiff::Timestamp;
use secondstory_domain::time::RecordedTime;
use secondstory_domain::timeline::{EventKind, TimelineEvent};
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::ImportOptions;
use crate::common::{display_path, event, strip_bom};
use crate::error::{ImportError, Position, describe_found};

mod fast;

/// Names for the ids an export uses: users (display name, else real name, else user name) and
/// channels (id ↔ name).
#[derive(Debug, Default, Clone)]
pub(crate) struct SlackDirectory {
    users: BTreeMap<String, String>,
    channel_names: BTreeMap<String, String>,
    channel_ids: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawUser {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    real_name: Option<String>,
    #[serde(default)]
    profile: Option<RawProfile>,
}

#[derive(Deserialize)]
struct RawProfile {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    real_name: Option<String>,
}

#[derive(Deserialize)]
struct RawChannel {
    id: String,
    name: String,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

impl SlackDirectory {
    pub(crate) fn from_json(
        users_file: &str,
        users: Option<&[u8]>,
        channel_files: &[(String, Vec<u8>)],
    ) -> Result<Self, ImportError> {
        let mut directory = SlackDirectory::default();
        // Slackbot posts tombstones and reminders and is never listed in users.json.
        directory
            .users
            .insert("USLACKBOT".to_owned(), "Slackbot".to_owned());
        if let Some(bytes) = users {
            let users: Vec<RawUser> = serde_json::from_slice(strip_bom(bytes))
                .map_err(|e| ImportError::json(users_file, &e))?;
            for user in users {
                let profile = user.profile.unwrap_or(RawProfile {
                    display_name: None,
                    real_name: None,
                });
                let shown = non_empty(profile.display_name)
                    .or(non_empty(user.real_name))
                    .or(non_empty(profile.real_name))
                    .or(non_empty(user.name))
                    .unwrap_or_else(|| user.id.clone());
                directory.users.insert(user.id, shown);
            }
        }
        for (file, bytes) in channel_files {
            let channels: Vec<RawChannel> = serde_json::from_slice(strip_bom(bytes))
                .map_err(|e| ImportError::json(file, &e))?;
            for channel in channels {
                directory
                    .channel_ids
                    .insert(channel.name.clone(), channel.id.clone());
                directory.channel_names.insert(channel.id, channel.name);
            }
        }
        Ok(directory)
    }

    fn user(&self, id: &str) -> Option<&str> {
        self.users.get(id).map(String::as_str)
    }
}

/// Where the export's files live.
enum ExportFiles {
    Directory(PathBuf),
    Zip {
        archive: Box<zip::ZipArchive<File>>,
        prefix: String,
        file: String,
    },
}

impl ExportFiles {
    fn read(&mut self, relative: &str) -> Result<Option<Vec<u8>>, ImportError> {
        let mut bytes = Vec::new();
        Ok(self.read_into(relative, &mut bytes)?.then_some(bytes))
    }

    /// Reads `relative` into `bytes` (cleared first, its capacity reused); false if the export
    /// has no such file.
    fn read_into(&mut self, relative: &str, bytes: &mut Vec<u8>) -> Result<bool, ImportError> {
        bytes.clear();
        match self {
            ExportFiles::Directory(root) => {
                let path = root.join(relative);
                if !path.exists() {
                    return Ok(false);
                }
                read_file_into(&path, relative, bytes)?;
                Ok(true)
            }
            ExportFiles::Zip {
                archive,
                prefix,
                file,
            } => {
                let name = format!("{prefix}{relative}");
                let mut entry = match archive.by_name(&name) {
                    Ok(entry) => entry,
                    Err(zip::result::ZipError::FileNotFound) => return Ok(false),
                    Err(e) => {
                        return Err(ImportError::Zip {
                            file: format!("{file}:{name}"),
                            message: e.to_string(),
                        });
                    }
                };
                bytes.reserve(usize::try_from(entry.size()).unwrap_or(0).min(1 << 28));
                entry.read_to_end(bytes).map_err(|e| ImportError::Zip {
                    file: format!("{file}:{name}"),
                    message: e.to_string(),
                })?;
                Ok(true)
            }
        }
    }
}

fn read_file_into(path: &Path, shown: &str, bytes: &mut Vec<u8>) -> Result<(), ImportError> {
    let mut file = File::open(path).map_err(|e| ImportError::io(shown, e))?;
    if let Ok(metadata) = file.metadata() {
        bytes.reserve(usize::try_from(metadata.len()).unwrap_or(0).min(1 << 28));
    }
    file.read_to_end(bytes)
        .map_err(|e| ImportError::io(shown, e))?;
    Ok(())
}

/// One `<channel>/<YYYY-MM-DD>.json` file.
#[derive(Debug, Clone)]
struct DayFile {
    channel_id: Arc<str>,
    relative: String,
    /// Its size in bytes (uncompressed), for the bound on memory.
    size: u64,
}

fn is_day_file_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".json") else {
        return false;
    };
    stem.len() == 10 && jiff::civil::Date::strptime("%Y-%m-%d", stem).is_ok()
}

/// What an export holds before it is read: its channels and day files.
#[derive(Debug, Clone)]
pub struct SlackExportSummary {
    pub channels: Vec<String>,
    pub day_files: usize,
}

/// Opens a Slack export (ZIP or directory) and streams its messages as events, channel by
/// channel (folder name order), day file by day file, in file order within a day.
pub fn import_slack_export(
    path: &Path,
    options: &ImportOptions,
) -> Result<SlackExportStream, ImportError> {
    let shown = display_path(path);
    let mut files = if path.is_dir() {
        ExportFiles::Directory(path.to_path_buf())
    } else {
        let file = File::open(path).map_err(|e| ImportError::io(&shown, e))?;
        let archive = zip::ZipArchive::new(file).map_err(|e| ImportError::Zip {
            file: shown.clone(),
            message: e.to_string(),
        })?;
        // Some tools re-zip an unpacked export with its folder as the top level.
        let prefix = archive
            .file_names()
            .filter_map(Result::ok)
            .find_map(|n| n.strip_suffix("channels.json").map(str::to_owned))
            .unwrap_or_default();
        ExportFiles::Zip {
            archive: Box::new(archive),
            prefix,
            file: shown.clone(),
        }
    };
    let users = files.read("users.json")?;
    let mut channel_files = Vec::new();
    for listing in ["channels.json", "groups.json"] {
        if let Some(bytes) = files.read(listing)? {
            channel_files.push((listing.to_owned(), bytes));
        }
    }
    let directory = SlackDirectory::from_json("users.json", users.as_deref(), &channel_files)?;
    let relative_day_files: Vec<(String, u64)> = match &mut files {
        ExportFiles::Directory(root) => list_directory_day_files(root)?,
        ExportFiles::Zip {
            archive, prefix, ..
        } => {
            let mut names = Vec::new();
            for index in 0..archive.len() {
                // The raw entry: its name and size without inflating it.
                let Ok(entry) = archive.by_index_raw(index) else {
                    continue;
                };
                let Ok(full) = entry.name() else {
                    continue;
                };
                let Some(name) = full.strip_prefix(prefix.as_str()) else {
                    continue;
                };
                if name.split('/').count() == 2
                    && name.split('/').nth(1).is_some_and(is_day_file_name)
                {
                    names.push((name.to_owned(), entry.size()));
                }
            }
            names.sort();
            names
        }
    };
    check_channel_filter(&shown, options, &directory, &relative_day_files)?;
    let day_files: Vec<DayFile> = relative_day_files
        .into_iter()
        .filter_map(|(relative, size)| {
            let channel = relative.split('/').next()?.to_owned();
            if !options.wants_channel(&channel) {
                return None;
            }
            let id = directory
                .channel_ids
                .get(&channel)
                .cloned()
                .unwrap_or(channel);
            Some(DayFile {
                channel_id: Arc::from(id),
                relative,
                size,
            })
        })
        .collect();
    let channels: BTreeSet<String> = day_files
        .iter()
        .filter_map(|d| d.relative.split('/').next().map(str::to_owned))
        .collect();
    let total_files = day_files.len();
    let shared = Arc::new(Pipeline {
        source: match files {
            ExportFiles::Directory(root) => DaySource::Directory(root),
            zip @ ExportFiles::Zip { .. } => DaySource::Zip(Mutex::new(zip)),
        },
        directory,
        day_files,
        state: Mutex::new(PipelineState {
            next_claim: 0,
            next_deliver: 0,
            bytes_in_flight: 0,
            parsed: BTreeMap::new(),
            workers: 0,
            cancelled: false,
        }),
        room: Condvar::new(),
        ready: Condvar::new(),
    });
    // Workers read and parse day files ahead of the consumer, in parallel, within a window of
    // bytes and files; the stream hands their results out in file order.
    let workers = std::thread::available_parallelism()
        .map_or(2, std::num::NonZeroUsize::get)
        .clamp(1, MAX_WORKERS)
        .min(total_files.max(1));
    for n in 0..workers {
        let pipeline = Arc::clone(&shared);
        pipeline.lock().workers += 1;
        let spawned = std::thread::Builder::new()
            .name(format!("slack-parse-{n}"))
            .spawn(move || pipeline.work());
        if let Err(e) = spawned {
            shared.lock().workers -= 1;
            if n == 0 {
                return Err(ImportError::io(&shown, e));
            }
        }
    }
    Ok(SlackExportStream {
        pipeline: shared,
        current: Vec::new().into_iter(),
        total_files,
        channels,
    })
}

/// The channels of an export: those `channels.json`/`groups.json` list and those with a folder of
/// day files, by name, sorted.
fn export_channel_names(
    directory: &SlackDirectory,
    relative_day_files: &[(String, u64)],
) -> BTreeSet<String> {
    directory
        .channel_ids
        .keys()
        .cloned()
        .chain(
            relative_day_files
                .iter()
                .filter_map(|(relative, _)| relative.split('/').next().map(str::to_owned)),
        )
        .collect()
}

/// A `channels` filter that selects no channel of the export is a mistake (a typo, or the wrong
/// export), not a request for nothing: it is refused, naming the channels asked for and those
/// the export has. One filter serves Slack and IRC inputs of the same import, so a name only
/// another input has is fine as long as one name is a channel of this export.
fn check_channel_filter(
    file: &str,
    options: &ImportOptions,
    directory: &SlackDirectory,
    relative_day_files: &[(String, u64)],
) -> Result<(), ImportError> {
    if options.channels.is_empty() {
        return Ok(());
    }
    let existing = export_channel_names(directory, relative_day_files);
    if existing.iter().any(|name| options.wants_channel(name)) {
        return Ok(());
    }
    let asked: Vec<String> = options
        .channels
        .iter()
        .map(|c| describe_found(c.trim_start_matches('#')))
        .collect();
    let listed = if existing.is_empty() {
        "none".to_owned()
    } else {
        existing.into_iter().collect::<Vec<_>>().join(", ")
    };
    Err(ImportError::invalid(
        file,
        Position::File,
        format!("--channel to name a channel of this Slack export (it has: {listed})"),
        format!(
            "{} (no such channel{})",
            asked.join(", "),
            if asked.len() == 1 { "" } else { "s" }
        ),
    ))
}

fn list_directory_day_files(root: &Path) -> Result<Vec<(String, u64)>, ImportError> {
    let shown = display_path(root);
    let mut found = Vec::new();
    let entries = std::fs::read_dir(root).map_err(|e| ImportError::io(&shown, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ImportError::io(&shown, e))?;
        if !entry.path().is_dir() {
            continue;
        }
        let channel = entry.file_name().to_string_lossy().into_owned();
        let days = std::fs::read_dir(entry.path()).map_err(|e| ImportError::io(&shown, e))?;
        for day in days {
            let day = day.map_err(|e| ImportError::io(&shown, e))?;
            let name = day.file_name().to_string_lossy().into_owned();
            if is_day_file_name(&name) {
                let size = day.metadata().map_or(0, |m| m.len());
                found.push((format!("{channel}/{name}"), size));
            }
        }
    }
    found.sort();
    Ok(found)
}

type DayResults = Vec<Result<TimelineEvent, ImportError>>;

/// At most this many parsing threads.
const MAX_WORKERS: usize = 8;
/// Day files read but not yet handed to the consumer: at most this many bytes of JSON (a file
/// larger than that is still read, alone) …
const MAX_BYTES_AHEAD: u64 = 48 << 20;
/// … and at most this many files.
const MAX_FILES_AHEAD: usize = 64;

/// Where the workers read day files: plain files each reads itself, in parallel; a ZIP is one
/// seekable stream, inflated one entry at a time.
enum DaySource {
    Directory(PathBuf),
    Zip(Mutex<ExportFiles>),
}

impl DaySource {
    fn read_into(&self, relative: &str, bytes: &mut Vec<u8>) -> Result<(), ImportError> {
        match self {
            DaySource::Directory(root) => {
                bytes.clear();
                read_file_into(&root.join(relative), relative, bytes)
            }
            DaySource::Zip(zip) => {
                let mut zip = zip
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if zip.read_into(relative, bytes)? {
                    Ok(())
                } else {
                    Err(ImportError::io(
                        relative,
                        std::io::Error::from(std::io::ErrorKind::NotFound),
                    ))
                }
            }
        }
    }
}

/// The state the workers and the stream share.
struct Pipeline {
    source: DaySource,
    directory: SlackDirectory,
    day_files: Vec<DayFile>,
    state: Mutex<PipelineState>,
    /// Signalled when the consumer takes a file's results (room in the window) or stops.
    room: Condvar,
    /// Signalled when a worker has parsed a file or exits.
    ready: Condvar,
}

struct PipelineState {
    /// The next day file a worker may take.
    next_claim: usize,
    /// The next day file the consumer needs.
    next_deliver: usize,
    /// Bytes of the files taken but not yet handed out.
    bytes_in_flight: u64,
    /// Parsed files waiting for their turn.
    parsed: BTreeMap<usize, DayResults>,
    /// Workers still running.
    workers: usize,
    /// The stream was dropped: stop.
    cancelled: bool,
}

impl Pipeline {
    fn lock(&self) -> MutexGuard<'_, PipelineState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A worker: takes the next day file while the window has room, parses it, files the result.
    fn work(&self) {
        // Counts this worker out however it ends, so the consumer never waits for a dead one.
        struct Leaving<'p>(&'p Pipeline);
        impl Drop for Leaving<'_> {
            fn drop(&mut self) {
                self.0.lock().workers -= 1;
                self.0.ready.notify_all();
            }
        }
        let _leaving = Leaving(self);
        let mut bytes = Vec::new();
        loop {
            let index = {
                let mut state = self.lock();
                loop {
                    if state.cancelled || state.next_claim >= self.day_files.len() {
                        return;
                    }
                    let index = state.next_claim;
                    let size = self.day_files[index].size;
                    if state.bytes_in_flight == 0
                        || (state.bytes_in_flight + size <= MAX_BYTES_AHEAD
                            && index < state.next_deliver + MAX_FILES_AHEAD)
                    {
                        state.next_claim += 1;
                        state.bytes_in_flight += size;
                        break index;
                    }
                    state = self
                        .room
                        .wait(state)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
            };
            let day = &self.day_files[index];
            let results = match self.source.read_into(&day.relative, &mut bytes) {
                Ok(()) => parse_day_file(&day.relative, &day.channel_id, &bytes, &self.directory),
                Err(error) => vec![Err(error)],
            };
            // A very large file's buffer is not kept for the rest of the export.
            if bytes.capacity() > (64 << 20) {
                bytes = Vec::new();
            }
            self.lock().parsed.insert(index, results);
            self.ready.notify_all();
        }
    }
}

/// The streaming iterator over an export's events; see [`import_slack_export`].
pub struct SlackExportStream {
    pipeline: Arc<Pipeline>,
    current: std::vec::IntoIter<Result<TimelineEvent, ImportError>>,
    total_files: usize,
    channels: BTreeSet<String>,
}

impl fmt::Debug for SlackExportStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackExportStream")
            .field("day_files", &self.total_files)
            .finish_non_exhaustive()
    }
}

impl SlackExportStream {
    /// The channels and number of day files the import will read.
    pub fn summary(&self) -> SlackExportSummary {
        SlackExportSummary {
            channels: self.channels.iter().cloned().collect(),
            day_files: self.total_files,
        }
    }

    /// The results of the next day file in order, waiting for a worker if need be; `None` at
    /// the end.
    fn next_day(&mut self) -> Option<DayResults> {
        let pipeline = &*self.pipeline;
        let mut state = pipeline.lock();
        let index = state.next_deliver;
        let day = pipeline.day_files.get(index)?;
        loop {
            if let Some(results) = state.parsed.remove(&index) {
                state.next_deliver += 1;
                state.bytes_in_flight -= day.size;
                drop(state);
                pipeline.room.notify_all();
                return Some(results);
            }
            if state.workers == 0 {
                // Every worker is gone without parsing this file: only a panic does that.
                state.next_deliver = pipeline.day_files.len();
                return Some(vec![Err(ImportError::io(
                    &day.relative,
                    std::io::Error::other("the parsing thread stopped unexpectedly"),
                ))]);
            }
            state = pipeline
                .ready
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

impl Drop for SlackExportStream {
    fn drop(&mut self) {
        let mut state = self.pipeline.lock();
        state.cancelled = true;
        state.parsed.clear();
        drop(state);
        self.pipeline.room.notify_all();
    }
}

impl Iterator for SlackExportStream {
    type Item = Result<TimelineEvent, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(item);
            }
            self.current = self.next_day()?.into_iter();
        }
    }
}

/// A JSON scalar read leniently, so a `ts` of the wrong type becomes a precise error for that
/// message instead of aborting the whole day file.
enum Scalar<'a> {
    Text(Cow<'a, str>),
    Other(String),
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Other(format!("the number {v}")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Other(format!("the number {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Scalar::Other(format!("the number {v}")))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Other(format!("the boolean {v}")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Scalar::Other("null".to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other("an object".to_owned()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other("an array".to_owned()))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

impl Scalar<'_> {
    fn text(&self) -> Option<&str> {
        match self {
            Scalar::Text(text) => Some(text),
            Scalar::Other(_) => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Scalar::Text(text) => format!("the string {}", describe_found(text)),
            Scalar::Other(other) => other.clone(),
        }
    }
}

/// The fields of a message the timeline needs; everything else (blocks, user_profile, reactions)
/// is skipped without being built.
#[derive(Deserialize, Default)]
struct RawMessage<'a> {
    #[serde(default, borrow)]
    ts: Option<Scalar<'a>>,
    #[serde(default, borrow)]
    user: Option<Scalar<'a>>,
    #[serde(default, borrow)]
    subtype: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    text: Option<Scalar<'a>>,
    #[serde(default, borrow)]
    thread_ts: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    username: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    bot_profile: Option<RawBotProfile<'a>>,
    #[serde(default, borrow)]
    edited: Option<RawEdited<'a>>,
    #[serde(default, borrow)]
    attachments: Option<Vec<RawAttachment<'a>>>,
    #[serde(default, borrow)]
    files: Option<Vec<RawFile<'a>>>,
}

#[derive(Deserialize)]
struct RawBotProfile<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawEdited<'a> {
    #[serde(default, borrow)]
    ts: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct RawAttachment<'a> {
    #[serde(default, borrow)]
    fallback: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    title: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    title_link: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct RawFile<'a> {
    #[serde(default, borrow)]
    mode: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    title: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    permalink: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    url_private: Option<Cow<'a, str>>,
}

/// A day file: a JSON array of messages. Deserialized element by element so the array is never
/// held twice.
struct DayMessages<'a>(Vec<RawMessage<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for DayMessages<'a> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DayVisitor;
        impl<'de> Visitor<'de> for DayVisitor {
            type Value = DayMessages<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON array of Slack message objects")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut messages = Vec::with_capacity(seq.size_hint().unwrap_or(64));
                while let Some(message) = seq.next_element::<RawMessage<'de>>()? {
                    messages.push(message);
                }
                Ok(DayMessages(messages))
            }
        }
        deserializer.deserialize_seq(DayVisitor)
    }
}

/// Parses one day file into events (or errors, one per bad message).
pub(crate) fn parse_day_file(
    file: &str,
    channel_id: &str,
    bytes: &[u8],
    directory: &SlackDirectory,
) -> Vec<Result<TimelineEvent, ImportError>> {
    let bytes = strip_bom(bytes);
    // The fast reader handles what valid exports hold; anything else is read again by serde so
    // that values and error messages are exactly serde's.
    // Room for the messages a day file of this size usually holds, so that the vector is not
    // copied as it grows.
    let mut events = Vec::with_capacity(bytes.len() / 1024 + 1);
    let mut seen_ts = SeenTs::default();
    let handled = fast::for_each_message(bytes, |index, message| {
        push_event(
            &mut events,
            message_to_event(file, index, channel_id, &message, directory, &mut seen_ts),
        );
    });
    if handled.is_some() {
        return events;
    }
    parse_day_file_with_serde(file, channel_id, bytes, directory)
}

/// [`parse_day_file`] through `serde_json` alone: the reference the fast reader must agree with.
fn parse_day_file_with_serde(
    file: &str,
    channel_id: &str,
    bytes: &[u8],
    directory: &SlackDirectory,
) -> Vec<Result<TimelineEvent, ImportError>> {
    let messages = match serde_json::from_slice::<DayMessages<'_>>(bytes) {
        Ok(DayMessages(messages)) => messages,
        Err(error) => return vec![Err(ImportError::json(file, &error))],
    };
    let mut seen_ts = SeenTs::default();
    let mut events = Vec::with_capacity(messages.len());
    for (index, message) in messages.iter().enumerate() {
        push_event(
            &mut events,
            message_to_event(file, index, channel_id, message, directory, &mut seen_ts),
        );
    }
    events
}

fn push_event(
    events: &mut Vec<Result<TimelineEvent, ImportError>>,
    result: Result<Option<TimelineEvent>, ImportError>,
) {
    match result {
        Ok(Some(event)) => events.push(Ok(event)),
        Ok(None) => {}
        Err(error) => events.push(Err(error)),
    }
}

/// The `ts` values of a channel's messages seen so far, kept sorted: messages come in `ts`
/// order, so a new one is almost always appended.
#[derive(Default)]
struct SeenTs(Vec<i64>);

impl SeenTs {
    /// False if `micros` was seen before.
    fn insert(&mut self, micros: i64) -> bool {
        if self.0.last().is_none_or(|last| *last < micros) {
            self.0.push(micros);
            return true;
        }
        match self.0.binary_search(&micros) {
            Ok(_) => false,
            Err(position) => {
                self.0.insert(position, micros);
                true
            }
        }
    }
}

/// Test and fuzzing support: parses `bytes` as a day file with the fast reader and with serde
/// alone, and panics if they disagree. `users`: a `users.json` (default: users `U1` and `U2`).
#[doc(hidden)]
pub fn check_day_file_readers_agree(bytes: &[u8], users: Option<&[u8]>) {
    let users = users.unwrap_or(
        br#"[{"id":"U1","name":"a"},{"id":"U2","name":"b","profile":{"display_name":"B"}}]"#,
    );
    let directory = SlackDirectory::from_json(
        "users.json",
        Some(users),
        &[(
            "channels.json".to_owned(),
            br#"[{"id":"C1","name":"deploys"}]"#.to_vec(),
        )],
    )
    .expect("a valid directory");
    let show =
        |results: Vec<Result<TimelineEvent, ImportError>>| -> Vec<Result<TimelineEvent, String>> {
            results
                .into_iter()
                .map(|r| r.map_err(|e| e.to_string()))
                .collect()
        };
    let bytes = strip_bom(bytes);
    let fast = parse_day_file("d.json", "C1", bytes, &directory);
    let serde = parse_day_file_with_serde("d.json", "C1", bytes, &directory);
    assert_eq!(
        show(fast),
        show(serde),
        "input: {:?}",
        String::from_utf8_lossy(bytes)
    );
}

/// `"1711842185.118230"` → microseconds since the epoch. Slack writes six fraction digits; fewer
/// are accepted (right-padded), more or any non-digit are not.
fn ts_to_micros(ts: &str) -> Option<i64> {
    let (seconds, fraction) = ts.split_once('.').unwrap_or((ts, ""));
    if seconds.is_empty()
        || seconds.len() > 12
        || fraction.len() > 6
        || !seconds.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut micros: i64 = seconds.parse().ok()?;
    micros = micros.checked_mul(1_000_000)?;
    let mut fraction_value: i64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    for _ in fraction.len()..6 {
        fraction_value *= 10;
    }
    micros.checked_add(fraction_value)
}

fn ts_to_timestamp(ts: &str) -> Option<Timestamp> {
    Timestamp::from_microsecond(ts_to_micros(ts)?).ok()
}

fn message_to_event(
    file: &str,
    index: usize,
    channel_id: &str,
    message: &RawMessage<'_>,
    directory: &SlackDirectory,
    seen_ts: &mut SeenTs,
) -> Result<Option<TimelineEvent>, ImportError> {
    let at_path = |field: &str| Position::JsonPath(format!("[{index}].{field}"));
    const TS_EXPECTED: &str = "a string like \"1711842185.118230\" (Slack's message id)";
    let ts = match &message.ts {
        None => {
            return Err(ImportError::invalid(
                file,
                at_path("ts"),
                TS_EXPECTED,
                "nothing (missing)",
            ));
        }
        Some(Scalar::Other(other)) => {
            return Err(ImportError::invalid(
                file,
                at_path("ts"),
                TS_EXPECTED,
                other.clone(),
            ));
        }
        Some(Scalar::Text(ts)) => ts,
    };
    let micros = ts_to_micros(ts)
        .filter(|m| Timestamp::from_microsecond(*m).is_ok())
        .ok_or_else(|| {
            ImportError::invalid(file, at_path("ts"), TS_EXPECTED, describe_found(ts))
        })?;
    let subtype = message.subtype.as_deref().unwrap_or("");
    // A tombstone is the placeholder of a deleted thread parent: no content, only its replies
    // matter, and they are kept.
    if subtype == "tombstone" {
        return Ok(None);
    }
    if !seen_ts.insert(micros) {
        return Err(ImportError::invalid(
            file,
            at_path("ts"),
            "a ts not used by an earlier message of the same channel",
            format!("the duplicate {}", describe_found(ts)),
        ));
    }
    let actor = match &message.user {
        Some(Scalar::Text(user)) => match directory.user(user) {
            Some(name) => Some(name.to_owned()),
            None if message.username.is_some() => message.username.as_deref().map(str::to_owned),
            None => {
                return Err(ImportError::invalid(
                    file,
                    at_path("user"),
                    "a user id listed in users.json",
                    format!(
                        "{} (--skip-invalid imports the other messages and lists this one)",
                        describe_found(user)
                    ),
                ));
            }
        },
        Some(other @ Scalar::Other(_)) if !matches!(other, Scalar::Other(s) if s == "null") => {
            return Err(ImportError::invalid(
                file,
                at_path("user"),
                "a user id string",
                other.describe(),
            ));
        }
        _ => message
            .username
            .as_deref()
            .or(message.bot_profile.as_ref().and_then(|b| b.name.as_deref()))
            .map(str::to_owned),
    };
    let raw_text = message.text.as_ref().and_then(Scalar::text).unwrap_or("");
    let mut text = render_markup(raw_text, directory);
    // `/me waves`: shown as IRC shows an action, `* name waves`.
    if subtype == "me_message"
        && let Some(name) = actor.as_deref()
    {
        text = format!("* {name} {text}");
    }
    let mut evidence_url = None;
    if let Some(attachments) = &message.attachments {
        if text.trim().is_empty() {
            let parts: Vec<String> = attachments
                .iter()
                .filter_map(|a| {
                    if let Some(fallback) = a.fallback.as_deref().filter(|f| !f.trim().is_empty()) {
                        return Some(render_markup(fallback, directory));
                    }
                    let title = a.title.as_deref().unwrap_or("").trim();
                    let body = a.text.as_deref().unwrap_or("").trim();
                    let joined = match (title.is_empty(), body.is_empty()) {
                        (true, true) => return None,
                        (false, true) => title.to_owned(),
                        (true, false) => body.to_owned(),
                        (false, false) => format!("{title} — {body}"),
                    };
                    Some(render_markup(&joined, directory))
                })
                .collect();
            text = parts.join(" | ");
        }
        evidence_url = attachments
            .iter()
            .find_map(|a| a.title_link.as_deref().map(str::to_owned));
    }
    if let Some(files) = &message.files {
        for shared in files {
            if shared.mode.as_deref() == Some("hidden_by_limit") {
                text.push_str(" [file hidden by the workspace's plan limit]");
                continue;
            }
            let title = shared
                .title
                .as_deref()
                .or(shared.name.as_deref())
                .unwrap_or("file");
            text.push_str(" [file: ");
            text.push_str(title);
            text.push(']');
            if evidence_url.is_none() {
                evidence_url = shared
                    .permalink
                    .as_deref()
                    .or(shared.url_private.as_deref())
                    .map(str::to_owned);
            }
        }
    }
    if text.trim().is_empty() {
        text = format!(
            "({} without text)",
            if subtype.is_empty() {
                "message"
            } else {
                subtype
            }
        );
    }
    if let Some(edited_ts) = message.edited.as_ref().and_then(|e| e.ts.as_deref())
        && let Some(edited_at) = ts_to_timestamp(edited_ts)
    {
        // Writing to a `String` cannot fail.
        let _ = write!(text, " (edited {edited_at})");
    }
    let thread = message
        .thread_ts
        .as_deref()
        .filter(|thread_ts| *thread_ts != ts.as_ref());
    let mut source_ref =
        String::with_capacity(8 + channel_id.len() + ts.len() + thread.map_or(0, |t| t.len() + 1));
    source_ref.push_str("slack:");
    source_ref.push_str(channel_id);
    source_ref.push(':');
    if let Some(thread_ts) = thread {
        source_ref.push_str(thread_ts);
        source_ref.push('/');
    }
    source_ref.push_str(ts);
    let is_bot = subtype == "bot_message" || (message.user.is_none() && message.username.is_some());
    let kind = if is_bot {
        EventKind::Observation
    } else {
        EventKind::Communication
    };
    let at =
        RecordedTime::utc(Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH));
    let mut result = event(at, "slack", source_ref, kind, text);
    result.actor = actor;
    result.evidence_url = evidence_url;
    Ok(Some(result))
}

/// Renders Slack's `mrkdwn` control sequences and entities as plain text. A `<` without its `>`
/// is kept literally: the text is evidence, so nothing is dropped.
pub(crate) fn render_markup(raw: &str, directory: &SlackDirectory) -> String {
    // Most messages hold neither markup nor entities: one scan, then a copy.
    if memchr::memchr2(b'<', b'&', raw.as_bytes()).is_none() {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(open) = memchr::memchr(b'<', rest.as_bytes()) {
        push_decoded(&mut out, &rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = memchr::memchr(b'>', after.as_bytes()) else {
            push_decoded(&mut out, &rest[open..]);
            return out;
        };
        render_control(&mut out, &after[..close], directory);
        rest = &after[close + 1..];
    }
    push_decoded(&mut out, rest);
    out
}

fn render_control(out: &mut String, inner: &str, directory: &SlackDirectory) {
    let (target, label) = match inner.split_once('|') {
        Some((target, label)) => (target, Some(label)),
        None => (inner, None),
    };
    if let Some(user) = target.strip_prefix('@') {
        out.push('@');
        match (label, directory.user(user)) {
            (_, Some(name)) => out.push_str(name),
            (Some(label), None) => push_decoded(out, label),
            (None, None) => out.push_str(user),
        }
    } else if let Some(channel) = target.strip_prefix('#') {
        out.push('#');
        match (label, directory.channel_names.get(channel)) {
            (Some(label), _) => push_decoded(out, label),
            (None, Some(name)) => out.push_str(name),
            (None, None) => out.push_str(channel),
        }
    } else if let Some(special) = target.strip_prefix('!') {
        match label {
            // `<!subteam^S…|@dba-oncall>`, `<!date^…|fallback>`: the label is what people saw.
            Some(label) => push_decoded(out, label),
            None => {
                out.push('@');
                out.push_str(special.split('^').next().unwrap_or(special));
            }
        }
    } else {
        match label {
            Some(label) if label != target => {
                push_decoded(out, label);
                out.push_str(" (");
                push_decoded(out, target);
                out.push(')');
            }
            _ => push_decoded(out, target),
        }
    }
}

/// Decodes the three entities Slack escapes (`&amp;`, `&lt;`, `&gt;`); any other `&` is literal.
fn push_decoded(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(amp) = memchr::memchr(b'&', rest.as_bytes()) {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let (decoded, used) = if tail.starts_with("&amp;") {
            ('&', 5)
        } else if tail.starts_with("&lt;") {
            ('<', 4)
        } else if tail.starts_with("&gt;") {
            ('>', 4)
        } else {
            ('&', 1)
        };
        out.push(decoded);
        rest = &tail[used..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> SlackDirectory {
        let users = br#"[{"id":"U1","name":"jbecker","real_name":"Jonas Becker","profile":{"display_name":"jonas"}},
                         {"id":"U2","name":"praman","real_name":"Priya Raman","profile":{"display_name":""}},
                         {"id":"U3","name":"ghost","profile":{}}]"#;
        let channels = vec![(
            "channels.json".to_owned(),
            br#"[{"id":"C1","name":"deploys"}]"#.to_vec(),
        )];
        SlackDirectory::from_json("users.json", Some(users), &channels).unwrap()
    }

    fn day(json: &str) -> Vec<Result<TimelineEvent, ImportError>> {
        parse_day_file("inc/2024-03-31.json", "C9", json.as_bytes(), &directory())
    }

    #[test]
    fn names_prefer_display_name_then_real_name_then_user_name() {
        let d = directory();
        assert_eq!(d.user("U1"), Some("jonas"));
        assert_eq!(d.user("U2"), Some("Priya Raman"));
        assert_eq!(d.user("U3"), Some("ghost"));
    }

    #[test]
    fn markup_renders_mentions_channels_links_specials_and_entities() {
        let text = "<@U1> see <#C1|deploys> <#C1> <https://x.example/a|release notes> <https://x.example/b> \
                    <!here> <!subteam^S1|@dba-oncall> ttl &lt; 10 &amp;&amp; &gt;";
        assert_eq!(
            render_markup(text, &directory()),
            "@jonas see #deploys #deploys release notes (https://x.example/a) https://x.example/b \
             @here @dba-oncall ttl < 10 && >"
        );
    }

    #[test]
    fn broken_markup_and_stray_ampersands_are_kept_literally() {
        let text = "unterminated <https://example.com|oops and a stray &amp lone";
        assert_eq!(render_markup(text, &directory()), text);
    }

    #[test]
    fn ts_is_the_exact_id_and_the_microsecond_instant() {
        let events =
            day(r#"[{"type":"message","user":"U1","text":"hi","ts":"1711843272.200318"}]"#);
        let event = events[0].as_ref().unwrap();
        assert_eq!(event.source_ref, "slack:C9:1711843272.200318");
        assert_eq!(event.at.to_string(), "2024-03-31T00:01:12.200318Z");
        assert_eq!(event.actor.as_deref(), Some("jonas"));
    }

    #[test]
    fn thread_replies_carry_their_parent_in_source_ref_and_edits_are_noted() {
        let events = day(
            r#"[{"user":"U1","text":"reply","ts":"1711843272.200318","thread_ts":"1711843124.771102"},
                {"user":"U1","text":"fixed","ts":"1711843300.000001","edited":{"user":"U1","ts":"1711843360.000000"}}]"#,
        );
        assert_eq!(
            events[0].as_ref().unwrap().source_ref,
            "slack:C9:1711843124.771102/1711843272.200318"
        );
        assert_eq!(
            events[1].as_ref().unwrap().text,
            "fixed (edited 2024-03-31T00:02:40Z)"
        );
    }

    #[test]
    fn bot_messages_take_their_text_from_attachments_and_files_become_evidence() {
        let events = day(
            r#"[{"subtype":"bot_message","text":"","username":"Alertmanager","ts":"1.000001",
                 "attachments":[{"fallback":"[FIRING:1] X","title_link":"https://am.example/"}]},
                {"user":"U1","text":"graph","ts":"2.000000","files":[{"title":"5xx","permalink":"https://f.example/1"},{"mode":"hidden_by_limit"}]}]"#,
        );
        let bot = events[0].as_ref().unwrap();
        assert_eq!(
            (bot.text.as_str(), bot.actor.as_deref()),
            ("[FIRING:1] X", Some("Alertmanager"))
        );
        assert_eq!(bot.evidence_url.as_deref(), Some("https://am.example/"));
        let shared = events[1].as_ref().unwrap();
        assert_eq!(shared.evidence_url.as_deref(), Some("https://f.example/1"));
        assert!(
            shared.text.contains("[file: 5xx]") && shared.text.contains("hidden"),
            "{}",
            shared.text
        );
    }

    #[test]
    fn bad_messages_are_reported_with_their_json_path_and_the_rest_continue() {
        let events = day(r#"[{"user":"U1","text":"no ts"},
                {"user":"U1","text":"number","ts":1711843000.123456},
                {"user":"U0NOTINUSERS","text":"who","ts":"1711843001.000100"},
                {"user":"U1","text":"ok","ts":"1711843001.000200"},
                {"user":"U1","text":"dup","ts":"1711843001.000200"},
                {"subtype":"tombstone","user":"USLACKBOT","text":"deleted","ts":"1711843003.000002"},
                {"user":"U1","text":"orphan reply","ts":"1711843004.000003","thread_ts":"1711000000.000001"}]"#);
        let errors: Vec<String> = events
            .iter()
            .filter_map(|e| e.as_ref().err())
            .map(ToString::to_string)
            .collect();
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(
            errors[0].starts_with("inc/2024-03-31.json[0].ts: expected a string"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].contains("[1].ts") && errors[1].contains("the number 1711843000.123456"),
            "{}",
            errors[1]
        );
        assert!(
            errors[2].contains("[2].user") && errors[2].contains("U0NOTINUSERS"),
            "{}",
            errors[2]
        );
        assert!(
            errors[3].contains("[4].ts") && errors[3].contains("duplicate"),
            "{}",
            errors[3]
        );
        let texts: Vec<&str> = events
            .iter()
            .filter_map(|e| e.as_ref().ok())
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(texts, ["ok", "orphan reply"]);
    }

    #[test]
    fn a_truncated_day_file_or_an_object_with_a_bom_is_a_json_error_with_a_line() {
        let truncated = day(r#"[{"user":"U1","text":"cut"#);
        assert!(matches!(
            truncated[0],
            Err(ImportError::Json {
                position: Position::LineColumn(1, _),
                ..
            })
        ));
        let object = parse_day_file(
            "x.json",
            "C9",
            "\u{feff}{\"messages\": []}".as_bytes(),
            &directory(),
        );
        let message = object[0].as_ref().unwrap_err().to_string();
        assert!(
            message.contains("expected a JSON array of Slack message objects"),
            "{message}"
        );
    }

    #[test]
    fn the_fast_reader_agrees_with_serde_on_edge_cases() {
        let cases: &[&str] = &[
            "[]",
            " \n[ ]\n ",
            r#"[{"user":"U1","text":"a \/ b \u00e9 \ud83d\ude00 \"q\" \\ \n\t","ts":"1.000001"}]"#,
            r#"[{"user":"U1","text":"lone \ud83d","ts":"1.000001"}]"#,
            r#"[{"user":"U1","text":"lone \ude00 low","ts":"1.000001"}]"#,
            r#"[{"user":"U1","text":"x","ts":"1.000001","ts":"2.000001"}]"#,
            r#"[{"user":null,"text":"x","ts":"1.000001","user":"U1"}]"#,
            r#"[{"user":null,"username":"bot","subtype":null,"text":null,"ts":"1.000001","thread_ts":null}]"#,
            r#"[{"user":7,"text":"x","ts":"1.000001"}]"#,
            r#"[{"user":"U1","text":{"a":1},"ts":"1.000001"}]"#,
            r#"[{"user":"U1","text":"x","ts":"1.000001","blocks":[{"t":[1,-2.5e+3,0,true,false,null,"\u0041"]}]}]"#,
            r#"[{"user":"U1","text":"x","ts":"1.000001","n":01}]"#,
            r#"[{"user":"U1","text":"x","ts":"1.000001","n":1.}]"#,
            r#"[{"user":"U1","text":"x","ts":"1.000001","n":-}]"#,
            r#"[{"user":"U1","text":"x","ts":"1.000001","n":1e}]"#,
            r#"[{"user":"U1","text":"x","ts":"1.000001","n":tru}]"#,
            r#"[{"user":"U1","text":"x","ts":"1.000001","s":"bad \x"}]"#,
            r#"[{"user":"U1","text":"x","ts":"1.000001","s":"bad \u12g4"}]"#,
            "[{\"user\":\"U1\",\"text\":\"tab\tinside\",\"ts\":\"1.000001\"}]",
            "[{\"user\":\"U1\",\"text\":\"x\",\"ts\":\"1.000001\",\"s\":\"ctl\u{1}\"}]",
            r#"[{"user":"U1","text":"x","ts":"1.000001",}]"#,
            r#"[{"user":"U1","text":"x","ts":"1.000001"},]"#,
            r#"[{"user":"U1","text":"x","ts":"1.000001"}] x"#,
            r#"[{"user":"U1","text":"x","ts":"1.000001"}"#,
            r#"[{"\u0074s":"1.000001","user":"U1","text":"escaped key"}]"#,
            r#"[["1.000001","U1"]]"#,
            r#"[1, "x", null]"#,
            r#"{"messages":[]}"#,
            r#"[{"user":"U1","text":"","ts":"1.000001","attachments":[{"fallback":"","title":"T","text":"B","title_link":"https://x/"},{"fallback":"F"}]}]"#,
            r#"[{"user":"U1","text":"","ts":"1.000001","attachments":null,"files":[{"mode":"hidden_by_limit"},{"name":"n","url_private":"https://u/"}]}]"#,
            r#"[{"user":"U1","text":"","ts":"1.000001","attachments":[["F"]]}]"#,
            r#"[{"user":"U1","text":"","ts":"1.000001","files":[{"title":"a","title":"b"}]}]"#,
            r#"[{"user":"U1","text":"e","ts":"1.000001","edited":{"user":"U1","ts":"2.000000"},"bot_profile":{"name":"B","icons":{}}}]"#,
            r#"[{"user":"U1","text":"e","ts":"1.000001","edited":{"ts":5}}]"#,
            "[{\"user\":\"U1\",\"text\":\"bad utf8 \u{0}\",\"ts\":\"1.000001\"}]",
        ];
        for case in cases {
            check_day_file_readers_agree(case.as_bytes(), None);
        }
        check_day_file_readers_agree(
            b"[{\"user\":\"U1\",\"text\":\"\xff\",\"ts\":\"1.000001\"}]",
            None,
        );
        check_day_file_readers_agree(
            b"[{\"user\":\"U1\",\"text\":\"x\",\"ts\":\"1.000001\",\"k\":\"\xff\"}]",
            None,
        );
        check_day_file_readers_agree(
            b"[{\"user\":\"U1\",\"text\":\"x\",\"ts\":\"1.000001\",\"\xff\":1}]",
            None,
        );
        let deep = format!(
            r#"[{{"user":"U1","text":"x","ts":"1.000001","d":{}1{}}}]"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        check_day_file_readers_agree(deep.as_bytes(), None);
    }

    #[test]
    fn the_fast_reader_matches_keys_of_every_length_and_position() {
        let cases: &[&str] = &[
            // Keys that are prefixes or extensions of the fields read, and the boundaries of the
            // sixteen-byte key word.
            r#"[{"t":1,"tex":"a","texts":"b","tsx":"c","user_":"d","ts":"1.000001","user":"U1","text":"k"}]"#,
            r#"[{"":"empty key","abcdefghijklmnop":"16","abcdefghijklmnopq":"17","ts":"1.000001","user":"U1","text":"k"}]"#,
            r#"[{"text_with_a_long_name_0123456789":"long","ts":"1.000001","user":"U1","text":"k"}]"#,
            r#"[{"thread_ts_and_then_some":"2.000001","ts":"1.000001","user":"U1","text":"k"}]"#,
            // The last key within sixteen bytes of the end of the input.
            r#"[{"ts":"1.000001","user":"U1","text":"x"}]"#,
            r#"[{"ts":"1.000001","user":"U1","ts":"2"}]"#,
            r#"[{"ts":"1.000001","text":"x","user":"U1"}]"#,
            r#"[{"ts":"1.000001","user":"U1","text":"x","a":1}]"#,
            r#"[{"ts":"1.000001","user":"U1","té":"x"}]"#,
            r#"[{"ts":"1.000001","user":"U1","files":[{"title":"t","mode":"m"}],"files":[]}]"#,
        ];
        for case in cases {
            check_day_file_readers_agree(case.as_bytes(), None);
        }
    }

    #[test]
    fn the_fast_reader_agrees_with_serde_on_a_realistic_day_with_every_kind_of_message() {
        let day = r#"[
    {
        "client_msg_id": "f3b365be-575e-4b3f-9649-c706ad9d957a",
        "type": "message",
        "text": "na\u00efve retry \u2192 herd \ud83d\ude00 <https:\/\/x.example\/a?b=1&amp;c=2|logs> \"q\" \\ \n\t &lt;&gt;",
        "user": "U1",
        "ts": "1709251288.638757",
        "user_profile": {"real_name": "J\u00fcrgen", "is_restricted": false, "n": -1.5e-3, "z": null},
        "blocks": [{"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
            {"type": "text", "text": "na\u00efve"}, {"type": "user", "user_id": "U1"}, [[[]]], {}]}]}],
        "reactions": [{"name": "eyes", "users": ["U1", "U2"], "count": 2}]
    },
    {
        "type": "message",
        "text": "reply <@U2> in <#C1|deploys> <!here>",
        "user": "U2",
        "ts": "1709251322.709415",
        "thread_ts": "1709251288.638757",
        "parent_user_id": "U1",
        "edited": {"user": "U2", "ts": "1709251400.000000"}
    },
    {
        "type": "message",
        "subtype": "bot_message",
        "text": "",
        "username": "Alertmanager",
        "bot_id": "B1",
        "bot_profile": {"id": "B1", "name": "alertmanager", "icons": {"image_36": "https:\/\/a\/b.png"}},
        "ts": "1709251366.798994",
        "attachments": [{"fallback": "", "title": "[FIRING:1] X", "text": "pg \u2014 down", "title_link": "https:\/\/am\/", "fields": [{"title": "a", "value": "b", "short": true}]}]
    },
    {
        "type": "message",
        "subtype": "file_share",
        "text": "graph",
        "user": "U1",
        "ts": "1709251400.000001",
        "files": [{"id": "F1", "title": "5xx \ud83d\udcc8", "name": "5xx.png", "permalink": "https:\/\/f\/1", "size": 12345}, {"id": "F2", "mode": "hidden_by_limit"}]
    },
    {
        "type": "message",
        "subtype": "tombstone",
        "user": "USLACKBOT",
        "text": "This message was deleted.",
        "ts": "1709251500.000002",
        "reply_count": 1
    }
]
"#;
        check_day_file_readers_agree(day.as_bytes(), None);
        let events = parse_day_file("d.json", "C1", day.as_bytes(), &directory());
        assert_eq!(events.len(), 4, "{events:#?}");
        let first = events[0].as_ref().unwrap();
        assert!(
            first.text.starts_with(
                "naïve retry → herd 😀 logs (https://x.example/a?b=1&c=2) \"q\" \\ \n\t <>"
            ),
            "{}",
            first.text
        );
    }

    #[test]
    fn markup_without_controls_or_entities_is_copied_as_is() {
        for text in ["", "plain text", "naïve → 😀", "a > b", "x; y"] {
            assert_eq!(render_markup(text, &directory()), text);
        }
        assert_eq!(render_markup("a &gt; b", &directory()), "a > b");
        assert_eq!(render_markup("<@U1> >", &directory()), "@jonas >");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        #[test]
        fn the_fast_reader_agrees_with_serde_on_arbitrary_day_files(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "[", "]", "{", "}", ",", ":", " ", "\n", "\"", "\\", "\\u", "\\/", "d83d", "\\ude00",
                "\"ts\"", "\"user\"", "\"text\"", "\"subtype\"", "\"thread_ts\"", "\"username\"",
                "\"bot_profile\"", "\"edited\"", "\"attachments\"", "\"files\"", "\"name\"",
                "\"fallback\"", "\"title\"", "\"title_link\"", "\"mode\"", "\"permalink\"",
                "\"url_private\"", "\"blocks\"", "\"1711842185.118230\"", "\"U1\"", "\"U9\"",
                "\"<@U1> &amp; <#C1>\"", "\"\"", "null", "true", "1", "-0.5e3", "01", "é", "\u{1}",
            ]), 0..60)
        ) {
            let mut json = String::from("[{\"ts\":\"1.000001\",\"user\":\"U1\",");
            json.push_str(&parts.concat());
            check_day_file_readers_agree(json.as_bytes(), None);
            check_day_file_readers_agree(parts.concat().as_bytes(), None);
        }
    }

    #[test]
    fn me_messages_read_like_irc_actions() {
        let events = day(
            r#"[{"type":"message","subtype":"me_message","user":"U1","text":"checks &lt;@U2&gt; <@U2>","ts":"1711843272.200318"}]"#,
        );
        let event = events[0].as_ref().unwrap();
        assert_eq!(event.text, "* jonas checks <@U2> @Priya Raman");
        assert_eq!(event.actor.as_deref(), Some("jonas"));
        assert_eq!(event.kind, EventKind::Communication);
    }

    #[test]
    fn an_unknown_user_stays_an_error_that_suggests_skip_invalid() {
        let events = day(r#"[{"user":"U0NOTINUSERS","text":"who","ts":"1711843001.000100"}]"#);
        let error = events[0].as_ref().unwrap_err().to_string();
        assert!(
            error.contains("[0].user")
                && error.contains("U0NOTINUSERS")
                && error.contains("--skip-invalid"),
            "{error}"
        );
    }

    fn small_export() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("channels.json"),
            r#"[{"id":"C1","name":"deploys"},{"id":"C2","name":"quiet"}]"#,
        )
        .unwrap();
        std::fs::write(root.join("users.json"), r#"[{"id":"U1","name":"jbecker"}]"#).unwrap();
        for channel in ["deploys", "inc-1"] {
            std::fs::create_dir(root.join(channel)).unwrap();
            std::fs::write(
                root.join(channel).join("2024-03-30.json"),
                r#"[{"user":"U1","text":"hi","ts":"1711842185.118230"}]"#,
            )
            .unwrap();
        }
        dir
    }

    #[test]
    fn a_channel_filter_that_matches_no_channel_of_the_export_is_an_error_listing_the_channels() {
        let export = small_export();
        let options = |channels: &[&str]| ImportOptions {
            channels: channels.iter().map(|c| (*c).to_owned()).collect(),
            ..ImportOptions::default()
        };
        let error = import_slack_export(export.path(), &options(&["#deploy"]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`deploy` (no such channel)")
                && error.contains("it has: deploys, inc-1, quiet"),
            "{error}"
        );
        // A name of another input of the same import (an IRC channel) beside one of this
        // export's, and a listed channel without messages, are not mistakes.
        let events: Vec<_> = import_slack_export(export.path(), &options(&["#dbops", "#inc-1"]))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(events.len(), 1);
        assert_eq!(
            import_slack_export(export.path(), &options(&["quiet"]))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn a_truncated_zip_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.zip");
        std::fs::write(&path, b"PK\x03\x04 truncated").unwrap();
        let error = import_slack_export(&path, &ImportOptions::default()).unwrap_err();
        assert!(matches!(error, ImportError::Zip { .. }), "{error}");
        assert!(error.to_string().contains("export.zip"), "{error}");
    }

    #[test]
    fn the_channel_filter_reads_only_the_named_folders() {
        let samples = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/samples/slack/export"
        ));
        if !samples.is_dir() {
            return;
        }
        let options = ImportOptions {
            channels: vec!["deploys".into()],
            ..ImportOptions::default()
        };
        let events: Vec<_> = import_slack_export(samples, &options)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(events.len(), 4);
        assert!(
            events
                .iter()
                .all(|e| e.source_ref.starts_with("slack:C01DEPLOYS5:"))
        );
    }
}
