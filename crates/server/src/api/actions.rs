//! Follow-up and learning: action items (per incident, and the board across incidents),
//! contributing factors and participants.
//!
//! Action items are versioned: changes need `If-Match: "action-N"`. Deleting one archives it;
//! restore brings it back. The board only lists items of incidents the caller may see.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use secondstory_domain::action::parse_due;
use secondstory_domain::{ActionItem, ActionStatus, ContributingFactor, Incident, Participant};
use secondstory_store::ActionFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::{ActionBody, FactorBody, ParticipantBody, present};
use super::{audit, etag_header, if_match, visible_incident};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_actions, add_action))
        .routes(routes!(get_action, update_action, archive_action))
        .routes(routes!(restore_action))
        .routes(routes!(action_board))
        .routes(routes!(list_factors, add_factor))
        .routes(routes!(list_participants, add_participant))
}

fn today(state: &AppState) -> jiff::civil::Date {
    state
        .now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionList {
    pub items: Vec<ActionBody>,
}

/// An incident's action items (not archived), by number.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/actions", tag = "actions",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = ActionList), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list_actions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ActionList>> {
    let who = caller.viewer()?;
    let incident = visible_incident(&state, &who, &id).await?;
    let today = today(&state);
    let items = state
        .store
        .actions(&incident.id)
        .await?
        .iter()
        .map(|a| ActionBody::new(incident.id.as_str(), a, today))
        .collect();
    Ok(Json(ActionList { items }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActionBody {
    pub title: String,
    /// A team or a person: owning a fix is not blame.
    pub owner: String,
    /// mitigate, prevent (default), detect, process or learn.
    #[serde(default)]
    pub kind: Option<String>,
    /// high, medium (default) or low.
    #[serde(default)]
    pub priority: Option<String>,
    /// Due date, like 2026-12-12.
    #[serde(default)]
    pub due: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The issue tracking the work (GitHub, Jira, …).
    #[serde(default)]
    pub external_url: Option<String>,
}

/// Add an action item; the incident numbers them 1, 2, 3, …
#[utoipa::path(post, path = "/api/v1/incidents/{id}/actions", tag = "actions", request_body = NewActionBody,
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 201, body = ActionBody, headers(("ETag" = String))), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn add_action(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<NewActionBody>,
) -> ApiResult<(StatusCode, HeaderMap, Json<ActionBody>)> {
    let who = caller.editor()?;
    let incident = visible_incident(&state, &who, &id).await?;
    let action = ActionItem {
        number: 0,
        title: body.title.trim().to_owned(),
        description: body.description.unwrap_or_default(),
        kind: body.kind.as_deref().unwrap_or("prevent").parse()?,
        owner: body.owner.trim().to_owned(),
        priority: body.priority.as_deref().unwrap_or("medium").parse()?,
        due: body
            .due
            .as_deref()
            .filter(|d| !d.is_empty())
            .map(parse_due)
            .transpose()?,
        status: ActionStatus::Open,
        external_url: body.external_url.filter(|u| !u.is_empty()),
        version: 0,
    };
    action.validate()?;
    let stored = state.store.add_action(&incident.id, &action).await?;
    audit(
        &state,
        &who,
        "action.create",
        &format!("{}#{}", incident.id, stored.number),
        serde_json::json!({"title": stored.title}),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        etag_header("action", stored.version),
        Json(ActionBody::new(
            incident.id.as_str(),
            &stored,
            today(&state),
        )),
    ))
}

async fn find_action(state: &AppState, incident: &Incident, number: i64) -> ApiResult<ActionItem> {
    state
        .store
        .actions(&incident.id)
        .await?
        .into_iter()
        .find(|a| a.number == number)
        .ok_or_else(|| ApiError::not_found("action item", &format!("{}#{number}", incident.id)))
}

/// One action item. The ETag is what `PATCH` needs in `If-Match`.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/actions/{number}", tag = "actions",
    params(("id" = String, Path, description = "Incident id"), ("number" = i64, Path, description = "Action item number")),
    responses((status = 200, body = ActionBody, headers(("ETag" = String))), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_action(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, number)): Path<(String, i64)>,
) -> ApiResult<(HeaderMap, Json<ActionBody>)> {
    let who = caller.viewer()?;
    let incident = visible_incident(&state, &who, &id).await?;
    let action = find_action(&state, &incident, number).await?;
    Ok((
        etag_header("action", action.version),
        Json(ActionBody::new(
            incident.id.as_str(),
            &action,
            today(&state),
        )),
    ))
}

