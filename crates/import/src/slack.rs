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
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use rayon::prelude::*;
use secondstory_domain::time::RecordedTime;
use secondstory_domain::timeline::{EventKind, TimelineEvent};
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::ImportOptions;
use crate::common::{display_path, event, strip_bom};
use crate::error::{ImportError, Position, describe_found};

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
        match self {
            ExportFiles::Directory(root) => {
                let path = root.join(relative);
                if !path.exists() {
                    return Ok(None);
                }
                std::fs::read(&path)
                    .map(Some)
                    .map_err(|e| ImportError::io(relative, e))
            }
            ExportFiles::Zip {
                archive,
                prefix,
                file,
            } => {
                let name = format!("{prefix}{relative}");
                let mut entry = match archive.by_name(&name) {
                    Ok(entry) => entry,
                    Err(zip::result::ZipError::FileNotFound) => return Ok(None),
                    Err(e) => {
                        return Err(ImportError::Zip {
                            file: format!("{file}:{name}"),
                            message: e.to_string(),
                        });
                    }
                };
                let mut bytes =
                    Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0).min(1 << 28));
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|e| ImportError::Zip {
                        file: format!("{file}:{name}"),
                        message: e.to_string(),
                    })?;
                Ok(Some(bytes))
            }
        }
    }
}

/// One `<channel>/<YYYY-MM-DD>.json` file.
#[derive(Debug, Clone)]
struct DayFile {
    channel_id: Arc<str>,
    relative: String,
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
    let relative_day_files = match &files {
        ExportFiles::Directory(root) => list_directory_day_files(root)?,
        ExportFiles::Zip {
            archive, prefix, ..
        } => {
            let mut names: Vec<String> = archive
                .file_names()
                .filter_map(Result::ok)
                .filter_map(|n| n.strip_prefix(prefix.as_str()).map(str::to_owned))
                .filter(|n| {
                    n.split('/').count() == 2 && n.split('/').nth(1).is_some_and(is_day_file_name)
                })
                .collect();
            names.sort();
            names
        }
    };
    let day_files: Vec<DayFile> = relative_day_files
        .into_iter()
        .filter_map(|relative| {
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
            })
        })
        .collect();
    let channels: BTreeSet<String> = day_files
        .iter()
        .filter_map(|d| d.relative.split('/').next().map(str::to_owned))
        .collect();
    let (sender, receiver) = std::sync::mpsc::sync_channel(2);
    let directory = Arc::new(directory);
    let total_files = day_files.len();
    let producer = ChunkProducer {
        files,
        directory,
        day_files,
        next_file: 0,
    };
    // Parsing runs ahead of the consumer on its own thread (and rayon's pool), at most two
    // chunks ahead, so reading, parsing and whatever the caller does with events overlap.
    std::thread::Builder::new()
        .name("slack-export-reader".to_owned())
        .spawn(move || producer.run(&sender))
        .map_err(|e| ImportError::io(&shown, e))?;
    Ok(SlackExportStream {
        receiver,
        ready: VecDeque::new(),
        total_files,
        channels,
    })
}

fn list_directory_day_files(root: &Path) -> Result<Vec<String>, ImportError> {
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
                found.push(format!("{channel}/{name}"));
            }
        }
    }
    found.sort();
    Ok(found)
}

type ChunkResults = Vec<Result<TimelineEvent, ImportError>>;

/// Reads and parses day files chunk by chunk, in order, for [`SlackExportStream`].
struct ChunkProducer {
    files: ExportFiles,
    directory: Arc<SlackDirectory>,
    day_files: Vec<DayFile>,
    next_file: usize,
}

impl ChunkProducer {
    fn run(mut self, sender: &std::sync::mpsc::SyncSender<ChunkResults>) {
        while self.next_file < self.day_files.len() {
            let chunk = self.next_chunk();
            if sender.send(chunk).is_err() {
                // The consumer stopped reading: nothing more to do.
                return;
            }
        }
    }

