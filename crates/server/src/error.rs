//! One error policy for the API: RFC 9457 problem details, field-level errors, opaque 500s.
//!
//! Handlers return [`ApiError`]; it renders `application/problem+json` with a `title`, `status`,
//! `detail` and, for invalid input, an `errors` list naming each field. Database failures are
//! logged with their detail and answered with a generic 500, so internals never reach a client.
//! A restricted incident is answered exactly like a missing one.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secondstory_domain::ValidationError;
use secondstory_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// One field that was refused.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The field as the request named it (`times.resolved`, `severity`).
    pub field: String,
    pub message: String,
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: String,
    pub errors: Vec<FieldError>,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "sign in, or send an API token as `Authorization: Bearer …`",
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }

    /// The one answer for "no such thing" and "not yours to see": same status, same body.
    pub fn not_found(what: &str, key: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} `{key}` not found"))
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let (field, message) = (field.into(), message.into());
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: format!("{field}: {message}"),
            errors: vec![FieldError { field, message }],
        }
    }

    pub fn precondition_required() -> Self {
        Self::new(
            StatusCode::PRECONDITION_REQUIRED,
            "send `If-Match` with the ETag you read, so a change never overwrites someone else's",
        )
    }

    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, detail)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "something went wrong on our side; it has been logged",
        )
    }

    fn title(&self) -> &'static str {
        self.status.canonical_reason().unwrap_or("Error")
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::invalid(e.field, e.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { what, key } => ApiError::not_found(what, &key),
            StoreError::Duplicate { .. } => ApiError::new(StatusCode::CONFLICT, e.to_string()),
            StoreError::Conflict { .. } => ApiError::precondition_failed(e.to_string()),
            StoreError::Invalid(v) => v.into(),
            StoreError::FeedFailed(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
            }
            StoreError::Backend { .. } => {
                tracing::error!(error = %e, "storage failure");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            kind: "about:blank".into(),
            title: self.title().into(),
            status: self.status.as_u16(),
            detail: self.detail,
            errors: self.errors,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Turns axum's plain-text rejections under `/api/` (a malformed path parameter, query or JSON
/// body, a wrong content type) into problem documents, so every API error has one shape.
pub async fn problem_for_rejections(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let on_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !on_api || !plain || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let detail = match axum::body::to_bytes(response.into_body(), 64 * 1024).await {
        Ok(bytes) if status.is_client_error() => String::from_utf8_lossy(&bytes).into_owned(),
        _ => String::new(),
    };
    if status.is_server_error() {
        return ApiError::internal().into_response();
    }
    ApiError::new(status, detail).into_response()
}

/// Documents the rejections every operation can get before its handler runs: 400 for a
/// malformed path or query parameter or body, 415 for a body of the wrong content type, 422
/// for a body without the documented fields.
pub fn document_rejections(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let problem = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build(),
        )
    };
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let has_body = operation.request_body.is_some();
            let responses = &mut operation.responses.responses;
            responses
                .entry("400".into())
                .or_insert_with(|| problem("A malformed parameter or body"));
            if has_body {
                responses
                    .entry("415".into())
                    .or_insert_with(|| problem("The body is not of a supported content type"));
                responses
                    .entry("422".into())
                    .or_insert_with(|| problem("The body does not have the documented fields"));
            }
        }
    }
}
