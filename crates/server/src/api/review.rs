//! `/api/v1/incidents/{id}/review`: the review document, its revisions, diffs and HTML.
//!
//! Every save is a revision with its author and time. Saves need `If-Match: "review-N"`; a stale
//! one is refused with 412 and a problem document that carries the current text and version, so
//! the editor can show a merge view instead of losing either person's words.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secondstory_domain::Incident;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{audit, etag_header, if_match, visible_incident};
use crate::auth::{Caller, Principal};
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_review, save_review))
        .routes(routes!(list_revisions))
        .routes(routes!(get_revision))
        .routes(routes!(diff_revisions))
        .routes(routes!(review_html))
}

/// Largest review accepted in one save.
const MAX_REVIEW_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewBody {
    pub markdown: String,
    /// The version the ETag carries (`"review-N"`); 0 before the first save.
    pub version: i64,
    /// How many revisions have been saved.
    pub revisions: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveReviewBody {
    pub markdown: String,
}

/// A 412 for a review: the problem, plus what the review says now, for a merge view.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewConflictProblem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The review as someone else saved it (absent when the If-Match was not a review ETag).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_markdown: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
}

impl IntoResponse for ReviewConflictProblem {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (StatusCode::PRECONDITION_FAILED, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

fn conflict(detail: String, current: &secondstory_store::ReviewDocument) -> Response {
    ReviewConflictProblem {
        kind: "about:blank".into(),
        title: "Precondition Failed".into(),
        status: 412,
        detail,
        errors: Vec::new(),
        current_markdown: Some(current.body.clone()),
        current_version: Some(current.version),
    }
    .into_response()
}

async fn reader(state: &AppState, caller: &Caller, id: &str) -> ApiResult<(Principal, Incident)> {
    let who = caller.viewer()?;
    let incident = visible_incident(state, &who, id).await?;
    Ok((who, incident))
}

/// The review document. The ETag is what `PUT` needs in `If-Match`.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/review", tag = "review",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = ReviewBody, headers(("ETag" = String))), (status = 401, body = Problem),
        (status = 404, body = Problem)))]
pub async fn get_review(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(HeaderMap, Json<ReviewBody>)> {
    let (_, incident) = reader(&state, &caller, &id).await?;
    let review = state.store.review(&incident.id).await?;
    Ok((
        etag_header("review", review.version),
        Json(ReviewBody {
            markdown: review.body,
            version: review.version,
            revisions: review.revisions,
        }),
    ))
}

/// Save the review as a new revision (author: you). Needs `If-Match: "review-N"`.
#[utoipa::path(put, path = "/api/v1/incidents/{id}/review", tag = "review", request_body = SaveReviewBody,
    params(("id" = String, Path, description = "Incident id"),
        ("If-Match" = String, Header, description = "The ETag you read, e.g. \"review-3\"")),
    responses((status = 200, body = ReviewBody, headers(("ETag" = String))), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 412, body = ReviewConflictProblem, content_type = "application/problem+json",
            description = "Someone saved first: the current text and version are included"),
        (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem),
        (status = 428, body = Problem)))]
