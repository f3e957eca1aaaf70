//! `GET /api/health`: which server build answers, and on what compute device it trains.

use serde::{Deserialize, Serialize};

/// The server's identity and compute backend, shown in the UI's status bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `"ok"` when the server answers at all.
    pub status: String,
    /// The `lethe` crate version (`CARGO_PKG_VERSION`).
    pub version: String,
    /// The git commit the binary was built from, or `"unknown"` outside a git checkout.
    pub git_commit: String,
    /// The compute device runs execute on (the first of the pool's).
    pub backend: BackendInfo,
    /// The host's device pool: each device, its memory and the runs on it now (empty when a
    /// cluster places the runs).
    #[serde(default)]
    pub devices: Vec<DeviceSlot>,
    /// Where runs execute: `local` (this host's pool) or `slurm` (jobs of a SLURM cluster).
    #[serde(default = "local")]
    pub executor: String,
}

fn local() -> String {
    "local".to_string()
}

/// One device of the host's pool (`lethe serve --devices`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceSlot {
    /// The device, e.g. `"cuda:1"`.
    pub device: String,
    /// Its memory in bytes, when known.
    pub memory_bytes: Option<u64>,
    /// The runs executing on it now.
    pub runs: Vec<i64>,
}

/// The compute device of the server's job queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// The device as configured, e.g. `"cpu"`, `"wgpu"` or `"cuda:0"`.
    pub device: String,
    /// The burn backend behind it, e.g. `"flex"` or `"wgpu"`.
    pub backend: String,
    /// The hardware the backend reports, e.g. `"llvmpipe (LLVM 15.0.6, 256 bits)"` or a CPU model.
    pub adapter: String,
    /// The weight precisions runs may train in here: `["f32"]`, or on CUDA also `"bf16"` and
    /// `"f16"`.
    #[serde(default)]
    pub precisions: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Health {
        Health {
            status: "ok".into(),
            version: "0.1.0".into(),
            git_commit: "abc1234".into(),
            backend: BackendInfo {
                device: "cpu".into(),
                backend: "flex".into(),
                adapter: "AMD EPYC (2 threads)".into(),
                precisions: vec!["f32".into()],
            },
            devices: vec![DeviceSlot {
                device: "cpu".into(),
                memory_bytes: Some(1 << 30),
                runs: vec![3],
            }],
            executor: "local".into(),
        }
    }

    #[test]
    fn health_round_trips_through_json() {
        let health = sample();
        let json = serde_json::to_string(&health).unwrap();
        let back: Health = serde_json::from_str(&json).unwrap();
        assert_eq!(back, health);
    }

    #[test]
    fn health_json_shape_is_stable() {
        let value = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "status": "ok",
                "version": "0.1.0",
                "git_commit": "abc1234",
                "backend": {"device": "cpu", "backend": "flex", "adapter": "AMD EPYC (2 threads)",
                            "precisions": ["f32"]},
                "devices": [{"device": "cpu", "memory_bytes": 1_073_741_824_u64, "runs": [3]}],
                "executor": "local"
            })
        );
    }
}
