//! Incident pages: the list (search, filters, sorting, pages), the "new incident" form with
//! messages beside its fields, and one incident (header, review, factors, action items,
//! participants and the timeline).

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use secondstory_domain::incident::NewIncident;
use secondstory_domain::{
    ActionKind, Incident, IncidentId, IncidentKind, IncidentStatus, IncidentTimes, Priority,
    ReviewStatus, Visibility,
};
use secondstory_store::{IncidentFilter, IncidentOrder, Role};
use serde::Deserialize;

use super::timeline::{TimelineView, ZoomQuery};
use super::view::{duration, form_time, split_list, url_encode};
use super::{Chrome, SignedIn, TimeView, UiResult, check_csrf, page, page_with_status, see_other};
use crate::api::{audit, visible_incident};
use crate::state::AppState;

/// One row of the list.
#[derive(Debug, Clone)]
pub struct IncidentRow {
    pub id: String,
    pub title: String,
    pub kind: &'static str,
    pub severity: String,
    pub status: &'static str,
    pub review: &'static str,
    pub services: String,
    pub started: Option<TimeView>,
    pub restricted: bool,
}

impl IncidentRow {
    pub fn new(incident: &Incident) -> IncidentRow {
        IncidentRow {
            id: incident.id.to_string(),
            title: incident.title.clone(),
            kind: incident.kind.as_str(),
            severity: incident.severity.to_string(),
            status: incident.status.as_str(),
            review: incident.review.name(),
            services: incident.services.join(", "),
            started: TimeView::maybe(&incident.times.impact_started)
                .or_else(|| Some(TimeView::new(&incident.created_at))),
            restricted: matches!(incident.visibility, Visibility::Restricted(_)),
        }
    }
}

/// The list's query: every filter is a plain form field, so the filter form is a GET form.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    review: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    tz: String,
    page: Option<String>,
}

/// A `<select>` option.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices(values: &[&str], current: &str, any: Option<&str>) -> Vec<Choice> {
    let mut out = Vec::new();
    if let Some(any) = any {
        out.push(Choice {
            value: String::new(),
            label: any.to_owned(),
            selected: current.is_empty(),
        });
    }
    out.extend(values.iter().map(|v| Choice {
        value: (*v).to_owned(),
        label: v.replace('-', " "),
        selected: *v == current,
    }));
    out
}

#[derive(Template, WebTemplate)]
#[template(path = "incidents.html")]
struct ListPage {
    chrome: Chrome,
    query: ListQuery,
    statuses: Vec<Choice>,
    severities: Vec<Choice>,
    reviews: Vec<Choice>,
    sorts: Vec<Choice>,
    errors: BTreeMap<String, String>,
    rows: Vec<IncidentRow>,
    total: i64,
    page: i64,
    pages: i64,
    prev: Option<String>,
    next: Option<String>,
}

const PER_PAGE: i64 = 50;

fn day_bound(
    field: &str,
    text: &str,
    tz: &str,
    errors: &mut BTreeMap<String, String>,
) -> Option<jiff::Timestamp> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let full = if text.len() == 10 {
        format!("{text}T00:00")
    } else {
        text.to_owned()
    };
    match form_time(field, &full, tz) {
        Ok(t) => t.map(|t| t.instant()),
        Err(e) => {
            errors.insert(field.to_owned(), e.message);
            None
        }
    }
}

