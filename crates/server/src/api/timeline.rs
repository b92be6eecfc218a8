//! `/api/v1/incidents/{id}/events`: an incident's timeline: list, add one event by hand, mark
//! one (key moment, hidden, kind), and import a file of traces.
//!
//! Imports take the file as the raw request body, write it to a private temporary file (the
//! importers in `secondstory-import` read paths, and detect formats from content), and stream
//! its events into the store in batches inside one transaction, like `secondstory timeline
//! import`: a bad record leaves nothing written unless `skip_invalid` is set.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use secondstory_domain::{EventKind, EventSource, TimelineEvent};
use secondstory_import::{EventStream, Format, ImportItem, ImportOptions};
use secondstory_store::{EventChange, EventFeed};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::EventBody;
use super::{audit, parse_time, visible_incident};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_events, add_event))
        .routes(routes!(change_event))
        .routes(routes!(import_events))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListEventsParams {
    /// Include events hidden from the review.
    include_hidden: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub items: Vec<EventBody>,
}

/// The timeline in merge order (time, then source).
#[utoipa::path(get, path = "/api/v1/incidents/{id}/events", tag = "timeline",
    params(("id" = String, Path, description = "Incident id"), ListEventsParams),
    responses((status = 200, body = EventList), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem)))]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<ListEventsParams>,
) -> ApiResult<Json<EventList>> {
    let who = caller.viewer()?;
    let incident = visible_incident(&state, &who, &id).await?;
    let all = params.include_hidden.unwrap_or(false);
    let items = state
        .store
        .events(&incident.id)
        .await?
        .iter()
        .filter(|e| all || !e.hidden)
        .map(EventBody::from)
        .collect();
    Ok(Json(EventList { items }))
}

/// One event added by hand.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEventBody {
    /// RFC 3339 with offset, RFC 9557 with zone, or `now`.
    pub at: String,
    pub text: String,
    /// alert, detection, diagnosis, action, decision, communication, deploy or observation.
    #[serde(default)]
    pub kind: Option<String>,
    /// As written in the source; default: you.
    #[serde(default)]
    pub actor: Option<String>,
    #[serde(default)]
    pub key_moment: bool,
    #[serde(default)]
    pub evidence_url: Option<String>,
}

/// Add one event by hand (source `manual`; its `source_ref` is generated).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/events", tag = "timeline", request_body = NewEventBody,
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 201, body = EventBody), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem)))]
pub async fn add_event(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<NewEventBody>,
) -> ApiResult<(StatusCode, Json<EventBody>)> {
    let who = caller.editor()?;
    let incident = visible_incident(&state, &who, &id).await?;
    let at = parse_time(&state, "at", &body.at)?;
    let existing = state.store.events(&incident.id).await?;
    let event = TimelineEvent {
        // Manual events are identified by their time and position, as the CLI does.
        source_ref: format!(
            "manual:{}:{}",
            at.instant().as_microsecond(),
            existing.len() + 1
        ),
        at,
        source: EventSource::manual(),
        actor: body
            .actor
            .filter(|a| !a.trim().is_empty())
            .or_else(|| Some(who.name().to_owned())),
        kind: body.kind.as_deref().unwrap_or("observation").parse()?,
        text: body.text.trim().to_owned(),
        key_moment: body.key_moment,
        hidden: false,
        evidence_url: body.evidence_url.filter(|u| !u.is_empty()),
    };
    event.validate()?;
    state
        .store
        .add_events(&incident.id, std::slice::from_ref(&event))
        .await?;
    audit(
        &state,
        &who,
        "event.add",
        incident.id.as_str(),
        serde_json::json!({"source_ref": event.source_ref}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(EventBody::from(&event))))
}

/// Flags to change on an event; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EventPatchBody {
    #[serde(default)]
    pub key_moment: Option<bool>,
    #[serde(default)]
    pub hidden: Option<bool>,
    #[serde(default)]
    pub kind: Option<String>,
}

/// Mark an event as a key moment, hide it, or change its kind (found by its `source_ref`).
#[utoipa::path(patch, path = "/api/v1/incidents/{id}/events/{source_ref}", tag = "timeline",
    request_body = EventPatchBody,
    params(("id" = String, Path, description = "Incident id"),
        ("source_ref" = String, Path, description = "The event's source_ref (URL-encoded)")),
    responses((status = 200, body = EventBody), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem)))]
