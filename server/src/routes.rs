//! The route table, on one screen.

pub mod health;

use axum::Router;
use axum::routing::get;
use shared::paths;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use crate::assets;
use crate::state::AppState;

/// The whole HTTP surface: `/api/*` (JSON), `/pkg/*` (the hashed wasm bundle) and the UI.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route(paths::API_HEALTH, get(health::get_health))
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
