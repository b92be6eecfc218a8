//! Alert notifications: Prometheus Alertmanager webhooks (version "4") and Grafana-managed
//! alerting webhooks (Alertmanager-shaped, version "1").
//!
//! Each alert in a body becomes one event: a firing alert at its `startsAt`, a resolved one at its
//! `endsAt` (Go's zero time `0001-01-01T00:00:00Z` means "no end yet" and is never an instant).
//! The group `status` is ignored: a "firing" group can carry a resolved alert. The same alert is
//! re-sent with every group notification, so `source_ref` is fingerprint + start + status and
//! the repeats merge away.

use secondstory_domain::time::RecordedTime;
use secondstory_domain::timeline::{EventKind, TimelineEvent};

use crate::ImportOptions;
use crate::common::{Node, event, parse_json_document};
use crate::error::ImportError;

pub(crate) fn parse_alertmanager(
    file: &str,
    bytes: &[u8],
    _options: &ImportOptions,
) -> Vec<Result<TimelineEvent, ImportError>> {
    parse_alert_body(file, bytes, "alertmanager")
}

pub(crate) fn parse_grafana(
    file: &str,
    bytes: &[u8],
    _options: &ImportOptions,
) -> Vec<Result<TimelineEvent, ImportError>> {
    parse_alert_body(file, bytes, "grafana")
}

fn parse_alert_body(
    file: &str,
    bytes: &[u8],
    source_name: &'static str,
) -> Vec<Result<TimelineEvent, ImportError>> {
    let document = match parse_json_document(file, bytes) {
        Ok(document) => document,
        Err(error) => return vec![Err(error)],
    };
    let root = Node::root(&document);
    if source_name == "alertmanager" {
        let version = root.get("version");
        if version.opt_str() != Some("4") {
            return vec![Err(version.unexpected(
                file,
                "an Alertmanager webhook body with version \"4\"",
            ))];
        }
    }
    let alerts = root.get("alerts");
    if !alerts.value.is_array() {
        return vec![Err(alerts.unexpected(file, "an array of alerts"))];
    }
    alerts
        .items()
        .iter()
        .map(|alert| alert_to_event(file, alert, source_name))
        .collect()
}

/// Go's zero `time.Time`, which Alertmanager writes for "not ended".
fn is_go_zero_time(time: &RecordedTime) -> bool {
    time.instant().as_second() < -62_000_000_000
}

