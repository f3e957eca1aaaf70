//! Typed REST calls. Paths come from `shared::paths`. When the server requires tokens, the one
//! saved in this browser (see [`save_token`]) goes with every call as `Authorization: Bearer`.

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::error::ErrorBody;
use shared::health::Health;
use shared::paths;
use shared::run::{Created, ModelEntry, RunDetail, RunPage, RunSpec, TrajectoryPoint};
use shared::sweep::SweepSpec;

use super::error::FetchError;
use super::source::RunSource;

/// `localStorage` key of the API token.
const TOKEN_KEY: &str = "lethe.token";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The API token saved in this browser, if any.
pub fn saved_token() -> Option<String> {
    storage()?
        .get_item(TOKEN_KEY)
        .ok()?
        .filter(|t| !t.is_empty())
}

/// Saves (or, with an empty string, forgets) the API token.
pub fn save_token(token: &str) {
    if let Some(storage) = storage() {
        let result = if token.trim().is_empty() {
            storage.remove_item(TOKEN_KEY)
        } else {
            storage.set_item(TOKEN_KEY, token.trim())
        };
        // A browser that refuses storage (private mode) keeps working without a token.
        drop(result);
    }
}

fn authorized(request: RequestBuilder) -> RequestBuilder {
    match saved_token() {
        Some(token) => request.header("Authorization", &format!("Bearer {token}")),
        None => request,
    }
}

/// `GET /api/health`.
pub async fn get_health() -> Result<Health, FetchError> {
    get_json(paths::API_HEALTH).await
}

/// `GET /api/runs?…` with an already-encoded query string (`limit=50&state=running`).
pub async fn list_runs(query: String) -> Result<RunPage, FetchError> {
    get_json(&format!("{}?{query}", paths::API_RUNS)).await
}

/// `GET /api/models`.
pub async fn list_models() -> Result<Vec<ModelEntry>, FetchError> {
    get_json(paths::API_MODELS).await
}

/// One run, by id or share slug.
pub async fn get_run(source: RunSource) -> Result<RunDetail, FetchError> {
    get_json(&source.api()).await
}

/// A JSON artifact of a run (`eval/TOFU_EVAL.json`).
pub async fn get_artifact(source: RunSource, path: &str) -> Result<serde_json::Value, FetchError> {
    get_json(&source.artifact(path)).await
}

/// A run's forgetting trajectory (`evals.jsonl`), oldest first.
pub async fn get_trajectory(source: RunSource) -> Result<Vec<TrajectoryPoint>, FetchError> {
    let response = authorized(Request::get(&source.artifact(paths::ARTIFACT_EVALS)))
        .send()
        .await
        .map_err(|error| FetchError::Network(error.to_string()))?;
    if !response.ok() {
        return decode(response).await;
    }
    let text = response
        .text()
        .await
        .map_err(|error| FetchError::Decode(error.to_string()))?;
    Ok(crate::trajectory::parse_lines(&text))
}

/// `POST /api/runs`.
pub async fn create_run(spec: RunSpec) -> Result<Created, FetchError> {
    post_json(paths::API_RUNS, &spec).await
}

/// `POST /api/plan`: the memory plan of `spec` on the server's device.
pub async fn plan_run(spec: RunSpec) -> Result<shared::plan::PlanReport, FetchError> {
    post_json(paths::API_PLAN, &spec).await
}

/// `POST /api/sweeps`.
pub async fn create_sweep(sweep: SweepSpec) -> Result<Created, FetchError> {
    post_json(paths::API_SWEEPS, &sweep).await
}

/// `POST /api/runs/{id}/cancel`.
pub async fn cancel_run(id: i64) -> Result<RunDetail, FetchError> {
    post_json(
        &format!("{}/cancel", paths::api_run(id)),
        &serde_json::json!({}),
    )
    .await
}

async fn get_json<T: DeserializeOwned>(path: &str) -> Result<T, FetchError> {
    let response = authorized(Request::get(path))
        .send()
        .await
        .map_err(|error| FetchError::Network(error.to_string()))?;
    decode(response).await
}

async fn post_json<T: DeserializeOwned>(
    path: &str,
    body: &impl Serialize,
) -> Result<T, FetchError> {
    let response = authorized(Request::post(path))
        .json(body)
        .map_err(|error| FetchError::Decode(error.to_string()))?
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
