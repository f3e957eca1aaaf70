//! Typed REST calls. Paths come from `shared::paths`.

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use shared::error::ErrorBody;
use shared::health::Health;
use shared::paths;
use shared::run::RunPage;

use super::error::FetchError;

/// `GET /api/health`.
pub async fn get_health() -> Result<Health, FetchError> {
    get_json(paths::API_HEALTH).await
}

/// `GET /api/runs?…` with an already-encoded query string (`limit=50&state=running`).
pub async fn list_runs(query: String) -> Result<RunPage, FetchError> {
    get_json(&format!("/api/runs?{query}")).await
}

async fn get_json<T: DeserializeOwned>(path: &str) -> Result<T, FetchError> {
    let response = Request::get(path)
        .send()
        .await
        .map_err(|error| FetchError::Network(error.to_string()))?;
    decode(response).await
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, FetchError> {
    if response.ok() {
        return response
            .json::<T>()
            .await
            .map_err(|error| FetchError::Decode(error.to_string()));
    }
    let status = response.status();
    match response.json::<ErrorBody>().await {
        Ok(body) => Err(FetchError::Api { status, body }),
        Err(_) => Err(FetchError::Decode(format!(
            "HTTP {status} {} without an error body",
            response.status_text()
        ))),
    }
}