/// The store filter for a list query; problems are reported per field, never as a failure.
pub fn list_filter(
    state: &AppState,
    query: &ListQuery,
    errors: &mut BTreeMap<String, String>,
) -> IncidentFilter {
    let order = match query.sort.as_str() {
        "oldest" => IncidentOrder::Oldest,
        "impact" => IncidentOrder::ImpactStarted,
        "severity" => IncidentOrder::Severity,
        "title" => IncidentOrder::Title,
        _ => IncidentOrder::Newest,
    };
    let status = match query.status.as_str() {
        "" => None,
        s => s
            .parse::<IncidentStatus>()
            .map_err(|e| errors.insert("status".into(), e.message))
            .ok(),
    };
    let severity = match query.severity.as_str() {
        "" => None,
        s => state
            .config
            .severities
            .severity(s)
            .map(|s| s.to_string())
            .map_err(|e| errors.insert("severity".into(), e.message))
            .ok(),
    };
    let review = match query.review.as_str() {
        "" => None,
        s => {
            let reason = (s == "not-required").then_some("listing");
            ReviewStatus::parse(s, reason)
                .map(|r| r.name().to_owned())
                .map_err(|e| errors.insert("review".into(), e.message))
                .ok()
        }
    };
    let page = query
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .max(1);
    let since = day_bound("since", &query.since, &query.tz, errors);
    let until = day_bound("until", &query.until, &query.tz, errors).map(|t| {
        // A date as the upper bound includes that whole day.
        if query.until.trim().len() == 10 {
            t.checked_add(jiff::SignedDuration::from_hours(24))
                .unwrap_or(t)
        } else {
            t
        }
    });
    IncidentFilter {
        audience: Default::default(),
        status,
        severity,
        service: Some(query.service.trim().to_owned()).filter(|s| !s.is_empty()),
        tag: Some(query.tag.trim().to_owned()).filter(|s| !s.is_empty()),
        review,
        kind: None,
        text: Some(query.q.trim().to_owned()).filter(|s| !s.is_empty()),
        since,
        until,
        archived: false,
        order,
        limit: Some(PER_PAGE),
        offset: (page - 1) * PER_PAGE,
    }
}

fn page_link(query: &ListQuery, page: i64) -> String {
    let pairs = [
        ("q", &query.q),
        ("status", &query.status),
        ("severity", &query.severity),
        ("service", &query.service),
        ("tag", &query.tag),
        ("review", &query.review),
        ("since", &query.since),
        ("until", &query.until),
        ("sort", &query.sort),
        ("tz", &query.tz),
    ];
    let mut out = String::from("?");
    for (name, value) in pairs {
        if !value.is_empty() {
            out.push_str(&format!("{name}={}&", url_encode(value)));
        }
    }
    out.push_str(&format!("page={page}"));
    out
}

pub async fn list(
    State(state): State<AppState>,
    who: SignedIn,
    Query(query): Query<ListQuery>,
) -> UiResult<Response> {
    let mut errors = BTreeMap::new();
    let mut filter = list_filter(&state, &query, &mut errors);
    filter.audience = who.0.audience();
    let total = state.store.count_incidents(&filter).await?;
    let items = state.store.list_incidents(&filter).await?;
    let page_no = filter.offset / PER_PAGE + 1;
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    let severities: Vec<&str> = state
        .config
        .severities
        .levels
        .iter()
        .map(|l| l.name.as_str())
        .collect();
    Ok(page(ListPage {
        chrome: who.chrome("Incidents", "incidents"),
        statuses: choices(
            &["active", "mitigated", "resolved"],
            &query.status,
            Some("Any"),
        ),
        severities: choices(&severities, &query.severity, Some("Any")),
        reviews: choices(
            &["draft", "in-review", "published", "not-required"],
            &query.review,
            Some("Any"),
        ),
        sorts: choices(
            &["newest", "oldest", "impact", "severity", "title"],
            &query.sort,
            None,
        ),
        errors,
        rows: items.iter().map(IncidentRow::new).collect(),
        total,
        page: page_no,
        pages,
        prev: (page_no > 1).then(|| page_link(&query, page_no - 1)),
        next: (page_no < pages).then(|| page_link(&query, page_no + 1)),
        query,
    }))
}

// ------------------------------------------------------------------ new incident

#[derive(Debug, Default, Clone, Deserialize)]
pub struct NewIncidentForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    services: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    restricted_to: String,
    #[serde(default)]
    impact_started: String,
    #[serde(default)]
    detected: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    tz: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "incident_new.html")]
struct NewPage {
    chrome: Chrome,
    form: NewIncidentForm,
    kinds: Vec<Choice>,
    severities: Vec<Choice>,
    statuses: Vec<Choice>,
    errors: BTreeMap<String, String>,
}

