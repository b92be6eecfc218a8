//! Hand-made timelines: CSV (with a header row) and JSON Lines, read through a column mapping.
//!
//! Spreadsheets and ad-hoc exports name their columns freely, so the caller says which column
//! holds the time, the text and (optionally) the actor and kind. Times are RFC 3339 with an
//! offset, Unix epoch numbers (seconds, milliseconds or microseconds by magnitude), or, with a
//! `time_format` (strftime, via jiff) or plain `YYYY-MM-DD HH:MM[:SS]`, local times that need the
//! `tz` option. Rows are streamed; `source_ref` is a hash of the row's time, actor and text, so a
//! re-export with rows added or reordered still imports each row once.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use secondstory_domain::time::RecordedTime;
use secondstory_domain::timeline::{EventKind, EventSource, TimelineEvent};

use crate::ImportOptions;
use crate::common::{
    display_path, parse_time_with_offset, resolve_local_time, stable_hash, strip_bom,
};
use crate::error::{ImportError, Position, describe_found};

/// Which columns (CSV header names, or JSONL keys) hold what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMapping {
    pub time: String,
    pub text: String,
    pub actor: Option<String>,
    /// A column with an event kind (`alert`, `action`, …); rows without one are observations.
    pub kind: Option<String>,
    /// strftime format of the time column (`%d/%m/%Y %H:%M`); without `%z`/`%Q` it needs `tz`.
    pub time_format: Option<String>,
    /// Source name for the events (default `csv` or `jsonl`).
    pub source: Option<String>,
}

impl Default for ColumnMapping {
    fn default() -> Self {
        ColumnMapping {
            time: "time".to_owned(),
            text: "text".to_owned(),
            actor: None,
            kind: None,
            time_format: None,
            source: None,
        }
    }
}

type Events = Box<dyn Iterator<Item = Result<TimelineEvent, ImportError>> + Send>;

/// What every row needs to become an event.
#[derive(Debug, Clone)]
struct RowContext {
    file: String,
    mapping: ColumnMapping,
    zone: Option<TimeZone>,
    source: EventSource,
}

fn context(
    path: &Path,
    options: &ImportOptions,
    default_source: &str,
) -> Result<RowContext, ImportError> {
    let file = display_path(path);
    let source_name = options.columns.source.as_deref().unwrap_or(default_source);
    let source = EventSource::parse(source_name).map_err(|e| {
        ImportError::invalid(
            &file,
            Position::File,
            "a source name of lower-case letters, digits, - or _",
            format!("{} ({})", describe_found(source_name), e.message),
        )
    })?;
    Ok(RowContext {
        file,
        mapping: options.columns.clone(),
        zone: options.tz.clone(),
        source,
    })
}

