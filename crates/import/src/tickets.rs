//! Tickets and pages outside PagerDuty: Opsgenie webhooks, Jira issues and GitHub issues.
//!
//! These mark moments of the response (an Opsgenie alert created, acknowledged, closed) or of its
//! follow-up (the action items filed in Jira or GitHub). Each file is one document; each yields
//! one event with a `source_ref` from the tool's own id.

use jiff::Timestamp;
use secondstory_domain::time::RecordedTime;
use secondstory_domain::timeline::{EventKind, TimelineEvent};

use crate::ImportOptions;
use crate::common::{Node, event, parse_json_document};
use crate::error::ImportError;

fn one(
    file: &str,
    bytes: &[u8],
    convert: fn(&str, &Node<'_>) -> Result<TimelineEvent, ImportError>,
) -> Vec<Result<TimelineEvent, ImportError>> {
    match parse_json_document(file, bytes) {
        Ok(document) => vec![convert(file, &Node::root(&document))],
        Err(error) => vec![Err(error)],
    }
}

pub(crate) fn parse_opsgenie(
    file: &str,
    bytes: &[u8],
    _options: &ImportOptions,
) -> Vec<Result<TimelineEvent, ImportError>> {
    one(file, bytes, opsgenie_to_event)
}

/// Opsgenie: `action` happened at `alert.updatedAt`, which is in **nanoseconds** (while
/// `createdAt` is in milliseconds).
fn opsgenie_to_event(file: &str, root: &Node<'_>) -> Result<TimelineEvent, ImportError> {
    let action = root
        .get("action")
        .req_str(file, "an Opsgenie action such as `Create`")?;
    let alert = root.get("alert");
    let updated = alert.get("updatedAt");
    let nanos = updated.value.as_i64().ok_or_else(|| {
        updated.unexpected(file, "`updatedAt` as integer nanoseconds since the epoch")
    })?;
    let instant = Timestamp::from_microsecond(nanos.div_euclid(1000))
        .map_err(|_| updated.unexpected(file, "nanoseconds within the representable range"))?;
    let alert_id = alert.get("alertId").req_str(file, "an Opsgenie alert id")?;
    let tiny_id = alert.get("tinyId").opt_text().unwrap_or("?");
    let message = alert.get("message").opt_text().unwrap_or("");
    let kind = match action {
        "Create" => EventKind::Alert,
        "Acknowledge" | "Close" | "AssignOwnership" | "TakeOwnership" | "Escalate" => {
            EventKind::Action
        }
        "AddNote" => EventKind::Diagnosis,
        _ => EventKind::Observation,
    };
    let text = format!("alert {action} (tinyId {tiny_id}): {message}");
    let mut result = event(
        RecordedTime::utc(instant),
        "opsgenie",
        format!("opsgenie:{alert_id}:{action}:{nanos}"),
        kind,
        text,
    );
    result.actor = alert.get("username").opt_text().map(str::to_owned);
    Ok(result)
}

pub(crate) fn parse_jira_issue(
    file: &str,
    bytes: &[u8],
    _options: &ImportOptions,
) -> Vec<Result<TimelineEvent, ImportError>> {
    one(file, bytes, jira_to_event)
}

/// Jira `GET /rest/api/2|3/issue/{key}`: the issue's creation (`fields.created`, offset without
/// colon) with its summary, status and due date.
fn jira_to_event(file: &str, root: &Node<'_>) -> Result<TimelineEvent, ImportError> {
    let key = root
        .get("key")
        .req_str(file, "a Jira issue key such as `OPS-482`")?;
    let fields = root.get("fields");
    let at = fields.get("created").req_time(file)?;
    let summary = fields.get("summary").opt_text().unwrap_or("");
    let mut text = format!("{key} created");
    if let Some(due) = fields.get("duedate").opt_text() {
        text.push_str(&format!(" (due {due})"));
    }
    text.push_str(&format!(": {summary}"));
    if let Some(status) = fields.get("status").get("name").opt_text() {
        text.push_str(&format!(" [{status}]"));
    }
    if let Some(assignee) = fields.get("assignee").get("displayName").opt_text() {
        text.push_str(&format!(" — assignee {assignee}"));
    }
    let mut result = event(
        at,
        "jira",
        format!("jira:{key}:created"),
        EventKind::Decision,
        text,
    );
    result.actor = fields
        .get("reporter")
        .get("displayName")
        .opt_text()
        .or(fields.get("creator").get("displayName").opt_text())
        .map(str::to_owned);
    result.evidence_url = root
        .get("self")
        .opt_text()
        .and_then(|url| url.split("/rest/").next())
        .map(|base| format!("{base}/browse/{key}"));
    Ok(result)
}

pub(crate) fn parse_github_issue(
    file: &str,
    bytes: &[u8],
    _options: &ImportOptions,
) -> Vec<Result<TimelineEvent, ImportError>> {
    one(file, bytes, github_issue_to_event)
}

/// GitHub `POST /repos/{owner}/{repo}/issues` 201 response: the issue's creation.
fn github_issue_to_event(file: &str, root: &Node<'_>) -> Result<TimelineEvent, ImportError> {
    let number = root.get("number");
    let number = number
        .value
        .as_u64()
        .ok_or_else(|| number.unexpected(file, "an issue number"))?;
    let at = root.get("created_at").req_time(file)?;
    let title = root.get("title").opt_text().unwrap_or("");
    let html_url = root.get("html_url").req_str(file, "the issue's html_url")?;
    // `https://github.com/<owner>/<repo>/issues/<n>`: the repository is in the URL.
    let repository = html_url
        .strip_prefix("https://github.com/")
        .and_then(|rest| rest.split("/issues/").next())
        .unwrap_or(html_url);
    let short_repo = repository.rsplit('/').next().unwrap_or(repository);
    let text = format!("{short_repo}#{number} created: {title}");
    let mut result = event(
        at,
        "github",
        format!("github:issue:{repository}#{number}"),
        EventKind::Decision,
        text,
    );
    result.actor = root.get("user").get("login").opt_text().map(str::to_owned);
    result.evidence_url = Some(html_url.to_owned());
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opsgenie_uses_updated_at_nanoseconds_truncated_to_microseconds() {
        let body = br#"{"action":"Close","alert":{"alertId":"A1","tinyId":"1187","updatedAt":1711844151020000301,"createdAt":1711842230974,"message":"m"}}"#;
        let event = parse_opsgenie("o.json", body, &ImportOptions::default())
            .remove(0)
            .unwrap();
        assert_eq!(event.at.to_string(), "2024-03-31T00:15:51.02Z");
        assert_eq!(event.text, "alert Close (tinyId 1187): m");
    }

    #[test]
    fn jira_created_keeps_the_colon_less_offset_and_links_the_issue() {
        let body = br#"{"key":"OPS-482","self":"https://q.atlassian.net/rest/api/2/issue/1","fields":{"created":"2024-03-31T03:28:01.417+0200","duedate":"2024-04-12","summary":"s"}}"#;
        let event = parse_jira_issue("j.json", body, &ImportOptions::default())
            .remove(0)
            .unwrap();
        assert_eq!(event.at.to_string(), "2024-03-31T03:28:01.417+02:00");
        assert_eq!(
            event.evidence_url.as_deref(),
            Some("https://q.atlassian.net/browse/OPS-482")
        );
        assert!(
            event
                .text
                .starts_with("OPS-482 created (due 2024-04-12): s")
        );
    }

    #[test]
    fn a_github_issue_without_number_names_the_field() {
        let error = parse_github_issue(
            "i.json",
            br#"{"created_at":"2024-03-31T01:29:12Z"}"#,
            &ImportOptions::default(),
        )
        .remove(0)
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("i.json.number: expected an issue number, found nothing"),
            "{error}"
        );
    }
}
