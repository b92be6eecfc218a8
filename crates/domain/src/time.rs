//! Instants as sources record them.
//!
//! Every time in Second Story is stored as a UTC instant with microsecond precision (the storage
//! format is BIGINT µs since the epoch) and keeps the offset, and the IANA zone when the source
//! named one, so a review can show "00:42 in Berlin" exactly as the people involved saw it.

use std::cmp::Ordering;
use std::fmt;

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};

use crate::error::{Validated, ValidationError};

/// A UTC instant plus the offset (and optional zone) it was recorded in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordedTime {
    instant: Timestamp,
    offset_seconds: i32,
    zone: Option<String>,
}

impl RecordedTime {
    /// An instant recorded in UTC.
    pub fn utc(instant: Timestamp) -> Self {
        Self {
            instant: truncate_to_micros(instant),
            offset_seconds: 0,
            zone: None,
        }
    }

    /// An instant recorded with a fixed UTC offset (`+01:00`, `-04:00`).
    pub fn with_offset(instant: Timestamp, offset: Offset) -> Self {
        Self {
            instant: truncate_to_micros(instant),
            offset_seconds: offset.seconds(),
            zone: None,
        }
    }

    /// An instant recorded in a named zone; the offset is the zone's at that instant (DST-correct).
    pub fn in_zone(instant: Timestamp, zone: &TimeZone) -> Self {
        let offset = zone.to_offset(instant);
        Self {
            instant: truncate_to_micros(instant),
            offset_seconds: offset.seconds(),
            zone: zone.iana_name().map(str::to_owned),
        }
    }

    /// Rebuild from the storage representation.
    pub fn from_parts(micros: i64, offset_seconds: i32, zone: Option<String>) -> Validated<Self> {
        let instant = Timestamp::from_microsecond(micros)
            .map_err(|e| ValidationError::new("time", format!("out of range: {e}")))?;
        Offset::from_seconds(offset_seconds)
            .map_err(|e| ValidationError::new("time", format!("offset out of range: {e}")))?;
        Ok(Self {
            instant,
            offset_seconds,
            zone,
        })
    }

    /// Parse RFC 3339 (`2024-03-31T00:42:40+01:00`, `…Z`) or RFC 9557 with a zone
    /// (`2024-03-31T03:00:05+02:00[Europe/Berlin]`). A time without an offset is refused: its
    /// instant would be a guess.
    pub fn parse(field: &str, text: &str) -> Validated<Self> {
        let text = text.trim();
        if text.contains('[') {
            let zoned: jiff::ZonedDateTime = text.parse().map_err(|e| {
                ValidationError::new(field, format!("`{text}` is not a valid zoned time: {e}"))
            })?;
            return Ok(Self::in_zone(zoned.timestamp(), zoned.time_zone()));
        }
        let instant: Timestamp = text.parse().map_err(|e| {
            ValidationError::new(
                field,
                format!(
                    "`{text}` is not an RFC 3339 time with an offset \
                     (expected like 2024-03-31T00:42:40+01:00 or 2024-03-30T23:42:40Z): {e}"
                ),
            )
        })?;
        let offset = parse_offset_suffix(text)
            .ok_or_else(|| ValidationError::new(field, format!("`{text}` has no UTC offset")))?;
        Ok(Self::with_offset(instant, offset))
    }

    pub fn instant(&self) -> Timestamp {
        self.instant
    }

    pub fn as_micros(&self) -> i64 {
        self.instant.as_microsecond()
    }

    pub fn offset(&self) -> Offset {
        Offset::from_seconds(self.offset_seconds).unwrap_or(Offset::UTC)
    }

    pub fn offset_seconds(&self) -> i32 {
        self.offset_seconds
    }

    pub fn zone(&self) -> Option<&str> {
        self.zone.as_deref()
    }
}

impl fmt::Display for RecordedTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.offset_seconds == 0 && self.zone.is_none() {
            write!(f, "{}", self.instant)?;
        } else {
            write!(f, "{}", self.instant.display_with_offset(self.offset()))?;
        }
        if let Some(zone) = &self.zone {
            write!(f, "[{zone}]")?;
        }
        Ok(())
    }
}

