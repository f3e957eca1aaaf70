//! What LoRA changes in a memory plan: only the adapters have gradients, gradient sums and
//! AdamW state; every targeted weight's effective copy `W + s·(a @ b)` is built for the forward
//! and kept for the backward (burn's reparameterization); the frozen base is the reference.

use crate::llama::{LlamaConfig, PROJECTIONS as TARGETS};

/// A run's LoRA, for the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoraPlan {
    /// Adapter rank.
    pub rank: usize,
    /// Which projections ([`TARGETS`] order: q, k, v, o, gate, up, down) get adapters.
    pub targets: [bool; 7],
    /// The frozen base serves as the objectives' reference (no explicit reference model).
    pub base_reference: bool,
}

impl LoraPlan {
    /// The plan's targets from projection names; unknown names are ignored.
    pub fn targets_of(names: &[String]) -> [bool; 7] {
        TARGETS.map(|t| names.iter().any(|n| n == t))
    }
}

/// `(adapter parameters, targeted base parameters)` of a model with `config`.
pub fn lora_parameters(config: &LlamaConfig, lora: &LoraPlan) -> (u64, u64) {
    let (h, i) = (config.hidden_size as u64, config.intermediate_size as u64);
    let q = (config.num_attention_heads * config.head_dim) as u64;
    let kv = (config.num_key_value_heads * config.head_dim) as u64;
    // (in, out) of each projection.
    let shapes = [(h, q), (h, kv), (h, kv), (q, h), (h, i), (h, i), (i, h)];
    let r = lora.rank as u64;
    let (mut adapters, mut targeted) = (0, 0);
    for ((input, output), on) in shapes.into_iter().zip(lora.targets) {
        if on {
            adapters += r * (input + output);
            targeted += input * output;
        }
    }
    let layers = config.num_hidden_layers as u64;
    (adapters * layers, targeted * layers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::llama_31_8b;
    use crate::plan::{PlanSettings, ReferenceUse, plan};

    #[test]
    fn adapters_carry_the_optimizer_state_and_the_base_is_the_reference() {
        let config = llama_31_8b();
        let lora = LoraPlan {
            rank: 16,
            targets: [true; 7],
            base_reference: true,
        };
        let (adapters, targeted) = lora_parameters(&config, &lora);
        // Llama-3.1-8B, rank 16 on every projection: 42 M adapter parameters (peft reports
        // 41,943,040), and the projections hold 6.98 B of the 8.03 B weights.
        assert_eq!(adapters, 41_943_040);
        assert_eq!(targeted, 6_979_321_856);
        let settings = PlanSettings {
            reference: ReferenceUse::LogProbs,
            ..PlanSettings::default()
        };
        let full = plan(&config, &settings);
        let adapted = plan(
            &config,
            &PlanSettings {
                lora: Some(lora),
                ..settings
            },
        );
        assert_eq!(adapted.device_parts["optimizer_state"], adapters * 8);
        assert_eq!(adapted.device_parts["reference"], 0);
        assert_eq!(
            adapted.device_parts["weights"],
            full.device_parts["weights"]
        );
        // The optimizer state and the reference copy go; the activations (which dominate at
        // 8 rows of 512 tokens) stay, and grow by the targeted weights' effective copies.
        let saved = full.device_parts["optimizer_state"] + full.device_parts["reference"]
            - adapted.device_parts["optimizer_state"];
        assert!(
            full.peak_bytes - adapted.peak_bytes > saved / 10 * 9,
            "{} vs {}",
            adapted.peak_bytes,
            full.peak_bytes
        );
    }
}
