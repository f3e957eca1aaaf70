//! `trainer.lora`: train low-rank adapters on the projection matrices instead of every weight.
//! The frozen base model is the objectives' reference (no second copy), the checkpoint is saved
//! merged, and the adapters also as a PEFT adapter (`adapter/`) that `peft` loads.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// The projections adapters can go on, in HF's names.
pub const LORA_TARGETS: [&str; 7] = [
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
];

/// LoRA settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoraSpec {
    /// Rank of each adapter.
    pub rank: usize,
    /// Scale numerator: the update is `alpha / rank · B A`.
    pub alpha: f64,
    /// Dropout on the adapters' input; only 0 is supported (the adapters are merged into the
    /// weights as they train, where no input dropout can go).
    pub dropout: f64,
    /// Which projections get adapters.
    pub targets: Vec<String>,
}

impl Default for LoraSpec {
    fn default() -> Self {
        Self {
            rank: 8,
            alpha: 16.0,
            dropout: 0.0,
            targets: LORA_TARGETS.iter().map(|t| (*t).to_string()).collect(),
        }
    }
}

impl LoraSpec {
    /// Every problem, each naming its `trainer.lora.` field.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut push = |field: &str, message: String| {
            errors.push(FieldError {
                field: format!("trainer.lora.{field}"),
                message,
            });
        };
        if self.rank == 0 || self.rank > 4096 {
            push("rank", "1 to 4096".into());
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            push("alpha", format!("a number > 0 (got {})", self.alpha));
        }
        if self.dropout != 0.0 {
            push(
                "dropout",
                format!(
                    "only 0 is supported (got {}): Lethe merges the adapters into the weights as \
                     they train, where no input dropout can go",
                    self.dropout
                ),
            );
        }
        if self.targets.is_empty() {
            push(
                "targets",
                format!("name at least one of {}", LORA_TARGETS.join(", ")),
            );
        }
        for target in &self.targets {
            if !LORA_TARGETS.contains(&target.as_str()) {
                push(
                    "targets",
                    format!("`{target}` is not one of {}", LORA_TARGETS.join(", ")),
                );
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_read_and_bad_settings_name_their_fields() {
        let lora: LoraSpec = serde_json::from_str(r#"{"rank": 4}"#).unwrap();
        assert_eq!((lora.rank, lora.alpha, lora.targets.len()), (4, 16.0, 7));
        assert!(lora.validate().is_empty());
        let bad = LoraSpec {
            rank: 0,
            alpha: -1.0,
            dropout: 0.1,
            targets: vec!["lm_head".into()],
        };
        let fields: Vec<String> = bad.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "trainer.lora.rank",
                "trainer.lora.alpha",
                "trainer.lora.dropout",
                "trainer.lora.targets"
            ]
        );
    }
}
