//! `/api/v1/incidents`: list, open, read, change, archive and restore incidents.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use secondstory_domain::incident::NewIncident;
use secondstory_domain::{
    Incident, IncidentId, IncidentKind, IncidentStatus, IncidentTimes, ReviewStatus, Visibility,
};
use secondstory_store::{IncidentFilter, IncidentOrder};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{IncidentBody, IncidentPage, IncidentPatchBody, NewIncidentBody, TimesBody};
use super::{audit, etag_header, if_match, parse_time, visible_incident};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_incidents, create_incident))
        .routes(routes!(get_incident, update_incident, archive_incident))
        .routes(routes!(restore_incident))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// active, mitigated or resolved.
    status: Option<String>,
    severity: Option<String>,
    service: Option<String>,
    tag: Option<String>,
    /// Review state: draft, in-review, published, not-required.
    review: Option<String>,
    /// incident or near-miss.
    kind: Option<String>,
    /// Words in the title.
    q: Option<String>,
    /// Impact started at or after (RFC 3339).
    since: Option<String>,
    /// Impact started before (RFC 3339).
    until: Option<String>,
    /// newest (default), oldest, impact, severity or title.
    sort: Option<String>,
    /// Archived incidents instead of live ones.
    archived: Option<bool>,
    /// 1-based page number.
    page: Option<i64>,
    /// Items per page, 1–200 (default 50).
    per_page: Option<i64>,
}

fn instant(
    state: &AppState,
    field: &str,
    value: &Option<String>,
) -> ApiResult<Option<jiff::Timestamp>> {
    value
        .as_deref()
        .map(|v| parse_time(state, field, v).map(|t| t.instant()))
        .transpose()
}

pub fn list_filter(state: &AppState, params: &ListParams) -> ApiResult<IncidentFilter> {
    let order = match params.sort.as_deref().unwrap_or("newest") {
        "newest" => IncidentOrder::Newest,
        "oldest" => IncidentOrder::Oldest,
        "impact" => IncidentOrder::ImpactStarted,
        "severity" => IncidentOrder::Severity,
        "title" => IncidentOrder::Title,
        other => {
            return Err(ApiError::invalid(
                "sort",
                format!("`{other}` is not a sort order (newest, oldest, impact, severity, title)"),
            ));
        }
    };
    let review = match params.review.as_deref() {
        None | Some("") => None,
        Some(state_name) => {
            let reason = (state_name == "not-required").then_some("listing");
            Some(ReviewStatus::parse(state_name, reason)?.name().to_owned())
        }
    };
    let per_page = params.per_page.unwrap_or(50);
    if !(1..=200).contains(&per_page) {
        return Err(ApiError::invalid("per_page", "must be between 1 and 200"));
    }
    let page = params.page.unwrap_or(1);
    if page < 1 {
        return Err(ApiError::invalid("page", "must be 1 or more"));
    }
    Ok(IncidentFilter {
        audience: Default::default(),
        status: params
            .status
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(str::parse::<IncidentStatus>)
            .transpose()?,
        severity: params
            .severity
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| state.config.severities.severity(s).map(|s| s.to_string()))
            .transpose()?,
        service: params.service.clone().filter(|s| !s.is_empty()),
        tag: params.tag.clone().filter(|s| !s.is_empty()),
        review,
        kind: params
            .kind
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(str::parse::<IncidentKind>)
            .transpose()?,
        text: params.q.clone().filter(|s| !s.trim().is_empty()),
        since: instant(state, "since", &params.since)?,
        until: instant(state, "until", &params.until)?,
        archived: params.archived.unwrap_or(false),
        order,
        limit: Some(per_page),
        offset: (page - 1).saturating_mul(per_page),
    })
}

/// List incidents you can see, filtered, sorted and paginated.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(ListParams),
    responses((status = 200, body = IncidentPage), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn list_incidents(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<IncidentPage>> {
    let who = caller.viewer()?;
    let mut filter = list_filter(&state, &params)?;
    filter.audience = who.audience();
    let total = state.store.count_incidents(&filter).await?;
    let items = state.store.list_incidents(&filter).await?;
    Ok(Json(IncidentPage {
        items: items.iter().map(IncidentBody::from).collect(),
        total,
        page: params.page.unwrap_or(1),
        per_page: filter.limit.unwrap_or(50),
    }))
}

fn times(state: &AppState, body: &TimesBody) -> ApiResult<IncidentTimes> {
    let one = |field: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| parse_time(state, &format!("times.{field}"), v))
            .transpose()
    };
    Ok(IncidentTimes {
        impact_started: one("impact_started", &body.impact_started)?,
        detected: one("detected", &body.detected)?,
        responded: one("responded", &body.responded)?,
        mitigated: one("mitigated", &body.mitigated)?,
        resolved: one("resolved", &body.resolved)?,
    })
}

fn visibility(groups: Option<Vec<String>>) -> ApiResult<Visibility> {
    match groups {
        None => Ok(Visibility::Everyone),
        Some(groups) => Visibility::restricted(groups)
            .map_err(|e| ApiError::invalid("restricted_to", e.message)),
    }
}

