//! A run's files over HTTP: its steps (JSON and CSV), its artifacts, and the CSV export of runs.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::runs::{load_or_404, run_id};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::jobs::{list_artifacts, read_steps, run_dir};
use crate::state::AppState;

/// `GET /api/runs/{id}/steps`: every recorded optimizer step.
pub async fn get_steps(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = run_id(&id)?;
    load_or_404(&state, id).await?;
    Ok(Json(read_steps(&state.data_dir, id)).into_response())
}

/// The steps of run `id` as CSV.
pub fn steps_csv(state: &AppState, id: i64) -> Response {
    let mut out = String::from(
        "step,total_steps,epoch,lr,loss,forget_loss,retain_loss,grad_norm,tokens_per_s,elapsed_s\n",
    );
    for s in read_steps(&state.data_dir, id) {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            s.step,
            s.total_steps,
            s.epoch,
            s.lr,
            s.loss,
            s.forget_loss,
            s.retain_loss.map(|r| r.to_string()).unwrap_or_default(),
            s.grad_norm,
            s.tokens_per_s,
            s.elapsed_s
        ));
    }
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response()
}

/// `GET /api/runs/{id}/steps.csv`.
pub async fn get_steps_csv(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = run_id(&id)?;
    load_or_404(&state, id).await?;
    Ok(steps_csv(&state, id))
}

/// A file under the run's directory; the path must be one [`list_artifacts`] reports.
pub fn artifact(state: &AppState, id: i64, path: &str) -> ApiResult<Response> {
    let dir = run_dir(&state.data_dir, id);
    if !list_artifacts(&dir).iter().any(|known| known == path) {
        return Err(ApiError::NotFound(format!(
            "run {id} has no artifact `{path}`"
        )));
    }
    let bytes = std::fs::read(dir.join(path)).map_err(|e| ApiError::Internal(e.into()))?;
    let kind = match path.rsplit('.').next() {
        Some("json") => "application/json",
        Some("jsonl") => "application/x-ndjson",
        Some("csv") => "text/csv; charset=utf-8",
        _ => "application/octet-stream",
    };
    Ok(([(header::CONTENT_TYPE, kind)], bytes).into_response())
}

/// `GET /api/runs/{id}/artifacts/{*path}`.
pub async fn get_artifact(
    State(state): State<AppState>,
    _caller: Caller,
    Path((id, path)): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = run_id(&id)?;
    load_or_404(&state, id).await?;
    artifact(&state, id, &path)
}

/// Query of the CSV export.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    ids: String,
}

/// `GET /api/runs/export.csv?ids=1,2,3`: one row per run, its settings and metrics.
pub async fn export_csv(
    State(state): State<AppState>,
    _caller: Caller,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let ids = q
        .ids
        .split(',')
        .map(|s| s.trim().parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ApiError::BadRequest("ids: comma-separated run ids".into()))?;
    let mut runs = Vec::new();
    for id in ids {
        runs.push(load_or_404(&state, id).await?);
    }
    let names: std::collections::BTreeSet<String> = runs
        .iter()
        .flat_map(|r| r.summary.metrics.keys().cloned())
        .collect();
    let quote = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    let mut out = String::from("id,name,state,model,method,wrapper,split,lr,seed");
    for name in &names {
        out.push(',');
        out.push_str(name);
    }
    out.push('\n');
    for run in &runs {
        let s = &run.summary;
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}",
            s.id,
            quote(&s.name),
            s.state.as_str(),
            quote(&s.model),
            s.method.as_str(),
            s.wrapper,
            s.split.as_str(),
            run.spec.trainer.lr,
            run.spec.trainer.seed
        ));
        let metrics: &BTreeMap<String, f64> = &s.metrics;
        for name in &names {
            out.push(',');
            if let Some(v) = metrics.get(name) {
                out.push_str(&v.to_string());
            }
        }
        out.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
}
