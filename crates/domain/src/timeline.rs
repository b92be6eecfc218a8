//! Timeline events: the facts of what happened, in order.
//!
//! Events are facts as a source recorded them (a chat line, a page, a deploy); evaluation belongs in
//! the review. Importers (`secondstory-import`) produce them, the store keeps them unique per
//! incident by `source_ref`, and the review's timeline section is generated from key moments.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Validated, ValidationError};
use crate::time::RecordedTime;

/// What kind of moment an event is in the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Alert,
    Detection,
    Diagnosis,
    Action,
    Decision,
    Communication,
    Deploy,
    Observation,
}

impl EventKind {
    pub const ALL: [EventKind; 8] = [
        EventKind::Alert,
        EventKind::Detection,
        EventKind::Diagnosis,
        EventKind::Action,
        EventKind::Decision,
        EventKind::Communication,
        EventKind::Deploy,
        EventKind::Observation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Alert => "alert",
            EventKind::Detection => "detection",
            EventKind::Diagnosis => "diagnosis",
            EventKind::Action => "action",
            EventKind::Decision => "decision",
            EventKind::Communication => "communication",
            EventKind::Deploy => "deploy",
            EventKind::Observation => "observation",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                ValidationError::new(
                    "kind",
                    format!(
                        "`{s}` is not an event kind (expected one of: {})",
                        EventKind::ALL.map(EventKind::as_str).join(", ")
                    ),
                )
            })
    }
}

/// Where an event came from: `slack`, `irc`, `pagerduty`, `alertmanager`, `grafana`, `git`,
/// `github`, `csv`, `manual`, … Lower-case ASCII word, so new importers need no schema change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventSource(String);

impl EventSource {
    pub fn parse(text: &str) -> Validated<Self> {
        let valid = !text.is_empty()
            && text.len() <= 40
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(ValidationError::new(
                "source",
                format!(
                    "`{text}` is not a source name (lower-case letters, digits, - or _; at most 40)"
                ),
            ))
        }
    }

    pub fn manual() -> Self {
        Self("manual".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EventSource {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value).map_err(|e| e.message)
    }
}

impl From<EventSource> for String {
    fn from(value: EventSource) -> Self {
        value.0
    }
}

impl fmt::Display for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One fact on an incident's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineEvent {
    pub at: RecordedTime,
    pub source: EventSource,
    /// Stable identity within the source (Slack `channel/ts`, PagerDuty log entry id, …):
    /// re-importing the same trace adds nothing.
    pub source_ref: String,
    /// The actor as written in the source (a nick, a display name, a bot); never a verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    pub kind: EventKind,
    pub text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub key_moment: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence_url: Option<String>,
}

impl TimelineEvent {
    /// Checks what a store relies on: a non-empty `source_ref` (the identity that makes re-import
    /// safe) and text that is not blank.
    pub fn validate(&self) -> Validated<()> {
        if self.source_ref.trim().is_empty() {
            return Err(ValidationError::new("source_ref", "must not be empty"));
        }
        if self.source_ref.len() > 512 {
            return Err(ValidationError::new(
                "source_ref",
                "is longer than 512 bytes",
            ));
        }
        if self.text.trim().is_empty() {
            return Err(ValidationError::new("text", "must not be empty"));
        }
        if let Some(url) = &self.evidence_url {
            crate::error::check_web_url("evidence_url", url)?;
        }
        Ok(())
    }

    /// The merge order: time, then source, then the source's own order (kept by the caller's
    /// stable sort). Two sources that recorded the same instant never interleave arbitrarily.
    pub fn merge_order(a: &TimelineEvent, b: &TimelineEvent) -> std::cmp::Ordering {
        a.at.instant()
            .cmp(&b.at.instant())
            .then_with(|| a.source.cmp(&b.source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at: &str, source: &str, text: &str) -> TimelineEvent {
        TimelineEvent {
            at: RecordedTime::parse("at", at).unwrap(),
            source: EventSource::parse(source).unwrap(),
            source_ref: format!("{source}:{at}"),
            actor: None,
            kind: EventKind::Observation,
            text: text.into(),
            key_moment: false,
            hidden: false,
            evidence_url: None,
        }
    }

    #[test]
    fn merge_orders_by_instant_whatever_the_offset_then_by_source() {
        let mut events = [
            event("2024-03-31T00:42:40+01:00", "irc", "b"),
            event("2024-03-30T23:42:39Z", "slack", "a"),
            event("2024-03-30T23:42:40Z", "grafana", "c"),
        ];
        events.sort_by(TimelineEvent::merge_order);
        let texts: Vec<_> = events.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["a", "c", "b"]);
    }

    #[test]
    fn an_event_without_source_ref_is_refused() {
        let mut e = event("2024-03-30T23:42:39Z", "slack", "a");
        e.source_ref = " ".into();
        assert_eq!(e.validate().unwrap_err().field, "source_ref");
    }

    #[test]
    fn unknown_kind_lists_the_known_ones() {
        let err = "paging".parse::<EventKind>().unwrap_err();
        assert!(err.message.contains("alert, detection"), "{}", err.message);
    }

    #[test]
    fn source_names_are_simple_words() {
        assert!(EventSource::parse("pagerduty").is_ok());
        assert!(EventSource::parse("Slack Export").is_err());
    }
}
