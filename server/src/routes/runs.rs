//! `/api/runs`: submit, list, read, cancel and delete runs (their files: [`super::run_files`]).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use shared::error::FieldError;
use shared::run::{Created, Method, RunDetail, RunPage, RunSpec, RunState};

use crate::auth::{Caller, new_share_slug};
use crate::db::{self, NewRun, RunFilter};
use crate::error::{ApiError, ApiResult};
use crate::jobs::{list_artifacts, run_dir};
use crate::state::AppState;

/// Parses a JSON body; a problem becomes a 422 naming the field (`trainer.lr`), or a 400 for
/// text that is not JSON at all.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let start = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if start.is_some_and(|b| *b != b'{') {
        return Err(ApiError::invalid_field(
            "request",
            "(body)",
            "expected a JSON object",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(value) => {
            deserializer
                .end()
                .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
            Ok(value)
        }
        Err(error) => {
            let inner = error.inner();
            if inner.is_syntax() || inner.is_eof() || inner.is_io() {
                return Err(ApiError::BadRequest(format!(
                    "the body is not valid JSON: {inner}"
                )));
            }
            let path = error.path().to_string();
            let message = inner.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_string();
            // serde_path_to_error's path ends at an unknown key already, but stops at the parent
            // of a missing one.
            let missing = message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next());
            let field = match missing {
                Some(name) if path == "." => name.to_string(),
                Some(name) => format!("{path}.{name}"),
                None if path == "." => "(body)".to_string(),
                None => path,
            };
            Err(ApiError::invalid_field("request", field, message))
        }
    }
}

/// 422 with every problem `validate` found.
pub fn check(errors: Vec<FieldError>, what: &str) -> ApiResult<()> {
    if errors.is_empty() {
        return Ok(());
    }
    Err(ApiError::invalid(what, errors))
}

/// What only this server can check: the model is in its registry (the UI picks from it), the
/// data directory and retain reference lie under its data roots, and the run's memory plan fits
/// the device. Field paths get `prefix`
/// (`runs.3.` in sweeps).
pub fn check_on_server(state: &AppState, spec: &RunSpec, prefix: &str) -> ApiResult<()> {
    check(state.places.check(spec, prefix), "run spec")?;
    super::plan::check_fits(state, spec, prefix)
}

/// Inserts validated specs as queued runs and wakes the queue.
pub async fn enqueue(
    state: &AppState,
    specs: Vec<RunSpec>,
    caller: &Caller,
    sweep: Option<(String, String)>,
) -> ApiResult<Created> {
    let runs: Vec<NewRun> = specs
        .into_iter()
        .map(|spec| NewRun {
            spec,
            created_by: caller.name.clone(),
            share_slug: new_share_slug(),
            sweep_id: None,
        })
        .collect();
    let created_by = caller.name.clone();
    let (ids, sweep_id) = state
        .db
        .call(move |conn| {
            let sweep = sweep
                .as_ref()
                .map(|(name, spec)| (name.as_str(), spec.as_str(), created_by.as_str()));
            db::insert_runs(conn, &runs, sweep)
        })
        .await?;
    let lookup = ids.clone();
    let runs = state
        .db
        .call(move |conn| {
            lookup
                .iter()
                .map(|id| db::get_run(conn, *id))
                .collect::<anyhow::Result<Vec<_>>>()
        })
        .await?;
    // New runs have no artifacts yet; the hub holds them from `queued` on.
    for run in runs.into_iter().flatten() {
        state.hub.open(run);
    }
    state.queue.notify();
    Ok(Created { ids, sweep_id })
}

async fn load(state: &AppState, id: i64) -> ApiResult<Option<RunDetail>> {
    let mut run = state.db.call(move |conn| db::get_run(conn, id)).await?;
    if let Some(run) = &mut run {
        run.artifacts = list_artifacts(&run_dir(&state.data_dir, id));
    }
    Ok(run)
}

/// The run id in a path, or a 404 naming it.
pub fn run_id(text: &str) -> ApiResult<i64> {
    text.parse()
        .map_err(|_| ApiError::NotFound(format!("no run {text}")))
}

