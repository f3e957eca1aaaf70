//! Error policy: handlers return [`ApiResult`]; every [`ApiError`] renders as a
//! `shared::error::ErrorBody` with the status its variant documents. Internal details are logged
//! here once and masked for the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shared::error::ErrorBody;

/// A handler's failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404: the named thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 500: a bug or an environment failure; the client sees a generic message.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What handlers return.
pub type ApiResult<T> = Result<T, ApiError>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self {
            Self::NotFound(what) => (StatusCode::NOT_FOUND, "not_found", what.clone()),
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
            fields: Vec::new(),
        };
        (status, Json(body)).into_response()
    }
}