fn new_page_view(
    state: &AppState,
    who: &SignedIn,
    form: NewIncidentForm,
    errors: BTreeMap<String, String>,
) -> NewPage {
    let severities: Vec<&str> = state
        .config
        .severities
        .levels
        .iter()
        .map(|l| l.name.as_str())
        .collect();
    let default_severity = severities.get(2).copied().unwrap_or("");
    NewPage {
        chrome: who.chrome("New incident", "incidents"),
        kinds: choices(
            &["incident", "near-miss"],
            if form.kind.is_empty() {
                "incident"
            } else {
                &form.kind
            },
            None,
        ),
        severities: choices(
            &severities,
            if form.severity.is_empty() {
                default_severity
            } else {
                &form.severity
            },
            None,
        ),
        statuses: choices(
            &["active", "mitigated", "resolved"],
            if form.status.is_empty() {
                "active"
            } else {
                &form.status
            },
            None,
        ),
        form,
        errors,
    }
}

pub async fn new_page(State(state): State<AppState>, who: SignedIn) -> UiResult<Response> {
    who.at_least(Role::Editor)?;
    Ok(page(new_page_view(
        &state,
        &who,
        NewIncidentForm::default(),
        BTreeMap::new(),
    )))
}

fn new_incident(
    state: &AppState,
    form: &NewIncidentForm,
    errors: &mut BTreeMap<String, String>,
) -> Option<NewIncident> {
    let mut field = |name: &str, e: secondstory_domain::ValidationError| {
        errors.entry(name.to_owned()).or_insert(e.message);
    };
    let kind = form
        .kind
        .parse::<IncidentKind>()
        .map_err(|e| field("kind", e))
        .ok();
    let severity = state
        .config
        .severities
        .severity(&form.severity)
        .map_err(|e| field("severity", e))
        .ok();
    let status = form
        .status
        .parse::<IncidentStatus>()
        .map_err(|e| field("status", e))
        .ok();
    let impact_started = form_time("impact_started", &form.impact_started, &form.tz)
        .map_err(|e| field("impact_started", e))
        .ok();
    let detected = form_time("detected", &form.detected, &form.tz)
        .map_err(|e| field("detected", e))
        .ok();
    let groups = split_list(&form.restricted_to);
    let visibility = if groups.is_empty() {
        Some(Visibility::Everyone)
    } else {
        Visibility::restricted(groups)
            .map_err(|e| field("restricted_to", e))
            .ok()
    };
    if form.title.trim().is_empty() {
        errors.insert("title".into(), "give the incident a title".into());
    }
    Some(NewIncident {
        id: IncidentId::numbered(&state.config.id_prefix, 2000, 1).ok()?,
        title: form.title.clone(),
        kind: kind?,
        severity: severity?,
        status: status?,
        services: split_list(&form.services),
        tags: split_list(&form.tags),
        visibility: visibility?,
        times: IncidentTimes {
            impact_started: impact_started?,
            detected: detected?,
            ..IncidentTimes::default()
        },
        summary: form.summary.trim().to_owned(),
    })
}

pub async fn create(
    State(state): State<AppState>,
    who: SignedIn,
    Form(form): Form<NewIncidentForm>,
) -> UiResult<Response> {
    let principal = who.at_least(Role::Editor)?;
    check_csrf(principal, &form.csrf_token)?;
    let now = state.now();
    let mut errors = BTreeMap::new();
    let new = new_incident(&state, &form, &mut errors);
    let checked = match new {
        Some(new) if errors.is_empty() => match Incident::new(new.clone(), now) {
            Ok(_) => Some(new),
            Err(e) => {
                let field = e.field.trim_start_matches("times.").to_owned();
                errors.insert(field, e.message);
                None
            }
        },
        _ => None,
    };
    let Some(mut new) = checked else {
        let view = new_page_view(&state, &who, form, errors);
        return Ok(page_with_status(StatusCode::UNPROCESSABLE_ENTITY, view));
    };
    let year = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).year();
    new.id = state
        .store
        .next_incident_id(&state.config.id_prefix, year)
        .await?;
    let incident = state
        .store
        .create_incident(&Incident::new(new, now)?)
        .await?;
    audit(
        &state,
        principal,
        "incident.create",
        incident.id.as_str(),
        serde_json::json!({"title": incident.title}),
    )
    .await;
    Ok(see_other(&format!("/incidents/{}", incident.id)))
}