pub async fn change_event(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, source_ref)): Path<(String, String)>,
    Json(patch): Json<EventPatchBody>,
) -> ApiResult<Json<EventBody>> {
    let who = caller.editor()?;
    let incident = visible_incident(&state, &who, &id).await?;
    let change = EventChange {
        key_moment: patch.key_moment,
        hidden: patch.hidden,
        kind: patch
            .kind
            .as_deref()
            .map(str::parse::<EventKind>)
            .transpose()?,
    };
    let event = state
        .store
        .change_event(&incident.id, &source_ref, &change)
        .await?;
    audit(
        &state,
        &who,
        "event.change",
        incident.id.as_str(),
        serde_json::json!({"source_ref": source_ref, "key_moment": patch.key_moment,
            "hidden": patch.hidden, "kind": patch.kind}),
    )
    .await;
    Ok(Json(EventBody::from(&event)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// The file's format (slack, irc-irssi, irc-weechat, irc-znc, irc-hexchat, irc-plain,
    /// pagerduty-log-entries, pagerduty-webhook, alertmanager, grafana, opsgenie, git-log,
    /// github-deployment, github-issue, jira-issue, morgue-sql, csv, jsonl); default: detected
    /// from the content.
    format: Option<String>,
    /// IANA zone of local, zone-less times (IRC, CSV), e.g. Europe/Berlin.
    tz: Option<String>,
    /// The date of a log that has none (pasted IRC transcripts), e.g. 2024-03-30.
    date: Option<String>,
    /// Only this channel (Slack or IRC).
    channel: Option<String>,
    /// Import what can be read and list every record that could not be.
    skip_invalid: Option<bool>,
    /// Only events at or after this time (RFC 3339).
    since: Option<String>,
    /// Only events before this time (RFC 3339).
    until: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// New events added to the timeline.
    pub imported: usize,
    /// Events the timeline already had (same `source_ref`): re-imports add nothing.
    pub already_present: usize,
    /// Records that could not be read (only with `skip_invalid`), each with where and why.
    pub skipped: Vec<String>,
    /// Events read but outside `since`/`until`.
    pub outside_window: usize,
    /// The format used: as given, or as detected from the content.
    pub detected_format: String,
}

/// Events per insert batch, as in the CLI.
const BATCH: usize = 5_000;

/// Reads one stream, keeps what is in the window, and collects what was skipped.
struct UploadFeed {
    stream: EventStream,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    read: BTreeMap<String, usize>,
    outside_window: usize,
    skipped: Vec<String>,
    offered: usize,
    inserted: usize,
    /// The temporary directory's path, removed from messages: callers know the file as "upload".
    hide_prefix: String,
}

impl UploadFeed {
    fn clean(&self, message: String) -> String {
        message.replace(&self.hide_prefix, "")
    }
}

impl EventFeed for UploadFeed {
    fn next_batch(&mut self) -> Result<Option<Vec<TimelineEvent>>, String> {
        let mut batch = Vec::new();
        while batch.len() < BATCH {
            match self.stream.next() {
                None => break,
                Some(Err(e)) => return Err(self.clean(e.to_string())),
                Some(Ok(ImportItem::Skipped(skipped))) => {
                    let reason = self.clean(skipped.error.to_string());
                    self.skipped.push(reason);
                }
                Some(Ok(ImportItem::Event(event))) => {
                    *self.read.entry(event.source.to_string()).or_default() += 1;
                    let at = event.at.instant();
                    if self.since.is_none_or(|s| at >= s) && self.until.is_none_or(|u| at < u) {
                        batch.push(event);
                    } else {
                        self.outside_window += 1;
                    }
                }
            }
        }
        if batch.is_empty() {
            return Ok(None);
        }
        self.offered += batch.len();
        Ok(Some(batch))
    }

    fn inserted(&mut self, count: usize) {
        self.inserted += count;
    }
}

fn import_options(params: &ImportParams) -> ApiResult<ImportOptions> {
    let tz = params
        .tz
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(|name| {
            jiff::tz::TimeZone::get(name).map_err(|_| {
                ApiError::invalid("tz", format!("`{name}` is not an IANA time zone name"))
            })
        })
        .transpose()?;
    let date = params
        .date
        .as_deref()
        .filter(|d| !d.is_empty())
        .map(|d| {
            d.parse::<jiff::civil::Date>().map_err(|_| {
                ApiError::invalid("date", format!("`{d}` is not a date like 2024-03-30"))
            })
        })
        .transpose()?;
    let channels: Vec<String> = params
        .channel
        .iter()
        .filter(|c| !c.is_empty())
        .cloned()
        .collect();
    Ok(ImportOptions {
        tz,
        date,
        irc_channel: channels.first().cloned(),
        channels,
        skip_invalid: params.skip_invalid.unwrap_or(false),
        ..ImportOptions::default()
    })
}

/// Import a file of traces (Slack export ZIP, IRC log, PagerDuty/Alertmanager/Grafana JSON, git
/// log, CSV/JSONL, …) sent as the raw request body. All or nothing: a bad record is a 422 naming
/// where it is, and nothing is imported (unless `skip_invalid`).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/events/import", tag = "timeline",
    params(("id" = String, Path, description = "Incident id"), ImportParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file, as is"),
    responses((status = 200, body = ImportReport), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 413, body = Problem),
        (status = 422, body = Problem)))]
