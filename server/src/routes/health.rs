//! `GET /api/health`.

use axum::Json;
use axum::extract::State;
use shared::health::Health;

use crate::state::AppState;

/// The server's version, commit and compute device.
pub async fn get_health(State(state): State<AppState>) -> Json<Health> {
    Json(Health::clone(&state.health))
}