/// Run `id` or 404.
pub async fn load_or_404(state: &AppState, id: i64) -> ApiResult<RunDetail> {
    load(state, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no run {id}")))
}

/// `POST /api/runs`: one run from a [`RunSpec`]; 201 with its id.
pub async fn create_run(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Created>)> {
    let spec: RunSpec = parse_body(&body)?;
    check(spec.validate(), "run spec")?;
    check_on_server(&state, &spec, "")?;
    let created = enqueue(&state, vec![spec], &caller, None).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Query of `GET /api/runs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    state: Option<String>,
    model: Option<String>,
    method: Option<String>,
    tag: Option<String>,
    sweep: Option<i64>,
    sort: Option<String>,
    offset: Option<u64>,
    limit: Option<u64>,
}

/// `GET /api/runs?state=&model=&method=&tag=&sweep=&sort=created|oldest|name&offset=&limit=`.
pub async fn list_runs(
    State(state): State<AppState>,
    _caller: Caller,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<RunPage>> {
    let Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let bad = |field: &str, message: String| ApiError::invalid_field("query", field, message);
    let run_state = q
        .state
        .as_deref()
        .map(|s| {
            RunState::parse(s).ok_or_else(|| {
                bad(
                    "state",
                    format!("`{s}`: expected queued, running, succeeded, failed, cancelled or interrupted"),
                )
            })
        })
        .transpose()?;
    let method = q
        .method
        .as_deref()
        .map(|m| Method::parse(m).ok_or_else(|| bad("method", format!("unknown method `{m}`"))))
        .transpose()?;
    if let Some(sort) = &q.sort
        && !matches!(sort.as_str(), "created" | "oldest" | "name")
    {
        return Err(bad(
            "sort",
            format!("`{sort}`: expected created, oldest or name"),
        ));
    }
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > 500 {
        return Err(bad("limit", "1 to 500".into()));
    }
    let filter = RunFilter {
        state: run_state,
        model: q.model,
        method,
        tag: q.tag,
        sweep: q.sweep,
        sort: q.sort,
        offset: q.offset.unwrap_or(0),
        limit,
    };
    let offset = filter.offset;
    let (runs, total) = state
        .db
        .call(move |conn| db::list_runs(conn, &filter))
        .await?;
    Ok(Json(RunPage {
        runs,
        total,
        offset,
        limit,
    }))
}

/// `GET /api/runs/{id}`.
pub async fn get_run(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<RunDetail>> {
    let id = run_id(&id)?;
    Ok(Json(load_or_404(&state, id).await?))
}

/// `POST /api/runs/{id}/cancel`: a queued run is cancelled at once (200); a running one is asked
/// to stop (202, it turns `cancelled` within a step); a finished one is a 409.
pub async fn cancel_run(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<RunDetail>)> {
    let id = run_id(&id)?;
    let after = state
        .db
        .call(move |conn| db::cancel_queued(conn, id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no run {id}")))?;
    match after {
        (true, _) => {
            let run = load_or_404(&state, id).await?;
            if let Some(live) = state.hub.get(id) {
                live.state(run.clone());
                state.hub.close(id);
            }
            Ok((StatusCode::OK, Json(run)))
        }
        (false, RunState::Running) => {
            if state.queue.cancel(id) {
                Ok((StatusCode::ACCEPTED, Json(load_or_404(&state, id).await?)))
            } else {
                Err(ApiError::Conflict(format!(
                    "run {id} is finishing; try again in a moment"
                )))
            }
        }
        (false, other) => Err(ApiError::Conflict(format!(
            "run {id} is already {}",
            other.as_str()
        ))),
    }
}

/// `DELETE /api/runs/{id}`: removes a run that is not running, with its artifacts (204).
pub async fn delete_run(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = run_id(&id)?;
    let run = load_or_404(&state, id).await?;
    if run.summary.state == RunState::Running {
        return Err(ApiError::Conflict(format!(
            "run {id} is running; cancel it first"
        )));
    }
    let deleted = state.db.call(move |conn| db::delete_run(conn, id)).await?;
    if !deleted {
        return Err(ApiError::Conflict(format!(
            "run {id} started meanwhile; cancel it first"
        )));
    }
    if let Some(live) = state.hub.get(id) {
        let mut gone = run;
        gone.summary.state = RunState::Cancelled;
        live.state(gone);
        state.hub.close(id);
    }
    let dir = run_dir(&state.data_dir, id);
    if dir.exists() {
        // Rename first so a half-deleted directory is never mistaken for the run's.
        let trash = state.data_dir.join("runs").join(format!(".deleted-{id}"));
        let removed = std::fs::rename(&dir, &trash).and_then(|()| std::fs::remove_dir_all(&trash));
        if let Err(error) = removed {
            tracing::warn!(run = id, %error, "removing the run's artifacts");
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
