//! Live alert ingestion: `POST /api/v1/hooks/{alertmanager,grafana,pagerduty}`.
//!
//! Monitoring systems push their notifications here while an incident is happening, so the
//! timeline writes itself. The bodies are parsed by the same importers `secondstory import` uses
//! (`secondstory_import::parse_document`), so an alert delivered live and the same alert imported
//! later from a file get the same `source_ref`, and a re-delivery adds nothing.
//!
//! Which incident an alert joins is decided by [`HookRule`]s from the configuration: the first
//! rule whose label the alert carries (with the rule's value, if it names one) picks the label;
//! the newest live (active or mitigated, not archived) incident listing that value among its
//! services gets the events; without one, a new incident is opened for the service.
//!
//! Senders are trusted machines, not people: they authenticate with a per-source webhook token
//! (`secondstory hook-token create`), or for PagerDuty with the subscription's HMAC signature;
//! user sessions and API tokens are refused here. Alerts may join a restricted incident, but the
//! answer names only its id, never its title.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use secondstory_domain::incident::NewIncident;
use secondstory_domain::{
    Incident, IncidentKind, IncidentStatus, IncidentTimes, RecordedTime, TimelineEvent, Visibility,
};
use secondstory_import::{Format, ImportError, ImportOptions, Position};
use secondstory_store::{Audience, IncidentFilter, IncidentOrder};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::Sha256;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::crypto;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::state::{AppState, HookRule};

pub const PAGERDUTY_SIGNATURE_HEADER: &str = "x-pagerduty-signature";

/// Held while a delivery finds or opens its incident, so this process opens one per service.
static OPENING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(alertmanager_hook))
        .routes(routes!(grafana_hook))
        .routes(routes!(pagerduty_hook))
}

/// What a delivery did. A restricted incident is named by its id only.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct HookResponse {
    /// The incident the events joined (or that was opened for them); absent when the body held
    /// no events.
    pub incident: Option<String>,
    pub events_added: usize,
    /// Events the incident already had: a re-delivery adds nothing.
    pub already_present: usize,
    /// True when this delivery opened the incident.
    pub opened: bool,
}

/// The senders this module accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HookSource {
    Alertmanager,
    Grafana,
    PagerDuty,
}

impl HookSource {
    /// The name hook tokens are created for (`secondstory hook-token create <name>`).
    fn name(self) -> &'static str {
        match self {
            HookSource::Alertmanager => "alertmanager",
            HookSource::Grafana => "grafana",
            HookSource::PagerDuty => "pagerduty",
        }
    }

    fn format(self) -> Format {
        match self {
            HookSource::Alertmanager => Format::Alertmanager,
            HookSource::Grafana => Format::Grafana,
            HookSource::PagerDuty => Format::PagerDutyWebhook,
        }
    }
}

/// Receive an Alertmanager webhook (`webhook_config`, version "4").
#[utoipa::path(post, path = "/api/v1/hooks/alertmanager", tag = "hooks",
    request_body(content = Object, content_type = "application/json", description = "An Alertmanager webhook body"),
    security(("bearer" = [])),
    responses((status = 202, body = HookResponse), (status = 401, body = Problem), (status = 413, body = Problem),
        (status = 422, body = Problem)))]
pub async fn alertmanager_hook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<HookResponse>)> {
    receive(&state, HookSource::Alertmanager, &headers, body).await
}

/// Receive a Grafana-managed alerting webhook (version "1").
#[utoipa::path(post, path = "/api/v1/hooks/grafana", tag = "hooks",
    request_body(content = Object, content_type = "application/json", description = "A Grafana alerting webhook body"),
    security(("bearer" = [])),
    responses((status = 202, body = HookResponse), (status = 401, body = Problem), (status = 413, body = Problem),
        (status = 422, body = Problem)))]
pub async fn grafana_hook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<HookResponse>)> {
    receive(&state, HookSource::Grafana, &headers, body).await
}

/// Receive a PagerDuty V3 webhook; a bearer webhook token or a valid `X-PagerDuty-Signature`.
#[utoipa::path(post, path = "/api/v1/hooks/pagerduty", tag = "hooks",
    request_body(content = Object, content_type = "application/json", description = "A PagerDuty V3 webhook body"),
    params(("X-PagerDuty-Signature" = Option<String>, Header, description = "v1=<hex HMAC-SHA256 of the body>")),
    security(("bearer" = [])),
    responses((status = 202, body = HookResponse), (status = 401, body = Problem), (status = 413, body = Problem),
        (status = 422, body = Problem)))]
