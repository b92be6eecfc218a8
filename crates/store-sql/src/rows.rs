//! Turning rows into domain values and back: times as (µs, offset, zone), lists as JSON text.
//!
//! A row that does not decode means the database was edited by hand or by a newer version; the
//! error names the table, column and key so it can be found.

use secondstory_domain::{
    ActionItem, ActionKind, ActionStatus, ContributingFactor, EventKind, EventSource, Incident,
    IncidentId, IncidentKind, IncidentStatus, IncidentTimes, Participant, Priority, RecordedTime,
    ReviewStatus, Severity, TimelineEvent, Visibility,
};
use secondstory_store::StoreError;
use sqlx::Row;
use sqlx::any::AnyRow;

pub(crate) fn corrupt(table: &str, column: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Backend {
        context: format!("reading {table}.{column}"),
        message: format!("the stored value does not decode: {detail}"),
    }
}

pub(crate) fn get<T>(row: &AnyRow, table: &str, column: &str) -> Result<T, StoreError>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column).map_err(|e| corrupt(table, column, e))
}

/// The three columns a recorded time is stored in.
pub(crate) struct TimeColumns {
    pub micros: Option<i64>,
    pub offset: Option<i64>,
    pub zone: Option<String>,
}

impl TimeColumns {
    pub fn of(time: Option<&RecordedTime>) -> Self {
        TimeColumns {
            micros: time.map(RecordedTime::as_micros),
            offset: time.map(|t| i64::from(t.offset_seconds())),
            zone: time.and_then(|t| t.zone().map(str::to_owned)),
        }
    }
}

pub(crate) fn time(
    row: &AnyRow,
    table: &str,
    prefix: &str,
) -> Result<Option<RecordedTime>, StoreError> {
    let micros: Option<i64> = get(row, table, &format!("{prefix}_us"))?;
    let Some(micros) = micros else {
        return Ok(None);
    };
    let offset: i64 = get::<Option<i64>>(row, table, &format!("{prefix}_offset"))?.unwrap_or(0);
    let zone: Option<String> = get(row, table, &format!("{prefix}_zone"))?;
    let offset = i32::try_from(offset).map_err(|e| corrupt(table, prefix, e))?;
    RecordedTime::from_parts(micros, offset, zone)
        .map(Some)
        .map_err(|e| corrupt(table, prefix, e))
}

pub(crate) fn required_time(
    row: &AnyRow,
    table: &str,
    prefix: &str,
) -> Result<RecordedTime, StoreError> {
    time(row, table, prefix)?.ok_or_else(|| corrupt(table, prefix, "missing"))
}

pub(crate) fn json_list(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned())
}

fn parse_json_list(row: &AnyRow, table: &str, column: &str) -> Result<Vec<String>, StoreError> {
    let text: String = get(row, table, column)?;
    serde_json::from_str(&text).map_err(|e| corrupt(table, column, e))
}

fn parse<T: std::str::FromStr>(row: &AnyRow, table: &str, column: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    let text: String = get(row, table, column)?;
    text.parse().map_err(|e| corrupt(table, column, e))
}

pub(crate) const INCIDENT_COLUMNS: &str = "id, title, kind, severity, status, review_state, \
    review_reason, services, tags, restricted_groups, summary, \
    impact_started_us, impact_started_offset, impact_started_zone, \
    detected_us, detected_offset, detected_zone, responded_us, responded_offset, responded_zone, \
    mitigated_us, mitigated_offset, mitigated_zone, resolved_us, resolved_offset, resolved_zone, \
    created_us, created_offset, created_zone, version";

pub(crate) fn incident(row: &AnyRow) -> Result<Incident, StoreError> {
    const T: &str = "incidents";
    let id: String = get(row, T, "id")?;
    let review_state: String = get(row, T, "review_state")?;
    let review_reason: Option<String> = get(row, T, "review_reason")?;
    let restricted: Option<String> = get(row, T, "restricted_groups")?;
    let visibility = match restricted {
        None => Visibility::Everyone,
        Some(text) => Visibility::Restricted(
            serde_json::from_str(&text).map_err(|e| corrupt(T, "restricted_groups", e))?,
        ),
    };
    let severity: String = get(row, T, "severity")?;
    Ok(Incident {
        id: IncidentId::parse(&id).map_err(|e| corrupt(T, "id", e))?,
        title: get(row, T, "title")?,
        kind: parse::<IncidentKind>(row, T, "kind")?,
        severity: Severity::stored(severity),
        status: parse::<IncidentStatus>(row, T, "status")?,
        review: ReviewStatus::parse(&review_state, review_reason.as_deref())
            .map_err(|e| corrupt(T, "review_state", e))?,
        services: parse_json_list(row, T, "services")?,
        tags: parse_json_list(row, T, "tags")?,
        visibility,
        times: IncidentTimes {
            impact_started: time(row, T, "impact_started")?,
            detected: time(row, T, "detected")?,
            responded: time(row, T, "responded")?,
            mitigated: time(row, T, "mitigated")?,
            resolved: time(row, T, "resolved")?,
        },
        summary: get(row, T, "summary")?,
        created_at: required_time(row, T, "created")?,
        version: get(row, T, "version")?,
    })
}

