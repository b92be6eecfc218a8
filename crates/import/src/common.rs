//! Helpers every importer shares: walking JSON with a path for error messages, reading times
//! (with an offset, or local with a zone option), stable content hashes for `source_ref`, and
//! listing the files of a directory in a deterministic order.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use secondstory_domain::time::RecordedTime;
use secondstory_domain::timeline::{EventKind, EventSource, TimelineEvent};
use serde_json::Value;

use crate::error::{ImportError, Position, describe_found};

/// The source name of an importer; names are compile-time constants checked by the tests.
pub(crate) fn source(name: &'static str) -> EventSource {
    EventSource::parse(name).expect("importer source names are lower-case words")
}

/// A new event with the fields most importers leave at their defaults.
pub(crate) fn event(
    at: RecordedTime,
    source_name: &'static str,
    source_ref: String,
    kind: EventKind,
    text: String,
) -> TimelineEvent {
    TimelineEvent {
        at,
        source: source(source_name),
        source_ref,
        actor: None,
        kind,
        text,
        key_moment: false,
        hidden: false,
        evidence_url: None,
    }
}

/// FNV-1a, 64 bit: a content hash that is stable across runs, platforms and Rust versions
/// (std's hasher is randomly seeded, so it cannot make a `source_ref`).
pub(crate) fn stable_hash(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Parses a time that carries its own offset: RFC 3339 (`…Z`, `…+01:00`), the colon-less
/// `+0200` Jira writes, or RFC 9557 with a zone name.
pub(crate) fn parse_time_with_offset(text: &str) -> Result<RecordedTime, String> {
    RecordedTime::parse("time", text).map_err(|e| e.message)
}

/// Turns a local wall-clock time into an instant in `zone`, DST-correct. A time in a DST gap does
/// not exist and is refused. A time in a fall-back fold happened twice: the earlier candidate that
/// is not before `not_before` (the previous line of the same log) is taken, because logs run
/// forward; without such context it is refused rather than guessed.
pub(crate) fn resolve_local_time(
    local: DateTime,
    zone: &TimeZone,
    not_before: Option<Timestamp>,
) -> Result<Timestamp, String> {
    let zone_name = zone.iana_name().unwrap_or("the given time zone");
    let ambiguous = zone.to_ambiguous_timestamp(local);
    match ambiguous.offset() {
        AmbiguousOffset::Unambiguous { offset } => offset
            .to_timestamp(local)
            .map_err(|e| format!("a local time in the representable range ({e})")),
        AmbiguousOffset::Gap { .. } => Err(format!(
            "a local time that exists in {zone_name}, not one in a DST gap (skipped when the \
             clocks went forward)"
        )),
        AmbiguousOffset::Fold { before, after } => {
            let earlier = before.to_timestamp(local).map_err(|e| e.to_string())?;
            let later = after.to_timestamp(local).map_err(|e| e.to_string())?;
            match not_before {
                Some(previous) if earlier >= previous => Ok(earlier),
                Some(previous) if later >= previous => Ok(later),
                _ => Err(format!(
                    "a local time that happened only once in {zone_name}, not one the DST \
                     fall-back repeated (it was both {earlier} and {later}) with nothing earlier \
                     to tell which"
                )),
            }
        }
    }
}

static NULL: Value = Value::Null;

/// A JSON value plus the path it was reached by, so a missing or mistyped field is reported as
/// `file[3].ts` rather than "invalid type".
#[derive(Debug, Clone)]
pub(crate) struct Node<'v> {
    pub value: &'v Value,
    pub path: String,
}

impl<'v> Node<'v> {
    pub fn root(value: &'v Value) -> Self {
        Node {
            value,
            path: String::new(),
        }
    }

