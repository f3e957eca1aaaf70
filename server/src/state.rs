//! Shared state of the router.

use std::path::PathBuf;
use std::sync::Arc;

use engine::DeviceInfo;
use shared::health::{BackendInfo, Health};

/// Everything a handler may need, cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The answer of `GET /api/health`, fixed at start-up.
    pub health: Arc<Health>,
    /// Where the UI's static files live.
    pub static_dir: Arc<PathBuf>,
}

impl AppState {
    /// State for a server computing on `device`, serving the UI from `static_dir`.
    pub fn new(device: DeviceInfo, static_dir: PathBuf) -> Self {
        let health = Health {
            status: "ok".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: env!("LETHE_GIT_COMMIT").to_string(),
            backend: BackendInfo {
                device: device.device,
                backend: device.backend.to_string(),
                adapter: device.adapter,
            },
        };
        Self {
            health: Arc::new(health),
            static_dir: Arc::new(static_dir),
        }
    }
}