pub(crate) const EVENT_COLUMNS: &str = "at_us, at_offset, at_zone, source, source_ref, actor, \
    kind, text, key_moment, hidden, evidence_url";

pub(crate) fn event(row: &AnyRow) -> Result<TimelineEvent, StoreError> {
    const T: &str = "events";
    let source: String = get(row, T, "source")?;
    Ok(TimelineEvent {
        at: required_time(row, T, "at")?,
        source: EventSource::parse(&source).map_err(|e| corrupt(T, "source", e))?,
        source_ref: get(row, T, "source_ref")?,
        actor: get(row, T, "actor")?,
        kind: parse::<EventKind>(row, T, "kind")?,
        text: get(row, T, "text")?,
        key_moment: get::<i64>(row, T, "key_moment")? != 0,
        hidden: get::<i64>(row, T, "hidden")? != 0,
        evidence_url: get(row, T, "evidence_url")?,
    })
}

/// One event as the timeline query's JSON array lists its columns.
type EventJson = (
    i64,
    i64,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
    i64,
    Option<String>,
);

/// Decodes the timeline query's JSON array (see `Backend::timeline_as_json`).
pub(crate) fn events_from_json(json: &str) -> Result<Vec<TimelineEvent>, StoreError> {
    const T: &str = "events";
    let rows: Vec<EventJson> = serde_json::from_str(json).map_err(|e| corrupt(T, "*", e))?;
    rows.into_iter()
        .map(
            |(micros, offset, zone, source, source_ref, actor, kind, text, key, hidden, url)| {
                let offset = i32::try_from(offset).map_err(|e| corrupt(T, "at_offset", e))?;
                Ok(TimelineEvent {
                    at: RecordedTime::from_parts(micros, offset, zone)
                        .map_err(|e| corrupt(T, "at", e))?,
                    source: EventSource::parse(&source).map_err(|e| corrupt(T, "source", e))?,
                    source_ref,
                    actor,
                    kind: kind
                        .parse::<EventKind>()
                        .map_err(|e| corrupt(T, "kind", e))?,
                    text,
                    key_moment: key != 0,
                    hidden: hidden != 0,
                    evidence_url: url,
                })
            },
        )
        .collect()
}

pub(crate) fn factor(row: &AnyRow) -> Result<ContributingFactor, StoreError> {
    const T: &str = "factors";
    Ok(ContributingFactor {
        category: get(row, T, "category")?,
        description: get(row, T, "description")?,
        events: parse_json_list(row, T, "event_refs")?,
    })
}

pub(crate) const ACTION_COLUMNS: &str = "number, title, description, kind, owner, priority, due, \
    status, status_reason, external_url, version";

pub(crate) fn action(row: &AnyRow) -> Result<ActionItem, StoreError> {
    const T: &str = "actions";
    let status: String = get(row, T, "status")?;
    let reason: Option<String> = get(row, T, "status_reason")?;
    let due: Option<String> = get(row, T, "due")?;
    Ok(ActionItem {
        number: get(row, T, "number")?,
        title: get(row, T, "title")?,
        description: get(row, T, "description")?,
        kind: parse::<ActionKind>(row, T, "kind")?,
        owner: get(row, T, "owner")?,
        priority: parse::<Priority>(row, T, "priority")?,
        due: due
            .map(|d| d.parse().map_err(|e| corrupt(T, "due", e)))
            .transpose()?,
        status: ActionStatus::parse(&status, reason.as_deref())
            .map_err(|e| corrupt(T, "status", e))?,
        external_url: get(row, T, "external_url")?,
        version: get(row, T, "version")?,
    })
}

pub(crate) fn participant(row: &AnyRow) -> Result<Participant, StoreError> {
    const T: &str = "participants";
    Ok(Participant {
        name: get(row, T, "name")?,
        role: get(row, T, "role")?,
        alias: get(row, T, "alias")?,
        perspective: get(row, T, "perspective")?,
    })
}