    pub fn get(&self, key: &str) -> Node<'v> {
        Node {
            value: self.value.get(key).unwrap_or(&NULL),
            path: format!("{}.{key}", self.path),
        }
    }

    pub fn at(&self, index: usize) -> Node<'v> {
        Node {
            value: self.value.get(index).unwrap_or(&NULL),
            path: format!("{}[{index}]", self.path),
        }
    }

    pub fn position(&self) -> Position {
        Position::JsonPath(self.path.clone())
    }

    pub fn opt_str(&self) -> Option<&'v str> {
        self.value.as_str()
    }

    /// A non-empty string, or nothing.
    pub fn opt_text(&self) -> Option<&'v str> {
        self.value.as_str().map(str::trim).filter(|s| !s.is_empty())
    }

    pub fn req_str(&self, file: &str, expected: &str) -> Result<&'v str, ImportError> {
        self.value
            .as_str()
            .ok_or_else(|| self.unexpected(file, expected))
    }

    /// The elements of an array, each with its path.
    pub fn items(&self) -> Vec<Node<'v>> {
        match self.value.as_array() {
            Some(items) => (0..items.len()).map(|i| self.at(i)).collect(),
            None => Vec::new(),
        }
    }

    pub fn req_time(&self, file: &str) -> Result<RecordedTime, ImportError> {
        let text = self.req_str(file, "a time with a UTC offset (RFC 3339)")?;
        parse_time_with_offset(text).map_err(|_| {
            ImportError::invalid(
                file,
                self.position(),
                "a time with a UTC offset (RFC 3339, like 2024-03-30T23:43:51Z)",
                describe_found(text),
            )
        })
    }

    pub fn unexpected(&self, file: &str, expected: &str) -> ImportError {
        ImportError::invalid(file, self.position(), expected, describe_json(self.value))
    }
}

/// A short description of a JSON value for "found …" in error messages.
pub(crate) fn describe_json(value: &Value) -> String {
    match value {
        Value::Null => "nothing (missing or null)".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", describe_found(s)),
        Value::Array(items) => format!("an array of {} items", items.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// Parses a whole small JSON document (webhook bodies, API responses), after a UTF-8 BOM if any.
pub(crate) fn parse_json_document(file: &str, bytes: &[u8]) -> Result<Value, ImportError> {
    serde_json::from_slice(strip_bom(bytes)).map_err(|e| ImportError::json(file, &e))
}

pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, ImportError> {
    std::fs::read(path).map_err(|e| ImportError::io(&display_path(path), e))
}

pub(crate) fn display_path(path: &Path) -> String {
    path.display().to_string()
}

/// The files directly in `dir` whose names satisfy `keep`, sorted by name so imports are
/// deterministic whatever order the file system lists them in.
pub(crate) fn sorted_files(
    dir: &Path,
    keep: impl Fn(&str) -> bool,
) -> Result<Vec<PathBuf>, ImportError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ImportError::io(&display_path(dir), e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| ImportError::io(&display_path(dir), e))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_file() && keep(&name) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// A one-line summary of multi-line text (first non-empty line), for event texts.
pub(crate) fn first_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_hash_is_fnv1a_and_never_changes() {
        assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn jira_offsets_without_colon_are_read() {
        let t = parse_time_with_offset("2024-03-31T03:28:01.417+0200").unwrap();
        assert_eq!(t.instant().to_string(), "2024-03-31T01:28:01.417Z");
        assert_eq!(t.offset_seconds(), 7200);
    }

    #[test]
    fn a_local_time_in_the_dst_gap_is_refused() {
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let err =
            resolve_local_time("2024-03-31T02:30:00".parse().unwrap(), &berlin, None).unwrap_err();
        assert!(err.contains("DST gap"), "{err}");
    }

    #[test]
    fn a_fall_back_time_takes_the_candidate_after_the_previous_line() {
        let berlin = TimeZone::get("Europe/Berlin").unwrap();
        let local: DateTime = "2024-10-27T02:30:00".parse().unwrap();
        assert!(resolve_local_time(local, &berlin, None).is_err());
        let before: Timestamp = "2024-10-27T00:00:00Z".parse().unwrap();
        let first = resolve_local_time(local, &berlin, Some(before)).unwrap();
        assert_eq!(first.to_string(), "2024-10-27T00:30:00Z");
        let after_first: Timestamp = "2024-10-27T00:45:00Z".parse().unwrap();
        let second = resolve_local_time(local, &berlin, Some(after_first)).unwrap();
        assert_eq!(second.to_string(), "2024-10-27T01:30:00Z");
    }
}
