//! `GET /api/models`: the model registry.

use axum::Json;
use axum::extract::State;
use shared::run::ModelEntry;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Every model this host can load, with family and size.
pub async fn list_models(
    State(state): State<AppState>,
    _caller: Caller,
) -> ApiResult<Json<Vec<ModelEntry>>> {
    let registry = state.places.registry.clone();
    let models = tokio::task::spawn_blocking(move || registry.list())
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Json(models))
}
