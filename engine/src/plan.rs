//! Memory before the run: what an unlearning run of a model holds on each device and in host
//! memory, from the model's `config.json` alone (no weights), and the settings that make it fit.
//!
//! Per device, for `P` parameters (the largest device's share when the decoder layers are split
//! over several, see [`layer_split`]) and weights of `w` bytes (4 in f32, 2 in bf16/f16):
//!
//! | part | bytes |
//! |---|---|
//! | weights | `P·w` |
//! | gradients (autodiff's, in the weights' dtype) | `P·w` |
//! | gradient sums (accumulation; f32 with master weights or f32 weights) | `P·4` or `P·w` |
//! | optimizer state (AdamW m and v, f32) | `P·8`, or 0 when offloaded |
//! | master weights (f32 copy of half weights) | `P·4`, or 0 when offloaded or off |
//! | reference model (live, objectives that use one) | `P·w` |
//! | activations | see [`activations`] |
//! | pool slack (GPU memory pool beyond live tensors; not on `cpu`) | `P·w / 2` |
//!
//! The peak is the weights, optimizer state, master weights, reference and pool slack, plus the
//! larger of the activations (alive until the backward pass frees them) and the gradients with
//! their sums (born during and after it).
//!
//! Host memory holds the offloaded optimizer state and master weights, the reference cache, one
//! copy of the checkpoint while it loads, and the process itself. On the `cpu` device, device and
//! host memory are the same memory, and the peak is their sum.
//!
//! The activation coefficients estimate the tensors the graph keeps; docs/TRAINING.md compares
//! the plan with measured peaks.

use std::collections::BTreeMap;

use crate::llama::model::expected_tensors;
use crate::llama::{LayerSplit, LlamaConfig, WeightDtype, layer_split};
use crate::objectives::{Method, ObjectiveConfig, RetainLoss};

mod activations;
mod auto;
mod lora;
mod size;

pub use activations::{ACTIVATION_SCALE, activations};
pub use auto::{AUTO_ORDER, auto};
pub use lora::{LoraPlan, lora_parameters};
pub use size::parse_bytes;

/// How an objective uses the frozen reference model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceUse {
    /// Not at all (GradAscent, GradDiff with an NLL retain term, SimNPO, WGA, SatImp).
    None,
    /// Only through log-probabilities of the forget and I-don't-know rows: it can be cached.
    LogProbs,
    /// Through its whole distribution (a KL retain term): it must stay live.
    Distribution,
}

impl ReferenceUse {
    /// How `objective` uses the reference.
    pub fn of(objective: &ObjectiveConfig) -> Self {
        if objective.retain == RetainLoss::Kl {
            Self::Distribution
        } else if objective.method.needs_reference() {
            Self::LogProbs
        } else {
            Self::None
        }
    }
}

/// Forward passes one micro-batch of `objective` keeps for its backward: the forget and retain
/// rows, and IdkDPO's I-don't-know rows.
pub fn passes(objective: &ObjectiveConfig) -> usize {
    if matches!(objective.method, Method::IdkDpo { .. }) {
        3
    } else {
        2
    }
}

/// The settings a plan weighs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanSettings {
    /// Rows per micro-batch.
    pub batch_size: usize,
    /// Tokens per row (the longest row of a micro-batch; 512 is TOFU's truncation).
    pub max_length: usize,
    /// Forward passes kept for one backward: forget + retain (2), plus I-don't-know (3), or 1.
    pub passes: usize,
    /// Weight precision.
    pub dtype: WeightDtype,
    /// f32 master copy of half weights.
    pub master_weights: bool,
    /// How the objective uses the reference.
    pub reference: ReferenceUse,
    /// The reference's log-probabilities cached in host memory instead of the live model.
    pub reference_cached: bool,
    /// AdamW state in host memory.
    pub optimizer_offload: bool,
    /// Balanced gradient checkpointing.
    pub gradient_checkpointing: bool,
    /// Devices the decoder layers are split over.
    pub devices: usize,
    /// LoRA adapters instead of full fine-tuning.
    pub lora: Option<LoraPlan>,
}

impl Default for PlanSettings {
    fn default() -> Self {
        Self {
            batch_size: 8,
            max_length: 512,
            passes: 2,
            dtype: WeightDtype::F32,
            master_weights: true,
            reference: ReferenceUse::LogProbs,
            reference_cached: false,
            optimizer_offload: false,
            gradient_checkpointing: false,
            devices: 1,
            lora: None,
        }
    }
}