/// Open an incident (or record a near miss).
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = NewIncidentBody,
    responses((status = 201, body = IncidentBody), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_incident(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<NewIncidentBody>,
) -> ApiResult<(StatusCode, HeaderMap, Json<IncidentBody>)> {
    let who = caller.editor()?;
    let now = state.now();
    let explicit = body.id.as_deref().map(IncidentId::parse).transpose()?;
    let mut new = NewIncident {
        id: match &explicit {
            Some(id) => id.clone(),
            None => IncidentId::numbered(&state.config.id_prefix, 2000, 1)?,
        },
        title: body.title,
        kind: body.kind.as_deref().unwrap_or("incident").parse()?,
        severity: state.config.severities.severity(&body.severity)?,
        status: body.status.as_deref().unwrap_or("active").parse()?,
        services: body.services,
        tags: body.tags,
        visibility: visibility(body.restricted_to)?,
        times: times(&state, &body.times)?,
        summary: body.summary,
    };
    // Validate before reserving an id, so refused input leaves no gap in the sequence.
    Incident::new(new.clone(), now)?;
    if explicit.is_none() {
        let year = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).year();
        new.id = state
            .store
            .next_incident_id(&state.config.id_prefix, year)
            .await?;
    }
    let incident = state
        .store
        .create_incident(&Incident::new(new, now)?)
        .await?;
    audit(
        &state,
        &who,
        "incident.create",
        incident.id.as_str(),
        serde_json::json!({"title": incident.title}),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        etag_header("incident", incident.version),
        Json(IncidentBody::from(&incident)),
    ))
}

/// Read one incident. The ETag is what `PATCH` needs in `If-Match`.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents", params(("id" = String, Path, description = "Incident id, e.g. INC-2026-0042")),
    responses((status = 200, body = IncidentBody, headers(("ETag" = String))), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_incident(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(HeaderMap, Json<IncidentBody>)> {
    let who = caller.viewer()?;
    let incident = visible_incident(&state, &who, &id).await?;
    Ok((
        etag_header("incident", incident.version),
        Json(IncidentBody::from(&incident)),
    ))
}

fn patch_time(
    state: &AppState,
    field: &str,
    patch: &Option<Option<String>>,
    current: &mut Option<secondstory_domain::RecordedTime>,
) -> ApiResult<()> {
    match patch {
        None => {}
        Some(None) => *current = None,
        Some(Some(text)) => *current = Some(parse_time(state, &format!("times.{field}"), text)?),
    }
    Ok(())
}

/// Change an incident: fields, times, a status change along the lifecycle, a review workflow step.
#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "incidents", request_body = IncidentPatchBody,
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The ETag you read")),
    responses((status = 200, body = IncidentBody, headers(("ETag" = String))), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem), (status = 428, body = Problem)))]
pub async fn update_incident(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(patch): Json<IncidentPatchBody>,
) -> ApiResult<(HeaderMap, Json<IncidentBody>)> {
    let who = caller.editor()?;
    let mut incident = visible_incident(&state, &who, &id).await?;
    let version = if_match(&headers, "incident")?;
    if version != incident.version {
        return Err(ApiError::precondition_failed(format!(
            "incident {id} changed since you read it (you have version {version}, it is now {})",
            incident.version
        )));
    }
    let now = state.now();
    if let Some(title) = patch.title {
        incident.title = title.trim().to_owned();
    }
    if let Some(severity) = patch.severity {
        incident.severity = state.config.severities.severity(&severity)?;
    }
    if let Some(kind) = patch.kind {
        incident.kind = kind.parse()?;
    }
    if let Some(services) = patch.services {
        incident.services = services;
    }
    if let Some(tags) = patch.tags {
        incident.tags = tags;
    }
    if let Some(groups) = patch.restricted_to {
        incident.visibility = visibility(groups)?;
    }
    if let Some(summary) = patch.summary {
        incident.summary = summary.trim().to_owned();
    }
    if let Some(t) = &patch.times {
        patch_time(
            &state,
            "impact_started",
            &t.impact_started,
            &mut incident.times.impact_started,
        )?;
        patch_time(
            &state,
            "detected",
            &t.detected,
            &mut incident.times.detected,
        )?;
        patch_time(
            &state,
            "responded",
            &t.responded,
            &mut incident.times.responded,
        )?;
        patch_time(
            &state,
            "mitigated",
            &t.mitigated,
            &mut incident.times.mitigated,
        )?;
        patch_time(
            &state,
            "resolved",
            &t.resolved,
            &mut incident.times.resolved,
        )?;
    }
    if let Some(change) = &patch.status {
        let next: IncidentStatus = change.status.parse()?;
        let at = match &change.at {
            Some(at) => parse_time(&state, "status.at", at)?,
            None => secondstory_domain::RecordedTime::utc(now),
        };
        incident.change_status(next, at, now)?;
    }
    if let Some(review) = &patch.review {
        incident.change_review(
            ReviewStatus::parse(&review.state, review.reason.as_deref())?,
            now,
        )?;
    }
    incident.validate(now)?;
    let saved = state.store.update_incident(&incident).await?;
    audit(
        &state,
        &who,
        "incident.update",
        saved.id.as_str(),
        serde_json::json!({"version": saved.version}),
    )
    .await;
    Ok((
        etag_header("incident", saved.version),
        Json(IncidentBody::from(&saved)),
    ))
}

/// Archive an incident (nothing is ever deleted; restore brings it back).
#[utoipa::path(delete, path = "/api/v1/incidents/{id}", tag = "incidents", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn archive_incident(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let who = caller.editor()?;
    let incident = visible_incident(&state, &who, &id).await?;
    state
        .store
        .set_incident_archived(&incident.id, Some(state.now()))
        .await?;
    audit(
        &state,
        &who,
        "incident.archive",
        incident.id.as_str(),
        serde_json::json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Restore an archived incident.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/restore", tag = "incidents", params(("id" = String, Path)),
    responses((status = 200, body = IncidentBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn restore_incident(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<IncidentBody>> {
    let who = caller.editor()?;
    let incident = visible_incident(&state, &who, &id).await?;
    state
        .store
        .set_incident_archived(&incident.id, None)
        .await?;
    audit(
        &state,
        &who,
        "incident.restore",
        incident.id.as_str(),
        serde_json::json!({}),
    )
    .await;
    Ok(Json(IncidentBody::from(&incident)))
}
