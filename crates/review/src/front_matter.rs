//! The front-matter schema and the lossless Markdown/JSON round-trip.
//!
//! The schema is a set of plain structs mirroring the domain with the names people type; field
//! order is fixed and empty values are omitted, so output is deterministic and diffs stay small.

use jiff::Timestamp;
use jiff::civil::Date;
use secondstory_domain::{
    ActionItem, ActionKind, ActionStatus, ContributingFactor, EventKind, EventSource,
    FactorTaxonomy, Incident, IncidentId, IncidentKind, IncidentRecord, IncidentStatus,
    IncidentTimes, Participant, Priority, RecordedTime, ReviewStatus, SeverityScale, TimelineEvent,
    ValidationError, Visibility,
};
use serde::{Deserialize, Serialize};

use crate::locate::line_of_field;

/// What parsing needs to check a document: the organisation's configuration and the time now.
#[derive(Debug, Clone, Copy)]
pub struct ParseContext<'a> {
    pub severities: &'a SeverityScale,
    pub taxonomy: &'a FactorTaxonomy,
    pub now: Timestamp,
}

/// A document that could not be read: the line (1-based, in the whole file) when known, the
/// field when known, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DocumentError {
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for DocumentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl DocumentError {
    fn new(line: Option<usize>, field: Option<String>, message: impl Into<String>) -> Self {
        DocumentError {
            line,
            field,
            message: message.into(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: String,
    title: String,
    #[serde(default = "default_kind")]
    kind: String,
    severity: String,
    status: String,
    #[serde(default = "default_review")]
    review: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    review_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    services: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    /// Groups that may see a restricted incident; absent means everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    restricted_to: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    summary: String,
    created: String,
    #[serde(default, skip_serializing_if = "Times::is_empty")]
    times: Times,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    participants: Vec<Participant>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    factors: Vec<ContributingFactor>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    actions: Vec<Action>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    timeline: Vec<Event>,
}

fn default_kind() -> String {
    "incident".into()
}

fn default_review() -> String {
    "draft".into()
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Times {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    impact_started: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    responded: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mitigated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resolved: Option<String>,
}

impl Times {
    fn is_empty(&self) -> bool {
        [
            &self.impact_started,
            &self.detected,
            &self.responded,
            &self.mitigated,
            &self.resolved,
        ]
        .iter()
        .all(|t| t.is_none())
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Action {
    number: i64,
    title: String,
    kind: String,
    owner: String,
    priority: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    due: Option<String>,
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external_url: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Event {
    at: String,
    source: String,
    #[serde(rename = "ref")]
    source_ref: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    actor: Option<String>,
    kind: String,
    text: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    key_moment: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    hidden: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    evidence: Option<String>,
}

/// The JSON export: the front matter's fields under `incident`, and the review's Markdown.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonDocument {
    incident: FrontMatter,
    review_markdown: String,
}

fn to_front_matter(record: &IncidentRecord) -> FrontMatter {
    let i = &record.incident;
    let text = |t: &Option<RecordedTime>| t.as_ref().map(ToString::to_string);
    FrontMatter {
        id: i.id.to_string(),
        title: i.title.clone(),
        kind: i.kind.as_str().into(),
        severity: i.severity.to_string(),
        status: i.status.as_str().into(),
        review: i.review.name().into(),
        review_reason: i.review.reason().map(str::to_owned),
        services: i.services.clone(),
        tags: i.tags.clone(),
        restricted_to: match &i.visibility {
            Visibility::Everyone => None,
            Visibility::Restricted(groups) => Some(groups.clone()),
        },
        summary: i.summary.clone(),
        created: i.created_at.to_string(),
        times: Times {
            impact_started: text(&i.times.impact_started),
            detected: text(&i.times.detected),
            responded: text(&i.times.responded),
            mitigated: text(&i.times.mitigated),
            resolved: text(&i.times.resolved),
        },
        participants: record.participants.clone(),
        factors: record.factors.clone(),
        actions: record
            .actions
            .iter()
            .map(|a| Action {
                number: a.number,
                title: a.title.clone(),
                kind: a.kind.as_str().into(),
                owner: a.owner.clone(),
                priority: a.priority.as_str().into(),
                due: a.due.map(|d| d.to_string()),
                status: a.status.name().into(),
                reason: a.status.reason().map(str::to_owned),
                external_url: a.external_url.clone(),
                description: a.description.clone(),
            })
            .collect(),
        timeline: record
            .events
            .iter()
            .map(|e| Event {
                at: e.at.to_string(),
                source: e.source.to_string(),
                source_ref: e.source_ref.clone(),
                actor: e.actor.clone(),
                kind: e.kind.as_str().into(),
                text: e.text.clone(),
                key_moment: e.key_moment,
                hidden: e.hidden,
                evidence: e.evidence_url.clone(),
            })
            .collect(),
    }
}

/// Builds the record, naming the field path of the first problem.
fn from_front_matter(
    front: FrontMatter,
    review: String,
    context: &ParseContext<'_>,
) -> Result<IncidentRecord, ValidationError> {
    let time = |field: &str, t: &Option<String>| {
        t.as_deref()
            .map(|t| RecordedTime::parse(field, t))
            .transpose()
    };
    let within = |path: String| move |e: ValidationError| e.within(path.clone());
    let times = IncidentTimes {
        impact_started: time("impact_started", &front.times.impact_started)
            .map_err(within("times".into()))?,
        detected: time("detected", &front.times.detected).map_err(within("times".into()))?,
        responded: time("responded", &front.times.responded).map_err(within("times".into()))?,
        mitigated: time("mitigated", &front.times.mitigated).map_err(within("times".into()))?,
        resolved: time("resolved", &front.times.resolved).map_err(within("times".into()))?,
    };
    let visibility = match front.restricted_to {
        None => Visibility::Everyone,
        Some(groups) => Visibility::restricted(groups)
            .map_err(|e| ValidationError::new("restricted_to", e.message))?,
    };
    let incident = Incident {
        id: IncidentId::parse(&front.id)?,
        title: front.title,
        kind: front.kind.parse::<IncidentKind>()?,
        severity: context.severities.severity(&front.severity)?,
        status: front.status.parse::<IncidentStatus>()?,
        review: ReviewStatus::parse(&front.review, front.review_reason.as_deref())?,
        services: front.services,
        tags: front.tags,
        visibility,
        times,
        summary: front.summary,
        created_at: RecordedTime::parse("created", &front.created)?,
        version: 0,
    };
    let mut actions = Vec::with_capacity(front.actions.len());
    for (n, a) in front.actions.into_iter().enumerate() {
        let path = format!("actions[{n}]");
        let due: Option<Date> = a
            .due
            .as_deref()
            .map(secondstory_domain::action::parse_due)
            .transpose()
            .map_err(within(path.clone()))?;
        actions.push(ActionItem {
            number: a.number,
            title: a.title,
            description: a.description,
            kind: a.kind.parse::<ActionKind>().map_err(within(path.clone()))?,
            owner: a.owner,
            priority: a
                .priority
                .parse::<Priority>()
                .map_err(within(path.clone()))?,
            due,
            status: ActionStatus::parse(&a.status, a.reason.as_deref()).map_err(within(path))?,
            external_url: a.external_url,
            version: 0,
        });
    }
    let mut events = Vec::with_capacity(front.timeline.len());
    for (n, e) in front.timeline.into_iter().enumerate() {
        let path = format!("timeline[{n}]");
        events.push(TimelineEvent {
            at: RecordedTime::parse("at", &e.at).map_err(within(path.clone()))?,
            source: EventSource::parse(&e.source).map_err(within(path.clone()))?,
            source_ref: e.source_ref,
            actor: e.actor,
            kind: e.kind.parse::<EventKind>().map_err(within(path))?,
            text: e.text,
            key_moment: e.key_moment,
            hidden: e.hidden,
            evidence_url: e.evidence,
        });
    }
    let record = IncidentRecord {
        incident,
        participants: front.participants,
        events,
        factors: front.factors,
        actions,
        review,
    };
    record
        .validate(context.severities, context.taxonomy, context.now)
        .map_err(|e| ValidationError::new(yaml_path(&e.field), e.message))?;
    Ok(record)
}

/// Domain paths use the domain's names; the file uses the front matter's.
fn yaml_path(field: &str) -> String {
    let renamed = field
        .replacen("events[", "timeline[", 1)
        .replace(".source_ref", ".ref")
        .replace(".evidence_url", ".evidence");
    match renamed.as_str() {
        "impact_started" | "detected" | "responded" | "mitigated" | "resolved" => {
            format!("times.{renamed}")
        }
        "visibility" => "restricted_to".into(),
        _ => renamed,
    }
}

/// The Markdown file for one incident: front matter, then the review body, byte for byte.
pub fn write_markdown(record: &IncidentRecord) -> String {
    let yaml = serde_yaml_ng::to_string(&to_front_matter(record))
        .unwrap_or_else(|e| format!("# front matter could not be written: {e}\n"));
    format!("---\n{yaml}---\n{}", record.review)
}

/// Reads a file written by [`write_markdown`] (or by hand, or by git merge).
pub fn parse_markdown(
    text: &str,
    context: &ParseContext<'_>,
) -> Result<IncidentRecord, DocumentError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return Err(DocumentError::new(
            Some(1),
            None,
            "expected YAML front matter starting with a `---` line",
        ));
    };
    let mut offset = 0;
    let mut end = None;
    for line in rest.split_inclusive('\n') {
        if line.trim_end_matches(['\n', '\r']) == "---" {
            end = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((yaml_end, body_start)) = end else {
        return Err(DocumentError::new(
            None,
            None,
            "the front matter is not closed: add a `---` line after it",
        ));
    };
    let yaml = &rest[..yaml_end];
    let body = rest[body_start..].to_owned();
    let front: FrontMatter = serde_yaml_ng::from_str(yaml).map_err(|e| {
        // +1 for the opening `---` line.
        let line = e.location().map(|l| l.line() + 1);
        DocumentError::new(line, None, clean_yaml_message(&e.to_string()))
    })?;
    from_front_matter(front, body, context).map_err(|e| {
        let line = line_of_field(yaml, &e.field).map(|l| l + 1);
        DocumentError::new(line, Some(e.field), e.message)
    })
}

/// serde_yaml appends "at line X column Y"; we report the line ourselves, in file terms.
fn clean_yaml_message(message: &str) -> String {
    match message.find(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// The JSON export of one incident: `{"incident": {front-matter fields}, "review_markdown": "…"}`.
pub fn write_json(record: &IncidentRecord) -> String {
    let document = JsonDocument {
        incident: to_front_matter(record),
        review_markdown: record.review.clone(),
    };
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

pub fn parse_json(text: &str, context: &ParseContext<'_>) -> Result<IncidentRecord, DocumentError> {
    let document: JsonDocument = serde_json::from_str(text).map_err(|e| {
        DocumentError::new(Some(e.line()), None, clean_yaml_message(&e.to_string()))
    })?;
    from_front_matter(document.incident, document.review_markdown, context)
        .map_err(|e| DocumentError::new(None, Some(format!("incident.{}", e.field)), e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-11-25T12:00:00Z";

    fn context<'a>(s: &'a SeverityScale, t: &'a FactorTaxonomy) -> ParseContext<'a> {
        ParseContext {
            severities: s,
            taxonomy: t,
            now: NOW.parse().unwrap(),
        }
    }

    const MINIMAL: &str = "---\nid: INC-2024-0001\ntitle: Orders\nseverity: SEV2\nstatus: active\n\
                           created: 2024-03-31T00:00:00Z\n---\n# Review\n";

    #[test]
    fn a_minimal_document_reads_and_writes_back_with_defaults_spelled_out() {
        let (s, t) = (SeverityScale::default(), FactorTaxonomy::default());
        let record = parse_markdown(MINIMAL, &context(&s, &t)).unwrap();
        assert_eq!(record.review, "# Review\n");
        let written = write_markdown(&record);
        assert!(written.starts_with("---\nid: INC-2024-0001\n"), "{written}");
        assert_eq!(parse_markdown(&written, &context(&s, &t)).unwrap(), record);
        assert_eq!(
            write_markdown(&parse_markdown(&written, &context(&s, &t)).unwrap()),
            written
        );
    }

    #[test]
    fn an_unknown_severity_names_its_line_and_field() {
        let (s, t) = (SeverityScale::default(), FactorTaxonomy::default());
        let text = MINIMAL.replace("SEV2", "P0");
        let err = parse_markdown(&text, &context(&s, &t)).unwrap_err();
        assert_eq!(
            (err.line, err.field.as_deref()),
            (Some(4), Some("severity"))
        );
        assert!(err.message.contains("SEV1, SEV2"), "{err}");
    }

    #[test]
    fn impossible_times_name_the_time_field_and_its_line() {
        let (s, t) = (SeverityScale::default(), FactorTaxonomy::default());
        let text = MINIMAL.replace(
            "status: active\n",
            "status: resolved\ntimes:\n  impact_started: 2024-03-31T01:00:00Z\n  resolved: 2024-03-31T00:00:00Z\n",
        );
        let err = parse_markdown(&text, &context(&s, &t)).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("times.resolved"));
        assert_eq!(err.line, Some(8), "{err}");
    }

    #[test]
    fn malformed_yaml_reports_the_file_line() {
        let (s, t) = (SeverityScale::default(), FactorTaxonomy::default());
        let text = MINIMAL.replace("title: Orders", "title: [unclosed");
        let err = parse_markdown(&text, &context(&s, &t)).unwrap_err();
        assert!(err.line.is_some_and(|l| l >= 3), "{err:?}");
    }

    #[test]
    fn an_unknown_key_is_refused_rather_than_silently_dropped() {
        let (s, t) = (SeverityScale::default(), FactorTaxonomy::default());
        let text = MINIMAL.replace("status: active\n", "status: active\nroot_cause: Bob\n");
        let err = parse_markdown(&text, &context(&s, &t)).unwrap_err();
        assert!(err.message.contains("unknown field `root_cause`"), "{err}");
    }

    #[test]
    fn a_document_without_front_matter_or_closing_line_is_refused() {
        let (s, t) = (SeverityScale::default(), FactorTaxonomy::default());
        assert!(parse_markdown("# Just a review\n", &context(&s, &t)).is_err());
        let err = parse_markdown("---\nid: INC-1\n", &context(&s, &t)).unwrap_err();
        assert!(err.message.contains("not closed"), "{err}");
    }
}