pub async fn pagerduty_hook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<HookResponse>)> {
    receive(&state, HookSource::PagerDuty, &headers, body).await
}

fn hook_unauthorized(source: HookSource) -> ApiError {
    let how = match source {
        HookSource::PagerDuty => {
            "send a pagerduty webhook token as `Authorization: Bearer …`, or sign the body \
             (`X-PagerDuty-Signature`)"
        }
        _ => "send this source's webhook token as `Authorization: Bearer …`",
    };
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        format!(
            "{how}; create one with `secondstory hook-token create {}`",
            source.name()
        ),
    )
}

/// Who is delivering: the audit actor `hook:<source>:<token name>`, or 401.
async fn authenticate(
    state: &AppState,
    source: HookSource,
    headers: &HeaderMap,
    body: &[u8],
) -> ApiResult<String> {
    if let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        && let Some(hook) = state
            .store
            .hook_token(source.name(), &crypto::token_hash(token))
            .await?
    {
        return Ok(format!("hook:{}:{}", source.name(), hook.name));
    }
    if source == HookSource::PagerDuty
        && let Some(secret) = state.config.pagerduty_signing_secret.as_deref()
        && let Some(signatures) = headers
            .get(PAGERDUTY_SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
        && pagerduty_signature_valid(secret, signatures, body)
    {
        return Ok("hook:pagerduty:signature".to_owned());
    }
    Err(hook_unauthorized(source))
}

/// PagerDuty sends `v1=<hex>` (several, comma-separated, while a secret is being rotated); any
/// one matching the HMAC-SHA256 of the raw body with the secret is enough. Compared in constant
/// time.
pub fn pagerduty_signature_valid(secret: &str, header_value: &str, body: &[u8]) -> bool {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    header_value
        .split(',')
        .filter_map(|part| part.trim().strip_prefix("v1="))
        .filter_map(|hex_sig| hex::decode(hex_sig.trim()).ok())
        .any(|sig| {
            sig.len() == expected.len()
                && sig
                    .iter()
                    .zip(expected.iter())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        })
}

/// The signature header value PagerDuty would send for `body`: for tests and senders' tooling.
pub fn pagerduty_signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn unreadable(source: HookSource, error: &ImportError) -> ApiError {
    let position = match error {
        ImportError::Json { position, .. } | ImportError::Invalid { position, .. } => {
            match position {
                Position::File => String::new(),
                other => other.to_string(),
            }
        }
        _ => String::new(),
    };
    ApiError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        detail: format!("not a {} webhook body: {error}", source.name()),
        errors: vec![FieldError {
            field: format!("body{position}"),
            message: error.to_string(),
        }],
    }
}

