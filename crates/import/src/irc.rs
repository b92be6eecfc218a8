//! IRC logs as irssi, WeeChat, ZNC and HexChat write them, and pasted `[HH:MM] <nick> text`
//! transcripts.
//!
//! Logs are read line by line (flat memory). Most clients log local wall-clock time without a
//! zone, so a `tz` option (`--tz`) is required and times are resolved DST-correct: a time inside
//! a DST gap is an error; a fall-back time takes the candidate after the previous line, so a time
//! of day that goes back by no more than the fall-back (`01:59`, then `01:00`) is the repeated
//! hour; a log whose first line is in the repeated hour is refused (nothing says which pass it
//! is). Any other time going backwards is refused (irssi, ZNC) or means midnight passed (plain).
//! Dates come from the log (`--- Day changed`, `BEGIN LOGGING`), the ZNC file name, or the
//! `date` option (`--date`); HexChat's year moves on when the month goes backwards (Dec → Jan).
//!
//! The same channel line appears in every participant's log, so `source_ref` is derived from the
//! content, not the file: `irc:<channel>:<UTC minute>:<kind>:<nick>:<text hash>` (plus `#n` for the
//! n-th identical line in that minute). Minute-precision clients (irssi, plain) and
//! second-precision ones therefore agree on it. [`dedup_irc_events`] also merges duplicates whose
//! minute differs because of clock skew: see its rule.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};
use secondstory_domain::time::RecordedTime;
use secondstory_domain::timeline::{EventKind, TimelineEvent};

use crate::common::{display_path, event, resolve_local_time, sorted_files, stable_hash};
use crate::error::{ImportError, Position, describe_found};
use crate::{Format, ImportOptions};

/// What happened on a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Message,
    Action,
    Join,
    Part,
    Quit,
    Nick,
}

impl LineKind {
    fn as_str(self) -> &'static str {
        match self {
            LineKind::Message => "msg",
            LineKind::Action => "action",
            LineKind::Join => "join",
            LineKind::Part => "part",
            LineKind::Quit => "quit",
            LineKind::Nick => "nick",
        }
    }

    fn is_presence(self) -> bool {
        !matches!(self, LineKind::Message | LineKind::Action)
    }
}

/// A line's clock reading before the zone is applied.
#[derive(Debug, Clone, Copy)]
enum Stamp {
    /// Full local date and time (WeeChat, HexChat).
    DateTime(DateTime),
    /// Time of day only (irssi, ZNC, plain); the date comes from the file's state.
    TimeOfDay(Time),
}

#[derive(Debug)]
struct ChannelLine {
    stamp: Stamp,
    kind: LineKind,
    nick: String,
    /// Message, action text, part/quit reason, or new nick.
    text: String,
}

/// What a line turned out to be.
enum Parsed {
    Event(ChannelLine),
    /// A line that sets the date (`--- Day changed`, `--- Log opened`, `BEGIN LOGGING`).
    Date(Date),
    /// A known line that is not a channel event (client status, topic, mode, blank).
    Ignored,
}

/// Reads IRC logs in `format` from a file or a directory of files (name order).
pub(crate) fn import_irc_logs(
    path: &Path,
    format: Format,
    options: &ImportOptions,
) -> Result<Box<dyn Iterator<Item = Result<TimelineEvent, ImportError>> + Send>, ImportError> {
    let shown = display_path(path);
    let zone = options
        .tz
        .clone()
        .ok_or_else(|| ImportError::MissingOption {
            file: shown.clone(),
            format: format.name(),
            option: "a time zone (--tz, e.g. --tz Europe/Berlin)",
            why: "IRC logs record local wall-clock time without a zone".to_owned(),
        })?;
    if format == Format::IrcPlain && options.date.is_none() {
        return Err(ImportError::MissingOption {
            file: shown,
            format: format.name(),
            option: "a start date (--date, e.g. --date 2024-03-30)",
            why: "pasted transcripts carry times of day only".to_owned(),
        });
    }
    let files = if path.is_dir() {
        sorted_files(path, |name| !name.starts_with('.'))?
    } else {
        vec![path.to_path_buf()]
    };
    let options = options.clone();
    Ok(Box::new(files.into_iter().flat_map(move |file| {
        IrcFileEvents::open(file, format, zone.clone(), &options)
    })))
}

/// The channel a log file is about, from its name: `#dbops.log`, `irc.server.#dbops.weechatlog`,
/// ZNC's `<network>/#dbops/2024-03-30.log`.
fn channel_from_path(path: &Path, format: Format) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match format {
        Format::IrcZnc => path
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(name),
        Format::IrcWeechat => {
            let stem = name.strip_suffix(".weechatlog").unwrap_or(&name);
            match stem.find('#') {
                Some(hash) => stem[hash..].to_owned(),
                None => stem.rsplit('.').next().unwrap_or(stem).to_owned(),
            }
        }
        _ => name
            .rsplit_once('.')
            .map(|(stem, _)| stem.to_owned())
            .unwrap_or(name),
    }
}

/// The date in a ZNC log file name (`2024-03-30.log`).
fn date_from_znc_name(path: &Path) -> Option<Date> {
    let stem = path.file_stem()?.to_string_lossy().into_owned();
    Date::strptime("%Y-%m-%d", stem.get(stem.len().checked_sub(10)?..)?).ok()
}

/// Streams the events of one log file.
struct IrcFileEvents {
    file: String,
    format: Format,
    zone: TimeZone,
    channel: String,
    drop_presence: bool,
    reader: Option<BufReader<File>>,
    line_number: u64,
    buffer: Vec<u8>,
    /// The date lines without one are on; `None` until known.
    date: Option<Date>,
    /// Set when a date line could not be read: later lines cannot be dated until the next one.
    date_lost: bool,
    /// Local time of the previous line (detects time going backwards).
    previous_local: Option<DateTime>,
    /// Instant of the previous event (resolves DST fall-back folds).
    previous_instant: Option<Timestamp>,
    /// Occurrences of identical lines within the current UTC minute, for `#n` suffixes.
    minute_counts: BTreeMap<String, u32>,
    current_minute: i64,
    hexchat: HexchatYear,
    pending_error: Option<ImportError>,
}

impl IrcFileEvents {
    fn open(path: PathBuf, format: Format, zone: TimeZone, options: &ImportOptions) -> Self {
        let file = display_path(&path);
        let channel = options
            .irc_channel
            .clone()
            .unwrap_or_else(|| channel_from_path(&path, format));
        let (reader, pending_error) = match File::open(&path) {
            Ok(handle) => (Some(BufReader::with_capacity(64 * 1024, handle)), None),
            Err(e) => (None, Some(ImportError::io(&file, e))),
        };
        let mut date = options.date;
        let mut pending_error = pending_error;
        if format == Format::IrcZnc {
            match date_from_znc_name(&path) {
                Some(from_name) => date = Some(from_name),
                None if date.is_none() && pending_error.is_none() => {
                    pending_error = Some(ImportError::invalid(
                        &file,
                        Position::File,
                        "a ZNC log file named after its date (YYYY-MM-DD.log), or --date",
                        describe_found(
                            &path
                                .file_name()
                                .map(|n| n.to_string_lossy().into_owned())
                                .unwrap_or_default(),
                        ),
                    ));
                }
                None => {}
            }
        }
        let skip = !options.wants_channel(&channel);
        IrcFileEvents {
            file,
            format,
            zone,
            channel,
            drop_presence: options.drop_presence,
            reader: if skip { None } else { reader },
            line_number: 0,
            buffer: Vec::with_capacity(512),
            date,
            date_lost: false,
            previous_local: None,
            previous_instant: None,
            minute_counts: BTreeMap::new(),
            current_minute: i64::MIN,
            hexchat: HexchatYear {
                year: options.date.map(|d| d.year()),
                month: options.date.map(|d| d.month()),
            },
            pending_error: if skip { None } else { pending_error },
        }
    }

