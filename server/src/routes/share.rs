//! `/api/share/{slug}`: read-only access to one run through its unguessable share slug, without a
//! token. The slug itself is not repeated in what these routes return.

use axum::Json;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use shared::run::RunDetail;

use super::run_files::{artifact, steps_csv};
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::jobs::{list_artifacts, read_steps, run_dir};
use crate::state::AppState;

async fn by_slug(state: &AppState, slug: String) -> ApiResult<RunDetail> {
    let valid = slug.len() == 32 && slug.bytes().all(|b| b.is_ascii_hexdigit());
    let run = if valid {
        state
            .db
            .call(move |conn| db::get_run_by_slug(conn, &slug))
            .await?
    } else {
        None
    };
    let mut run = run.ok_or_else(|| ApiError::NotFound("no such share link".into()))?;
    run.share_slug = None;
    run.artifacts = list_artifacts(&run_dir(&state.data_dir, run.summary.id));
    Ok(run)
}

/// `GET /api/share/{slug}`.
pub async fn get_shared(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> ApiResult<Json<RunDetail>> {
    Ok(Json(by_slug(&state, slug).await?))
}

/// `GET /api/share/{slug}/steps`.
pub async fn get_shared_steps(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> ApiResult<Response> {
    let run = by_slug(&state, slug).await?;
    Ok(Json(read_steps(&state.data_dir, run.summary.id)).into_response())
}

/// `GET /api/share/{slug}/steps.csv`.
pub async fn get_shared_steps_csv(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> ApiResult<Response> {
    let run = by_slug(&state, slug).await?;
    Ok(steps_csv(&state, run.summary.id))
}

/// `GET /api/share/{slug}/artifacts/{*path}`.
pub async fn get_shared_artifact(
    State(state): State<AppState>,
    Path((slug, path)): Path<(String, String)>,
) -> ApiResult<Response> {
    let run = by_slug(&state, slug).await?;
    artifact(&state, run.summary.id, &path)
}

/// `GET /api/share/{slug}/live`.
pub async fn shared_live(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> ApiResult<Response> {
    let run = by_slug(&state, slug).await?;
    Ok(super::live::upgrade(ws, state, run.summary.id, true))
}