async fn receive(
    state: &AppState,
    source: HookSource,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<(StatusCode, Json<HookResponse>)> {
    let body = body.map_err(|rejection| {
        ApiError::new(
            rejection.status(),
            format!(
                "could not read the body (the limit is {} bytes): {rejection}",
                state.config.max_body_bytes
            ),
        )
    })?;
    let actor = authenticate(state, source, headers, &body).await?;
    let mut events = Vec::new();
    for item in secondstory_import::parse_document(
        source.format(),
        "body",
        &body,
        &ImportOptions::default(),
    ) {
        events.push(item.map_err(|e| unreadable(source, &e))?);
    }
    if events.is_empty() {
        return Ok((
            StatusCode::ACCEPTED,
            Json(HookResponse {
                incident: None,
                events_added: 0,
                already_present: 0,
                opened: false,
            }),
        ));
    }
    // The importer accepted the body, so it is JSON; what it means for matching is read here.
    let document: Value = serde_json::from_slice(&body).map_err(|e| {
        unreadable(
            source,
            &ImportError::Json {
                file: "body".into(),
                position: Position::LineColumn(e.line() as u64, e.column() as u64),
                message: e.to_string(),
            },
        )
    })?;
    let alert = match source {
        HookSource::Alertmanager | HookSource::Grafana => alert_context(&document),
        HookSource::PagerDuty => pagerduty_context(&document),
    };
    let now = state.now();
    // Alertmanager sends several groups at once: without this, two first alerts for one service
    // could each open an incident. (Across instances the window stays, though much narrower.)
    let guard = OPENING.lock().await;
    let (incident, opened) = match target_incident(state, source, &alert).await? {
        Some(incident) => (incident, false),
        None => (
            open_incident(state, source, &actor, &alert, &events, now).await?,
            true,
        ),
    };
    drop(guard);
    let added = state.store.add_events(&incident.id, &events).await?;
    tracing::info!(
        source = source.name(),
        incident = %incident.id,
        opened,
        added = added.inserted,
        already_present = added.already_present,
        "webhook delivery"
    );
    Ok((
        StatusCode::ACCEPTED,
        Json(HookResponse {
            incident: Some(incident.id.to_string()),
            events_added: added.inserted,
            already_present: added.already_present,
            opened,
        }),
    ))
}

/// What a delivery says about where it belongs, read from the body.
#[derive(Debug, Default)]
struct AlertContext {
    /// Label sets to match rules against, most general first.
    labels: Vec<Map<String, Value>>,
    title: Option<String>,
    /// When the alerting condition began.
    started: Option<RecordedTime>,
    /// The sender's own incident page (PagerDuty), for deliveries that carry no service.
    sender_url: Option<String>,
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn alert_context(document: &Value) -> AlertContext {
    let mut context = AlertContext::default();
    if let Some(common) = document.get("commonLabels").and_then(Value::as_object) {
        context.labels.push(common.clone());
    }
    let alerts = document
        .get("alerts")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for alert in alerts {
        if let Some(labels) = alert.get("labels").and_then(Value::as_object) {
            context.labels.push(labels.clone());
        }
        if let Some(start) = alert
            .get("startsAt")
            .and_then(Value::as_str)
            .and_then(|s| RecordedTime::parse("startsAt", s).ok())
            && context
                .started
                .as_ref()
                .is_none_or(|earliest| start.instant() < earliest.instant())
        {
            context.started = Some(start);
        }
    }
    // The title comes from the first firing alert (else the first): "alertname: summary".
    let lead = alerts
        .iter()
        .find(|a| a.get("status").and_then(Value::as_str) == Some("firing"))
        .or(alerts.first());
    if let Some(lead) = lead {
        let name = lead
            .get("labels")
            .and_then(|l| l.get("alertname"))
            .and_then(text);
        let summary = lead
            .get("annotations")
            .and_then(|a| a.get("summary"))
            .and_then(text)
            .or_else(|| {
                document
                    .get("commonAnnotations")
                    .and_then(|a| a.get("summary"))
                    .and_then(text)
            });
        context.title = match (name, summary) {
            (Some(name), Some(summary)) => Some(format!("{name}: {summary}")),
            (name, summary) => name.or(summary),
        };
    }
    context
}

/// PagerDuty names services created for an integration `name (Integration)`; the part in
/// parentheses is dropped so that PagerDuty's pages and the alerts that caused them name the
/// same service.
fn pagerduty_service_name(summary: &str) -> String {
    let trimmed = summary.trim();
    if trimmed.ends_with(')')
        && let Some(open) = trimmed.rfind(" (")
        && open > 0
    {
        return trimmed[..open].trim().to_owned();
    }
    trimmed.to_owned()
}

fn pagerduty_context(document: &Value) -> AlertContext {
    let event = document.get("event").unwrap_or(&Value::Null);
    let data = event.get("data").unwrap_or(&Value::Null);
    let summary_of = |value: Option<&Value>| {
        value
            .and_then(|v| v.get("summary"))
            .and_then(text)
            .map(Value::String)
    };
    let mut labels = Map::new();
    if let Some(service) = data.get("service") {
        if let Some(name) = service.get("summary").and_then(Value::as_str) {
            labels.insert(
                "service".into(),
                Value::String(pagerduty_service_name(name)),
            );
        }
        if let Some(id) = service.get("id").and_then(text) {
            labels.insert("service_id".into(), Value::String(id));
        }
    }
    if let Some(policy) = summary_of(data.get("escalation_policy")) {
        labels.insert("escalation_policy".into(), policy);
    }
    if let Some(priority) = summary_of(data.get("priority")) {
        labels.insert("priority".into(), priority);
    }
    if let Some(team) = summary_of(data.get("teams").and_then(|t| t.get(0))) {
        labels.insert("team".into(), team);
    }
    if let Some(urgency) = data.get("urgency").and_then(text) {
        labels.insert("urgency".into(), Value::String(urgency));
    }
    let incident_type = data.get("type").and_then(Value::as_str) == Some("incident");
    let started = [
        data.get("created_at").filter(|_| incident_type),
        event.get("occurred_at"),
    ]
    .into_iter()
    .flatten()
    .filter_map(Value::as_str)
    .find_map(|s| RecordedTime::parse("created_at", s).ok());
    AlertContext {
        labels: vec![labels],
        title: data
            .get("title")
            .and_then(text)
            .or_else(|| {
                data.get("incident")
                    .and_then(|i| i.get("summary"))
                    .and_then(text)
            })
            .or_else(|| event.get("event_type").and_then(text)),
        started,
        sender_url: data
            .get("html_url")
            .filter(|_| incident_type)
            .or_else(|| data.get("incident").and_then(|i| i.get("html_url")))
            .and_then(text),
    }
}

/// The first rule whose label the alert carries with an acceptable value, and that value.
fn matching_rule<'r>(
    rules: &'r [HookRule],
    labels: &[Map<String, Value>],
) -> Option<(&'r HookRule, String)> {
    rules.iter().find_map(|rule| {
        labels.iter().find_map(|set| {
            let value = set.get(&rule.label).and_then(text)?;
            rule.value
                .as_deref()
                .is_none_or(|wanted| wanted == value)
                .then_some((rule, value))
        })
    })
}

/// The newest live incident listing `service`: active or mitigated, not archived, any
/// visibility (the sender is trusted; the answer names only the id).
async fn live_incident_for(state: &AppState, service: &str) -> ApiResult<Option<Incident>> {
    let mut found: Option<Incident> = None;
    for status in [IncidentStatus::Active, IncidentStatus::Mitigated] {
        let filter = IncidentFilter {
            audience: Audience::All,
            status: Some(status),
            service: Some(service.to_owned()),
            archived: false,
            order: IncidentOrder::Newest,
            limit: Some(1),
            ..IncidentFilter::default()
        };
        if let Some(candidate) = state
            .store
            .list_incidents(&filter)
            .await?
            .into_iter()
            .next()
            && found.as_ref().is_none_or(|f| {
                (candidate.created_at.instant(), candidate.id.as_str())
                    > (f.created_at.instant(), f.id.as_str())
            })
        {
            found = Some(candidate);
        }
    }
    Ok(found)
}

/// The live incident that already holds events from the sender's incident page: how a PagerDuty
/// note (which names no service) finds the incident its page went to.
async fn live_incident_with_evidence(state: &AppState, url: &str) -> ApiResult<Option<Incident>> {
    for status in [IncidentStatus::Active, IncidentStatus::Mitigated] {
        let filter = IncidentFilter {
            audience: Audience::All,
            status: Some(status),
            archived: false,
            order: IncidentOrder::Newest,
            limit: Some(50),
            ..IncidentFilter::default()
        };
        for incident in state.store.list_incidents(&filter).await? {
            let events = state.store.events(&incident.id).await?;
            if events
                .iter()
                .any(|e| e.evidence_url.as_deref() == Some(url))
            {
                return Ok(Some(incident));
            }
        }
    }
    Ok(None)
}

async fn target_incident(
    state: &AppState,
    source: HookSource,
    alert: &AlertContext,
) -> ApiResult<Option<Incident>> {
    if let Some((_, value)) = matching_rule(&state.config.hook_rules, &alert.labels) {
        return live_incident_for(state, &value).await;
    }
    if let Some(url) = &alert.sender_url
        && let Some(incident) = live_incident_with_evidence(state, url).await?
    {
        return Ok(Some(incident));
    }
    let mut labels: Vec<String> = alert
        .labels
        .iter()
        .flat_map(|set| set.keys().cloned())
        .collect();
    labels.sort();
    labels.dedup();
    Err(ApiError::invalid(
        "body",
        format!(
            "no hook rule matches this {} delivery (rules look for: {}; it has: {})",
            source.name(),
            state
                .config
                .hook_rules
                .iter()
                .map(|r| match &r.value {
                    Some(v) => format!("{}={v}", r.label),
                    None => r.label.clone(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            if labels.is_empty() {
                "no labels".to_owned()
            } else {
                labels.join(", ")
            }
        ),
    ))
}

fn clip(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut clipped: String = text.chars().take(max_chars - 1).collect();
    clipped.push('…');
    clipped
}

async fn open_incident(
    state: &AppState,
    source: HookSource,
    actor: &str,
    alert: &AlertContext,
    events: &[TimelineEvent],
    now: Timestamp,
) -> ApiResult<Incident> {
    let Some((rule, service)) = matching_rule(&state.config.hook_rules, &alert.labels) else {
        return Err(ApiError::internal());
    };
    let severity = state.config.severities.severity(&rule.severity).map_err(|e| {
        tracing::error!(rule = ?rule, error = %e.message, "a hook rule names an unknown severity");
        ApiError::internal()
    })?;
    // An alert that says it started in the future (a sender's clock ahead of ours) started now.
    let started = alert
        .started
        .clone()
        .or_else(|| {
            events
                .iter()
                .map(|e| e.at.clone())
                .min_by_key(|t| t.instant())
        })
        .map(|t| {
            if t.instant() > now {
                RecordedTime::utc(now)
            } else {
                t
            }
        });
    let title = clip(
        alert
            .title
            .as_deref()
            .unwrap_or(&format!("{} alert for {service}", source.name())),
        200,
    );
    let year = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).year();
    let new = NewIncident {
        id: state
            .store
            .next_incident_id(&state.config.id_prefix, year)
            .await?,
        title: title.clone(),
        kind: IncidentKind::Incident,
        severity,
        status: IncidentStatus::Active,
        services: vec![service.clone()],
        tags: Vec::new(),
        visibility: Visibility::Everyone,
        times: IncidentTimes {
            impact_started: started,
            ..IncidentTimes::default()
        },
        summary: format!("Opened by a {} webhook delivery.", source.name()),
    };
    let incident = state
        .store
        .create_incident(&Incident::new(new, now)?)
        .await?;
    if let Err(e) = state
        .store
        .record_audit(
            now,
            actor,
            "incident.create",
            incident.id.as_str(),
            &serde_json::json!({"title": title, "service": service, "via": source.name()})
                .to_string(),
        )
        .await
    {
        tracing::error!(error = %e, incident = %incident.id, "could not record an audit entry");
    }
    Ok(incident)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(label: &str, value: Option<&str>) -> HookRule {
        HookRule {
            label: label.into(),
            value: value.map(str::to_owned),
            severity: "SEV2".into(),
        }
    }

    fn labels(json: Value) -> Map<String, Value> {
        json.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_first_rule_whose_label_the_alert_has_decides() {
        let rules = [
            rule("service", Some("payments")),
            rule("service", None),
            rule("cluster", None),
        ];
        let sets = [
            labels(serde_json::json!({"cluster": "pg-orders"})),
            labels(serde_json::json!({"service": "orders-api", "cluster": "pg-orders"})),
        ];
        let (rule, value) = matching_rule(&rules, &sets).expect("a match");
        assert_eq!(
            (rule.label.as_str(), value.as_str()),
            ("service", "orders-api")
        );
        assert!(matching_rule(&rules[..1], &sets).is_none());
    }

    #[test]
    fn pagerduty_integration_suffixes_are_dropped_from_service_names() {
        assert_eq!(
            pagerduty_service_name("orders-api (Alertmanager)"),
            "orders-api"
        );
        assert_eq!(pagerduty_service_name("orders-api"), "orders-api");
        assert_eq!(pagerduty_service_name("(odd)"), "(odd)");
    }

    #[test]
    fn signatures_verify_only_with_the_secret_and_the_exact_body() {
        let body = br#"{"event":{}}"#;
        let good = pagerduty_signature("s3cret", body);
        assert!(pagerduty_signature_valid("s3cret", &good, body));
        assert!(pagerduty_signature_valid(
            "s3cret",
            &format!("v1=00ff, {good}"),
            body
        ));
        assert!(!pagerduty_signature_valid("other", &good, body));
        assert!(!pagerduty_signature_valid("s3cret", &good, b"{}"));
        assert!(!pagerduty_signature_valid("s3cret", "v1=zz", body));
        assert!(!pagerduty_signature_valid("s3cret", "", body));
    }

    #[test]
    fn an_alert_title_is_its_name_and_summary_and_it_started_at_the_earliest_alert() {
        let body = serde_json::json!({"alerts": [
            {"status": "resolved", "labels": {"alertname": "Old"}, "startsAt": "2024-03-30T23:40:00Z"},
            {"status": "firing", "labels": {"alertname": "HighErrors", "service": "api"},
             "annotations": {"summary": "5xx above 5%"}, "startsAt": "2024-03-30T23:43:19.5Z"}]});
        let context = alert_context(&body);
        assert_eq!(context.title.as_deref(), Some("HighErrors: 5xx above 5%"));
        assert_eq!(
            context.started.map(|t| t.to_string()).as_deref(),
            Some("2024-03-30T23:40:00Z")
        );
    }
}