/// The process itself (the runtime, the tokenizer, the data) and what loading leaves resident
/// per parameter (the checkpoint's mapped pages, allocator slack): 30 MiB + 2.5 bytes per
/// parameter, fitted to the measured `cpu` peaks of the demo model (0.9 M parameters) and
/// SmolLM2-135M (docs/TRAINING.md, "Calibration").
pub fn process_bytes(parameters: u64) -> u64 {
    (30 << 20) + parameters * 5 / 2
}

/// A memory plan.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryPlan {
    /// Parameters of the model.
    pub parameters: u64,
    /// Bytes per part on the busiest device.
    pub device_parts: BTreeMap<&'static str, u64>,
    /// Bytes per part in host memory.
    pub host_parts: BTreeMap<&'static str, u64>,
    /// The busiest device's peak (on `cpu`: the process's peak).
    pub peak_bytes: u64,
    /// Host memory the run needs besides the device (on `cpu`: the same as the peak).
    pub host_bytes: u64,
    /// What the plan wants the reader to know (a setting that does not apply, and why).
    pub notes: Vec<String>,
}

impl MemoryPlan {
    /// Whether the peak fits `device_memory` bytes.
    pub fn fits(&self, device_memory: u64) -> bool {
        self.peak_bytes <= device_memory
    }
}

/// Parameters of a model with `config`.
pub fn parameters(config: &LlamaConfig) -> u64 {
    expected_tensors(config)
        .iter()
        .map(|(_, shape)| shape.iter().product::<usize>() as u64)
        .sum()
}

pub(crate) fn weight_bytes(dtype: WeightDtype) -> u64 {
    match dtype {
        WeightDtype::F32 => 4,
        WeightDtype::F16 | WeightDtype::Bf16 => 2,
    }
}

/// The plan of one run of a model with `config` under `settings`.
pub fn plan(config: &LlamaConfig, settings: &PlanSettings) -> MemoryPlan {
    let parameters = parameters(config);
    // Split over several devices, the largest device's share ([`layer_split`]) is the one that
    // must fit.
    let split = layer_split(config, settings.devices.max(1)).ok();
    let per_device = split
        .as_ref()
        .map_or(parameters, LayerSplit::max_parameters);
    let w = weight_bytes(settings.dtype);
    let half = settings.dtype != WeightDtype::F32;
    let master = half && settings.master_weights;
    let mut notes = Vec::new();
    let mut device = BTreeMap::new();
    let mut host = BTreeMap::new();
    device.insert("weights", per_device * w);
    // With LoRA only the adapters train; the targeted weights' effective copies live through
    // the backward pass. The device's share of either is its share of the parameters.
    let share = |n: u64| n * per_device / parameters.max(1);
    let (trainable, effective) = settings.lora.map_or((per_device, 0), |lora| {
        let (adapters, targeted) = lora_parameters(config, &lora);
        (share(adapters), share(targeted) * w)
    });
    device.insert("gradients", trainable * w);
    device.insert(
        "gradient_sums",
        trainable * if master || !half { 4 } else { w },
    );
    let (optimizer, masters) = (trainable * 8, if master { trainable * 4 } else { 0 });
    if settings.optimizer_offload {
        // Host memory holds every device's state.
        let all = settings
            .lora
            .map_or(parameters, |lora| lora_parameters(config, &lora).0);
        host.insert("optimizer_state", all * 8);
        host.insert("master_weights", if master { all * 4 } else { 0 });
        device.insert("optimizer_state", 0);
        device.insert("master_weights", 0);
    } else {
        device.insert("optimizer_state", optimizer);
        device.insert("master_weights", masters);
    }
    let cached = match (settings.reference, settings.reference_cached) {
        (ReferenceUse::None, cached) => {
            if cached {
                notes.push(
                    "reference_mode: this objective uses no reference; nothing to cache".into(),
                );
            }
            device.insert("reference", 0);
            false
        }
        (ReferenceUse::Distribution, cached) => {
            if cached {
                notes.push(
                    "reference_mode: a KL retain term needs the reference's whole distribution; \
                     it stays live"
                        .into(),
                );
            }
            device.insert("reference", per_device * w);
            false
        }
        (ReferenceUse::LogProbs, true) => {
            device.insert("reference", 0);
            true
        }
        (ReferenceUse::LogProbs, false) => {
            device.insert("reference", per_device * w);
            false
        }
    };
    if settings.lora.is_some_and(|l| l.base_reference) {
        // The frozen base is the reference: no second copy.
        device.insert("reference", 0);
    }
    if cached {
        // Forget10 (400 rows) and as many I-don't-know rows, 512 tokens, NLL and mask in f32.
        host.insert("reference_cache", 2 * 400 * settings.max_length as u64 * 8);
    }
    let layers = split
        .as_ref()
        .map_or(config.num_hidden_layers, LayerSplit::max_layers);
    device.insert(
        "activations",
        activations(config, settings, layers) + effective,
    );
    host.insert("loading", parameters * w);
    host.insert("process", process_bytes(parameters));
    // The activations die during the backward pass as the gradients are born, and the
    // gradient sums are filled after it: the peak holds the larger of the two.
    let transient = device["activations"].max(device["gradients"] + device["gradient_sums"]);
    // burn's GPU memory pool reserves pages and slices beyond the live tensors: measured on
    // lavapipe as half the weights' bytes (docs/TRAINING.md, "Calibration"). The `cpu` plan
    // drops it.
    device.insert("pool_slack", device["weights"] / 2);
    let device_total: u64 = [
        "weights",
        "optimizer_state",
        "master_weights",
        "reference",
        "pool_slack",
    ]
    .iter()
    .map(|part| device[part])
    .sum::<u64>()
        + transient;
    let host_total: u64 = host.values().sum();
    MemoryPlan {
        parameters,
        device_parts: device,
        host_parts: host,
        peak_bytes: device_total,
        host_bytes: host_total,
        notes,
    }
}