fn alert_to_event(
    file: &str,
    alert: &Node<'_>,
    source_name: &'static str,
) -> Result<TimelineEvent, ImportError> {
    let status_node = alert.get("status");
    let status = status_node.req_str(file, "an alert status (`firing` or `resolved`)")?;
    let starts_at = alert.get("startsAt").req_time(file)?;
    let labels = alert.get("labels");
    let alertname = labels
        .get("alertname")
        .opt_text()
        .unwrap_or("(unnamed alert)");
    let (at, kind) = match status {
        "firing" => (starts_at.clone(), EventKind::Alert),
        "resolved" => {
            let ends = alert.get("endsAt");
            let ends_at = ends.req_time(file)?;
            if is_go_zero_time(&ends_at) {
                return Err(ends.unexpected(
                    file,
                    "the end time of a resolved alert (not Go's zero time)",
                ));
            }
            (ends_at, EventKind::Observation)
        }
        _ => return Err(status_node.unexpected(file, "an alert status `firing` or `resolved`")),
    };
    let fingerprint = match alert.get("fingerprint").opt_text() {
        Some(fingerprint) => fingerprint.to_owned(),
        // Without a fingerprint the label set is the alert's identity (that is what Alertmanager
        // hashes to make one).
        None => format!(
            "labels-{:016x}",
            crate::common::stable_hash(&labels.value.to_string())
        ),
    };
    let mut text = format!("{alertname} {status}");
    let annotations = alert.get("annotations");
    if let Some(summary) = annotations.get("summary").opt_text() {
        text.push_str(": ");
        text.push_str(summary);
    }
    if let Some(labels) = labels.value.as_object() {
        let shown: Vec<String> = labels
            .iter()
            .filter(|(key, _)| key.as_str() != "alertname")
            .map(|(key, value)| format!("{key}={}", value.as_str().unwrap_or(&value.to_string())))
            .collect();
        if !shown.is_empty() {
            text.push_str(&format!(" · labels: {}", shown.join(", ")));
        }
    }
    if let Some(annotations) = annotations.value.as_object() {
        let shown: Vec<String> = annotations
            .iter()
            .filter(|(key, _)| key.as_str() != "summary")
            .map(|(key, value)| format!("{key}={}", value.as_str().unwrap_or(&value.to_string())))
            .collect();
        if !shown.is_empty() {
            text.push_str(&format!(" · annotations: {}", shown.join(", ")));
        }
    }
    if let Some(values) = alert.get("valueString").opt_text() {
        text.push_str(&format!(" · values: {values}"));
    }
    let source_ref = format!(
        "{source_name}:{fingerprint}:{}:{status}",
        starts_at.as_micros()
    );
    let mut result = event(at, source_name, source_ref, kind, text);
    result.evidence_url = alert
        .get("panelURL")
        .opt_text()
        .or(alert.get("dashboardURL").opt_text())
        .or(alert.get("generatorURL").opt_text())
        .filter(|url| url.starts_with("http"))
        .map(str::to_owned);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firing_is_at_start_resolved_at_end_whatever_the_group_status() {
        let body = br#"{"version":"4","status":"firing","alerts":[
            {"status":"resolved","labels":{"alertname":"A","env":"prod"},"annotations":{"summary":"s \u003e 1"},
             "startsAt":"2024-03-30T23:42:04.118Z","endsAt":"2024-03-30T23:57:04.118Z","fingerprint":"f1"},
            {"status":"firing","labels":{"alertname":"B"},"annotations":{},
             "startsAt":"2024-03-30T23:42:34.50214337Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"f2"}]}"#;
        let events: Vec<TimelineEvent> =
            parse_alertmanager("a.json", body, &ImportOptions::default())
                .into_iter()
                .map(Result::unwrap)
                .collect();
        assert_eq!(events[0].at.to_string(), "2024-03-30T23:57:04.118Z");
        assert_eq!(events[0].text, "A resolved: s > 1 · labels: env=prod");
        assert_eq!(events[1].at.to_string(), "2024-03-30T23:42:34.502143Z");
        assert_eq!(events[1].kind, EventKind::Alert);
        assert!(
            events[1].source_ref.starts_with("alertmanager:f2:")
                && events[1].source_ref.ends_with(":firing")
        );
    }

    #[test]
    fn the_bad_samples_name_the_alert_field_and_the_version() {
        let bad_times =
            include_bytes!("../../../../shared/samples/alertmanager/bad/bad-timestamps.json");
        let errors: Vec<String> =
            parse_alertmanager("bad.json", bad_times, &ImportOptions::default())
                .into_iter()
                .map(|e| e.unwrap_err().to_string())
                .collect();
        assert!(
            errors[0].starts_with("bad.json.alerts[0].startsAt: expected a time with a UTC offset"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].contains(".alerts[1].endsAt") && errors[1].contains("not-a-time"),
            "{}",
            errors[1]
        );
        let v3 = include_bytes!(
            "../../../../shared/samples/alertmanager/bad/version3-and-missing-fields.json"
        );
        let error = parse_alertmanager("v3.json", v3, &ImportOptions::default())
            .remove(0)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(".version") && error.contains("\"4\"") && error.contains("`3`"),
            "{error}"
        );
    }

    #[test]
    fn a_resolved_alert_with_go_zero_end_time_is_refused() {
        let body = br#"{"version":"1","alerts":[{"status":"resolved","labels":{"alertname":"A"},
            "startsAt":"2024-03-31T00:42:40+01:00","endsAt":"0001-01-01T00:00:00Z","fingerprint":"f"}]}"#;
        let error = parse_grafana("g.json", body, &ImportOptions::default())
            .remove(0)
            .unwrap_err()
            .to_string();
        assert!(error.contains("Go's zero time"), "{error}");
    }
}
