//! `/api/sweeps`: a grid of runs submitted at once, and reading one back.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use shared::run::{Created, RunSummary};
use shared::sweep::SweepSpec;

use super::runs::{check, check_on_server, enqueue, parse_body};
use crate::auth::Caller;
use crate::db::{self, RunFilter};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// `POST /api/sweeps`: expands the grid, validates every run, inserts them all or none (201).
pub async fn create_sweep(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let sweep: SweepSpec = parse_body(&body)?;
    check(sweep.validate(), "sweep")?;
    let runs = sweep.expand();
    for (i, run) in runs.iter().enumerate() {
        check_on_server(&state, run, &format!("runs.{i}."))?;
    }
    let text = serde_json::to_string(&sweep).map_err(|e| ApiError::Internal(e.into()))?;
    let created = enqueue(&state, runs, &caller, Some((sweep.name.clone(), text))).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// A sweep with its runs.
#[derive(Debug, Serialize)]
pub struct SweepDetail {
    /// Sweep id.
    pub id: i64,
    /// Label.
    pub name: String,
    /// As submitted.
    pub spec: SweepSpec,
    /// Submitter.
    pub created_by: String,
    /// Submission time, Unix milliseconds.
    pub created_at_ms: i64,
    /// Its runs in grid order.
    pub runs: Vec<RunSummary>,
}

/// `GET /api/sweeps/{id}`.
pub async fn get_sweep(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<SweepDetail>> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no sweep {id}")))?;
    let (sweep, runs) = state
        .db
        .call(move |conn| {
            let sweep = db::get_sweep(conn, id)?;
            let filter = RunFilter {
                sweep: Some(id),
                sort: Some("oldest".into()),
                limit: u64::MAX >> 1,
                ..RunFilter::default()
            };
            Ok((sweep, db::list_runs(conn, &filter)?.0))
        })
        .await?;
    let sweep = sweep.ok_or_else(|| ApiError::NotFound(format!("no sweep {id}")))?;
    Ok(Json(SweepDetail {
        id,
        name: sweep.name,
        spec: serde_json::from_str(&sweep.spec).map_err(|e| ApiError::Internal(e.into()))?,
        created_by: sweep.created_by,
        created_at_ms: sweep.created_at_ms,
        runs,
    }))
}
