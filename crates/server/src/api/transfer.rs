//! Postmortems as code over HTTP: export one incident as Markdown with front matter or JSON, and
//! import such a document back (`secondstory export` / `secondstory import`, one file at a time).
//!
//! An import is checked whole before anything is written, and may only change an incident the
//! caller can see: for any other existing id the answer is the same 404 as for a missing one.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use secondstory_review::{DocumentError, ParseContext};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{audit, visible_incident};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_incident))
        .routes(routes!(import_document))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// markdown (default: front matter plus the review) or json.
    format: Option<String>,
}

/// Export one incident with everything about it, as the CLI's `export` writes it.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/export", tag = "transfer",
    params(("id" = String, Path, description = "Incident id"), ExportParams),
    responses((status = 200, description = "The document", content(
            (String = "text/markdown"),
            (Object = "application/json"))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn export_incident(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(params): Query<ExportParams>,
) -> ApiResult<Response> {
    let who = caller.viewer()?;
    let incident = visible_incident(&state, &who, &id).await?;
    let (text, content_type, extension) = match params.format.as_deref().unwrap_or("markdown") {
        "markdown" | "md" | "" => {
            let record = state.store.record(&incident.id).await?;
            (
                secondstory_review::write_markdown(&record),
                "text/markdown; charset=utf-8",
                "md",
            )
        }
        "json" => {
            let record = state.store.record(&incident.id).await?;
            (
                secondstory_review::write_json(&record),
                "application/json",
                "json",
            )
        }
        other => {
            return Err(ApiError::invalid(
                "format",
                format!("`{other}` is not an export format (markdown or json)"),
            ));
        }
    };
    let mut response = text.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}.{extension}\"",
        incident.id
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    /// The incident the document described.
    pub id: String,
    pub created: usize,
    pub updated: usize,
    pub events_added: usize,
}

fn document_problem(e: DocumentError) -> ApiError {
    let field = e.field.clone().unwrap_or_else(|| "body".to_owned());
    let message = match e.line {
        Some(line) => format!("line {line}: {}", e.message),
        None => e.message.clone(),
    };
    ApiError {
        status: axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        detail: e.to_string(),
        errors: vec![FieldError { field, message }],
    }
}

/// Import one incident document: Markdown with front matter (`text/markdown`) or the JSON export
/// (`application/json`). Creates the incident, or replaces one you can see field by field
/// (events merged, a review revision saved when the text changed). Nothing is written on error.
#[utoipa::path(post, path = "/api/v1/import", tag = "transfer",
    request_body(description = "One exported document", content(
        (String = "text/markdown"),
        (Object = "application/json"))),
    responses((status = 200, body = ImportResult), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn import_document(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ImportResult>> {
    let who = caller.editor()?;
    let text = std::str::from_utf8(&body)
        .map_err(|e| ApiError::invalid("body", format!("not UTF-8 text: {e}")))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_json = content_type.starts_with("application/json")
        || (!content_type.starts_with("text/markdown")
            && text
                .trim_start_matches('\u{feff}')
                .trim_start()
                .starts_with('{'));
    let context = ParseContext {
        severities: &state.config.severities,
        taxonomy: &state.config.taxonomy,
        now: state.now(),
    };
    let record = if is_json {
        secondstory_review::parse_json(text, &context)
    } else {
        secondstory_review::parse_markdown(text, &context)
    }
    .map_err(document_problem)?;
    record
        .validate(
            &state.config.severities,
            &state.config.taxonomy,
            state.now(),
        )
        .map_err(ApiError::from)?;
    let id = record.incident.id.clone();
    // Replacing an incident needs the right to see it; creating one needs nothing more.
    match visible_incident(&state, &who, id.as_str()).await {
        Ok(_) => {}
        Err(e) if e.status == axum::http::StatusCode::NOT_FOUND => {
            if state.store.incident(&id).await.is_ok() {
                return Err(e);
            }
        }
        Err(e) => return Err(e),
    }
    let summary = state
        .store
        .import_records(std::slice::from_ref(&record), who.name(), state.now())
        .await?;
    audit(
        &state,
        &who,
        "incident.import",
        id.as_str(),
        serde_json::json!({"created": summary.created, "updated": summary.updated,
            "events_added": summary.events_added}),
    )
    .await;
    Ok(Json(ImportResult {
        id: id.to_string(),
        created: summary.created,
        updated: summary.updated,
        events_added: summary.events_added,
    }))
}
