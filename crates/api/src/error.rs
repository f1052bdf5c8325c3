//! The API's error type. Every failure the server answers carries a JSON body
//! `{"Error": "<message>", "Field": "<key>" | null}` (the original answers bare
//! status codes; an unchanged Go client ignores the body, so adding one is
//! compatible). Client mistakes are 4xx; only server faults are 500, and
//! their detail goes to the log rather than to the client.

use axum::Json;
use axum::response::{IntoResponse, Response};
use cloud_model::ValidationError;
use cloud_store::StoreError;
use http::StatusCode;
use serde::Serialize;

/// An error answer: status, message and, when one input is at fault, the
/// JSON key or query parameter that names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub field: Option<String>,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    #[serde(rename = "Error")]
    pub error: &'a str,
    #[serde(rename = "Field")]
    pub field: Option<&'a str>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            field: None,
        }
    }

    /// Names the input at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 400 about one input (`field` is the JSON key or query parameter).
    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message).with_field(field)
    }

    /// 400 about the request as a whole.
    pub fn bad_request_general(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 `"<what> not found"`.
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 410, e.g. a soft-deleted cluster installation.
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, message)
    }

    /// 501 for routes whose feature comes in a later issue.
    pub fn not_implemented(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_IMPLEMENTED, message)
    }

    /// 500 with a generic message; `detail` goes to the log only.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
    }
}

/// Builds the JSON error response for any status (also used for the
/// router's own rejections, see `lib.rs`).
pub fn error_response(status: StatusCode, message: &str, field: Option<&str>) -> Response {
    (
        status,
        Json(ErrorBody {
            error: message,
            field,
        }),
    )
        .into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.status, &self.message, self.field.as_deref())
    }
}

impl From<ValidationError> for ApiError {
    fn from(err: ValidationError) -> Self {
        // The model's messages are short ("is required"); prefix the field so
        // the message reads on its own (CLI users see only `Error`).
        let message = err.to_string();
        ApiError::bad_request(err.field, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Conflict(msg) => ApiError::conflict(msg),
            e @ StoreError::Locked(_) => ApiError::conflict(e.to_string()),
            StoreError::Forbidden(msg) => ApiError::forbidden(msg),
            StoreError::InvalidTransition(msg) => ApiError::bad_request_general(msg),
            // Everything else is the server's fault (bad stored data, schema,
            // driver): log the detail, answer a generic 500.
            e @ (StoreError::Invalid(_)
            | StoreError::SchemaOutdated { .. }
            | StoreError::SchemaTooNew { .. }
            | StoreError::UnsupportedUrl(_)
            | StoreError::Json(_)
            | StoreError::Migration(_)
            | StoreError::Database(_)) => {
                tracing::error!(kind = e.kind(), error = %e, "store error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal server error")
            }
        }
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_statuses() {
        let cases = [
            (StoreError::NotFound("cluster".into()), 404),
            (StoreError::Conflict("dup".into()), 409),
            (StoreError::Locked("cluster".into()), 409),
            (StoreError::Forbidden("locked".into()), 403),
            (StoreError::InvalidTransition("bad".into()), 400),
            (StoreError::Invalid("merged".into()), 500),
            (StoreError::UnsupportedUrl("x".into()), 500),
        ];
        for (err, status) in cases {
            assert_eq!(ApiError::from(err).status.as_u16(), status);
        }
    }

    #[test]
    fn not_found_names_the_object() {
        let e = ApiError::from(StoreError::NotFound("cluster".into()));
        assert_eq!(e.message, "cluster not found");
        assert_eq!(e.field, None);
    }

    #[test]
    fn server_faults_hide_their_detail() {
        let e = ApiError::from(StoreError::Invalid("secret detail".into()));
        assert_eq!(e.message, "internal server error");
    }

    #[test]
    fn validation_errors_name_the_field() {
        let e = ApiError::from(ValidationError::new("OwnerID", "must not be empty"));
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.field.as_deref(), Some("OwnerID"));
        assert_eq!(e.message, "OwnerID: must not be empty");
    }
}
