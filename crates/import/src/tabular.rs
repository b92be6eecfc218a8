//! Hand-made timelines: CSV (with a header row) and JSON Lines, read through a column mapping.
//!
//! Spreadsheets and ad-hoc exports name their columns freely, so the caller says which column
//! holds the time, the text and (optionally) the actor and kind. Times are RFC 3339 with an
//! offset, Unix epoch numbers (seconds, milliseconds, microseconds or nanoseconds by magnitude,
//! with an optional fraction; see [`parse_epoch`]), or, with a `time_format` (strftime, via jiff)
//! or plain `YYYY-MM-DD HH:MM[:SS]`, local times that need the `tz` option. A local time that
//! happened twice (DST fall-back) is decided by the row before it, rows being in time order. Rows are streamed; `source_ref` is a hash of the row's time, actor and text, so a
//! re-export with rows added or reordered still imports each row once.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
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
    /// Reads a time cell. `previous` is the instant of the row before (if any), which decides
    /// a local time that happened twice.
    fn time(
        &self,
        raw: &str,
        position: &Position,
        previous: Option<Timestamp>,
    ) -> Result<RecordedTime, ImportError> {
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
            return self.local(local, raw, position, previous);
        }
        if let Some(epoch) = parse_epoch(raw) {
            return epoch
                .map(RecordedTime::utc)
                .map_err(|()| bad("an epoch time in range".to_owned()));
        }
        if let Ok(at) = parse_time_with_offset(raw) {
            return Ok(at);
        }
        let local = DateTime::strptime("%Y-%m-%d %H:%M:%S", raw)
            .or_else(|_| DateTime::strptime("%Y-%m-%dT%H:%M:%S", raw))
            .or_else(|_| DateTime::strptime("%Y-%m-%d %H:%M", raw))
            .or_else(|_| raw.parse::<DateTime>())
            .map_err(|_| {
                bad(
                    "a time (RFC 3339 with offset, epoch seconds, milliseconds, microseconds or \
                     nanoseconds, or YYYY-MM-DD HH:MM:SS with a tz option)"
                        .to_owned(),
                )
            })?;
        self.local(local, raw, position, previous)
    }

    /// A zone-less wall-clock time in the `tz` zone. A time in a DST fall-back fold happened
    /// twice; rows are taken to be in time order, so the candidate at or after the previous row's
    /// instant is chosen (the earlier one if both are), and only when that cannot decide is the
    /// row refused, with both candidates in the message.
    fn local(
        &self,
        local: DateTime,
        raw: &str,
        position: &Position,
        previous: Option<Timestamp>,
    ) -> Result<RecordedTime, ImportError> {
        let Some(zone) = &self.zone else {
            return Err(ImportError::invalid(
                &self.file,
                position.clone(),
                "a time with a UTC offset, or a tz option for zone-less times",
                format!("the zone-less time {}", describe_found(raw)),
            ));
        };
        let instant = match resolve_local_time(local, zone, previous) {
            Ok(instant) => instant,
            Err(expected) => {
                return Err(match zone.to_ambiguous_timestamp(local).offset() {
                    AmbiguousOffset::Fold { before, after } => {
                        self.undecided_fold(zone, local, raw, position, previous, [before, after])
                    }
                    _ => ImportError::invalid(
                        &self.file,
                        position.clone(),
                        expected,
                        describe_found(raw),
                    ),
                });
            }
        };
        Ok(RecordedTime::in_zone(instant, zone))
    }

    /// The error for a fall-back time the previous row could not decide: names the local time,
    /// both instants it may be, and why the row before did not tell.
    fn undecided_fold(
        &self,
        zone: &TimeZone,
        local: DateTime,
        raw: &str,
        position: &Position,
        previous: Option<Timestamp>,
        offsets: [jiff::tz::Offset; 2],
    ) -> ImportError {
        let zone_name = zone.iana_name().unwrap_or("the given time zone");
        let candidates: Vec<String> = offsets
            .iter()
            .map(|offset| match offset.to_timestamp(local) {
                Ok(instant) => format!("{} = {instant}", instant.display_with_offset(*offset)),
                Err(_) => format!("{local} at UTC offset {offset}"),
            })
            .collect();
        let why = match previous {
            None => "there is no earlier row to tell which".to_owned(),
            Some(previous) => format!(
                "the previous row ({previous}) is after both, so the rows are not in time order \
                 here"
            ),
        };
        ImportError::invalid(
            &self.file,
            position.clone(),
            format!(
                "a local time that happened once in {zone_name}, or rows in time order that tell \
                 which of two it is"
            ),
            format!(
                "{} (local {local}), which happened twice in {zone_name} (DST fall-back): {} or \
                 {}; {why}",
                describe_found(raw),
                candidates[0],
                candidates[1],
            ),
        )
    }

    /// One row as an event. `previous` is the instant of the last row read with a valid time;
    /// it is updated with this row's.
    fn row(
        &self,
        position: Position,
        cell: &dyn Fn(&str) -> Option<String>,
        previous: &mut Option<Timestamp>,
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
        let at = self.time(&time_raw, &position, *previous)?;
        *previous = Some(at.instant());
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

/// Reads a Unix epoch number: digits, optionally with a fraction (`1730622720.25`) and an
/// exponent (`1.73062272025e9`, as JSON numbers and spreadsheets may write them). `None` if the
/// text is not such a number; `Err` if it is one but out of range.
///
/// The unit is decided by the magnitude of the integer part `n`. Each unit below seconds starts
/// at 10^8 seconds (1973-03-03) and every unit reaches 10^11 seconds (the year 5138), except
/// nanoseconds, which jiff reads up to the year 9999 but which 64-bit producers stop in 2262:
///
/// | integer part `n`            | unit         |
/// |-----------------------------|--------------|
/// | `n < 10^11`                 | seconds      |
/// | `10^11 <= n < 10^14`        | milliseconds |
/// | `10^14 <= n < 10^17`        | microseconds |
/// | `10^17 <= n`                | nanoseconds  |
///
/// The fraction is kept to the nanosecond (the event time then keeps microseconds); it is read
/// from the decimal digits, never through a float.
fn parse_epoch(raw: &str) -> Option<Result<Timestamp, ()>> {
    const MAX_DIGITS: usize = 30;
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let (mantissa, exponent) = match raw.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => {
            let unsigned = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if unsigned.is_empty() || unsigned.len() > 3 || !all_digits(unsigned) {
                return None;
            }
            (mantissa, exponent.parse::<i64>().ok()?)
        }
        None => (raw, 0),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
        Some(_) => return None,
        None => (mantissa, ""),
    };
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    // Move the decimal point by the exponent: `digits` with the point after `point` of them.
    let digits = format!("{whole}{fraction}");
    let point = i64::try_from(whole.len()).ok()?.checked_add(exponent)?;
    let (whole, fraction): (String, String) = if point <= 0 {
        let zeros = usize::try_from(-point).ok()?;
        (
            "0".to_owned(),
            format!("{}{digits}", "0".repeat(zeros.min(MAX_DIGITS))),
        )
    } else {
        let point = usize::try_from(point).ok()?;
        if point >= digits.len() {
            if point > MAX_DIGITS {
                return Some(Err(()));
            }
            (
                format!("{digits}{}", "0".repeat(point - digits.len())),
                String::new(),
            )
        } else {
            (digits[..point].to_owned(), digits[point..].to_owned())
        }
    };
    let whole = whole.trim_start_matches('0');
    if whole.len() > MAX_DIGITS {
        return Some(Err(()));
    }
    let n: i128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let unit_nanos: i128 = if n < 100_000_000_000 {
        1_000_000_000
    } else if n < 100_000_000_000_000 {
        1_000_000
    } else if n < 100_000_000_000_000_000 {
        1_000
    } else {
        1
    };
    // The first nine fraction digits, as billionths of the unit.
    let mut billionths: i128 = 0;
    for i in 0..9 {
        let digit = fraction.as_bytes().get(i).map_or(0, |b| b - b'0');
        billionths = billionths * 10 + i128::from(digit);
    }
    let nanos = n
        .checked_mul(unit_nanos)
        .and_then(|n| n.checked_add(billionths * unit_nanos / 1_000_000_000));
    Some(
        nanos
            .and_then(|n| Timestamp::from_nanosecond(n).ok())
            .ok_or(()),
    )
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
    let mut previous = None;
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
        context.row(Position::Line(line), &cell, &mut previous)
    })))
}

