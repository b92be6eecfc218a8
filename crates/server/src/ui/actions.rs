//! Action items: the board across incidents (by status, owner, due date; overdue highlighted;
//! status changed inline) and the form that adds one to an incident.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use secondstory_domain::{ActionItem, ActionStatus, action::parse_due};
use secondstory_store::{ActionFilter, Role};
use serde::Deserialize;

use super::incidents::{ActionRow, action_row};
use super::view::url_encode;
use super::{Chrome, SignedIn, UiResult, check_csrf, local_path, page, see_other};
use crate::api::{audit, visible_incident};
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone)]
struct BoardRow {
    incident: String,
    item: ActionRow,
    anchor: String,
}

#[derive(Debug, Clone)]
struct BoardColumn {
    status: &'static str,
    label: &'static str,
    rows: Vec<BoardRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "actions.html")]
struct BoardPage {
    chrome: Chrome,
    columns: Vec<BoardColumn>,
    owner: String,
    overdue_only: bool,
    sort: String,
    statuses: Vec<&'static str>,
    back: String,
    total: usize,
    overdue: usize,
}

#[derive(Debug, Default, Deserialize)]
pub struct BoardQuery {
    #[serde(default)]
    owner: String,
    overdue: Option<String>,
    #[serde(default)]
    sort: String,
}

const STATUSES: [(&str, &str); 4] = [
    ("open", "Open"),
    ("in-progress", "In progress"),
    ("done", "Done"),
    ("wont-do", "Won't do"),
];

pub async fn board(
    State(state): State<AppState>,
    who: SignedIn,
    Query(query): Query<BoardQuery>,
) -> UiResult<Response> {
    let today = state
        .now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let overdue_only = query.overdue.is_some();
    let filter = ActionFilter {
        audience: who.0.audience(),
        status: None,
        owner: Some(query.owner.trim().to_owned()).filter(|o| !o.is_empty()),
        overdue_on: overdue_only.then_some(today),
        archived: false,
    };
    let mut items = state.store.action_board(&filter).await?;
    match query.sort.as_str() {
        "owner" => items.sort_by(|a, b| a.1.owner.cmp(&b.1.owner)),
        "incident" => {}
        _ => items.sort_by_key(|(_, a)| (a.due.is_none(), a.due)),
    }
    let total = items.len();
    let overdue = items.iter().filter(|(_, a)| a.is_overdue(today)).count();
    let columns = STATUSES
        .iter()
        .map(|(status, label)| BoardColumn {
            status,
            label,
            rows: items
                .iter()
                .filter(|(_, a)| a.status.name() == *status)
                .map(|(id, a)| BoardRow {
                    incident: id.to_string(),
                    anchor: format!("a-{}-{}", id, a.number),
                    item: action_row(a, today),
                })
                .collect(),
        })
        .collect();
    let mut back = format!("/actions?sort={}", url_encode(&query.sort));
    if !query.owner.is_empty() {
        back.push_str(&format!("&owner={}", url_encode(&query.owner)));
    }
    if overdue_only {
        back.push_str("&overdue=1");
    }
    Ok(page(BoardPage {
        chrome: who.chrome("Action items", "actions"),
        columns,
        owner: query.owner,
        overdue_only,
        sort: if query.sort.is_empty() {
            "due".to_owned()
        } else {
            query.sort
        },
        statuses: STATUSES.iter().map(|(s, _)| *s).collect(),
        back,
        total,
        overdue,
    }))
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    incident: String,
    number: i64,
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
    back: Option<String>,
}

pub async fn update_status(
    State(state): State<AppState>,
    who: SignedIn,
    Form(form): Form<StatusForm>,
) -> UiResult<Response> {
    let principal = who.at_least(Role::Editor)?;
    check_csrf(principal, &form.csrf_token)?;
    let incident = visible_incident(&state, principal, &form.incident).await?;
    let mut item = state
        .store
        .actions(&incident.id)
        .await?
        .into_iter()
        .find(|a| a.number == form.number)
        .ok_or_else(|| {
            ApiError::not_found("action item", &format!("{}#{}", incident.id, form.number))
        })?;
    item.status = ActionStatus::parse(&form.status, Some(&form.reason))?;
    item.validate()?;
    let saved = state.store.update_action(&incident.id, &item).await?;
    audit(
        &state,
        principal,
        "action.update",
        &format!("{}#{}", incident.id, saved.number),
        serde_json::json!({"status": saved.status.name()}),
    )
    .await;
    let back = local_path(form.back.as_deref(), "/actions");
    Ok(see_other(&format!(
        "{back}#a-{}-{}",
        incident.id, saved.number
    )))
}

#[derive(Debug, Deserialize)]
pub struct NewActionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    external_url: String,
    #[serde(default)]
    description: String,
}

pub async fn add(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<NewActionForm>,
) -> UiResult<Response> {
    let principal = who.at_least(Role::Editor)?;
    check_csrf(principal, &form.csrf_token)?;
    let incident = visible_incident(&state, principal, &id).await?;
    let item = ActionItem {
        number: 0,
        title: form.title.trim().to_owned(),
        description: form.description.trim().to_owned(),
        kind: form.kind.parse()?,
        owner: form.owner.trim().to_owned(),
        priority: form.priority.parse()?,
        due: match form.due.trim() {
            "" => None,
            due => Some(parse_due(due)?),
        },
        status: ActionStatus::Open,
        external_url: Some(form.external_url.trim().to_owned()).filter(|u| !u.is_empty()),
        version: 0,
    };
    item.validate()?;
    let saved = state.store.add_action(&incident.id, &item).await?;
    audit(
        &state,
        principal,
        "action.create",
        &format!("{}#{}", incident.id, saved.number),
        serde_json::json!({"title": saved.title}),
    )
    .await;
    Ok(see_other(&format!("/incidents/{}#actions", incident.id)))
}
