//! `POST /api/v1/lint`: the blameless-language coach for the editor, as you type.

use axum::Json;
use axum::extract::State;
use secondstory_lint::Finding;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(lint_text))
}

/// Largest text linted in one request (a very long review is still far below this).
const MAX_TEXT_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LintRequest {
    /// Markdown, as in the review editor.
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LintFinding {
    pub rule_id: String,
    /// blame, counterfactual, judgmental, minimising, root-cause or punitive.
    pub category: String,
    /// error, warning or info.
    pub severity: String,
    /// Byte offsets into the text.
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
    /// UTF-16 code units, for editors in JavaScript.
    pub start_utf16: usize,
    pub end_utf16: usize,
    pub matched: String,
    pub message: String,
    pub reframe: String,
    /// A mechanical replacement the editor can apply, when there is one …
    pub replacement: Option<String>,
    /// … to this range (UTF-16 code units), which may be wider than the finding.
    pub replace_start_utf16: Option<usize>,
    pub replace_end_utf16: Option<usize>,
    pub doc_url: String,
    pub quoted: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LintResponse {
    pub findings: Vec<LintFinding>,
}

fn utf16_offset(text: &str, byte: usize) -> usize {
    text.get(..byte)
        .map_or(0, |prefix| prefix.encode_utf16().count())
}

fn to_body(text: &str, f: &Finding) -> LintFinding {
    LintFinding {
        rule_id: f.rule_id.clone(),
        category: f.category.to_string(),
        severity: f.severity.to_string(),
        start: f.span.start,
        end: f.span.end,
        line: f.start.line,
        column: f.start.column,
        start_utf16: utf16_offset(text, f.span.start),
        end_utf16: utf16_offset(text, f.span.end),
        matched: f.matched.clone(),
        message: f.message.clone(),
        reframe: f.reframe.clone(),
        replacement: f.fix.as_ref().map(|fix| fix.replacement.clone()),
        replace_start_utf16: f.fix.as_ref().map(|fix| utf16_offset(text, fix.span.start)),
        replace_end_utf16: f.fix.as_ref().map(|fix| utf16_offset(text, fix.span.end)),
        doc_url: f.doc_url.clone(),
        quoted: f.quoted,
    }
}

/// Lint review text for blame, counterfactuals, hindsight and judgmental wording.
#[utoipa::path(post, path = "/api/v1/lint", tag = "lint", request_body = LintRequest,
    responses((status = 200, body = LintResponse), (status = 401, body = Problem), (status = 413, body = Problem)))]
pub async fn lint_text(
    State(state): State<AppState>,
    caller: Caller,
    Json(body): Json<LintRequest>,
) -> ApiResult<Json<LintResponse>> {
    caller.viewer()?;
    if body.text.len() > MAX_TEXT_BYTES {
        return Err(ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "text is larger than 2 MiB",
        ));
    }
    let findings = state.linter.lint(&body.text);
    Ok(Json(LintResponse {
        findings: findings.iter().map(|f| to_body(&body.text, f)).collect(),
    }))
}
