//! `GET /api/health`.

use axum::Json;
use axum::extract::State;
use shared::health::Health;

use crate::state::AppState;

/// The server's version, commit, compute backend, and its device pool with the runs on each.
pub async fn get_health(State(state): State<AppState>) -> Json<Health> {
    let mut health = Health::clone(&state.health);
    health.devices = state.queue.devices();
    Json(health)
}
