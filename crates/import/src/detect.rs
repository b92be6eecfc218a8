//! Format detection from content, so `secondstory import <path>` works without `--format`.
//!
//! Directories are Slack exports when they hold `channels.json`/`users.json`, otherwise they are
//! judged by their first file. Files are judged by their first bytes (ZIP magic, git's `\x1e`
//! record separator), JSON documents by their shape (which keys they have), text logs by the
//! pattern of their first meaningful lines. Names are only a tie-breaker (`.csv`), never trusted
//! alone.

use std::io::Read;
use std::path::Path;

use serde::de::IgnoredAny;
use serde_json::Value;

use crate::Format;
use crate::common::{display_path, sorted_files, strip_bom};
use crate::error::ImportError;
#[cfg(test)]
use crate::error::Position;

/// How much of a file detection reads; JSON documents larger than this are not sniffed by shape.
const SNIFF_BYTES: u64 = 4 << 20;

pub fn detect_format(path: &Path) -> Result<Format, ImportError> {
    let shown = display_path(path);
    let unknown = |reason: &str| ImportError::UnknownFormat {
        file: shown.clone(),
        reason: reason.to_owned(),
    };
    if path.is_dir() {
        if path.join("channels.json").is_file() || path.join("users.json").is_file() {
            return Ok(Format::SlackExport);
        }
        let files = sorted_files(path, |name| !name.starts_with('.'))?;
        let first = files
            .first()
            .ok_or_else(|| unknown("the directory has no files"))?;
        return detect_format(first);
    }
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(SNIFF_BYTES).read_to_end(&mut head))
        .map_err(|e| ImportError::io(&shown, e))?;
    let body = strip_bom(&head);
    if body.starts_with(b"PK\x03\x04") || body.starts_with(b"PK\x05\x06") {
        return Ok(Format::SlackExport);
    }
    let first_meaningful = body.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = first_meaningful else {
        return Err(unknown("the file is empty"));
    };
    let body = &body[start..];
    if body[0] == 0x1e {
        return Ok(Format::GitLog);
    }
    let text = String::from_utf8_lossy(body);
    if body[0] == b'{' || body[0] == b'[' {
        if let Some(format) = detect_json(&text) {
            return Ok(format);
        }
        // Parsed from the file's start (after a BOM, as the importers read it) so that a syntax
        // error has the line and column `--from` would report.
        match serde_json::from_slice::<IgnoredAny>(strip_bom(&head)) {
            Ok(_) => {
                return Err(unknown(
                    "JSON, but not a shape this importer knows (PagerDuty, Alertmanager, Grafana, Opsgenie, GitHub, Jira, JSONL)",
                ));
            }
            // Only the first SNIFF_BYTES were read: a larger document ends early here without
            // being malformed.
            Err(error) if error.is_eof() && u64::try_from(head.len()).ok() == Some(SNIFF_BYTES) => {
                return Err(unknown(
                    "a JSON document too large to detect by its shape; name its format with --from",
                ));
            }
            Err(error) => {
                // `[HH:MM:SS]` and `[HH:MM]` log lines start like a JSON array: those are logs,
                // anything else that starts like JSON is malformed JSON.
                if body[0] == b'['
                    && let Some(format) = detect_irc_lines(&text)
                {
                    return Ok(format);
                }
                return Err(ImportError::json(&shown, &error));
            }
        }
    }
    if text.starts_with("commit ") {
        return Ok(Format::GitLog);
    }
    if text.contains("INSERT INTO `postmortems`") {
        return Ok(Format::MorgueSql);
    }
    if let Some(format) = detect_irc_lines(&text) {
        return Ok(format);
    }
    let is_csv_name = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let first_line = text.lines().next().unwrap_or("");
    if is_csv_name || first_line.split(',').count() >= 2 {
        return Ok(Format::Csv);
    }
    Err(unknown(
        "no known log, dump or CSV pattern in the first lines",
    ))
}

/// The IRC log format of the first meaningful lines, if any.
fn detect_irc_lines(text: &str) -> Option<Format> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .take(20)
        .find_map(detect_irc_line)
}

