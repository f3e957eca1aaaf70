//! How a run trains and evaluates: optimiser, schedule, precision, evaluation settings.

use serde::{Deserialize, Serialize};

use super::during::{DuringEval, Select, StopWhen};
use super::lora::LoraSpec;

/// Weight precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dtype {
    /// f32.
    #[default]
    F32,
    /// bfloat16.
    Bf16,
    /// IEEE half.
    F16,
}

impl Dtype {
    /// Wire name (`f32`, `bf16`, `f16`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::Bf16 => "bf16",
            Self::F16 => "f16",
        }
    }

    /// The dtype named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::F32, Self::Bf16, Self::F16]
            .into_iter()
            .find(|d| d.as_str() == text)
    }
}

/// Where the frozen reference's log-probabilities come from while training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceMode {
    /// The reference model stays on the device and runs on every micro-batch.
    #[default]
    Live,
    /// Its log-probabilities of the forget (and I-don't-know) rows are computed once before
    /// training and kept in host memory, and the model is freed: one model copy less on the
    /// device. Not for a KL retain term, which needs the whole distribution.
    Cached,
}

impl ReferenceMode {
    /// Both, in the order a form lists them.
    pub const ALL: [Self; 2] = [Self::Live, Self::Cached];

    /// Wire name (`live`, `cached`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Cached => "cached",
        }
    }

    /// The mode named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

/// The most devices one run's model splits over.
pub const MAX_DEVICES: usize = 16;

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_one(value: &usize) -> bool {
    *value == 1
}

/// Optimiser and schedule (spec §2.11 defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainerSpec {
    /// Peak learning rate.
    pub lr: f64,
    /// Epochs over the forget set.
    pub epochs: f64,
    /// Per-device micro-batch.
    pub batch_size: usize,
    /// Gradient accumulation steps.
    pub grad_accum: usize,
    /// Linear warm-up, in epochs.
    pub warmup_epochs: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Global gradient-norm clip; 0 turns clipping off.
    pub max_grad_norm: f64,
    /// Seed of data order and pairing.
    pub seed: u64,
    /// Weight precision.
    pub dtype: Dtype,
    /// With half-precision weights, keep an f32 master copy for the update (HF Trainer updates
    /// the half weights in place, losing updates below their resolution).
    pub master_weights: bool,
    /// Balanced gradient checkpointing.
    pub gradient_checkpointing: bool,
    /// Where the frozen reference's log-probabilities come from.
    pub reference_mode: ReferenceMode,
    /// AdamW's moments and master weights in host memory, updated on the CPU; the device holds
    /// only the weights and the gradients.
    pub optimizer_offload: bool,
    /// GPUs of one host the model's decoder layers are split over (`--devices cuda:0,cuda:1`);
    /// 1 unless the model does not fit one.
    #[serde(skip_serializing_if = "is_one")]
    pub devices: usize,
    /// Precision of the saved checkpoint; default: `dtype`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub save_dtype: Option<Dtype>,
    /// Guards that end the run early (they read `eval.during`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_when: Option<StopWhen>,
    /// Train low-rank adapters instead of every weight.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lora: Option<LoraSpec>,
}

impl Default for TrainerSpec {
    fn default() -> Self {
        Self {
            lr: 1e-5,
            epochs: 10.0,
            batch_size: 8,
            grad_accum: 4,
            warmup_epochs: 1.0,
            weight_decay: 0.01,
            max_grad_norm: 1.0,
            seed: 0,
            dtype: Dtype::F32,
            master_weights: true,
            gradient_checkpointing: false,
            reference_mode: ReferenceMode::Live,
            optimizer_offload: false,
            devices: 1,
            save_dtype: None,
            stop_when: None,
            lora: None,
        }
    }
}

/// The TOFU evaluation after training (spec §5 defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalSpec {
    /// Evaluate the unlearned model.
    pub enabled: bool,
    /// Rows per forward pass and generation batch.
    pub batch_size: usize,
    /// Greedy generation length.
    pub max_new_tokens: usize,
    /// A retain model's TOFU_EVAL.json on the server, for forget quality.
    pub retain_ref: Option<String>,
    /// Directory of the HF gibberish classifier for open-unlearning's `forget_Q_A_gibberish`;
    /// without it only the offline heuristic is reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gibberish_model: Option<String>,
    /// The gibberish classifier's truncation in tokens (TOFU: 32).
    pub classifier_max_length: usize,
    /// A cheap evaluation at step 0 and at every interval while training: the forgetting
    /// trajectory (`evals.jsonl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub during: Option<DuringEval>,
    /// Which checkpoint the final evaluation and the download use.
    #[serde(skip_serializing_if = "is_last")]
    pub select: Select,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_last(select: &Select) -> bool {
    *select == Select::Last
}

/// The gibberish classifier's truncation TOFU uses.
pub const CLASSIFIER_MAX_LENGTH: usize = 32;

impl Default for EvalSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            batch_size: 32,
            max_new_tokens: 200,
            retain_ref: None,
            gibberish_model: None,
            classifier_max_length: CLASSIFIER_MAX_LENGTH,
            during: None,
            select: Select::Last,
        }
    }
}
