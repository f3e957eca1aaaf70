//! The route table, on one screen.

pub mod health;
pub mod live;
pub mod models;
pub mod openapi;
pub mod plan;
pub mod run_files;
pub mod runs;
pub mod share;
pub mod sweeps;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use shared::paths;
use tower_http::compression::CompressionLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::assets;
use crate::state::AppState;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 1 << 20;

/// Time limit of a REST request (websockets are not limited).
pub const REST_TIMEOUT: Duration = Duration::from_secs(30);

/// One documented API endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// HTTP method.
    pub method: &'static str,
    /// Path template (`{id}`, `{*path}`).
    pub path: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Request body schema name.
    pub request: Option<&'static str>,
    /// Success status.
    pub status: u16,
    /// Response schema name.
    pub response: Option<&'static str>,
    /// Needs a token in team mode.
    pub token: bool,
}

const fn ep(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    request: Option<&'static str>,
    status: u16,
    response: Option<&'static str>,
    token: bool,
) -> Endpoint {
    Endpoint {
        method,
        path,
        summary,
        request,
        status,
        response,
        token,
    }
}

/// Every API endpoint (the OpenAPI document is built from this; `tests/api.rs` checks that each
/// one is routed).
pub const ENDPOINTS: &[Endpoint] = &[
    ep(
        "GET",
        "/api/health",
        "Server version, commit and compute device",
        None,
        200,
        None,
        false,
    ),
    ep(
        "GET",
        "/api/openapi.json",
        "This document",
        None,
        200,
        None,
        false,
    ),
    ep(
        "GET",
        "/api/models",
        "Models this host can load",
        None,
        200,
        Some("ModelEntry"),
        true,
    ),
    ep(
        "GET",
        "/api/runs",
        "Runs, newest first; filter by state, model, method, tag, sweep; sort; paginate",
        None,
        200,
        Some("RunPage"),
        true,
    ),
    ep(
        "POST",
        "/api/runs",
        "Queue a run",
        Some("RunSpec"),
        201,
        Some("Created"),
        true,
    ),
    ep(
        "GET",
        "/api/runs/export.csv",
        "CSV of runs (`?ids=1,2`): settings and metrics",
        None,
        200,
        None,
        true,
    ),
    ep(
        "GET",
        "/api/runs/{id}",
        "One run",
        None,
        200,
        Some("RunDetail"),
        true,
    ),
    ep(
        "DELETE",
        "/api/runs/{id}",
        "Delete a run that is not running, with its artifacts",
        None,
        204,
        None,
        true,
    ),
    ep(
        "POST",
        "/api/runs/{id}/cancel",
        "Cancel a queued (200) or running (202) run; 409 once finished",
        None,
        200,
        Some("RunDetail"),
        true,
    ),
    ep(
        "GET",
        "/api/runs/{id}/steps",
        "Every optimizer step",
        None,
        200,
        None,
        true,
    ),
    ep(
        "GET",
        "/api/runs/{id}/steps.csv",
        "Steps as CSV",
        None,
        200,
        None,
        true,
    ),
    ep(
        "GET",
        "/api/runs/{id}/artifacts/{*path}",
        "A file of the run (TOFU_EVAL.json, checkpoint, ...)",
        None,
        200,
        None,
        true,
    ),
    ep(
        "GET",
        "/api/runs/{id}/live",
        "Websocket: snapshot, then ServerEvents",
        None,
        101,
        Some("ServerEvent"),
        true,
    ),
    ep(
        "POST",
        "/api/sweeps",
        "Queue a grid of runs",
        Some("SweepSpec"),
        201,
        Some("Created"),
        true,
    ),
    ep(
        "GET",
        "/api/sweeps/{id}",
        "A sweep and its runs",
        None,
        200,
        None,
        true,
    ),
    ep(
        "GET",
        "/api/share/{slug}",
        "A shared run, read-only, no token",
        None,
        200,
        Some("RunDetail"),
        false,
    ),
    ep(
        "GET",
        "/api/share/{slug}/steps",
        "A shared run's steps",
        None,
        200,
        None,
        false,
    ),
    ep(
        "GET",
        "/api/share/{slug}/steps.csv",
        "A shared run's steps as CSV",
        None,
        200,
        None,
        false,
    ),
    ep(
        "GET",
        "/api/share/{slug}/artifacts/{*path}",
        "A shared run's file",
        None,
        200,
        None,
        false,
    ),
    ep(
        "GET",
        "/api/share/{slug}/live",
        "A shared run's websocket",
        None,
        101,
        Some("ServerEvent"),
        false,
    ),
];

/// The whole HTTP surface: `/api/*` (JSON), `/pkg/*` (the hashed wasm bundle) and the UI.
pub fn app(state: AppState) -> Router {
    let rest = Router::new()
        .route(paths::API_HEALTH, get(health::get_health))
        .route("/api/openapi.json", get(openapi::get_openapi))
        .route("/api/models", get(models::list_models))
        .route(paths::API_PLAN, post(plan::post_plan))
        .route("/api/runs", get(runs::list_runs).post(runs::create_run))
        .route("/api/runs/export.csv", get(run_files::export_csv))
        .route(
            "/api/runs/{id}",
            get(runs::get_run).delete(runs::delete_run),
        )
        .route("/api/runs/{id}/cancel", post(runs::cancel_run))
        .route("/api/runs/{id}/steps", get(run_files::get_steps))
        .route("/api/runs/{id}/steps.csv", get(run_files::get_steps_csv))
        .route(
            "/api/runs/{id}/artifacts/{*path}",
            get(run_files::get_artifact),
        )
        .route("/api/sweeps", post(sweeps::create_sweep))
        .route("/api/sweeps/{id}", get(sweeps::get_sweep))
        .route("/api/share/{slug}", get(share::get_shared))
        .route("/api/share/{slug}/steps", get(share::get_shared_steps))
        .route(
            "/api/share/{slug}/steps.csv",
            get(share::get_shared_steps_csv),
        )
        .route(
            "/api/share/{slug}/artifacts/{*path}",
            get(share::get_shared_artifact),
        )
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REST_TIMEOUT,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    let sockets = Router::new()
        .route("/api/runs/{id}/live", get(live::live))
        .route("/api/share/{slug}/live", get(share::shared_live));
    rest.merge(sockets)
        .nest(
            paths::BUNDLE_PREFIX,
            assets::bundle_routes(&state.static_dir),
        )
        .route("/", get(assets::get_index))
        .route("/index.html", get(assets::get_index))
        .fallback(assets::get_static_or_index)
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
