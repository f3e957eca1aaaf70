//! A run's memory plan, as `lethe plan --json`, `POST /api/plan` and a run's `plan.json` give it:
//! what the run holds on each device and in host memory, before it starts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::run::{Dtype, ReferenceMode};

/// The plan of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanReport {
    /// Parameters of the model.
    pub parameters: u64,
    /// The busiest device's peak in bytes (on `cpu`: the process's).
    pub peak_bytes: u64,
    /// Host memory in bytes the run needs besides the device (on `cpu`: the peak).
    pub host_bytes: u64,
    /// The device memory the plan was weighed against, when known.
    pub device_memory: Option<u64>,
    /// Whether the peak fits `device_memory` (`None` when that is unknown).
    pub fits: Option<bool>,
    /// Bytes per part.
    pub parts: PlanParts,
    /// The settings planned.
    pub settings: PlannedSettings,
    /// Remarks: a setting that does not apply and why, what `auto` gave up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The run's measured peak in bytes, added when training ends (on `cpu`: the high-water
    /// mark of resident memory from loading to the last step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_peak_bytes: Option<u64>,
}

/// Bytes per part, on each device (the busiest one) and in host memory.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PlanParts {
    /// `weights`, `gradients`, `gradient_sums`, `optimizer_state`, `master_weights`,
    /// `reference`, `activations`.
    pub device: BTreeMap<String, u64>,
    /// `optimizer_state`, `master_weights` (offloaded), `reference_cache`, `loading`, `process`.
    pub host: BTreeMap<String, u64>,
}

/// The switches a plan weighs, as the `trainer` fields and `lethe unlearn` flags name them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedSettings {
    /// The compute device (`cpu`, `wgpu`, `cuda:0`).
    pub device: String,
    /// Rows per micro-batch.
    pub batch_size: usize,
    /// Tokens per row planned for.
    pub max_length: usize,
    /// Weight precision.
    pub dtype: Dtype,
    /// f32 master copy of half weights.
    pub master_weights: bool,
    /// Where the reference's log-probabilities come from.
    pub reference_mode: ReferenceMode,
    /// AdamW state in host memory.
    pub optimizer_offload: bool,
    /// Balanced gradient checkpointing.
    pub gradient_checkpointing: bool,
    /// Devices the layers are split over.
    pub devices: usize,
}

/// `bytes` for people, in binary units as `nvidia-smi` and `free` count them: `1.23 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "for display")]
    let b = bytes as f64;
    let gib = f64::from(1_u32 << 30);
    if b >= gib {
        format!("{:.2} GiB", b / gib)
    } else {
        format!("{:.1} MiB", b / f64::from(1_u32 << 20))
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(human_bytes(80 << 30), "80.00 GiB");
        assert_eq!(human_bytes(3 << 19), "1.5 MiB");
    }
}
