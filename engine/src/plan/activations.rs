//! The activations an unlearning step keeps on a device for its backward pass.

use super::{PlanSettings, weight_bytes};
use crate::llama::LlamaConfig;

/// Activations the autodiff graph keeps for one backward pass, per device: for each decoder
/// layer, per token, the tensors the backward reads (norm inputs and outputs, q/k/v before and
/// after RoPE, the attention output, the MLP's gate, up, SiLU and product, the residuals) and the
/// attention scores and probabilities per head; with checkpointing, only the matmul outputs and
/// one copy of the scores. Plus the logits, their f32 log-softmax and its gradient for every
/// token, on the device holding `lm_head`.
pub fn activations(config: &LlamaConfig, settings: &PlanSettings, layers: usize) -> u64 {
    let a = weight_bytes(settings.dtype);
    let tokens = (settings.batch_size * settings.passes * settings.max_length) as u64;
    let (h, i) = (config.hidden_size as u64, config.intermediate_size as u64);
    let q = (config.num_attention_heads * config.head_dim) as u64;
    let kv = (config.num_key_value_heads * config.head_dim) as u64;
    let heads_by_length = (config.num_attention_heads * settings.max_length) as u64;
    let (per_token, score_copies) = if settings.gradient_checkpointing {
        (3 * h + 2 * q + 2 * kv + 2 * i, 1)
    } else {
        (8 * h + 4 * q + 4 * kv + 5 * i, 3)
    };
    let per_layer = tokens * (per_token + score_copies * heads_by_length) * a;
    let logits = tokens * config.vocab_size as u64 * (a + 4 + 4);
    scaled(per_layer * layers as u64 + logits, ACTIVATION_SCALE)
}

/// The share of the counted activation tensors alive at the peak: fitted to SmolLM2-135M on the
/// `cpu` backend at batch 8 and 16 (docs/TRAINING.md, "Calibration"); burn frees some tensors the
/// count includes before the backward pass reaches them.
pub const ACTIVATION_SCALE: f64 = 0.72;

fn scaled(bytes: u64, factor: f64) -> u64 {
    #[expect(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "an estimate"
    )]
    let out = (bytes as f64 * factor) as u64;
    out
}
