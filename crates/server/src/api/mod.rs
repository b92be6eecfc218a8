//! The REST API under `/api/v1`: one module per resource, OpenAPI generated from the handlers.
//!
//! Conventions every handler follows: ask the [`Caller`](crate::auth::Caller) for the role it
//! needs first; reach incidents only through [`visible_incident`] (a restricted incident is "not
//! found", never "forbidden"); versioned resources carry an ETag and their updates need
//! `If-Match` (428 without, 412 when stale); record changes in the audit log.

pub mod actions;
pub mod admin;
pub mod incidents;
pub mod lint;
pub mod model;
pub mod review;
pub mod search;
pub mod session;
pub mod timeline;
pub mod transfer;

use axum::http::{HeaderMap, HeaderValue, header};
use secondstory_domain::{Incident, IncidentId, RecordedTime};
use utoipa_axum::router::OpenApiRouter;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// All `/api/v1` routes, with their OpenAPI description.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(session::routes())
        .merge(incidents::routes())
        .merge(timeline::routes())
        .merge(review::routes())
        .merge(actions::routes())
        .merge(search::routes())
        .merge(transfer::routes())
        .merge(lint::routes())
        .merge(admin::routes())
}

/// The incident, if it exists and the caller may see it; otherwise the same 404 either way.
pub async fn visible_incident(state: &AppState, who: &Principal, id: &str) -> ApiResult<Incident> {
    let missing = || ApiError::not_found("incident", id);
    let id = IncidentId::parse(id).map_err(|_| missing())?;
    let incident = match state.store.incident(&id).await {
        Ok(incident) => incident,
        Err(secondstory_store::StoreError::NotFound { .. }) => return Err(missing()),
        Err(e) => return Err(e.into()),
    };
    if who.audience().can_see(&incident) {
        Ok(incident)
    } else {
        Err(missing())
    }
}

/// A time from a request field: RFC 3339 with offset, RFC 9557 with zone, or `now`.
pub fn parse_time(state: &AppState, field: &str, text: &str) -> ApiResult<RecordedTime> {
    if text.trim().eq_ignore_ascii_case("now") {
        return Ok(RecordedTime::utc(state.now()));
    }
    RecordedTime::parse(field, text).map_err(ApiError::from)
}

/// ETags name the resource kind and version: `"incident-3"`, `"review-7"`, `"action-2"`.
pub fn etag(kind: &str, version: i64) -> String {
    format!("\"{kind}-{version}\"")
}

pub fn etag_header(kind: &str, version: i64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&etag(kind, version)) {
        headers.insert(header::ETAG, value);
    }
    headers
}

/// The version an update is based on, from `If-Match`: 428 when absent, 412 when it names
/// another resource or is not one of ours.
pub fn if_match(headers: &HeaderMap, kind: &str) -> ApiResult<i64> {
    let value = headers
        .get(header::IF_MATCH)
        .ok_or_else(ApiError::precondition_required)?;
    let text = value
        .to_str()
        .map_err(|_| ApiError::precondition_failed("If-Match is not text"))?;
    let text = text.trim().trim_start_matches("W/");
    let prefix = format!("\"{kind}-");
    text.strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix('"'))
        .and_then(|n| n.parse::<i64>().ok())
        .ok_or_else(|| {
            ApiError::precondition_failed(format!(
                "If-Match {text} does not match the current {kind}"
            ))
        })
}

/// Records a change in the audit log; a failure to record is logged, not shown to the caller
/// (the change itself succeeded).
pub async fn audit(
    state: &AppState,
    who: &Principal,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) {
    if let Err(e) = state
        .store
        .record_audit(state.now(), who.name(), action, target, &detail.to_string())
        .await
    {
        tracing::error!(error = %e, action, target, "could not record an audit entry");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn with_if_match(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_MATCH, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn if_match_is_required_and_must_name_the_resource() {
        assert_eq!(
            if_match(&HeaderMap::new(), "incident")
                .unwrap_err()
                .status
                .as_u16(),
            428
        );
        assert_eq!(
            if_match(&with_if_match("\"review-3\""), "incident")
                .unwrap_err()
                .status
                .as_u16(),
            412
        );
        assert_eq!(
            if_match(&with_if_match("*"), "incident")
                .unwrap_err()
                .status
                .as_u16(),
            412
        );
        assert_eq!(
            if_match(&with_if_match("W/\"incident-3\""), "incident").unwrap(),
            3
        );
    }

    proptest! {
        #[test]
        fn an_etag_always_round_trips_through_if_match(kind in "[a-z]{1,12}", version in 0i64..i64::MAX) {
            let tag = etag(&kind, version);
            prop_assert_eq!(if_match(&with_if_match(&tag), &kind).unwrap(), version);
        }

        #[test]
        fn any_other_if_match_is_refused_never_panics(value in "[ -~]{0,40}", version in 0i64..1000) {
            let headers = with_if_match(&value);
            if let Ok(v) = if_match(&headers, "incident") {
                prop_assert_eq!(etag("incident", v), value.trim().trim_start_matches("W/").to_owned());
            }
            prop_assert!(if_match(&headers, "incident").map_or(true, |v| v >= 0 || version >= 0));
        }
    }
}