/// Fields to change; absent fields stay as they are, `null` clears `due` or `external_url`.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ActionPatchBody {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub due: Option<Option<String>>,
    /// open, in-progress, done or wont-do (with `reason`).
    #[serde(default)]
    pub status: Option<String>,
    /// Why an item is closed as wont-do.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub external_url: Option<Option<String>>,
}

/// Change an action item. Needs `If-Match: "action-N"`.
#[utoipa::path(patch, path = "/api/v1/incidents/{id}/actions/{number}", tag = "actions", request_body = ActionPatchBody,
    params(("id" = String, Path, description = "Incident id"), ("number" = i64, Path, description = "Action item number"),
        ("If-Match" = String, Header, description = "The ETag you read, e.g. \"action-2\"")),
    responses((status = 200, body = ActionBody, headers(("ETag" = String))), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 412, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem),
        (status = 428, body = Problem)))]
pub async fn update_action(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, number)): Path<(String, i64)>,
    headers: HeaderMap,
    Json(patch): Json<ActionPatchBody>,
) -> ApiResult<(HeaderMap, Json<ActionBody>)> {
    let who = caller.editor()?;
    let incident = visible_incident(&state, &who, &id).await?;
    let mut action = find_action(&state, &incident, number).await?;
    let version = if_match(&headers, "action")?;
    if version != action.version {
        return Err(ApiError::precondition_failed(format!(
            "action item {id}#{number} changed since you read it (you have version {version}, it \
             is now {})",
            action.version
        )));
    }
    if let Some(status) = &patch.status {
        action.status = ActionStatus::parse(status, patch.reason.as_deref())?;
    }
    if let Some(title) = patch.title {
        action.title = title.trim().to_owned();
    }
    if let Some(description) = patch.description {
        action.description = description;
    }
    if let Some(kind) = patch.kind {
        action.kind = kind.parse()?;
    }
    if let Some(owner) = patch.owner {
        action.owner = owner.trim().to_owned();
    }
    if let Some(priority) = patch.priority {
        action.priority = priority.parse()?;
    }
    match patch.due {
        None => {}
        Some(None) => action.due = None,
        Some(Some(due)) if due.is_empty() => action.due = None,
        Some(Some(due)) => action.due = Some(parse_due(&due)?),
    }
    if let Some(url) = patch.external_url {
        action.external_url = url.filter(|u| !u.is_empty());
    }
    action.validate()?;
    let saved = state.store.update_action(&incident.id, &action).await?;
    audit(
        &state,
        &who,
        "action.update",
        &format!("{}#{number}", incident.id),
        serde_json::json!({"version": saved.version, "status": saved.status.name()}),
    )
    .await;
    Ok((
        etag_header("action", saved.version),
        Json(ActionBody::new(incident.id.as_str(), &saved, today(&state))),
    ))
}