impl PartialOrd for RecordedTime {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Ordered by instant; equal instants recorded in different offsets order by offset so the
/// order is total and deterministic.
impl Ord for RecordedTime {
    fn cmp(&self, other: &Self) -> Ordering {
        self.instant
            .cmp(&other.instant)
            .then(self.offset_seconds.cmp(&other.offset_seconds))
            .then(self.zone.cmp(&other.zone))
    }
}

impl serde::Serialize for RecordedTime {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for RecordedTime {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse("time", &text).map_err(|e| serde::de::Error::custom(e.message))
    }
}

fn truncate_to_micros(instant: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(instant.as_microsecond()).unwrap_or(instant)
}

/// The offset written at the end of an RFC 3339 string: `Z`, `+HH:MM`, `-HH:MM` or `+HHMM`.
fn parse_offset_suffix(text: &str) -> Option<Offset> {
    if text.ends_with(['Z', 'z']) {
        return Some(Offset::UTC);
    }
    let sign_at = text.rfind(['+', '-'])?;
    // A '-' inside the date part is not an offset sign: offsets come after the 'T' time part.
    let time_start = text.find(['T', 't', ' '])?;
    if sign_at < time_start {
        return None;
    }
    let sign = if text.as_bytes()[sign_at] == b'-' {
        -1
    } else {
        1
    };
    let digits: String = text[sign_at + 1..]
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let (hours, minutes) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    Offset::from_seconds(sign * (hours * 3600 + minutes * 60)).ok()
}

/// A span of time between two recorded instants, for derived durations.
pub fn minutes_between(start: &RecordedTime, end: &RecordedTime) -> f64 {
    let micros = end.as_micros() - start.as_micros();
    micros as f64 / 60_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_time_keeps_its_offset_for_display() {
        let t = RecordedTime::parse("at", "2024-03-31T00:42:40+01:00").unwrap();
        assert_eq!(t.instant().to_string(), "2024-03-30T23:42:40Z");
        assert_eq!(t.to_string(), "2024-03-31T00:42:40+01:00");
    }

    #[test]
    fn utc_times_print_with_z_and_keep_sub_second_precision() {
        let t = RecordedTime::parse("at", "2024-03-30T23:42:04.118Z").unwrap();
        assert_eq!(t.to_string(), "2024-03-30T23:42:04.118Z");
        let t = RecordedTime::parse("at", "2024-03-30T23:42:04.118+00:00").unwrap();
        assert_eq!(t.to_string(), "2024-03-30T23:42:04.118Z");
    }

    #[test]
    fn a_named_zone_is_dst_correct_and_round_trips() {
        let t = RecordedTime::parse("at", "2024-03-31T03:00:05+02:00[Europe/Berlin]").unwrap();
        assert_eq!(t.instant().to_string(), "2024-03-31T01:00:05Z");
        assert_eq!(t.offset_seconds(), 7200);
        assert_eq!(RecordedTime::parse("at", &t.to_string()).unwrap(), t);
    }

    #[test]
    fn a_time_without_offset_is_refused_with_the_field_named() {
        let err = RecordedTime::parse("impact_started", "2024-03-31T00:42:40").unwrap_err();
        assert_eq!(err.field, "impact_started");
        assert!(err.message.contains("offset"), "{}", err.message);
    }

    #[test]
    fn nanoseconds_are_truncated_to_microseconds() {
        let ts: Timestamp = "2024-03-30T23:43:50.974112345Z".parse().unwrap();
        assert_eq!(
            RecordedTime::utc(ts).to_string(),
            "2024-03-30T23:43:50.974112Z"
        );
    }

    #[test]
    fn storage_parts_round_trip() {
        let t = RecordedTime::parse("at", "2024-03-30T19:43:51-04:00").unwrap();
        let back = RecordedTime::from_parts(
            t.as_micros(),
            t.offset_seconds(),
            t.zone().map(String::from),
        )
        .unwrap();
        assert_eq!(back, t);
        assert_eq!(back.to_string(), "2024-03-30T19:43:51-04:00");
    }
}