pub async fn import_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<ImportParams>,
    body: Bytes,
) -> ApiResult<Json<ImportReport>> {
    let who = caller.editor()?;
    let incident = visible_incident(&state, &who, &id).await?;
    let options = import_options(&params)?;
    let bound = |field: &str, value: &Option<String>| {
        value
            .as_deref()
            .filter(|v| !v.is_empty())
            .map(|v| parse_time(&state, field, v).map(|t| t.instant()))
            .transpose()
    };
    let (since, until) = (
        bound("since", &params.since)?,
        bound("until", &params.until)?,
    );
    let explicit = match params.format.as_deref().filter(|f| !f.is_empty()) {
        Some(name) => Some(Format::from_name(name).ok_or_else(|| {
            ApiError::invalid(
                "format",
                format!(
                    "`{name}` is not a format (expected one of: {})",
                    Format::ALL.map(Format::name).join(", ")
                ),
            )
        })?),
        None => None,
    };
    if body.is_empty() {
        return Err(ApiError::invalid("body", "the file is empty"));
    }
    let dir = tempfile::tempdir().map_err(|e| {
        tracing::error!(error = %e, "could not create a temporary directory for an import");
        ApiError::internal()
    })?;
    let path = dir.path().join("upload");
    std::fs::write(&path, &body).map_err(|e| {
        tracing::error!(error = %e, "could not write an upload to a temporary file");
        ApiError::internal()
    })?;
    let hide_prefix = format!("{}/", dir.path().display());
    let unreadable = |e: secondstory_import::ImportError| {
        ApiError::invalid("body", e.to_string().replace(&hide_prefix, ""))
    };
    let format = match explicit {
        Some(format) => format,
        None => secondstory_import::detect_format(&path).map_err(unreadable)?,
    };
    let stream = secondstory_import::read_events(&path, format, &options).map_err(unreadable)?;
    let mut feed = UploadFeed {
        stream,
        since,
        until,
        read: BTreeMap::new(),
        outside_window: 0,
        skipped: Vec::new(),
        offered: 0,
        inserted: 0,
        hide_prefix: hide_prefix.clone(),
    };
    let added = state
        .store
        .add_events_from(&incident.id, &mut feed)
        .await
        .map_err(|e| match e {
            secondstory_store::StoreError::FeedFailed(message) => {
                ApiError::invalid("body", format!("{message}; nothing was imported"))
            }
            other => other.into(),
        })?;
    audit(
        &state,
        &who,
        "event.import",
        incident.id.as_str(),
        serde_json::json!({"format": format.name(), "imported": added.inserted,
            "already_present": added.already_present, "read": feed.read}),
    )
    .await;
    Ok(Json(ImportReport {
        imported: added.inserted,
        already_present: added.already_present,
        skipped: feed.skipped,
        outside_window: feed.outside_window,
        detected_format: format.name().to_owned(),
    }))
}