/// Archive an action item (nothing is ever deleted; restore brings it back).
#[utoipa::path(delete, path = "/api/v1/incidents/{id}/actions/{number}", tag = "actions",
    params(("id" = String, Path, description = "Incident id"), ("number" = i64, Path, description = "Action item number")),
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn archive_action(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, number)): Path<(String, i64)>,
) -> ApiResult<StatusCode> {
    let who = caller.editor()?;
    let incident = visible_incident(&state, &who, &id).await?;
    find_action(&state, &incident, number).await?;
    state
        .store
        .set_action_archived(&incident.id, number, Some(state.now()))
        .await?;
    audit(
        &state,
        &who,
        "action.archive",
        &format!("{}#{number}", incident.id),
        serde_json::json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Restore an archived action item.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/actions/{number}/restore", tag = "actions",
    params(("id" = String, Path, description = "Incident id"), ("number" = i64, Path, description = "Action item number")),
    responses((status = 200, body = ActionBody, headers(("ETag" = String))), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn restore_action(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, number)): Path<(String, i64)>,
) -> ApiResult<(HeaderMap, Json<ActionBody>)> {
    let who = caller.editor()?;
    let incident = visible_incident(&state, &who, &id).await?;
    state
        .store
        .set_action_archived(&incident.id, number, None)
        .await
        .map_err(|e| match e {
            secondstory_store::StoreError::NotFound { .. } => {
                ApiError::not_found("action item", &format!("{}#{number}", incident.id))
            }
            other => other.into(),
        })?;
    let action = find_action(&state, &incident, number).await?;
    audit(
        &state,
        &who,
        "action.restore",
        &format!("{}#{number}", incident.id),
        serde_json::json!({}),
    )
    .await;
    Ok((
        etag_header("action", action.version),
        Json(ActionBody::new(
            incident.id.as_str(),
            &action,
            today(&state),
        )),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoardParams {
    /// open, in-progress, done or wont-do.
    status: Option<String>,
    /// A team or a person, exactly as recorded.
    owner: Option<String>,
    /// Only items past their due date and still open.
    overdue: Option<bool>,
    /// Archived items instead of live ones.
    archived: Option<bool>,
}

/// The follow-up board: action items across the incidents you can see, soonest due first.
#[utoipa::path(get, path = "/api/v1/actions", tag = "actions", params(BoardParams),
    responses((status = 200, body = ActionList), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 422, body = Problem)))]
pub async fn action_board(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<BoardParams>,
) -> ApiResult<Json<ActionList>> {
    let who = caller.viewer()?;
    let today = today(&state);
    let status = params
        .status
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| ActionStatus::parse(s, Some("listing")).map(|s| s.name().to_owned()))
        .transpose()?;
    let filter = ActionFilter {
        audience: who.audience(),
        status,
        owner: params.owner.filter(|o| !o.is_empty()),
        overdue_on: params.overdue.unwrap_or(false).then_some(today),
        archived: params.archived.unwrap_or(false),
    };
    let items = state
        .store
        .action_board(&filter)
        .await?
        .iter()
        .map(|(id, a)| ActionBody::new(id.as_str(), a, today))
        .collect();
    Ok(Json(ActionList { items }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FactorList {
    pub items: Vec<FactorBody>,
}

/// The incident's contributing factors (several, never one "root cause").
#[utoipa::path(get, path = "/api/v1/incidents/{id}/factors", tag = "factors",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = FactorList), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list_factors(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<FactorList>> {
    let who = caller.viewer()?;
    let incident = visible_incident(&state, &who, &id).await?;
    let items = state
        .store
        .factors(&incident.id)
        .await?
        .iter()
        .map(FactorBody::from)
        .collect();
    Ok(Json(FactorList { items }))
}

/// Add a contributing factor: a configured category, a description, and the events that show it.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/factors", tag = "factors", request_body = FactorBody,
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 201, body = FactorBody), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem)))]
pub async fn add_factor(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<FactorBody>,
) -> ApiResult<(StatusCode, Json<FactorBody>)> {
    let who = caller.editor()?;
    let incident = visible_incident(&state, &who, &id).await?;
    let factor = ContributingFactor::new(
        &state.config.taxonomy,
        &body.category,
        &body.description,
        body.events,
    )?;
    if !factor.events.is_empty() {
        let known: std::collections::BTreeSet<String> = state
            .store
            .events(&incident.id)
            .await?
            .into_iter()
            .map(|e| e.source_ref)
            .collect();
        if let Some((i, missing)) = factor
            .events
            .iter()
            .enumerate()
            .find(|(_, r)| !known.contains(*r))
        {
            return Err(ApiError::invalid(
                format!("events[{i}]"),
                format!("the timeline of {} has no event `{missing}`", incident.id),
            ));
        }
    }
    state.store.add_factor(&incident.id, &factor).await?;
    audit(
        &state,
        &who,
        "factor.add",
        incident.id.as_str(),
        serde_json::json!({"category": factor.category}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(FactorBody::from(&factor))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantList {
    pub items: Vec<ParticipantBody>,
}

/// The people who took part, their roles and perspectives.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/participants", tag = "participants",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = ParticipantList), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list_participants(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ParticipantList>> {
    let who = caller.viewer()?;
    let incident = visible_incident(&state, &who, &id).await?;
    let items = state
        .store
        .participants(&incident.id)
        .await?
        .iter()
        .map(ParticipantBody::from)
        .collect();
    Ok(Json(ParticipantList { items }))
}

/// Add a participant: name, role during the incident, and their perspective.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/participants", tag = "participants", request_body = ParticipantBody,
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 201, body = ParticipantBody), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 415, body = Problem), (status = 422, body = Problem)))]
pub async fn add_participant(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<ParticipantBody>,
) -> ApiResult<(StatusCode, Json<ParticipantBody>)> {
    let who = caller.editor()?;
    let incident = visible_incident(&state, &who, &id).await?;
    let participant = Participant {
        name: body.name.trim().to_owned(),
        role: body.role.trim().to_owned(),
        alias: body.alias.filter(|a| !a.trim().is_empty()),
        perspective: body.perspective,
    };
    participant.validate()?;
    state
        .store
        .add_participant(&incident.id, &participant)
        .await?;
    audit(
        &state,
        &who,
        "participant.add",
        incident.id.as_str(),
        serde_json::json!({"role": participant.role}),
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(ParticipantBody::from(&participant)),
    ))
}
