//! Error policy: every API call returns [`FetchError`]; pages show it inline, never drop it.

use shared::error::ErrorBody;

/// Why a request to the server failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The request never got an HTTP answer (server down, network error).
    #[error("cannot reach the server: {0}")]
    Network(String),
    /// The server answered with an error body.
    #[error("{} (HTTP {status})", body.message)]
    Api {
        /// HTTP status code.
        status: u16,
        /// The server's error body.
        body: ErrorBody,
    },
    /// The server answered, but not with what this UI version understands.
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
}
