//! Shared state of the router.

use std::path::PathBuf;
use std::sync::Arc;

use engine::DeviceInfo;
use shared::health::{BackendInfo, Health};

use crate::auth::AuthMode;
use crate::db::Db;
use crate::jobs::Queue;
use crate::live::LiveHub;
use crate::runner::Places;

/// Everything a handler may need, cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The answer of `GET /api/health`, fixed at start-up.
    pub health: Arc<Health>,
    /// Where the UI's static files live.
    pub static_dir: Arc<PathBuf>,
    /// Runs, sweeps and tokens.
    pub db: Db,
    /// The job queue.
    pub queue: Arc<Queue>,
    /// Live state of active runs.
    pub hub: Arc<LiveHub>,
    /// Where the names in a spec may point: the model registry and the data roots.
    pub places: Arc<Places>,
    /// Whether API tokens are required.
    pub auth: AuthMode,
    /// Database, checkpoints and results.
    pub data_dir: Arc<PathBuf>,
    /// The compute device's memory, which submissions are planned against (`None`: unknown).
    pub device_memory: Option<u64>,
}

/// The health document for a server computing on `device`.
pub fn health(device: DeviceInfo, executor: &str) -> Health {
    let precisions = device
        .device
        .parse::<engine::DeviceSpec>()
        .map(|spec| {
            spec.training_dtypes()
                .iter()
                .map(|d| crate::runner::engine_config::dtype_name(*d).to_string())
                .collect()
        })
        .unwrap_or_default();
    Health {
        status: "ok".to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: env!("LETHE_GIT_COMMIT").to_string(),
        backend: BackendInfo {
            device: device.device,
            backend: device.backend.to_string(),
            adapter: device.adapter,
            precisions,
        },
        devices: Vec::new(),
        executor: executor.to_string(),
    }
}
