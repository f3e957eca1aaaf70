//! Robustness attacks on an unlearned model (`attacks` of a run, or `lethe attack` on a finished
//! run's directory): does the forgotten knowledge come back when the model is fine-tuned on part
//! of the forget set again (relearning), or when its weights are quantized the way deployments do?
//! `docs/EVALUATION.md` defines what each measures.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

fn half() -> f64 {
    0.5
}

/// One attack.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AttackSpec {
    /// Fine-tune the unlearned checkpoint on a seeded `fraction` of the forget set for `steps`
    /// optimizer steps at learning rate `lr`, then evaluate.
    Relearn {
        /// Optimizer steps.
        steps: usize,
        /// Learning rate (constant, no warm-up).
        lr: f64,
        /// Share of the forget items relearned; the rest are held out.
        #[serde(default = "half")]
        fraction: f64,
    },
    /// Quantize the projection weights to `bits`-bit integers per block and evaluate.
    Quantize {
        /// 8 or 4.
        bits: u8,
    },
}

impl AttackSpec {
    /// The directory under `attacks/` its logs go to: `relearn`, `quantize-4`.
    pub fn dir_name(&self) -> String {
        match self {
            Self::Relearn { .. } => "relearn".into(),
            Self::Quantize { bits } => format!("quantize-{bits}"),
        }
    }

    /// A short label for tables: `relearn 20 steps`, `4-bit`.
    pub fn label(&self) -> String {
        match self {
            Self::Relearn { steps, .. } => format!("relearn ({steps} steps)"),
            Self::Quantize { bits } => format!("{bits}-bit weights"),
        }
    }

    /// The problems of this attack, each naming `attacks.<index>.<field>`.
    pub fn validate(&self, index: usize) -> Vec<FieldError> {
        let field = |name: &str| format!("attacks.{index}.{name}");
        let mut errors = Vec::new();
        let mut push = |name: &str, message: String| {
            errors.push(FieldError {
                field: field(name),
                message,
            });
        };
        match *self {
            Self::Relearn {
                steps,
                lr,
                fraction,
            } => {
                if steps == 0 || steps > 100_000 {
                    push("steps", "1 to 100000".into());
                }
                if !(lr.is_finite() && lr > 0.0 && lr <= 1.0) {
                    push("lr", format!("a learning rate in (0, 1] (got {lr})"));
                }
                if !(fraction > 0.0 && fraction < 1.0) {
                    push(
                        "fraction",
                        format!(
                            "a share in (0, 1) (got {fraction}): some items are relearned, the \
                             rest held out"
                        ),
                    );
                }
            }
            Self::Quantize { bits } => {
                if !matches!(bits, 4 | 8) {
                    push("bits", format!("8 or 4 (got {bits})"));
                }
            }
        }
        errors
    }
}

/// Forget probability and ROUGE-L recall of one model on some forget items.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ForgetScore {
    /// Mean `forget_Q_A_Prob`.
    pub prob: f64,
    /// Mean `forget_Q_A_ROUGE` (ROUGE-L recall).
    pub rouge: f64,
}

/// What an attack found: `attacks/<name>/ATTACK.json`, beside its `TOFU_EVAL.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackReport {
    /// The attack.
    pub attack: AttackSpec,
    /// The target model (before unlearning) on the whole forget split.
    pub target: ForgetScore,
    /// The unlearned model on the whole forget split.
    pub unlearned: ForgetScore,
    /// The attacked model on the whole forget split.
    pub attacked: ForgetScore,
    /// Relearning: the items it trained on (indices into the forget split).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relearned: Vec<usize>,
    /// Relearning: the held-out items' scores, before (unlearned) and after the attack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_out: Option<[ForgetScore; 2]>,
    /// How much of what unlearning removed came back, on the whole split:
    /// `(attacked − unlearned) / (target − unlearned)` for the probability and for ROUGE.
    pub recovered: ForgetScore,
    /// The attacked model's headline TOFU metrics.
    pub metrics: BTreeMap<String, f64>,
    /// Seconds the attack took, its evaluation included.
    pub seconds: f64,
}

impl ForgetScore {
    /// How much of the drop from `target` to `unlearned` `self` regained (0: none, 1: all); 0
    /// when unlearning removed nothing.
    pub fn recovered(self, unlearned: Self, target: Self) -> Self {
        let share = |now: f64, low: f64, high: f64| {
            let removed = high - low;
            if removed.abs() < 1e-12 {
                0.0
            } else {
                (now - low) / removed
            }
        };
        Self {
            prob: share(self.prob, unlearned.prob, target.prob),
            rouge: share(self.rouge, unlearned.rouge, target.rouge),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attacks_read_as_the_issue_writes_them_and_name_bad_fields() {
        let attacks: Vec<AttackSpec> = serde_json::from_str(
            r#"[{"kind": "relearn", "steps": 20, "lr": 1e-5},
                {"kind": "quantize", "bits": 4}]"#,
        )
        .unwrap();
        assert_eq!(
            attacks,
            [
                AttackSpec::Relearn {
                    steps: 20,
                    lr: 1e-5,
                    fraction: 0.5
                },
                AttackSpec::Quantize { bits: 4 }
            ]
        );
        assert_eq!(attacks[1].dir_name(), "quantize-4");
        let bad = AttackSpec::Relearn {
            steps: 0,
            lr: 2.0,
            fraction: 1.0,
        };
        let fields: Vec<String> = bad.validate(1).into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["attacks.1.steps", "attacks.1.lr", "attacks.1.fraction"]
        );
        assert_eq!(
            AttackSpec::Quantize { bits: 3 }.validate(0)[0].field,
            "attacks.0.bits"
        );
    }

    #[test]
    fn recovery_is_the_share_of_the_removed_knowledge_regained() {
        let target = ForgetScore {
            prob: 0.8,
            rouge: 0.6,
        };
        let unlearned = ForgetScore {
            prob: 0.2,
            rouge: 0.6,
        };
        let attacked = ForgetScore {
            prob: 0.5,
            rouge: 0.7,
        };
        let r = attacked.recovered(unlearned, target);
        assert!((r.prob - 0.5).abs() < 1e-12);
        assert_eq!(r.rouge, 0.0, "ROUGE was not removed");
    }
}
