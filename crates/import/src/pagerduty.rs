//! PagerDuty: REST v2 incident log entries and V3 webhook bodies.
//!
//! Log entries are what happened to an incident (trigger, assign, notify, escalate, acknowledge,
//! annotate, resolve, …), rendered in the account's time zone; the API lists them newest first,
//! so they are yielded in chronological file order (entries sharing a second keep their relative
//! order). A V3 webhook body holds one event (`event.event_type` at `event.occurred_at`).
//! `source_ref` is the log entry id or the webhook event id, both stable across re-imports.

use secondstory_domain::timeline::{EventKind, TimelineEvent};

use crate::ImportOptions;
use crate::common::{Node, event, parse_json_document};
use crate::error::ImportError;

fn log_entry_kind(entry_type: &str) -> (EventKind, bool) {
    match entry_type {
        "trigger_log_entry" => (EventKind::Alert, true),
        // `acknowledgement_log_entry` is how one OpenAPI sub-schema spells it.
        "acknowledge_log_entry" | "acknowledgement_log_entry" => (EventKind::Action, true),
        "resolve_log_entry" => (EventKind::Action, true),
        "annotate_log_entry" => (EventKind::Diagnosis, false),
        "assign_log_entry"
        | "notify_log_entry"
        | "escalate_log_entry"
        | "reach_trigger_limit_log_entry" => (EventKind::Communication, false),
        _ => (EventKind::Observation, false),
    }
}

/// Parses a `GET /incidents/{id}/log_entries` response (or a bare array of log entries).
pub(crate) fn parse_log_entries(
    file: &str,
    bytes: &[u8],
    _options: &ImportOptions,
) -> Vec<Result<TimelineEvent, ImportError>> {
    let document = match parse_json_document(file, bytes) {
        Ok(document) => document,
        Err(error) => return vec![Err(error)],
    };
    let root = Node::root(&document);
    let list = if root.value.is_array() {
        root.clone()
    } else {
        root.get("log_entries")
    };
    if !list.value.is_array() {
        return vec![Err(list.unexpected(
            file,
            "an array of PagerDuty log entries (`log_entries`)",
        ))];
    }
    let mut entries = list.items();
    // The API returns newest first; a timeline reads oldest first.
    let first = entries
        .first()
        .and_then(|e| e.get("created_at").req_time(file).ok());
    let last = entries
        .last()
        .and_then(|e| e.get("created_at").req_time(file).ok());
    if let (Some(first), Some(last)) = (first, last)
        && first.instant() > last.instant()
    {
        entries.reverse();
    }
    entries
        .iter()
        .map(|entry| log_entry_to_event(file, entry))
        .collect()
}

fn log_entry_to_event(file: &str, entry: &Node<'_>) -> Result<TimelineEvent, ImportError> {
    let id = entry.get("id").req_str(file, "a log entry id")?;
    let entry_type = entry
        .get("type")
        .req_str(file, "a log entry type such as `trigger_log_entry`")?;
    let at = entry.get("created_at").req_time(file)?;
    let (kind, key_moment) = log_entry_kind(entry_type);
    let summary = entry.get("summary").opt_text().unwrap_or(entry_type);
    let channel = entry.get("channel");
    let mut text = summary.to_owned();
    if entry_type == "annotate_log_entry" {
        if let Some(note) = channel.get("summary").opt_text() {
            text = format!("{summary}: {note}");
        }
    } else if let Some(description) = channel.get("description").opt_text() {
        text = format!("{summary} — {description}");
    }
    if kind == EventKind::Observation {
        text = format!("{entry_type}: {text}");
    }
    let mut result = event(
        at,
        "pagerduty",
        format!("pagerduty:log_entry:{id}"),
        kind,
        text,
    );
    result.actor = entry
        .get("agent")
        .get("summary")
        .opt_text()
        .map(str::to_owned);
    result.key_moment = key_moment;
    result.evidence_url = entry.get("html_url").opt_text().map(str::to_owned);
    Ok(result)
}

/// Parses one V3 webhook body: `{"event": {"event_type", "occurred_at", "agent", "data"}}`.
pub(crate) fn parse_webhook(
    file: &str,
    bytes: &[u8],
    _options: &ImportOptions,
) -> Vec<Result<TimelineEvent, ImportError>> {
    let document = match parse_json_document(file, bytes) {
        Ok(document) => document,
        Err(error) => return vec![Err(error)],
    };
    vec![webhook_to_event(file, &Node::root(&document).get("event"))]
}