fn detect_json(text: &str) -> Option<Format> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next()?;
    if let Ok(Value::Object(_)) = serde_json::from_str::<Value>(first)
        && lines.next().is_some()
    {
        return Some(Format::Jsonl);
    }
    let document: Value = serde_json::from_str(text).ok()?;
    let has = |key: &str| document.get(key).is_some();
    if document.is_array() {
        let first = document.get(0)?;
        return (first.get("created_at").is_some()
            && first
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with("_log_entry")))
        .then_some(Format::PagerDutyLogEntries);
    }
    if has("log_entries") {
        return Some(Format::PagerDutyLogEntries);
    }
    if document
        .get("event")
        .and_then(|e| e.get("event_type"))
        .is_some()
    {
        return Some(Format::PagerDutyWebhook);
    }
    if has("alerts") {
        let grafana = has("orgId")
            || has("state")
            || document.get("version").and_then(Value::as_str) == Some("1");
        return Some(if grafana {
            Format::Grafana
        } else {
            Format::Alertmanager
        });
    }
    if has("action")
        && document
            .get("alert")
            .is_some_and(|a| a.get("alertId").is_some())
    {
        return Some(Format::Opsgenie);
    }
    if has("deployment") {
        return Some(Format::GithubDeployment);
    }
    if has("number")
        && document
            .get("html_url")
            .and_then(Value::as_str)
            .is_some_and(|u| u.contains("/issues/"))
    {
        return Some(Format::GithubIssue);
    }
    if has("key")
        && document
            .get("fields")
            .is_some_and(|f| f.get("created").is_some())
    {
        return Some(Format::JiraIssue);
    }
    None
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// `HH:MM` or `HH:MM:SS` by shape (range is checked when parsing).
fn is_clock(text: &str, with_seconds: bool) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    parts.len() == if with_seconds { 3 } else { 2 }
        && parts.iter().all(|p| p.len() == 2 && is_digits(p))
}

fn detect_irc_line(line: &str) -> Option<Format> {
    if line.starts_with("--- Log opened") || line.starts_with("--- Day changed") {
        return Some(Format::IrcIrssi);
    }
    if line.starts_with("**** BEGIN LOGGING AT") {
        return Some(Format::IrcHexchat);
    }
    if let Some(rest) = line.strip_prefix('[') {
        let (clock, _) = rest.split_once("] ")?;
        if is_clock(clock, true) {
            return Some(Format::IrcZnc);
        }
        if is_clock(clock, false) {
            return Some(Format::IrcPlain);
        }
        return None;
    }
    if let Some((stamp, _)) = line.split_once('\t') {
        let date_time: Vec<&str> = stamp.splitn(2, [' ', 'T']).collect();
        if date_time.len() == 2 && date_time[0].len() == 10 && is_clock(date_time[1], true) {
            return Some(Format::IrcWeechat);
        }
        // HexChat: `Mar 30 20:25:10 <nick>` before the TAB.
        let words: Vec<&str> = stamp.split(' ').collect();
        if words.len() >= 3
            && words[0].len() == 3
            && is_digits(words[1])
            && is_clock(words[2], true)
        {
            return Some(Format::IrcHexchat);
        }
    }
    let (clock, rest) = line.split_once(' ')?;
    if is_clock(clock, false)
        && (rest.starts_with('<') || rest.starts_with("-!-") || rest.starts_with(" *"))
    {
        return Some(Format::IrcIrssi);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(name: &str, text: &str) -> Result<Format, ImportError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        detect_format(&path)
    }

    #[test]
    fn json_that_does_not_parse_is_malformed_json_with_line_column_and_serdes_message() {
        let truncated = detect(
            "am.json",
            "{\"receiver\":\"tl\",\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\",",
        )
        .unwrap_err();
        assert!(
            matches!(
                truncated,
                ImportError::Json {
                    position: Position::LineColumn(1, 64),
                    ..
                }
            ),
            "{truncated:?}"
        );
        let message = truncated.to_string();
        assert!(
            message.contains("am.json:1:64: malformed JSON: EOF while parsing"),
            "{message}"
        );
        // Leading blank lines and a BOM count as the importers count them.
        let bad_middle = detect(
            "am.json",
            "\u{feff}\n{\"receiver\": \"tl\",\n \"alerts\": [{\"startsAt\"  \"x\"}]}\n",
        )
        .unwrap_err();
        assert!(
            bad_middle
                .to_string()
                .ends_with("am.json:3:26: malformed JSON: expected `:` at line 3 column 26"),
            "{bad_middle}"
        );
        let array = detect("x.json", "[{\"type\": \"trigger_log_entry\", ").unwrap_err();
        assert!(matches!(array, ImportError::Json { .. }), "{array}");
    }

    #[test]
    fn jsonl_with_a_bad_later_line_and_bracketed_irc_logs_are_still_detected() {
        assert_eq!(
            detect("e.jsonl", "{\"time\":1,\"text\":\"a\"}\n{broken\n").unwrap(),
            Format::Jsonl
        );
        assert_eq!(
            detect("2024-03-31.log", "[00:25:10] <praman> hi\n").unwrap(),
            Format::IrcZnc
        );
        assert_eq!(
            detect("pasted.txt", "\n[23:59] <tkoch> ack\n").unwrap(),
            Format::IrcPlain
        );
        let valid_but_unknown = detect("x.json", "{\"hello\": 1}").unwrap_err();
        assert!(
            matches!(valid_but_unknown, ImportError::UnknownFormat { .. }),
            "{valid_but_unknown}"
        );
    }
}