impl RowContext {
    fn time(&self, raw: &str, position: &Position) -> Result<RecordedTime, ImportError> {
        let raw = raw.trim();
        let bad = |expected: String| {
            ImportError::invalid(&self.file, position.clone(), expected, describe_found(raw))
        };
        if let Some(format) = &self.mapping.time_format {
            let parsed = jiff::fmt::strtime::parse(format, raw)
                .map_err(|_| bad(format!("a time in the format `{format}`")))?;
            if parsed.offset().is_some() {
                let instant = parsed
                    .to_timestamp()
                    .map_err(|_| bad(format!("a complete time in `{format}`")))?;
                return Ok(match parsed.offset() {
                    Some(offset) => RecordedTime::with_offset(instant, offset),
                    None => RecordedTime::utc(instant),
                });
            }
            let local = parsed
                .to_datetime()
                .map_err(|_| bad(format!("a date and time in `{format}`")))?;
            return self.local(local, raw, position);
        }
        if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
            let number: i64 = raw.parse().map_err(|_| bad("an epoch number".to_owned()))?;
            // Seconds until 5138 CE, else milliseconds, else microseconds.
            let instant = if number < 100_000_000_000 {
                Timestamp::from_second(number)
            } else if number < 100_000_000_000_000 {
                Timestamp::from_millisecond(number)
            } else {
                Timestamp::from_microsecond(number)
            };
            return instant
                .map(RecordedTime::utc)
                .map_err(|_| bad("an epoch time in range".to_owned()));
        }
        if let Ok(at) = parse_time_with_offset(raw) {
            return Ok(at);
        }
        let local = DateTime::strptime("%Y-%m-%d %H:%M:%S", raw)
            .or_else(|_| DateTime::strptime("%Y-%m-%dT%H:%M:%S", raw))
            .or_else(|_| DateTime::strptime("%Y-%m-%d %H:%M", raw))
            .or_else(|_| raw.parse::<DateTime>())
            .map_err(|_| bad("a time (RFC 3339 with offset, epoch seconds, or YYYY-MM-DD HH:MM:SS with a tz option)".to_owned()))?;
        self.local(local, raw, position)
    }

    fn local(
        &self,
        local: DateTime,
        raw: &str,
        position: &Position,
    ) -> Result<RecordedTime, ImportError> {
        let Some(zone) = &self.zone else {
            return Err(ImportError::invalid(
                &self.file,
                position.clone(),
                "a time with a UTC offset, or a tz option for zone-less times",
                format!("the zone-less time {}", describe_found(raw)),
            ));
        };
        let instant = resolve_local_time(local, zone, None).map_err(|expected| {
            ImportError::invalid(&self.file, position.clone(), expected, describe_found(raw))
        })?;
        Ok(RecordedTime::in_zone(instant, zone))
    }

    fn row(
        &self,
        position: Position,
        cell: &dyn Fn(&str) -> Option<String>,
    ) -> Result<TimelineEvent, ImportError> {
        let missing = |column: &str| {
            ImportError::invalid(
                &self.file,
                position.clone(),
                format!("a value in column `{column}`"),
                "none",
            )
        };
        let time_raw = cell(&self.mapping.time).ok_or_else(|| missing(&self.mapping.time))?;
        let text = cell(&self.mapping.text)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| missing(&self.mapping.text))?;
        let at = self.time(&time_raw, &position)?;
        let actor = self
            .mapping
            .actor
            .as_deref()
            .and_then(cell)
            .filter(|a| !a.trim().is_empty());
        let kind = match self
            .mapping
            .kind
            .as_deref()
            .and_then(cell)
            .filter(|k| !k.trim().is_empty())
        {
            Some(kind) => kind
                .trim()
                .to_lowercase()
                .parse::<EventKind>()
                .map_err(|e| {
                    ImportError::invalid(
                        &self.file,
                        position.clone(),
                        e.message,
                        describe_found(&kind),
                    )
                })?,
            None => EventKind::Observation,
        };
        let identity = format!(
            "{}|{}|{}",
            at.as_micros(),
            actor.as_deref().unwrap_or(""),
            text
        );
        Ok(TimelineEvent {
            at,
            source: self.source.clone(),
            source_ref: format!("{}:{:016x}", self.source, stable_hash(&identity)),
            actor,
            kind,
            text,
            key_moment: false,
            hidden: false,
            evidence_url: None,
        })
    }
}