fn webhook_to_event(file: &str, body: &Node<'_>) -> Result<TimelineEvent, ImportError> {
    if !body.value.is_object() {
        return Err(body.unexpected(file, "a PagerDuty V3 webhook `event` object"));
    }
    let id = body.get("id").req_str(file, "a webhook event id")?;
    let event_type = body
        .get("event_type")
        .req_str(file, "an event type such as `incident.triggered`")?;
    let at = body.get("occurred_at").req_time(file)?;
    let data = body.get("data");
    let (kind, key_moment) = match event_type {
        "incident.triggered" => (EventKind::Alert, true),
        "incident.acknowledged" | "incident.resolved" => (EventKind::Action, true),
        "incident.annotated" => (EventKind::Diagnosis, false),
        "incident.escalated" | "incident.reassigned" | "incident.delegated" => {
            (EventKind::Communication, false)
        }
        _ => (EventKind::Observation, false),
    };
    // `incident.annotated` carries an incident_note (`content`), not an incident.
    let detail = data
        .get("content")
        .opt_text()
        .or(data.get("title").opt_text())
        .or(data.get("summary").opt_text());
    let text = match detail {
        Some(detail) => format!("{event_type}: {detail}"),
        None => event_type.to_owned(),
    };
    let mut result = event(
        at,
        "pagerduty",
        format!("pagerduty:webhook:{id}"),
        kind,
        text,
    );
    result.actor = body
        .get("agent")
        .get("summary")
        .opt_text()
        .map(str::to_owned);
    result.key_moment = key_moment;
    result.evidence_url = data
        .get("html_url")
        .opt_text()
        .or(data.get("incident").get("html_url").opt_text())
        .map(str::to_owned);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(json: &str) -> Vec<Result<TimelineEvent, ImportError>> {
        parse_log_entries(
            "log_entries.json",
            json.as_bytes(),
            &ImportOptions::default(),
        )
    }

    #[test]
    fn newest_first_entries_come_out_oldest_first_keeping_same_second_order() {
        let events = entries(
            r#"{"log_entries":[
              {"id":"R3","type":"notify_log_entry","summary":"Notified","created_at":"2024-03-30T19:43:52-04:00"},
              {"id":"R2","type":"assign_log_entry","summary":"Assigned","created_at":"2024-03-30T19:43:51-04:00"},
              {"id":"R1","type":"trigger_log_entry","summary":"Triggered","created_at":"2024-03-30T19:43:51-04:00"}]}"#,
        );
        let refs: Vec<&str> = events
            .iter()
            .map(|e| e.as_ref().unwrap().source_ref.as_str())
            .collect();
        assert_eq!(
            refs,
            [
                "pagerduty:log_entry:R1",
                "pagerduty:log_entry:R2",
                "pagerduty:log_entry:R3"
            ]
        );
        let first = events[0].as_ref().unwrap();
        assert_eq!(first.at.to_string(), "2024-03-30T19:43:51-04:00");
        assert_eq!(first.kind, EventKind::Alert);
    }

    #[test]
    fn the_bad_sample_keeps_odd_types_and_names_missing_or_zone_less_times() {
        let events = entries(include_str!(
            "../../../../shared/samples/pagerduty/bad/incident_log_entries.json"
        ));
        let ack = events[0].as_ref().unwrap();
        assert_eq!(
            ack.kind,
            EventKind::Action,
            "acknowledgement_log_entry is an acknowledgement"
        );
        let zoneless = events[1].as_ref().unwrap_err().to_string();
        assert!(
            zoneless.contains(".log_entries[1].created_at")
                && zoneless.contains("2024-03-30T23:43:51"),
            "{zoneless}"
        );
        assert!(
            events[2]
                .as_ref()
                .unwrap()
                .text
                .starts_with("some_future_log_entry")
        );
        let missing = events[3].as_ref().unwrap_err().to_string();
        assert!(
            missing.contains(".log_entries[3].created_at") && missing.contains("nothing"),
            "{missing}"
        );
    }

    #[test]
    fn a_truncated_webhook_is_malformed_json_with_a_line() {
        let events = parse_webhook(
            "w.json",
            br#"{"event": {"id": "01HT", "event_type": "incident.res"#,
            &ImportOptions::default(),
        );
        assert!(matches!(events[0], Err(ImportError::Json { .. })));
    }

    #[test]
    fn an_annotated_webhook_carries_the_note_text() {
        let body = br#"{"event":{"id":"E1","event_type":"incident.annotated","occurred_at":"2024-03-31T00:47:12.040Z",
            "agent":null,"data":{"content":"Suspected trigger","type":"incident_note"}}}"#;
        let event = parse_webhook("w.json", body, &ImportOptions::default())
            .remove(0)
            .unwrap();
        assert_eq!(event.text, "incident.annotated: Suspected trigger");
        assert_eq!(event.actor, None);
    }
}