// ------------------------------------------------------------------ one incident

#[derive(Debug, Clone)]
pub struct TimeRow {
    pub label: &'static str,
    pub time: Option<TimeView>,
    pub since_start: String,
}

#[derive(Debug, Clone)]
pub struct FactorRow {
    pub category: String,
    pub description: String,
    pub events: usize,
}

#[derive(Debug, Clone)]
pub struct ActionRow {
    pub number: i64,
    pub title: String,
    pub owner: String,
    pub kind: &'static str,
    pub priority: &'static str,
    pub due: String,
    pub status: &'static str,
    pub overdue: bool,
    pub external_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ParticipantRow {
    pub name: String,
    pub role: String,
    pub perspective: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "incident.html")]
struct IncidentPage {
    chrome: Chrome,
    head: IncidentRow,
    summary: String,
    tags: String,
    restricted_to: String,
    times: Vec<TimeRow>,
    review_html: String,
    review_version: i64,
    factors: Vec<FactorRow>,
    actions: Vec<ActionRow>,
    participants: Vec<ParticipantRow>,
    timeline: TimelineView,
    action_kinds: Vec<&'static str>,
    priorities: Vec<&'static str>,
}

pub async fn show(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    Query(zoom): Query<ZoomQuery>,
) -> UiResult<Response> {
    let incident = visible_incident(&state, &who.0, &id).await?;
    let (events, review, factors, actions, participants) = (
        state.store.events(&incident.id).await?,
        state.store.review(&incident.id).await?,
        state.store.factors(&incident.id).await?,
        state.store.actions(&incident.id).await?,
        state.store.participants(&incident.id).await?,
    );
    let today = state
        .now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let start = incident.times.impact_started.clone();
    let times = incident
        .times
        .named()
        .into_iter()
        .map(|(name, time)| TimeRow {
            label: match name {
                "impact_started" => "Impact started",
                "detected" => "Detected",
                "responded" => "Responded",
                "mitigated" => "Mitigated",
                _ => "Resolved",
            },
            time: TimeView::maybe(time),
            since_start: match (&start, time) {
                (Some(s), Some(t)) if name != "impact_started" => {
                    format!("+{}", duration(t.instant().duration_since(s.instant())))
                }
                _ => String::new(),
            },
        })
        .collect();
    let restricted_to = match &incident.visibility {
        Visibility::Everyone => String::new(),
        Visibility::Restricted(groups) => groups.join(", "),
    };
    Ok(page(IncidentPage {
        chrome: who.chrome(format!("{} {}", incident.id, incident.title), "incidents"),
        head: IncidentRow::new(&incident),
        summary: incident.summary.clone(),
        tags: incident.tags.join(", "),
        restricted_to,
        times,
        review_html: secondstory_review::render_html(&review.body),
        review_version: review.version,
        factors: factors
            .iter()
            .map(|f| FactorRow {
                category: f.category.replace('-', " "),
                description: f.description.clone(),
                events: f.events.len(),
            })
            .collect(),
        actions: actions.iter().map(|a| action_row(a, today)).collect(),
        participants: participants
            .iter()
            .map(|p| ParticipantRow {
                name: p.name.clone(),
                role: p.role.clone(),
                perspective: p.perspective.clone(),
            })
            .collect(),
        timeline: super::timeline::view(&incident, &events, &zoom),
        action_kinds: ActionKind::ALL.iter().map(|k| k.as_str()).collect(),
        priorities: Priority::ALL.iter().map(|p| p.as_str()).collect(),
    }))
}

pub fn action_row(a: &secondstory_domain::ActionItem, today: jiff::civil::Date) -> ActionRow {
    ActionRow {
        number: a.number,
        title: a.title.clone(),
        owner: a.owner.clone(),
        kind: a.kind.as_str(),
        priority: a.priority.as_str(),
        due: a.due.map(|d| d.to_string()).unwrap_or_default(),
        status: a.status.name(),
        overdue: a.is_overdue(today),
        external_url: a.external_url.clone(),
    }
}