/// Streams a JSON Lines file: one object per line, blank lines ignored.
pub(crate) fn import_jsonl(path: &Path, options: &ImportOptions) -> Result<Events, ImportError> {
    let context = context(path, options, "jsonl")?;
    let handle = File::open(path).map_err(|e| ImportError::io(&context.file, e))?;
    let mut reader = BufReader::new(handle);
    let mut line_number = 0u64;
    let mut previous = None;
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
            return Some(context.row(position, &cell, &mut previous));
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

    fn options_with(tz: Option<&str>) -> ImportOptions {
        ImportOptions {
            tz: tz.map(|name| TimeZone::get(name).unwrap()),
            columns: ColumnMapping {
                time: "when".into(),
                text: "what".into(),
                ..ColumnMapping::default()
            },
            ..ImportOptions::default()
        }
    }

    fn instants(path: &Path, options: &ImportOptions) -> Vec<Result<String, String>> {
        let read = if path.extension().is_some_and(|e| e == "csv") {
            import_csv(path, options)
        } else {
            import_jsonl(path, options)
        };
        read.unwrap()
            .map(|r| {
                r.map(|e| e.at.instant().to_string())
                    .map_err(|e| e.to_string())
            })
            .collect()
    }

    #[test]
    fn fractional_epoch_seconds_as_a_json_number_or_a_string_keep_their_fraction() {
        let (_dir, path) = write(
            "t.jsonl",
            "{\"when\":1730622720.25,\"what\":\"number\"}\n\
             {\"when\":\"1730622720.250\",\"what\":\"string\"}\n\
             {\"when\":1.73062272025e9,\"what\":\"exponent\"}\n\
             {\"when\":\"1730622720.123456789\",\"what\":\"nine digits\"}\n",
        );
        assert_eq!(
            instants(&path, &options_with(None)),
            [
                Ok("2024-11-03T08:32:00.25Z".to_owned()),
                Ok("2024-11-03T08:32:00.25Z".to_owned()),
                Ok("2024-11-03T08:32:00.25Z".to_owned()),
                Ok("2024-11-03T08:32:00.123456Z".to_owned()),
            ]
        );
    }

    #[test]
    fn epoch_numbers_are_seconds_millis_micros_or_nanos_by_magnitude() {
        let (_dir, path) = write(
            "t.csv",
            "when,what\n\
             1730622600,s\n\
             1730622600123,ms\n\
             1730622600123.5,ms with a fraction\n\
             1730622600123456,us\n\
             1730622600123456789,ns\n\
             99999999999,last second\n\
             100000000000,first milli\n",
        );
        assert_eq!(
            instants(&path, &options_with(None)),
            [
                Ok("2024-11-03T08:30:00Z".to_owned()),
                Ok("2024-11-03T08:30:00.123Z".to_owned()),
                Ok("2024-11-03T08:30:00.1235Z".to_owned()),
                Ok("2024-11-03T08:30:00.123456Z".to_owned()),
                Ok("2024-11-03T08:30:00.123456Z".to_owned()),
                Ok("5138-11-16T09:46:39Z".to_owned()),
                Ok("1973-03-03T09:46:40Z".to_owned()),
            ]
        );
    }

    #[test]
    fn text_that_only_resembles_an_epoch_is_not_read_as_one() {
        for text in [
            "1730622720.",
            ".25",
            "1.2.3",
            "1e",
            "1e+",
            "1_000",
            "-5",
            "0x10",
        ] {
            assert!(parse_epoch(text).is_none(), "{text}");
        }
        assert_eq!(parse_epoch("9".repeat(40).as_str()), Some(Err(())));
        assert_eq!(parse_epoch("1e999"), Some(Err(())));
    }

    #[test]
    fn an_ambiguous_local_time_takes_the_candidate_at_or_after_the_previous_row() {
        // America/New_York falls back at 2024-11-03 02:00 EDT to 01:00 EST.
        let (_dir, path) = write(
            "t.csv",
            "when,what\n\
             2024-11-03 00:50:00,before the fold\n\
             2024-11-03 01:30:00,first 01:30 (EDT)\n\
             2024-11-03 01:10:00,second 01:10 (EST)\n\
             2024-11-03 01:40:00,still EST\n",
        );
        assert_eq!(
            instants(&path, &options_with(Some("America/New_York"))),
            [
                Ok("2024-11-03T04:50:00Z".to_owned()),
                Ok("2024-11-03T05:30:00Z".to_owned()),
                Ok("2024-11-03T06:10:00Z".to_owned()),
                Ok("2024-11-03T06:40:00Z".to_owned()),
            ]
        );
        // The previous row may carry its own offset; JSONL reads the same way.
        let (_dir, path) = write(
            "t.jsonl",
            "{\"when\":\"2024-11-03T05:45:00Z\",\"what\":\"a\"}\n\
             {\"when\":\"2024-11-03 01:30:00\",\"what\":\"b\"}\n",
        );
        assert_eq!(
            instants(&path, &options_with(Some("America/New_York"))),
            [
                Ok("2024-11-03T05:45:00Z".to_owned()),
                Ok("2024-11-03T06:30:00Z".to_owned()),
            ]
        );
    }

    #[test]
    fn an_ambiguous_local_time_rows_cannot_decide_names_file_line_time_and_both_instants() {
        let (_dir, path) = write(
            "t.csv",
            "when,what\n\
             2024-11-03 01:30:00,no earlier row\n\
             2024-11-03 07:00:00,later\n\
             2024-11-03 01:30:00,out of order\n",
        );
        let rows = instants(&path, &options_with(Some("America/New_York")));
        let first = rows[0].as_ref().unwrap_err();
        assert!(
            first.starts_with("t.csv:2: ") || first.contains("/t.csv:2: "),
            "{first}"
        );
        for part in [
            "`2024-11-03 01:30:00`",
            "2024-11-03T01:30:00-04:00 = 2024-11-03T05:30:00Z",
            "2024-11-03T01:30:00-05:00 = 2024-11-03T06:30:00Z",
            "no earlier row",
        ] {
            assert!(first.contains(part), "{part}: {first}");
        }
        assert!(
            !first.contains("found `2024-11-03 01:30:00`, found"),
            "{first}"
        );
        assert!(rows[1].is_ok());
        let third = rows[2].as_ref().unwrap_err();
        assert!(
            third.contains("t.csv:4: ")
                && third.contains("2024-11-03T12:00:00Z")
                && third.contains("not in time order"),
            "{third}"
        );
    }
}
