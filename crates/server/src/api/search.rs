//! `GET /api/v1/search`: full-text search over titles, summaries, reviews, factors and action
//! items, for the caller's eyes only (restricted incidents of other groups never match).

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::model::IncidentBody;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words to find; every word must appear (the last one as a prefix).
    q: String,
    /// At most this many results, 1–100 (default 20).
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHitBody {
    pub incident: IncidentBody,
    /// A fragment of matching text; matches are between `match_start` and `match_end`.
    pub snippet: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    pub items: Vec<SearchHitBody>,
    /// The marker before each match in snippets (U+27E6).
    pub match_start: String,
    /// The marker after each match in snippets (U+27E7).
    pub match_end: String,
}

/// Search incidents you can see, best match first.
#[utoipa::path(get, path = "/api/v1/search", tag = "search", params(SearchParams),
    responses((status = 200, body = SearchResults), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 422, body = Problem)))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<SearchParams>,
) -> ApiResult<Json<SearchResults>> {
    let who = caller.viewer()?;
    let limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 100"));
    }
    if params.q.len() > 1000 {
        return Err(ApiError::invalid("q", "is longer than 1000 bytes"));
    }
    let hits = state
        .store
        .search(&params.q, &who.audience(), limit)
        .await?;
    Ok(Json(SearchResults {
        items: hits
            .iter()
            .filter(|h| who.audience().can_see(&h.incident))
            .map(|h| SearchHitBody {
                incident: IncidentBody::from(&h.incident),
                snippet: h.snippet.clone(),
            })
            .collect(),
        match_start: secondstory_store::SEARCH_MATCH_START.to_string(),
        match_end: secondstory_store::SEARCH_MATCH_END.to_string(),
    }))
}