    /// The next chunk of day files (bounded in count and, for ZIPs, bytes), parsed in parallel
    /// and returned in file order.
    fn next_chunk(&mut self) -> ChunkResults {
        const MAX_FILES: usize = 32;
        const MAX_BYTES: usize = 48 << 20;
        let end = (self.next_file + MAX_FILES).min(self.day_files.len());
        let directory = &self.directory;
        let parsed: Vec<ChunkResults> = match &mut self.files {
            ExportFiles::Directory(root) => {
                // Plain files: each worker reads its own, so reading is parallel too.
                let root = root.as_path();
                let chunk = &self.day_files[self.next_file..end];
                self.next_file = end;
                chunk
                    .par_iter()
                    .map(|day| match std::fs::read(root.join(&day.relative)) {
                        Ok(bytes) => {
                            parse_day_file(&day.relative, &day.channel_id, &bytes, directory)
                        }
                        Err(e) => vec![Err(ImportError::io(&day.relative, e))],
                    })
                    .collect()
            }
            zip @ ExportFiles::Zip { .. } => {
                // A ZIP is one seekable stream: inflate sequentially, parse in parallel.
                let mut chunk = Vec::new();
                let mut bytes_in_chunk = 0;
                while self.next_file < end && bytes_in_chunk < MAX_BYTES {
                    let day = self.day_files[self.next_file].clone();
                    self.next_file += 1;
                    match zip.read(&day.relative) {
                        Ok(Some(bytes)) => {
                            bytes_in_chunk += bytes.len();
                            chunk.push((day, Ok(bytes)));
                        }
                        Ok(None) => {}
                        Err(error) => chunk.push((day, Err(error))),
                    }
                }
                chunk
                    .into_par_iter()
                    .map(|(day, bytes)| match bytes {
                        Ok(bytes) => {
                            parse_day_file(&day.relative, &day.channel_id, &bytes, directory)
                        }
                        Err(error) => vec![Err(error)],
                    })
                    .collect()
            }
        };
        parsed.into_iter().flatten().collect()
    }
}

/// The streaming iterator over an export's events; see [`import_slack_export`].
pub struct SlackExportStream {
    receiver: std::sync::mpsc::Receiver<ChunkResults>,
    ready: VecDeque<Result<TimelineEvent, ImportError>>,
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
}

impl Iterator for SlackExportStream {
    type Item = Result<TimelineEvent, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            // A closed channel means the producer has sent every chunk.
            self.ready = self.receiver.recv().ok()?.into();
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
#[derive(Deserialize)]
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

#[derive(Deserialize)]
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

#[derive(Deserialize)]
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
    let messages = match serde_json::from_slice::<DayMessages<'_>>(bytes) {
        Ok(DayMessages(messages)) => messages,
        Err(error) => return vec![Err(ImportError::json(file, &error))],
    };
    let mut seen_ts = BTreeSet::new();
    let mut events = Vec::with_capacity(messages.len());
    for (index, message) in messages.iter().enumerate() {
        match message_to_event(file, index, channel_id, message, directory, &mut seen_ts) {
            Ok(Some(event)) => events.push(Ok(event)),
            Ok(None) => {}
            Err(error) => events.push(Err(error)),
        }
    }
    events
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
    seen_ts: &mut BTreeSet<i64>,
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
                    describe_found(user),
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
        text.push_str(&format!(" (edited {edited_at})"));
    }
    let source_ref = match message.thread_ts.as_deref() {
        Some(thread_ts) if thread_ts != ts.as_ref() => {
            format!("slack:{channel_id}:{thread_ts}/{ts}")
        }
        _ => format!("slack:{channel_id}:{ts}"),
    };
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
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(open) = rest.find('<') {
        push_decoded(&mut out, &rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
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
    while let Some(amp) = rest.find('&') {
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