/// The same plan for the `cpu` device, where the device is host memory: the peak is the device
/// parts plus the host parts (the checkpoint's loading copy is gone by the time training peaks).
/// Balanced checkpointing did not lower the measured peak on burn's `flex` backend, so it earns
/// no credit here.
pub fn plan_on_cpu(config: &LlamaConfig, settings: &PlanSettings) -> MemoryPlan {
    let mut plan = plan(
        config,
        &PlanSettings {
            gradient_checkpointing: false,
            ..*settings
        },
    );
    plan.peak_bytes -= plan.device_parts.remove("pool_slack").unwrap_or(0);
    let loading = plan.host_parts.remove("loading").unwrap_or(0);
    let host: u64 = plan.host_parts.values().sum();
    plan.peak_bytes += host;
    plan.host_bytes = plan
        .peak_bytes
        .max(loading + process_bytes(plan.parameters));
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llama::HfLlamaConfig;

    pub(super) fn llama_31_8b() -> LlamaConfig {
        let hf: HfLlamaConfig = serde_json::from_value(serde_json::json!({
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
            "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
            "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "max_position_embeddings": 131072,
            "tie_word_embeddings": false
        }))
        .expect("a config");
        LlamaConfig::try_from(&hf).expect("a valid config")
    }

    #[test]
    fn parts_follow_the_bytes_per_parameter_table() {
        let config = llama_31_8b();
        let f32_plan = plan(&config, &PlanSettings::default());
        assert_eq!(f32_plan.parameters, 8_030_261_248, "Llama-3.1-8B");
        let p = f32_plan.parameters;
        let parts = &f32_plan.device_parts;
        assert_eq!(parts["weights"], 4 * p);
        assert_eq!(parts["optimizer_state"], 8 * p);
        assert_eq!(parts["reference"], 4 * p);
        assert_eq!(parts["master_weights"], 0);
        let bf16 = PlanSettings {
            dtype: WeightDtype::Bf16,
            reference_cached: true,
            optimizer_offload: true,
            ..PlanSettings::default()
        };
        let half = plan(&config, &bf16);
        assert_eq!(half.device_parts["weights"], 2 * p);
        assert_eq!(half.device_parts["reference"], 0);
        assert_eq!(half.device_parts["optimizer_state"], 0);
        assert_eq!(half.host_parts["optimizer_state"], 8 * p);
        assert_eq!(half.host_parts["master_weights"], 4 * p);
        let checkpointed = PlanSettings {
            gradient_checkpointing: true,
            ..PlanSettings::default()
        };
        assert!(
            activations(&config, &checkpointed, 32)
                < activations(&config, &PlanSettings::default(), 32) / 2
        );
        let two = plan(
            &config,
            &PlanSettings {
                devices: 2,
                ..PlanSettings::default()
            },
        );
        // Two devices hold the larger half of the split: 16 layers each, the embedding on one
        // and the output projection on the other (Llama-3.1-8B's are the same size).
        let split = layer_split(&config, 2).expect("32 layers split");
        assert_eq!(split.layer_device.iter().filter(|d| **d == 0).count(), 16);
        assert_eq!(two.device_parts["weights"], 4 * split.max_parameters());
        assert!(split.max_parameters() - p / 2 < p / 1000, "{split:?}");
    }
}