/// Streams a CSV file with a header row.
pub(crate) fn import_csv(path: &Path, options: &ImportOptions) -> Result<Events, ImportError> {
    let context = context(path, options, "csv")?;
    let handle = File::open(path).map_err(|e| ImportError::io(&context.file, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(BufReader::new(handle));
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| {
            ImportError::invalid(
                &context.file,
                Position::Line(1),
                "a CSV header row",
                e.to_string(),
            )
        })?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
        .collect();
    for required in [&context.mapping.time, &context.mapping.text] {
        if !headers.iter().any(|h| h == required) {
            return Err(ImportError::invalid(
                &context.file,
                Position::Line(1),
                format!("a header column named `{required}`"),
                format!("columns {}", headers.join(", ")),
            ));
        }
    }
    let records = reader.into_records();
    Ok(Box::new(records.map(move |record| {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            ImportError::invalid(
                &context.file,
                Position::Line(line),
                "a CSV record",
                e.to_string(),
            )
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let cell = |column: &str| {
            let index = headers.iter().position(|h| h == column)?;
            record.get(index).map(str::to_owned)
        };
        context.row(Position::Line(line), &cell)
    })))
}

/// Streams a JSON Lines file: one object per line, blank lines ignored.
pub(crate) fn import_jsonl(path: &Path, options: &ImportOptions) -> Result<Events, ImportError> {
    let context = context(path, options, "jsonl")?;
    let handle = File::open(path).map_err(|e| ImportError::io(&context.file, e))?;
    let mut reader = BufReader::new(handle);
    let mut line_number = 0u64;
    Ok(Box::new(std::iter::from_fn(move || {
        loop {
            let mut bytes = Vec::new();
            match reader.read_until(b'\n', &mut bytes) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(ImportError::io(&context.file, e))),
            }
            line_number += 1;
            let trimmed = strip_bom(&bytes);
            if trimmed.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let position = Position::Line(line_number);
            let value: serde_json::Value = match serde_json::from_slice(trimmed) {
                Ok(value) => value,
                Err(e) => {
                    return Some(Err(ImportError::Json {
                        file: context.file.clone(),
                        position,
                        message: e.to_string(),
                    }));
                }
            };
            let cell = |column: &str| match value.get(column)? {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Null => None,
                other => Some(other.to_string()),
            };
            return Some(context.row(position, &cell));
        }
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn csv_rows_map_columns_and_read_local_times_in_the_given_zone() {
        let (_dir, path) = write(
            "t.csv",
            "when,who,what\n31/03/2024 03:00,tkoch,\"diverged, at WAL\"\n",
        );
        let options = ImportOptions {
            tz: Some(TimeZone::get("Europe/Berlin").unwrap()),
            columns: ColumnMapping {
                time: "when".into(),
                text: "what".into(),
                actor: Some("who".into()),
                time_format: Some("%d/%m/%Y %H:%M".into()),
                ..ColumnMapping::default()
            },
            ..ImportOptions::default()
        };
        let event = import_csv(&path, &options)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(
            event.at.to_string(),
            "2024-03-31T03:00:00+02:00[Europe/Berlin]"
        );
        assert_eq!(
            (event.text.as_str(), event.actor.as_deref()),
            ("diverged, at WAL", Some("tkoch"))
        );
        assert!(event.source_ref.starts_with("csv:"));
    }

    #[test]
    fn a_zone_less_time_without_tz_is_refused_with_its_line() {
        let (_dir, path) = write(
            "t.csv",
            "time,text\n2024-03-31T00:42:40Z,ok\n2024-03-31 00:42:40,no zone\n",
        );
        let rows: Vec<_> = import_csv(&path, &ImportOptions::default())
            .unwrap()
            .collect();
        assert!(rows[0].is_ok());
        let error = rows[1].as_ref().unwrap_err().to_string();
        assert!(
            error.contains("t.csv:3") && error.contains("tz option"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_mapped_column_is_reported_with_the_header() {
        let (_dir, path) = write("t.csv", "at,message\n");
        let error = import_csv(&path, &ImportOptions::default())
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("`time`") && error.contains("at, message"),
            "{error}"
        );
    }

    #[test]
    fn jsonl_lines_are_objects_and_a_bad_line_does_not_stop_the_next() {
        let (_dir, path) = write(
            "t.jsonl",
            "{\"time\":1711842118,\"text\":\"a\"}\n{broken\n\n{\"time\":\"2024-03-30T23:43:51-04:00\",\"text\":\"b\"}\n",
        );
        let rows: Vec<_> = import_jsonl(&path, &ImportOptions::default())
            .unwrap()
            .collect();
        assert_eq!(
            rows[0].as_ref().unwrap().at.to_string(),
            "2024-03-30T23:41:58Z"
        );
        assert!(
            rows[1]
                .as_ref()
                .unwrap_err()
                .to_string()
                .contains("t.jsonl:2")
        );
        assert_eq!(rows[2].as_ref().unwrap().text, "b");
    }
}
