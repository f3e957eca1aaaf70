//! Error policy: handlers return [`ApiResult`]; every [`ApiError`] renders as a
//! `shared::error::ErrorBody` with the status its variant documents. Internal details are logged
//! here once and masked for the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shared::error::{ErrorBody, FieldError};

/// A handler's failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (bad query string, unreadable JSON).
    #[error("{0}")]
    BadRequest(String),
    /// 401: a token is missing or unknown.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// 404: the named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 409: the request conflicts with the thing's state (cancelling a finished run).
    #[error("{0}")]
    Conflict(String),
    /// 422: the body is well-formed JSON but invalid; `fields` names each problem.
    #[error("{message}")]
    Unprocessable {
        /// One sentence.
        message: String,
        /// Per-field problems.
        fields: Vec<FieldError>,
    },
    /// 500: a bug or an environment failure; the client sees a generic message.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What handlers return.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// 422 for `fields` (not empty) of an invalid `what` (`run spec`, `query`); the message
    /// names the first problem.
    pub fn invalid(what: &str, fields: Vec<FieldError>) -> Self {
        let message = fields.first().map_or_else(
            || format!("invalid {what}"),
            |first| format!("invalid {what}: {}: {}", first.field, first.message),
        );
        Self::Unprocessable { message, fields }
    }

    /// 422 for one bad field.
    pub fn invalid_field(what: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid(
            what,
            vec![FieldError {
                field: field.into(),
                message: message.into(),
            }],
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut fields = Vec::new();
        let (status, code, message) = match self {
            Self::BadRequest(what) => (StatusCode::BAD_REQUEST, "bad_request", what),
            Self::Unauthorized(what) => {
                (StatusCode::UNAUTHORIZED, "unauthorized", what.to_string())
            }
            Self::NotFound(what) => (StatusCode::NOT_FOUND, "not_found", what),
            Self::Conflict(what) => (StatusCode::CONFLICT, "conflict", what),
            Self::Unprocessable {
                message,
                fields: problems,
            } => {
                fields = problems;
                (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", message)
            }
            Self::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal server error; the server log has the details".to_string(),
                )
            }
        };
        let body = ErrorBody {
            code: code.to_string(),
            message,
            fields,
        };
        (status, Json(body)).into_response()
    }
}