    fn error(&self, expected: impl Into<String>, found: impl Into<String>) -> ImportError {
        ImportError::invalid(
            &self.file,
            Position::Line(self.line_number),
            expected,
            found,
        )
    }

    /// Reads the next raw line; `None` at the end of the file.
    fn next_line(&mut self) -> Option<Result<String, ImportError>> {
        let reader = self.reader.as_mut()?;
        self.buffer.clear();
        match reader.read_until(b'\n', &mut self.buffer) {
            Ok(0) => {
                self.reader = None;
                None
            }
            Ok(_) => {
                self.line_number += 1;
                while matches!(self.buffer.last(), Some(b'\n' | b'\r')) {
                    self.buffer.pop();
                }
                let mut bytes: &[u8] = &self.buffer;
                // A BOM mid-file comes from concatenated logs; it is not content.
                while let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
                    bytes = rest;
                }
                if bytes.contains(&0) {
                    return Some(Err(self.error("a text line", "a NUL byte inside the line")));
                }
                Some(Ok(decode_line(bytes)))
            }
            Err(e) => {
                self.reader = None;
                Some(Err(ImportError::io(&self.file, e)))
            }
        }
    }

    fn parse(&mut self, line: &str) -> Result<Parsed, ImportError> {
        if line.trim().is_empty() {
            return Ok(Parsed::Ignored);
        }
        let parsed = match self.format {
            Format::IrcIrssi => parse_irssi(line),
            Format::IrcWeechat => parse_weechat(line),
            Format::IrcZnc => parse_znc(line),
            Format::IrcHexchat => parse_hexchat(line, &mut self.hexchat),
            _ => parse_plain(line),
        };
        parsed.map_err(|expected| self.error(expected, describe_found(line)))
    }

    /// Applies date and zone to a channel line.
    fn resolve(&mut self, line: &ChannelLine) -> Result<(Timestamp, bool), ImportError> {
        let (local, has_seconds) = match line.stamp {
            Stamp::DateTime(local) => (local, true),
            Stamp::TimeOfDay(time) => {
                let has_seconds = !matches!(self.format, Format::IrcIrssi | Format::IrcPlain);
                let date = match self.date {
                    Some(date) if !self.date_lost => date,
                    _ => {
                        return Err(self.error(
                            "a date for this line (a readable `--- Day changed`/`Log opened` line, or --date)",
                            "none",
                        ));
                    }
                };
                let mut local = date.to_datetime(time);
                if let Some(previous) = self.previous_local
                    && local < previous
                {
                    if let Some(instant) = self.repeated_hour(local) {
                        // The clocks went back (DST fall-back): the second pass through the hour.
                        self.previous_local = Some(local);
                        self.previous_instant = Some(instant);
                        return Ok((instant, has_seconds));
                    }
                    if self.format == Format::IrcPlain {
                        // Transcripts have no day lines: a clock going back means midnight passed.
                        let next = date
                            .tomorrow()
                            .map_err(|e| self.error("a representable date", e.to_string()))?;
                        self.date = Some(next);
                        local = next.to_datetime(time);
                    } else {
                        // Report the jump once: the lines after it are checked against it.
                        self.previous_local = Some(local);
                        return Err(self.backwards_error(previous.time(), time));
                    }
                }
                (local, has_seconds)
            }
        };
        self.previous_local = Some(local);
        let instant = self.to_instant(local)?;
        self.previous_instant = Some(instant);
        Ok((instant, has_seconds))
    }

    /// The instant of `local`, a time of day earlier than the previous line's, when a DST
    /// fall-back explains it: the zone repeats `local` and its second (later-offset) instant is
    /// not before the previous line. That holds exactly when the clock went back by no more than
    /// the transition's size from a line before the transition.
    fn repeated_hour(&self, local: DateTime) -> Option<Timestamp> {
        let previous = self.previous_instant?;
        match self.zone.to_ambiguous_timestamp(local).offset() {
            AmbiguousOffset::Fold { after, .. } => after
                .to_timestamp(local)
                .ok()
                .filter(|later| *later >= previous),
            _ => None,
        }
    }

    /// A time of day going backwards that no DST fall-back explains.
    fn backwards_error(&self, previous: Time, found: Time) -> ImportError {
        let clock = if self.format == Format::IrcIrssi {
            "%H:%M"
        } else {
            "%H:%M:%S"
        };
        let (previous, found) = (previous.strftime(clock), found.strftime(clock));
        let expected = match self.format {
            Format::IrcIrssi => {
                format!("a time at or after {previous} (or a `--- Day changed` line before it)")
            }
            Format::IrcZnc => {
                format!("a time at or after {previous} (a ZNC file holds one day, in order)")
            }
            _ => format!("a time at or after {previous}"),
        };
        self.error(
            expected,
            format!(
                "{found}: the time goes backwards and no DST fall-back in {} explains it \
                 (lines out of order, or a missing day change)",
                zone_name(&self.zone)
            ),
        )
    }

    /// `local` in the zone: a DST gap is an error, a fall-back fold takes the candidate after the
    /// previous line, and a fold with no previous line is refused with both candidates.
    fn to_instant(&self, local: DateTime) -> Result<Timestamp, ImportError> {
        if let AmbiguousOffset::Fold { before, after } =
            self.zone.to_ambiguous_timestamp(local).offset()
        {
            match self.previous_instant {
                None => return Err(self.ambiguous_start_error(local, before, after)),
                Some(previous)
                    if after
                        .to_timestamp(local)
                        .is_ok_and(|later| later < previous) =>
                {
                    return Err(self.error(
                        "a time at or after the previous line's",
                        format!(
                            "`{local}`, before the previous line ({}) even as the repeated hour \
                             after the DST fall-back in {}",
                            self.zone.to_datetime(previous),
                            zone_name(&self.zone)
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        resolve_local_time(local, &self.zone, self.previous_instant)
            .map_err(|expected| self.error(expected, format!("`{local}`")))
    }

    /// The first dated line falls in a DST fall-back's repeated hour: nothing earlier says which
    /// pass it is, so the error names both instants and how to choose.
    fn ambiguous_start_error(&self, local: DateTime, before: Offset, after: Offset) -> ImportError {
        let zone = zone_name(&self.zone);
        let candidate = |offset: Offset| match offset.to_timestamp(local) {
            Ok(instant) => format!(
                "{instant} ({offset}, {})",
                self.zone.to_offset_info(instant).abbreviation()
            ),
            Err(_) => format!("offset {offset}"),
        };
        let remedy = match (fixed_offset_zone(before), fixed_offset_zone(after)) {
            (Some(first), Some(second)) => format!(
                "To choose, import this file on its own with a fixed-offset zone instead of \
                 {zone}: `--tz {first}` reads it as {before}, `--tz {second}` as {after} (the \
                 sign in Etc/GMT names is inverted); if the log spans the change, split it there \
                 and import each part with its own offset"
            ),
            _ => format!(
                "No fixed-offset zone name matches {before} and {after}: convert the log's times \
                 to UTC or to one offset before importing"
            ),
        };
        self.error(
            format!("a local time that happened only once in {zone}"),
            format!(
                "`{local}`, which happened twice there because the clocks went back (DST \
                 fall-back): first at {}, then at {}, and no earlier line in this log tells \
                 which. {remedy}",
                candidate(before),
                candidate(after)
            ),
        )
    }

    fn line_to_event(&mut self, line: ChannelLine) -> Result<TimelineEvent, ImportError> {
        let (instant, _has_seconds) = self.resolve(&line)?;
        let minute = instant.as_second().div_euclid(60);
        if minute != self.current_minute {
            self.current_minute = minute;
            self.minute_counts.clear();
        }
        let text = strip_control_codes(&line.text);
        let key_text = normalise_for_key(&text);
        let content_key = format!(
            "{}:{}:{:016x}",
            line.kind.as_str(),
            line.nick,
            stable_hash(&key_text)
        );
        let occurrence = self.minute_counts.entry(content_key.clone()).or_insert(0);
        *occurrence += 1;
        let minute_text = Timestamp::from_second(minute * 60)
            .map(|t| t.strftime("%Y-%m-%dT%H:%MZ").to_string())
            .unwrap_or_default();
        let mut source_ref = format!("irc:{}:{}:{}", self.channel, minute_text, content_key);
        if *occurrence > 1 {
            source_ref.push_str(&format!("#{occurrence}"));
        }
        let shown = match line.kind {
            LineKind::Message => text,
            LineKind::Action => format!("* {} {}", line.nick, text),
            LineKind::Join => format!("{} joined {}", line.nick, self.channel),
            LineKind::Part if text.is_empty() => format!("{} left {}", line.nick, self.channel),
            LineKind::Part => format!("{} left {} ({})", line.nick, self.channel, text),
            LineKind::Quit if text.is_empty() => format!("{} quit", line.nick),
            LineKind::Quit => format!("{} quit ({})", line.nick, text),
            LineKind::Nick => format!("{} is now known as {}", line.nick, text),
        };
        let kind = if line.kind.is_presence() {
            EventKind::Observation
        } else {
            EventKind::Communication
        };
        let shown = if shown.trim().is_empty() {
            format!("{} (empty message)", line.nick)
        } else {
            shown
        };
        let mut result = event(
            RecordedTime::in_zone(instant, &self.zone),
            "irc",
            source_ref,
            kind,
            shown,
        );
        result.actor = Some(line.nick);
        Ok(result)
    }
}

impl Iterator for IrcFileEvents {
    type Item = Result<TimelineEvent, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(error) = self.pending_error.take() {
            return Some(Err(error));
        }
        loop {
            let line = match self.next_line()? {
                Ok(line) => line,
                Err(error) => return Some(Err(error)),
            };
            match self.parse(&line) {
                Ok(Parsed::Ignored) => {}
                Ok(Parsed::Date(date)) => {
                    self.date = Some(date);
                    self.date_lost = false;
                    self.previous_local = None;
                }
                Ok(Parsed::Event(channel_line)) => {
                    if self.drop_presence && channel_line.kind.is_presence() {
                        // Still advances the clock state so later lines resolve the same way.
                        if let Err(error) = self.resolve(&channel_line) {
                            return Some(Err(error));
                        }
                        continue;
                    }
                    return Some(self.line_to_event(channel_line));
                }
                Err(error) => {
                    if is_date_line(&line) {
                        self.date_lost = true;
                    }
                    return Some(Err(error));
                }
            }
        }
    }
}

/// The zone's IANA name for messages.
fn zone_name(zone: &TimeZone) -> &str {
    zone.iana_name().unwrap_or("the given time zone")
}

/// The IANA name of the zone fixed at `offset` (`Etc/GMT+8` is -08:00: POSIX signs), if any.
fn fixed_offset_zone(offset: Offset) -> Option<String> {
    let seconds = offset.seconds();
    if seconds % 3600 != 0 {
        return None;
    }
    let hours = -seconds / 3600;
    let name = if hours == 0 {
        "Etc/GMT".to_owned()
    } else {
        format!("Etc/GMT{hours:+}")
    };
    TimeZone::get(&name).ok().map(|_| name)
}

fn is_date_line(line: &str) -> bool {
    line.starts_with("--- Day changed")
        || line.starts_with("--- Log opened")
        || line.starts_with("**** BEGIN LOGGING")
}

/// IRC has no declared encoding: UTF-8 where valid, else Latin-1 (what clients' "hybrid"
/// decoding does), so no byte is lost.
fn decode_line(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

/// Removes mIRC formatting codes (bold, colour with its digits, italics, underline, reverse,
/// reset); ZNC keeps them, other clients strip them, and the text must compare equal.
pub(crate) fn strip_control_codes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x02' | '\x0f' | '\x16' | '\x1d' | '\x1e' | '\x1f' | '\x11' => {}
            '\x03' => {
                for _ in 0..2 {
                    if chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    }
                }
                if chars.peek() == Some(&',') {
                    let mut lookahead = chars.clone();
                    lookahead.next();
                    if lookahead.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                        for _ in 0..2 {
                            if chars.peek().is_some_and(char::is_ascii_digit) {
                                chars.next();
                            }
                        }
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Whitespace collapsed and trimmed: the content key must not depend on a client's padding.
fn normalise_for_key(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A nick without the mode prefix clients show (`@op`, `+voice`, `%halfop`, `~owner`, `&admin`).
fn bare_nick(nick: &str) -> String {
    nick.trim()
        .trim_start_matches(['@', '+', '%', '~', '&', '!'])
        .to_owned()
}

fn parse_clock(text: &str, with_seconds: bool) -> Option<Time> {
    let format = if with_seconds { "%H:%M:%S" } else { "%H:%M" };
    let expected_len = if with_seconds { 8 } else { 5 };
    if text.len() != expected_len {
        return None;
    }
    Time::strptime(format, text).ok()
}

/// `<@nick> text` / `< nick> text` → (nick, text).
fn split_bracketed_nick(rest: &str) -> Option<(String, String)> {
    let inner = rest.strip_prefix('<')?;
    let close = inner.find('>')?;
    let nick = bare_nick(&inner[..close]);
    if nick.is_empty() || nick.contains(' ') {
        return None;
    }
    let text = inner[close + 1..]
        .strip_prefix(' ')
        .unwrap_or(&inner[close + 1..]);
    Some((nick, text.to_owned()))
}

/// `nick [user@host] has joined #chan`, `has left #chan [reason]`, `has quit [reason]`, `old is
/// now known as new`: the presence notices the four clients share, with their own brackets.
fn parse_presence(text: &str, open: char, close: char) -> Option<(LineKind, String, String)> {
    if let Some((old, new)) = text.split_once(" is now known as ")
        && !old.contains(' ')
    {
        return Some((LineKind::Nick, bare_nick(old), new.trim().to_owned()));
    }
    let (nick, after_nick) = text.split_once(' ')?;
    let after_host = match after_nick.strip_prefix(open) {
        Some(host) => host.split_once(close)?.1.trim_start(),
        None => after_nick,
    };
    let reason = |tail: &str| {
        let tail = tail.trim();
        tail.strip_prefix(open)
            .and_then(|t| t.strip_suffix(close))
            .unwrap_or(tail)
            .to_owned()
    };
    if after_host.starts_with("has joined ") {
        return Some((LineKind::Join, bare_nick(nick), String::new()));
    }
    if let Some(rest) = after_host.strip_prefix("has left ") {
        let tail = rest.split_once(' ').map(|(_, t)| t).unwrap_or("");
        return Some((LineKind::Part, bare_nick(nick), reason(tail)));
    }
    if let Some(rest) = after_host.strip_prefix("has quit") {
        return Some((LineKind::Quit, bare_nick(nick), reason(rest)));
    }
    None
}

fn channel_line(stamp: Stamp, kind: LineKind, nick: String, text: String) -> Parsed {
    Parsed::Event(ChannelLine {
        stamp,
        kind,
        nick,
        text,
    })
}

const IRSSI_EXPECTED: &str =
    "an irssi log line (`HH:MM <nick> text`, `HH:MM  * nick action`, `HH:MM -!- …` or `--- …`)";

fn parse_irssi(line: &str) -> Result<Parsed, &'static str> {
    if let Some(rest) = line.strip_prefix("--- Day changed ") {
        return Date::strptime("%a %b %d %Y", rest.trim())
            .map(Parsed::Date)
            .map_err(|_| "a `--- Day changed Www Mmm DD YYYY` line with a real date");
    }
    if let Some(rest) = line.strip_prefix("--- Log opened ") {
        return DateTime::strptime("%a %b %d %H:%M:%S %Y", rest.trim())
            .map(|dt| Parsed::Date(dt.date()))
            .map_err(|_| "a `--- Log opened Www Mmm DD HH:MM:SS YYYY` line with a real date");
    }
    if line.starts_with("--- ") {
        return Ok(Parsed::Ignored);
    }
    let (clock, rest) = line.split_once(' ').ok_or(IRSSI_EXPECTED)?;
    let time = parse_clock(clock, false).ok_or("an irssi line starting with a real HH:MM time")?;
    let stamp = Stamp::TimeOfDay(time);
    if rest.starts_with('<') {
        let (nick, text) = split_bracketed_nick(rest).ok_or("`<nick>` with its closing `>`")?;
        return Ok(channel_line(stamp, LineKind::Message, nick, text));
    }
    if let Some(action) = rest.trim_start().strip_prefix("* ") {
        let (nick, text) = action.split_once(' ').unwrap_or((action, ""));
        return Ok(channel_line(
            stamp,
            LineKind::Action,
            bare_nick(nick),
            text.to_owned(),
        ));
    }
    if let Some(notice) = rest.strip_prefix("-!- ") {
        return Ok(match parse_presence(notice, '[', ']') {
            Some((kind, nick, text)) => channel_line(stamp, kind, nick, text),
            None => Parsed::Ignored,
        });
    }
    Err(IRSSI_EXPECTED)
}

const WEECHAT_EXPECTED: &str = "a WeeChat log line (`YYYY-MM-DD HH:MM:SS<TAB>prefix<TAB>message`)";

fn parse_weechat(line: &str) -> Result<Parsed, &'static str> {
    let mut fields = line.splitn(3, '\t');
    let stamp_text = fields.next().ok_or(WEECHAT_EXPECTED)?;
    let prefix = fields.next().ok_or(WEECHAT_EXPECTED)?;
    let message = fields.next().ok_or(WEECHAT_EXPECTED)?;
    // `logger.file.time_format` may use an ISO `T`; both mean the same local time.
    let local = DateTime::strptime("%Y-%m-%d %H:%M:%S", stamp_text)
        .or_else(|_| DateTime::strptime("%Y-%m-%dT%H:%M:%S", stamp_text))
        .map_err(|_| "a WeeChat line starting with a real `YYYY-MM-DD HH:MM:SS` time and a TAB")?;
    let stamp = Stamp::DateTime(local);
    Ok(match prefix.trim() {
        "-->" | "<--" | "--" => match parse_presence(message, '(', ')') {
            Some((kind, nick, text)) => channel_line(stamp, kind, nick, text),
            None => Parsed::Ignored,
        },
        "*" => {
            let (nick, text) = message.split_once(' ').unwrap_or((message, ""));
            channel_line(stamp, LineKind::Action, bare_nick(nick), text.to_owned())
        }
        "" | "=!=" => Parsed::Ignored,
        nick => channel_line(
            stamp,
            LineKind::Message,
            bare_nick(nick),
            message.to_owned(),
        ),
    })
}

const ZNC_EXPECTED: &str =
    "a ZNC log line (`[HH:MM:SS] <nick> text`, `[HH:MM:SS] * nick action`, `[HH:MM:SS] *** …`)";

fn parse_znc(line: &str) -> Result<Parsed, &'static str> {
    let rest = line.strip_prefix('[').ok_or(ZNC_EXPECTED)?;
    let (clock, rest) = rest.split_once("] ").ok_or(ZNC_EXPECTED)?;
    let time = parse_clock(clock, true).ok_or("a ZNC line starting with a real [HH:MM:SS] time")?;
    let stamp = Stamp::TimeOfDay(time);
    if rest.starts_with('<') {
        let (nick, text) = split_bracketed_nick(rest).ok_or("`<nick>` with its closing `>`")?;
        return Ok(channel_line(stamp, LineKind::Message, nick, text));
    }
    if let Some(notice) = rest.strip_prefix("*** ") {
        let presence = if let Some(joined) = notice.strip_prefix("Joins: ") {
            joined
                .split_once(' ')
                .map(|(n, _)| (LineKind::Join, bare_nick(n), String::new()))
        } else if let Some(parted) = notice.strip_prefix("Parts: ") {
            split_znc_reason(parted).map(|(n, r)| (LineKind::Part, n, r))
        } else if let Some(quit) = notice.strip_prefix("Quits: ") {
            split_znc_reason(quit).map(|(n, r)| (LineKind::Quit, n, r))
        } else {
            parse_presence(notice, '(', ')').filter(|(kind, _, _)| *kind == LineKind::Nick)
        };
        return Ok(match presence {
            Some((kind, nick, text)) => channel_line(stamp, kind, nick, text),
            None => Parsed::Ignored,
        });
    }
    if let Some(action) = rest.strip_prefix("* ") {
        let (nick, text) = action.split_once(' ').unwrap_or((action, ""));
        return Ok(channel_line(
            stamp,
            LineKind::Action,
            bare_nick(nick),
            text.to_owned(),
        ));
    }
    if let Some(notice) = rest.strip_prefix('-')
        && let Some((nick, text)) = notice.split_once("- ")
    {
        return Ok(channel_line(
            stamp,
            LineKind::Message,
            bare_nick(nick),
            text.to_owned(),
        ));
    }
    Err(ZNC_EXPECTED)
}

/// `nick (ident@host) (reason)` → (nick, reason).
fn split_znc_reason(text: &str) -> Option<(String, String)> {
    let (nick, rest) = text.split_once(' ').unwrap_or((text, ""));
    let rest = rest.trim();
    let after_host = match rest.strip_prefix('(') {
        Some(host) => host.split_once(')').map(|(_, r)| r.trim()).unwrap_or(""),
        None => rest,
    };
    let reason = after_host
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(after_host);
    Some((bare_nick(nick), reason.to_owned()))
}

const HEXCHAT_EXPECTED: &str =
    "a HexChat log line (`Mon DD HH:MM:SS <nick><TAB>text` or `Mon DD HH:MM:SS *<TAB>…`)";

/// The year HexChat lines are in. They carry month and day only: the year comes from
/// `BEGIN LOGGING AT` (or the date option) and moves on when the month goes backwards within a
/// logging session (`Dec 31` → `Jan 01`), the way a transcript's date moves on at midnight.
#[derive(Debug, Clone, Copy, Default)]
struct HexchatYear {
    year: Option<i16>,
    /// Month of the previous dated line (or of `BEGIN LOGGING AT`).
    month: Option<i8>,
}

/// A leap year, so `Feb 29` can be read before the real year is known.
const ANY_LEAP_YEAR: i16 = 2000;

fn parse_hexchat(line: &str, clock: &mut HexchatYear) -> Result<Parsed, &'static str> {
    if let Some(rest) = line.strip_prefix("**** BEGIN LOGGING AT ") {
        let opened = DateTime::strptime("%a %b %d %H:%M:%S %Y", rest.trim())
            .map_err(|_| "a `**** BEGIN LOGGING AT Www Mmm DD HH:MM:SS YYYY` line")?;
        *clock = HexchatYear {
            year: Some(opened.year()),
            month: Some(opened.month()),
        };
        return Ok(Parsed::Date(opened.date()));
    }
    if line.starts_with("**** ") {
        return Ok(Parsed::Ignored);
    }
    if line.len() < 16 || !line.is_char_boundary(15) {
        return Err(HEXCHAT_EXPECTED);
    }
    let (stamp_text, rest) = line.split_at(15);
    let rest = rest.strip_prefix(' ').ok_or(HEXCHAT_EXPECTED)?;
    let mut year = clock
        .year
        .ok_or("a `BEGIN LOGGING AT` line (or --date) before the first line, for the year")?;
    const REAL_STAMP: &str = "a HexChat line starting with a real `Mon DD HH:MM:SS` time";
    let month = DateTime::strptime("%Y %b %d %H:%M:%S", format!("{ANY_LEAP_YEAR} {stamp_text}"))
        .map_err(|_| REAL_STAMP)?
        .month();
    if clock.month.is_some_and(|previous| month < previous) {
        year = year.checked_add(1).ok_or(REAL_STAMP)?;
    }
    *clock = HexchatYear {
        year: Some(year),
        month: Some(month),
    };
    let local = DateTime::strptime("%Y %b %d %H:%M:%S", format!("{year} {stamp_text}"))
        .map_err(|_| REAL_STAMP)?;
    let stamp = Stamp::DateTime(local);
    if let Some(notice) = rest.strip_prefix("*\t") {
        if let Some((kind, nick, text)) = parse_presence(notice, '(', ')') {
            return Ok(channel_line(stamp, kind, nick, text));
        }
        // The client's own status lines ("Now talking on", "Topic for", "You have left channel")
        // describe the logging user's view, not a channel event other logs could confirm.
        const STATUS: [&str; 6] = [
            "Now talking on ",
            "Topic for ",
            "You have ",
            "You are now ",
            "Disconnected",
            "Retrieving",
        ];
        if STATUS.iter().any(|s| notice.starts_with(s)) {
            return Ok(Parsed::Ignored);
        }
        let (nick, text) = notice.split_once(' ').unwrap_or((notice, ""));
        return Ok(channel_line(
            stamp,
            LineKind::Action,
            bare_nick(nick),
            text.to_owned(),
        ));
    }
    if let Some(inner) = rest.strip_prefix('<') {
        let (nick, text) = inner
            .split_once(">\t")
            .ok_or("`<nick>` followed by a TAB")?;
        return Ok(channel_line(
            stamp,
            LineKind::Message,
            bare_nick(nick),
            text.to_owned(),
        ));
    }
    if rest.starts_with("-->\t") || rest.starts_with("<--\t") || rest.starts_with("---\t") {
        let notice = &rest[4..];
        return Ok(match parse_presence(notice, '(', ')') {
            Some((kind, nick, text)) => channel_line(stamp, kind, nick, text),
            None => Parsed::Ignored,
        });
    }
    Err(HEXCHAT_EXPECTED)
}

const PLAIN_EXPECTED: &str = "a transcript line (`[HH:MM] <nick> text` or `[HH:MM] * nick action`)";

fn parse_plain(line: &str) -> Result<Parsed, &'static str> {
    let rest = line.strip_prefix('[').ok_or(PLAIN_EXPECTED)?;
    let (clock, rest) = rest.split_once("] ").ok_or(PLAIN_EXPECTED)?;
    let time = parse_clock(clock, false)
        .or_else(|| parse_clock(clock, true))
        .ok_or("a transcript line starting with a real [HH:MM] time")?;
    let stamp = Stamp::TimeOfDay(time);
    if rest.starts_with('<') {
        let (nick, text) = split_bracketed_nick(rest).ok_or("`<nick>` with its closing `>`")?;
        return Ok(channel_line(stamp, LineKind::Message, nick, text));
    }
    if let Some(action) = rest.strip_prefix("* ") {
        let (nick, text) = action.split_once(' ').unwrap_or((action, ""));
        return Ok(channel_line(
            stamp,
            LineKind::Action,
            bare_nick(nick),
            text.to_owned(),
        ));
    }
    Err(PLAIN_EXPECTED)
}

/// The part of an IRC `source_ref` that does not depend on the clock: channel and content key.
fn irc_content_key(source_ref: &str) -> Option<(&str, &str)> {
    let rest = source_ref.strip_prefix("irc:")?;
    let (channel, rest) = rest.split_once(':')?;
    // The minute is `YYYY-MM-DDTHH:MMZ`, which itself contains one colon.
    let (_, rest) = rest.split_once("Z:")?;
    Some((channel, rest))
}

/// The clock-independent identity of an IRC event (channel, then kind, nick, text hash and
/// occurrence): two events with equal keys less than 60 s apart are one channel line seen by two
/// clients (see [`dedup_irc_events`]). `None` for events of other sources.
pub fn irc_line_key(event: &TimelineEvent) -> Option<(String, String)> {
    if event.source.as_str() != "irc" {
        return None;
    }
    irc_content_key(&event.source_ref)
        .map(|(channel, content)| (channel.to_owned(), content.to_owned()))
}

/// How far apart two clients' clocks may put one channel line (see [`dedup_irc_events`]).
pub const SAME_IRC_LINE_WITHIN_MICROS: i64 = 60_000_000;

/// Merges IRC events that are the same channel line seen by several clients.
///
/// Rule: two IRC events are one line when they have the same channel, kind, nick and normalised
/// text (and the same occurrence number within their minute) and their instants are less than
/// 60 s apart. Minute-precision clients (irssi, plain) record the minute floor of the true time,
/// so of a group the latest instant is the most precise one and is kept (with its `source_ref`);
/// the group keeps the position of its first member. Limitation: one nick saying the very same
/// text twice within a minute, across a minute boundary, is merged into one.
pub fn dedup_irc_events(events: Vec<TimelineEvent>) -> Vec<TimelineEvent> {
    // Last kept event index per content key, to compare instants.
    let mut last_by_key: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut kept: Vec<TimelineEvent> = Vec::with_capacity(events.len());
    for event in events {
        let key = match irc_content_key(&event.source_ref) {
            Some((channel, content)) if event.source.as_str() == "irc" => {
                (channel.to_owned(), content.to_owned())
            }
            _ => {
                kept.push(event);
                continue;
            }
        };
        if let Some(&index) = last_by_key.get(&key) {
            let existing = &kept[index];
            let gap = (event.at.as_micros() - existing.at.as_micros()).abs();
            if gap < SAME_IRC_LINE_WITHIN_MICROS {
                if event.at.instant() > existing.at.instant() {
                    kept[index] = event;
                }
                continue;
            }
        }
        last_by_key.insert(key, kept.len());
        kept.push(event);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn options(zone: &str) -> ImportOptions {
        ImportOptions {
            tz: Some(TimeZone::get(zone).unwrap()),
            skip_invalid: true,
            ..ImportOptions::default()
        }
    }

    fn read(
        path: &Path,
        format: Format,
        options: &ImportOptions,
    ) -> Vec<Result<TimelineEvent, ImportError>> {
        import_irc_logs(path, format, options).unwrap().collect()
    }

    fn instants(events: &[Result<TimelineEvent, ImportError>]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| e.as_ref().ok())
            .map(|e| e.at.instant().to_string())
            .collect()
    }

    #[test]
    fn irssi_follows_day_changes_and_the_dst_jump_in_berlin() {
        let dir = tempfile::tempdir().unwrap();
        let log = "--- Log opened Sat Mar 30 23:31:38 2024\n23:58 <@mwenzel> heads-up\n--- Day changed Sun Mar 31 2024\n\
                   01:59 < jbecker> ok\n03:00 < tkoch> diverged\n03:16 -!- mwenzel is now known as mwenzel|away\n";
        let events = read(
            &write(dir.path(), "#dbops.log", log.as_bytes()),
            Format::IrcIrssi,
            &options("Europe/Berlin"),
        );
        assert_eq!(
            instants(&events),
            [
                "2024-03-30T22:58:00Z",
                "2024-03-31T00:59:00Z",
                "2024-03-31T01:00:00Z",
                "2024-03-31T01:16:00Z"
            ]
        );
        let first = events[0].as_ref().unwrap();
        assert_eq!(
            (first.actor.as_deref(), first.text.as_str()),
            (Some("mwenzel"), "heads-up")
        );
        assert!(
            first
                .source_ref
                .starts_with("irc:#dbops:2024-03-30T22:58Z:msg:mwenzel:"),
            "{}",
            first.source_ref
        );
        assert_eq!(
            events[3].as_ref().unwrap().text,
            "mwenzel is now known as mwenzel|away"
        );
    }

    #[test]
    fn the_same_line_in_irssi_and_znc_gets_the_same_source_ref_and_merges_to_the_precise_time() {
        let dir = tempfile::tempdir().unwrap();
        let irssi = write(
            dir.path(),
            "irssi/#dbops.log",
            b"--- Log opened Sat Mar 30 23:31:38 2024\n23:31 -!- tkoch [~t@h] has joined #dbops\n",
        );
        let znc = write(
            dir.path(),
            "znc/#dbops/2024-03-30.log",
            b"[22:31:40] *** Joins: tkoch (~t@h)\n",
        );
        let mut events: Vec<TimelineEvent> =
            read(&irssi, Format::IrcIrssi, &options("Europe/Berlin"))
                .into_iter()
                .map(Result::unwrap)
                .collect();
        events.extend(
            read(&znc, Format::IrcZnc, &options("UTC"))
                .into_iter()
                .map(Result::unwrap),
        );
        assert_eq!(events[0].source_ref, events[1].source_ref);
        let merged = crate::merge_events(events);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].at.instant().to_string(), "2024-03-30T22:31:40Z");
    }

    #[test]
    fn weechat_hexchat_and_znc_lines_are_read_with_actions_presence_and_control_codes() {
        let dir = tempfile::tempdir().unwrap();
        let weechat = "2024-03-31 00:43:15\t *\tmwenzel checks\n2024-03-31 01:41:02\t<--\tpraman (~p@h) has left #dbops (back to Slack)\n\
                       2024-03-31 01:42:00\t--\tChannel #dbops: 5 nicks\n2024-03-31T00:42:42\t@mwenzel\tISO separator\n";
        let events = read(
            &write(
                dir.path(),
                "irc.quaystone.#dbops.weechatlog",
                weechat.as_bytes(),
            ),
            Format::IrcWeechat,
            &options("Europe/Berlin"),
        );
        let texts: Vec<&str> = events
            .iter()
            .map(|e| e.as_ref().unwrap().text.as_str())
            .collect();
        assert_eq!(
            texts,
            [
                "* mwenzel checks",
                "praman left #dbops (back to Slack)",
                "ISO separator"
            ]
        );
        let hexchat = "**** BEGIN LOGGING AT Sat Mar 30 20:19:40 2024\r\n\r\nMar 30 20:19:44 *\tNow talking on #dbops\r\nMar 30 20:25:10 <praman>\ttkoch: please\r\n";
        let events = read(
            &write(dir.path(), "hex/#dbops.log", hexchat.as_bytes()),
            Format::IrcHexchat,
            &options("America/New_York"),
        );
        assert_eq!(instants(&events), ["2024-03-31T00:25:10Z"]);
        let znc = b"[00:39:50] <tkoch> \x02dump done\x02: ok\n[01:19:55] *** Quits: jbecker (~j@h) (Quit: WeeChat 4.2.1)\n";
        let events = read(
            &write(dir.path(), "znc/#dbops/2024-03-31.log", znc),
            Format::IrcZnc,
            &options("UTC"),
        );
        assert_eq!(events[0].as_ref().unwrap().text, "dump done: ok");
        assert_eq!(
            events[1].as_ref().unwrap().text,
            "jbecker quit (Quit: WeeChat 4.2.1)"
        );
    }

    #[test]
    fn presence_lines_can_be_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let log = b"[22:31:40] *** Joins: tkoch (~t@h)\n[22:31:41] <tkoch> hi\n";
        let path = write(dir.path(), "#dbops/2024-03-30.log", log);
        let events = read(
            &path,
            Format::IrcZnc,
            &ImportOptions {
                drop_presence: true,
                ..options("UTC")
            },
        );
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn plain_transcripts_need_a_date_and_roll_over_midnight() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "pasted.txt",
            b"[23:59] <tkoch> ack\n[00:31] <mwenzel> deploy started\n",
        );
        let no_date = import_irc_logs(&path, Format::IrcPlain, &options("Europe/Berlin"))
            .err()
            .unwrap();
        assert!(no_date.to_string().contains("date"), "{no_date}");
        let with_date = ImportOptions {
            date: Some("2024-03-30".parse().unwrap()),
            ..options("Europe/Berlin")
        };
        assert_eq!(
            instants(&read(&path, Format::IrcPlain, &with_date)),
            ["2024-03-30T22:59:00Z", "2024-03-30T23:31:00Z"]
        );
    }

    #[test]
    fn a_log_without_a_zone_option_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "#x.log", b"12:00 < a> b\n");
        let error = import_irc_logs(&path, Format::IrcIrssi, &ImportOptions::default())
            .err()
            .unwrap();
        assert!(
            matches!(error, ImportError::MissingOption { .. }),
            "{error}"
        );
    }

    #[test]
    fn the_malformed_irssi_sample_reports_each_bad_line_and_keeps_the_good_ones() {
        let bytes = b"--- Log opened Sat Mar 30 23:31:38 2024\n23:31 -!- tkoch [~t@h] has joined #dbops\n\
23:58 <@mwenzel> wrapped\n       and continues\n23:59 < tkoch> latin-1 Pr\xfcfsumme\n--- Day changed Sun Mar 32 2024\n\
25:61 < tkoch> impossible\n--- Day changed Sun Mar 31 2024\n00:42 <+dbwatch [ALERT] unterminated\n00:43 < tkoch> NUL \x00 here\n\
\xef\xbb\xbf00:44 < tkoch> BOM mid-file\n02:30 < tkoch> DST gap\n00:45 < tkoch> backwards\n00:46 < tkoch> no final newline";
        let dir = tempfile::tempdir().unwrap();
        let events = read(
            &write(dir.path(), "#dbops.log", bytes),
            Format::IrcIrssi,
            &options("Europe/Berlin"),
        );
        let errors: Vec<String> = events
            .iter()
            .filter_map(|e| e.as_ref().err())
            .map(ToString::to_string)
            .collect();
        let lines: Vec<&str> = errors
            .iter()
            .map(|e| e.split(": expected").next().unwrap())
            .collect();
        assert_eq!(
            lines,
            [
                "#dbops.log:4",
                "#dbops.log:6",
                "#dbops.log:7",
                "#dbops.log:9",
                "#dbops.log:10",
                "#dbops.log:12",
                "#dbops.log:13"
            ]
            .map(|l| format!("{}/{l}", dir.path().display()))
        );
        assert!(errors[5].contains("DST gap"), "{}", errors[5]);
        let texts: Vec<&str> = events
            .iter()
            .filter_map(|e| e.as_ref().ok())
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(
            texts,
            [
                "tkoch joined #dbops",
                "wrapped",
                "latin-1 Prüfsumme",
                "BOM mid-file",
                "no final newline"
            ]
        );
    }

    #[test]
    fn the_malformed_weechat_sample_refuses_missing_tabs_and_ambiguous_first_lines() {
        let bytes = "2024-10-27 02:30:00\ttkoch\tambiguous with no line before\n2024-03-31 00:42:41 tkoch spaces\n\
                     2024-03-31 00:42:43\ttkoch\n\t\tmissing time\n";
        let dir = tempfile::tempdir().unwrap();
        let events = read(
            &write(dir.path(), "irc.q.#dbops.weechatlog", bytes.as_bytes()),
            Format::IrcWeechat,
            &options("Europe/Berlin"),
        );
        assert_eq!(events.len(), 4);
        assert!(events.iter().all(Result::is_err));
        assert!(
            events[0]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("happened twice")
        );
    }

    fn errors(events: &[Result<TimelineEvent, ImportError>]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| e.as_ref().err())
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn hexchat_moves_to_the_next_year_when_the_month_goes_back_from_december_to_january() {
        let dir = tempfile::tempdir().unwrap();
        let log = "**** BEGIN LOGGING AT Tue Dec 31 23:35:00 2024\r\n\
                   Dec 31 23:59:59 <aki>\tlast of 2024\r\n\
                   Jan 01 00:00:00 <sam>\tfirst of 2025\r\n\
                   Jan 01 00:10:00 *\tsam is now known as sam|away\r\n";
        let events = read(
            &write(dir.path(), "#ledger.log", log.as_bytes()),
            Format::IrcHexchat,
            &options("Asia/Tokyo"),
        );
        assert_eq!(
            instants(&events),
            [
                "2024-12-31T14:59:59Z",
                "2024-12-31T15:00:00Z",
                "2024-12-31T15:10:00Z"
            ]
        );
    }

    #[test]
    fn hexchat_rolls_the_year_from_the_begin_logging_month_and_restarts_with_each_session() {
        let dir = tempfile::tempdir().unwrap();
        // The first line is already in January; a later session names its own year again.
        let log = "**** BEGIN LOGGING AT Tue Dec 31 23:59:00 2024\r\n\
                   Jan 01 00:00:05 <sam>\tfirst line is in the new year\r\n\
                   **** ENDING LOGGING AT Wed Jan 1 00:01:00 2025\r\n\
                   **** BEGIN LOGGING AT Sat Mar 01 10:00:00 2025\r\n\
                   Mar 01 10:00:01 <sam>\tback in March\r\n";
        let events = read(
            &write(dir.path(), "#ledger.log", log.as_bytes()),
            Format::IrcHexchat,
            &options("UTC"),
        );
        assert_eq!(
            instants(&events),
            ["2025-01-01T00:00:05Z", "2025-03-01T10:00:01Z"]
        );
    }

    #[test]
    fn hexchat_without_begin_logging_takes_the_year_from_the_date_option_and_rolls_it() {
        let dir = tempfile::tempdir().unwrap();
        let log = "Dec 31 23:59:59 <aki>\tlast of 2024\nJan 01 00:00:00 <sam>\tfirst of 2025\n";
        let with_date = ImportOptions {
            date: Some("2024-12-31".parse().unwrap()),
            ..options("UTC")
        };
        let events = read(
            &write(dir.path(), "#ledger.log", log.as_bytes()),
            Format::IrcHexchat,
            &with_date,
        );
        assert_eq!(
            instants(&events),
            ["2024-12-31T23:59:59Z", "2025-01-01T00:00:00Z"]
        );
    }

    #[test]
    fn irssi_reads_a_time_going_back_within_the_dst_fall_back_as_the_repeated_hour() {
        let dir = tempfile::tempdir().unwrap();
        let log = "--- Log opened Sun Nov 03 00:49:00 2024\n00:50 < lee> PDT\n01:30 < lee> first 01:30\n\
                   01:59 < lee> just before\n01:00 < lee> after fall-back\n01:30 < lee> second 01:30\n\
                   02:05 < lee> PST\n";
        let events = read(
            &write(dir.path(), "#ledger.log", log.as_bytes()),
            Format::IrcIrssi,
            &options("America/Los_Angeles"),
        );
        assert_eq!(errors(&events), Vec::<String>::new());
        assert_eq!(
            instants(&events),
            [
                "2024-11-03T07:50:00Z",
                "2024-11-03T08:30:00Z",
                "2024-11-03T08:59:00Z",
                "2024-11-03T09:00:00Z",
                "2024-11-03T09:30:00Z",
                "2024-11-03T10:05:00Z"
            ]
        );
        let offsets: Vec<i32> = events
            .iter()
            .map(|e| e.as_ref().unwrap().at.offset_seconds())
            .collect();
        assert_eq!(offsets, [-25200, -25200, -25200, -28800, -28800, -28800]);
    }

    #[test]
    fn znc_and_plain_transcripts_also_read_the_repeated_hour_after_a_fall_back() {
        let dir = tempfile::tempdir().unwrap();
        let znc = b"[00:50:00] <lee> PDT\n[01:59:30] <lee> before\n[01:00:30] <lee> after fall-back\n[02:05:00] <lee> later\n";
        let events = read(
            &write(dir.path(), "znc/#ledger/2024-11-03.log", znc),
            Format::IrcZnc,
            &options("America/Los_Angeles"),
        );
        assert_eq!(
            instants(&events),
            [
                "2024-11-03T07:50:00Z",
                "2024-11-03T08:59:30Z",
                "2024-11-03T09:00:30Z",
                "2024-11-03T10:05:00Z"
            ]
        );
        // Without the fall-back a plain transcript going back means midnight passed; with it,
        // one minute later in the repeated hour is what happened, not 23 hours later.
        let plain =
            b"[00:50] <lee> before\n[01:59] <lee> just before\n[01:00] <lee> repeated hour\n";
        let with_date = ImportOptions {
            date: Some("2024-11-03".parse().unwrap()),
            ..options("America/Los_Angeles")
        };
        assert_eq!(
            instants(&read(
                &write(dir.path(), "pasted.txt", plain),
                Format::IrcPlain,
                &with_date
            )),
            [
                "2024-11-03T07:50:00Z",
                "2024-11-03T08:59:00Z",
                "2024-11-03T09:00:00Z"
            ]
        );
    }

    #[test]
    fn a_time_going_back_that_no_fall_back_explains_is_refused_saying_so() {
        let dir = tempfile::tempdir().unwrap();
        // Back further than the one-hour fall-back; back after the repeated hour has passed;
        // back on a day without any DST change.
        let log = "--- Log opened Sun Nov 03 00:49:00 2024\n00:50 < lee> PDT\n01:59 < lee> before\n\
                   00:30 < lee> too far back\n--- Day changed Sun Nov 03 2024\n02:05 < lee> PST\n\
                   01:30 < lee> repeated hour is over\n--- Day changed Mon Nov 04 2024\n12:00 < lee> noon\n\
                   11:00 < lee> out of order\n";
        let events = read(
            &write(dir.path(), "#ledger.log", log.as_bytes()),
            Format::IrcIrssi,
            &options("America/Los_Angeles"),
        );
        let errors = errors(&events);
        assert_eq!(errors.len(), 3, "{errors:#?}");
        let shown = dir.path().join("#ledger.log").display().to_string();
        assert_eq!(
            errors[0],
            format!(
                "{shown}:4: expected a time at or after 01:59 (or a `--- Day changed` line before \
                 it), found 00:30: the time goes backwards and no DST fall-back in \
                 America/Los_Angeles explains it (lines out of order, or a missing day change)"
            )
        );
        assert!(
            errors[1].starts_with(&format!(
                "{shown}:7: expected a time at or after 02:05 (or a `--- Day changed` line before \
                 it), found 01:30: the time goes backwards and no DST fall-back"
            )),
            "{}",
            errors[1]
        );
        assert!(
            errors[2].contains(":10: expected a time at or after 12:00"),
            "{}",
            errors[2]
        );
        assert!(errors[2].contains("no DST fall-back"), "{}", errors[2]);
    }

    #[test]
    fn a_dated_line_before_the_previous_one_even_as_the_repeated_hour_is_refused_saying_so() {
        let dir = tempfile::tempdir().unwrap();
        let log = "2024-11-03 00:50:00\tlee\tPDT\n2024-11-03 02:05:00\tlee\tPST\n\
                   2024-11-03 01:30:00\tlee\tout of order\n";
        let events = read(
            &write(dir.path(), "irc.n.#ledger.weechatlog", log.as_bytes()),
            Format::IrcWeechat,
            &options("America/Los_Angeles"),
        );
        let errors = errors(&events);
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].ends_with(
                ":3: expected a time at or after the previous line's, found \
                 `2024-11-03T01:30:00`, before the previous line (2024-11-03T02:05:00) even as \
                 the repeated hour after the DST fall-back in America/Los_Angeles"
            ),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn a_first_line_in_the_repeated_hour_is_refused_naming_both_instants_and_how_to_choose() {
        let dir = tempfile::tempdir().unwrap();
        let log = "--- Log opened Sun Nov 03 01:20:00 2024\n01:30 < lee> which 01:30?\n";
        let path = write(dir.path(), "#ledger.log", log.as_bytes());
        let events = read(&path, Format::IrcIrssi, &options("America/Los_Angeles"));
        let first_errors = errors(&events);
        assert_eq!(
            first_errors,
            [format!(
                "{}:2: expected a local time that happened only once in America/Los_Angeles, \
                 found `2024-11-03T01:30:00`, which happened twice there because the clocks went \
                 back (DST fall-back): first at 2024-11-03T08:30:00Z (-07, PDT), then at \
                 2024-11-03T09:30:00Z (-08, PST), and no earlier line in this log tells which. \
                 To choose, import this file on its own with a fixed-offset zone instead of \
                 America/Los_Angeles: `--tz Etc/GMT+7` reads it as -07, `--tz Etc/GMT+8` as -08 \
                 (the sign in Etc/GMT names is inverted); if the log spans the change, split it \
                 there and import each part with its own offset",
                path.display()
            )]
        );
        // The remedy works: the fixed-offset zone picks the second pass.
        assert_eq!(
            instants(&read(&path, Format::IrcIrssi, &options("Etc/GMT+8"))),
            ["2024-11-03T09:30:00Z"]
        );
        // WeeChat lines carry the date but are just as ambiguous at the start.
        let weechat = write(
            dir.path(),
            "irc.n.#ledger.weechatlog",
            b"2024-11-03 01:30:00\tlee\twhich 01:30?\n",
        );
        let weechat_errors = errors(&read(
            &weechat,
            Format::IrcWeechat,
            &options("America/Los_Angeles"),
        ));
        assert!(
            weechat_errors[0].contains(":1: expected a local time that happened only once"),
            "{}",
            weechat_errors[0]
        );
        assert!(
            weechat_errors[0].contains("2024-11-03T09:30:00Z (-08, PST)"),
            "{}",
            weechat_errors[0]
        );
    }

    #[test]
    fn missing_zone_and_date_errors_name_the_command_line_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "pasted.txt", b"[12:00] <a> b\n");
        let no_zone = import_irc_logs(&path, Format::IrcPlain, &ImportOptions::default())
            .err()
            .unwrap()
            .to_string();
        assert!(no_zone.contains("needs a time zone (--tz"), "{no_zone}");
        let no_date = import_irc_logs(&path, Format::IrcPlain, &options("UTC"))
            .err()
            .unwrap()
            .to_string();
        assert!(no_date.contains("needs a start date (--date"), "{no_date}");
        let znc = write(dir.path(), "#x/undated.log", b"[12:00:00] <a> b\n");
        let undated = errors(&read(&znc, Format::IrcZnc, &options("UTC")));
        assert!(undated[0].contains("or --date"), "{}", undated[0]);
    }

    #[test]
    fn dst_errors_show_the_found_time_once() {
        let dir = tempfile::tempdir().unwrap();
        let log = "--- Log opened Sun Mar 31 00:00:00 2024\n02:30 < a> in the gap\n";
        let gap = errors(&read(
            &write(dir.path(), "#gap.log", log.as_bytes()),
            Format::IrcIrssi,
            &options("Europe/Berlin"),
        ));
        assert!(
            gap[0].ends_with(
                ":2: expected a local time that exists in Europe/Berlin, not one in a DST gap \
                 (skipped when the clocks went forward), found `2024-03-31T02:30:00`"
            ),
            "{}",
            gap[0]
        );
        assert_eq!(gap[0].matches("found").count(), 1, "{}", gap[0]);
        let fold = errors(&read(
            &write(
                dir.path(),
                "irc.q.#fold.weechatlog",
                b"2024-10-27 02:30:00\ta\tambiguous\n",
            ),
            Format::IrcWeechat,
            &options("Europe/Berlin"),
        ));
        assert_eq!(fold[0].matches("found").count(), 1, "{}", fold[0]);
    }

    #[test]
    fn mode_prefixes_are_stripped_from_nicks() {
        assert_eq!(bare_nick("@mwenzel"), "mwenzel");
        assert_eq!(bare_nick(" tkoch"), "tkoch");
        assert_eq!(bare_nick("+dbwatch"), "dbwatch");
    }
}