pub async fn save_review(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<SaveReviewBody>,
) -> Result<(HeaderMap, Json<ReviewBody>), Response> {
    let fail = |e: ApiError| e.into_response();
    let who = caller.editor().map_err(fail)?;
    let incident = visible_incident(&state, &who, &id).await.map_err(fail)?;
    let current = state
        .store
        .review(&incident.id)
        .await
        .map_err(|e| fail(e.into()))?;
    let version = match if_match(&headers, "review") {
        Ok(version) => version,
        Err(e) if e.status == StatusCode::PRECONDITION_FAILED => {
            return Err(conflict(e.detail, &current));
        }
        Err(e) => return Err(fail(e)),
    };
    if body.markdown.len() > MAX_REVIEW_BYTES {
        return Err(fail(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the review is larger than 4 MiB",
        )));
    }
    if version != current.version {
        return Err(conflict(
            format!(
                "the review of {id} changed since you read it (you have version {version}, it is \
                 now {}); merge your changes into the current text and save again",
                current.version
            ),
            &current,
        ));
    }
    let saved = match state
        .store
        .save_review(
            &incident.id,
            version,
            &body.markdown,
            who.name(),
            state.now(),
        )
        .await
    {
        Ok(saved) => saved,
        Err(secondstory_store::StoreError::Conflict { .. }) => {
            let now_current = state
                .store
                .review(&incident.id)
                .await
                .map_err(|e| fail(e.into()))?;
            return Err(conflict(
                format!(
                    "the review of {id} was saved by someone else just now; merge and save again"
                ),
                &now_current,
            ));
        }
        Err(e) => return Err(fail(e.into())),
    };
    audit(
        &state,
        &who,
        "review.save",
        incident.id.as_str(),
        serde_json::json!({"version": saved.version, "bytes": saved.body.len()}),
    )
    .await;
    Ok((
        etag_header("review", saved.version),
        Json(ReviewBody {
            markdown: saved.body,
            version: saved.version,
            revisions: saved.revisions,
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionSummaryBody {
    pub number: i64,
    pub author: String,
    pub saved_at: String,
    pub bytes: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionList {
    pub items: Vec<RevisionSummaryBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionBody {
    pub number: i64,
    pub author: String,
    pub saved_at: String,
    pub markdown: String,
}

/// The review's history: every saved revision, oldest first.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/review/revisions", tag = "review",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = RevisionList), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list_revisions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RevisionList>> {
    let (_, incident) = reader(&state, &caller, &id).await?;
    let items = state
        .store
        .revisions(&incident.id)
        .await?
        .into_iter()
        .map(|r| RevisionSummaryBody {
            number: r.number,
            author: r.author,
            saved_at: r.saved_at.to_string(),
            bytes: r.bytes,
        })
        .collect();
    Ok(Json(RevisionList { items }))
}

/// One revision's text.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/review/revisions/{number}", tag = "review",
    params(("id" = String, Path, description = "Incident id"), ("number" = i64, Path, description = "Revision number, from 1")),
    responses((status = 200, body = RevisionBody), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem)))]
pub async fn get_revision(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, number)): Path<(String, i64)>,
) -> ApiResult<Json<RevisionBody>> {
    let (_, incident) = reader(&state, &caller, &id).await?;
    let revision = state.store.revision(&incident.id, number).await?;
    Ok(Json(RevisionBody {
        number: revision.number,
        author: revision.author,
        saved_at: revision.saved_at.to_string(),
        markdown: revision.body,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    /// The older revision (0 is the empty document before the first save).
    from: i64,
    /// The newer revision; default: the latest.
    to: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DiffBody {
    pub from: i64,
    pub to: i64,
    /// A unified diff (`--- revision N` / `+++ revision M`).
    pub diff: String,
}

/// A unified diff between two revisions.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/review/diff", tag = "review",
    params(("id" = String, Path, description = "Incident id"), DiffParams),
    responses((status = 200, body = DiffBody), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem)))]
pub async fn diff_revisions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<DiffParams>,
) -> ApiResult<Json<DiffBody>> {
    let (_, incident) = reader(&state, &caller, &id).await?;
    let to = match params.to {
        Some(to) => to,
        None => state.store.review(&incident.id).await?.revisions,
    };
    let text = async |number: i64| -> ApiResult<String> {
        if number == 0 {
            return Ok(String::new());
        }
        Ok(state.store.revision(&incident.id, number).await?.body)
    };
    let (old, new) = (text(params.from).await?, text(to).await?);
    Ok(Json(DiffBody {
        from: params.from,
        to,
        diff: secondstory_review::diff_unified(
            &old,
            &new,
            &format!("revision {}", params.from),
            &format!("revision {to}"),
        ),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewHtmlBody {
    /// Sanitised HTML, safe to put in a page.
    pub html: String,
    pub version: i64,
}

/// The review rendered to sanitised HTML.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/review/html", tag = "review",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = ReviewHtmlBody), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn review_html(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ReviewHtmlBody>> {
    let (_, incident) = reader(&state, &caller, &id).await?;
    let review = state.store.review(&incident.id).await?;
    Ok(Json(ReviewHtmlBody {
        html: secondstory_review::render_html(&review.body),
        version: review.version,
    }))
}
