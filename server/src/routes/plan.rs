//! `POST /api/plan`: the memory plan of a run spec on this server's device, as the new-run form
//! shows it while the settings change; and the check that refuses a submission that cannot fit.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use engine::DeviceSpec;
use shared::error::FieldError;
use shared::plan::PlanReport;
use shared::run::RunSpec;

use super::runs::{check, parse_body};
use crate::error::{ApiError, ApiResult};
use crate::runner::engine_config::precision_problem;
use crate::runner::plan::{MAX_LENGTH, model_config, refusal, report, settings};
use crate::state::AppState;

/// The plan of `spec` on `state`'s device, or `None` when its model's shape cannot be read here
/// (a hub id not downloaded yet: the run will say so itself).
pub fn plan_of(state: &AppState, spec: &RunSpec) -> Option<PlanReport> {
    let model = state.places.model(&spec.model)?;
    let config = model_config(&model).ok()?;
    let device: DeviceSpec = state.health.backend.device.parse().ok()?;
    Some(report(
        &config,
        &settings(spec, MAX_LENGTH),
        device,
        state.device_memory,
    ))
}

/// A 422 naming `trainer.devices` when the run asks for more devices than the server's pool
/// has, `trainer.dtype` when the device does not train in that precision, or `trainer`
/// (prefixed, in sweeps) when `spec`'s plan does not fit the device.
pub fn check_fits(state: &AppState, spec: &RunSpec, prefix: &str) -> ApiResult<()> {
    let pool = state.queue.device_count();
    if spec.trainer.devices > pool {
        let devices: Vec<String> = state
            .queue
            .devices()
            .into_iter()
            .map(|d| d.device)
            .collect();
        return Err(ApiError::invalid(
            "run spec",
            vec![FieldError {
                field: format!("{prefix}trainer.devices"),
                message: format!(
                    "the run asks for {} devices; this server's pool has {pool} ({}); start it \
                     with more (`lethe serve --devices cuda:0,cuda:1`)",
                    spec.trainer.devices,
                    devices.join(", ")
                ),
            }],
        ));
    }
    if let Ok(device) = state.health.backend.device.parse::<DeviceSpec>()
        && let Some(problem) = precision_problem(&spec.trainer, device)
    {
        return Err(ApiError::invalid(
            "run spec",
            vec![FieldError {
                field: format!("{prefix}trainer.dtype"),
                message: problem,
            }],
        ));
    }
    match plan_of(state, spec) {
        Some(plan) if plan.fits == Some(false) => Err(ApiError::invalid(
            "run spec",
            vec![FieldError {
                field: format!("{prefix}trainer"),
                message: refusal(&plan),
            }],
        )),
        _ => Ok(()),
    }
}

/// `POST /api/plan` with a [`RunSpec`]: its [`PlanReport`].
pub async fn post_plan(State(state): State<AppState>, body: Bytes) -> ApiResult<Json<PlanReport>> {
    let spec: RunSpec = parse_body(&body)?;
    check(spec.validate(), "run spec")?;
    check(state.places.check(&spec, ""), "run spec")?;
    let plan = tokio::task::spawn_blocking(move || plan_of(&state, &spec))
        .await
        .map_err(|error| ApiError::Internal(error.into()))?;
    plan.map(Json).ok_or_else(|| {
        ApiError::invalid_field(
            "run spec",
            "model",
            "this server cannot read the model's config.json to plan it",
        )
    })
}
