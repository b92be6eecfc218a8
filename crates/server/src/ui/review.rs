//! The review editor: Markdown with the template's section prompts and the blameless coach
//! (as you type with the script, through `POST /api/v1/lint`; with a "Check wording" button
//! without it), saves as revisions based on the version the writer started from, the merge view
//! when someone else saved first (both texts kept, nothing lost), and history with diffs.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use secondstory_domain::Incident;
use secondstory_domain::review::{DEFAULT_SECTIONS, template};
use secondstory_store::{Role, StoreError};
use serde::Deserialize;

use super::diff::{DiffRow, side_by_side};
use super::{Chrome, SignedIn, TimeView, UiResult, check_csrf, page, page_with_status, see_other};
use crate::api::{audit, visible_incident};
use crate::state::AppState;

/// A finding of the coach as the no-script editor lists it.
#[derive(Debug, Clone)]
struct FindingView {
    category: String,
    line: usize,
    column: usize,
    matched: String,
    message: String,
    reframe: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "review_edit.html")]
struct EditorPage {
    chrome: Chrome,
    id: String,
    title: String,
    body: String,
    version: i64,
    sections: Vec<(&'static str, &'static str)>,
    checked: bool,
    findings: Vec<FindingView>,
    counts: Vec<(String, usize)>,
}

fn editor_page(
    state: &AppState,
    who: &SignedIn,
    incident: &Incident,
    body: String,
    version: i64,
    check: bool,
) -> EditorPage {
    let (mut findings, mut counts) = (Vec::new(), BTreeMap::<String, usize>::new());
    if check {
        for f in state.linter.lint(&body) {
            *counts.entry(f.category.to_string()).or_default() += 1;
            findings.push(FindingView {
                category: f.category.to_string(),
                line: f.start.line,
                column: f.start.column,
                matched: f.matched.clone(),
                message: f.message.clone(),
                reframe: f.reframe.clone(),
            });
        }
    }
    EditorPage {
        chrome: who.chrome(format!("Review of {}", incident.id), "incidents"),
        id: incident.id.to_string(),
        title: incident.title.clone(),
        body,
        version,
        sections: DEFAULT_SECTIONS.to_vec(),
        checked: check,
        findings,
        counts: counts.into_iter().collect(),
    }
}

pub async fn editor(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> UiResult<Response> {
    let principal = who.at_least(Role::Editor)?;
    let incident = visible_incident(&state, principal, &id).await?;
    let review = state.store.review(&incident.id).await?;
    let body = if review.version == 0 && review.body.trim().is_empty() {
        template(&incident.title)
    } else {
        review.body
    };
    Ok(page(editor_page(
        &state,
        &who,
        &incident,
        body,
        review.version,
        false,
    )))
}

#[derive(Debug, Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    body: String,
    /// The version the writer started from.
    version: i64,
    /// `save` (default) or `check` (run the coach without saving).
    #[serde(default)]
    intent: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "review_merge.html")]
struct MergePage {
    chrome: Chrome,
    id: String,
    theirs: String,
    yours: String,
    their_author: String,
    their_time: Option<TimeView>,
    current_version: i64,
    rows: Vec<DiffRow>,
}

pub async fn save(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<SaveForm>,
) -> UiResult<Response> {
    let principal = who.at_least(Role::Editor)?;
    check_csrf(principal, &form.csrf_token)?;
    let incident = visible_incident(&state, principal, &id).await?;
    // Browsers send CRLF line breaks from a textarea; the document keeps LF.
    let body = form.body.replace("\r\n", "\n");
    if form.intent == "check" {
        return Ok(page(editor_page(
            &state,
            &who,
            &incident,
            body,
            form.version,
            true,
        )));
    }
    let saved = state
        .store
        .save_review(
            &incident.id,
            form.version,
            &body,
            principal.name(),
            state.now(),
        )
        .await;
    match saved {
        Ok(doc) => {
            audit(
                &state,
                principal,
                "review.save",
                incident.id.as_str(),
                serde_json::json!({"version": doc.version}),
            )
            .await;
            Ok(see_other(&format!("/incidents/{}#review", incident.id)))
        }
        Err(StoreError::Conflict { actual, .. }) => {
            let current = state.store.review(&incident.id).await?;
            let last = state
                .store
                .revisions(&incident.id)
                .await?
                .into_iter()
                .max_by_key(|r| r.number);
            Ok(page_with_status(
                StatusCode::CONFLICT,
                MergePage {
                    chrome: who.chrome(format!("Merge the review of {}", incident.id), "incidents"),
                    id: incident.id.to_string(),
                    rows: side_by_side(&current.body, &body),
                    theirs: current.body,
                    yours: body,
                    their_author: last.as_ref().map(|r| r.author.clone()).unwrap_or_default(),
                    their_time: last.as_ref().map(|r| TimeView::new(&r.saved_at)),
                    current_version: current.version.max(actual),
                },
            ))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Clone)]
struct RevisionRow {
    number: i64,
    author: String,
    saved_at: TimeView,
    bytes: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "review_history.html")]
struct HistoryPage {
    chrome: Chrome,
    id: String,
    title: String,
    revisions: Vec<RevisionRow>,
}

pub async fn history(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> UiResult<Response> {
    let incident = visible_incident(&state, &who.0, &id).await?;
    let mut revisions: Vec<RevisionRow> = state
        .store
        .revisions(&incident.id)
        .await?
        .into_iter()
        .map(|r| RevisionRow {
            number: r.number,
            author: r.author,
            saved_at: TimeView::new(&r.saved_at),
            bytes: r.bytes,
        })
        .collect();
    revisions.sort_by_key(|r| std::cmp::Reverse(r.number));
    Ok(page(HistoryPage {
        chrome: who.chrome(
            format!("History of the review of {}", incident.id),
            "incidents",
        ),
        id: incident.id.to_string(),
        title: incident.title,
        revisions,
    }))
}

#[derive(Debug, Deserialize)]
pub struct DiffQuery {
    from: Option<i64>,
    to: Option<i64>,
}

#[derive(Template, WebTemplate)]
#[template(path = "review_diff.html")]
struct DiffPage {
    chrome: Chrome,
    id: String,
    from: i64,
    to: i64,
    rows: Vec<DiffRow>,
}

pub async fn diff(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<DiffQuery>,
) -> UiResult<Response> {
    let incident = visible_incident(&state, &who.0, &id).await?;
    let latest = state.store.review(&incident.id).await?.revisions;
    let to = query.to.unwrap_or(latest);
    let from = query.from.unwrap_or(to - 1);
    let text = |n: i64| {
        let state = state.clone();
        let id = incident.id.clone();
        async move {
            if n <= 0 {
                Ok(String::new())
            } else {
                state.store.revision(&id, n).await.map(|r| r.body)
            }
        }
    };
    let (old, new) = (text(from).await?, text(to).await?);
    Ok(page(DiffPage {
        chrome: who.chrome(
            format!("Changes to the review of {}", incident.id),
            "incidents",
        ),
        id: incident.id.to_string(),
        from,
        to,
        rows: side_by_side(&old, &new),
    }))
}
