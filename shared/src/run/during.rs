//! Evaluation while training, and what it drives: the forgetting trajectory (`eval.during`),
//! which checkpoint the run keeps (`eval.select`) and the guards that end a run early
//! (`trainer.stop_when`). `docs/EVALUATION.md` defines each rule.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// How often the evaluation during training runs (and always at step 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Every {
    /// Every N optimizer steps: `{"steps": N}`.
    Steps(usize),
    /// Every E epochs over the forget set, rounded to whole steps: `{"epochs": E}`.
    Epochs(f64),
}

impl Every {
    /// The interval in optimizer steps, for a run with `steps_per_epoch` steps per epoch
    /// (at least one).
    pub fn steps(self, steps_per_epoch: f64) -> usize {
        match self {
            Self::Steps(n) => n.max(1),
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "a validated, positive number of steps"
            )]
            Self::Epochs(e) => ((e * steps_per_epoch).round() as usize).max(1),
        }
    }
}

/// Default utility items per set in a during-training evaluation.
pub const DURING_ITEMS: usize = 20;

fn during_items() -> usize {
    DURING_ITEMS
}

/// `eval.during`: a cheap TOFU evaluation at step 0 and at every interval (forget split in
/// full; `items` rows of each utility set).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuringEval {
    /// The interval.
    pub every: Every,
    /// Rows per utility set (retain, real authors, world facts) for model utility.
    #[serde(default = "during_items")]
    pub items: usize,
}

/// `eval.select`: which checkpoint the final evaluation and the download use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Select {
    /// The model after the last step.
    #[default]
    Last,
    /// The evaluated point with the highest forget quality.
    BestForgetQuality,
    /// The evaluated point with the highest balance: the harmonic mean of forget quality and
    /// model utility over the step-0 utility (capped at 1).
    BestBalance,
}

impl Select {
    /// All rules, in the order a form lists them.
    pub const ALL: [Self; 3] = [Self::Last, Self::BestForgetQuality, Self::BestBalance];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Last => "last",
            Self::BestForgetQuality => "best_forget_quality",
            Self::BestBalance => "best_balance",
        }
    }

    /// The rule named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the rule reads forget quality (so it needs a retain reference).
    pub fn needs_forget_quality(self) -> bool {
        self != Self::Last
    }
}

/// `trainer.stop_when`: guards that end a run early, checked at each evaluation during training.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StopWhen {
    /// Stop once model utility falls below this fraction of its step-0 value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mu_below: Option<f64>,
    /// Stop once the forget generations' gibberish score (the share that reads as text) falls
    /// below this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gibberish_below: Option<f64>,
    /// Stop once the forget metrics have not moved for this many steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_change_after: Option<usize>,
}

impl StopWhen {
    /// Whether any guard is set.
    pub fn any(&self) -> bool {
        self.mu_below.is_some() || self.gibberish_below.is_some() || self.no_change_after.is_some()
    }
}

/// Why a run stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Model utility fell below `mu_below` of its step-0 value.
    CollapsedUtility,
    /// The forget generations turned to gibberish.
    Gibberish,
    /// The forget metrics stopped moving.
    NoChange,
}

impl StopReason {
    /// Words for a page.
    pub fn label(self) -> &'static str {
        match self {
            Self::CollapsedUtility => "collapsed utility",
            Self::Gibberish => "gibberish",
            Self::NoChange => "forget metrics unchanged",
        }
    }
}

/// One point of the forgetting trajectory: a line of `evals.jsonl`, and a live event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryPoint {
    /// Optimizer steps done (0: the model before unlearning).
    pub step: usize,
    /// Epochs done (`step` over the steps per epoch).
    pub epoch: f64,
    /// Seconds the evaluation took.
    pub eval_seconds: f64,
    /// TOFU metric name → value (`forget_quality`, `model_utility`, `forget_Q_A_Prob`, …).
    #[serde(flatten)]
    pub metrics: BTreeMap<String, f64>,
}

impl TrajectoryPoint {
    /// Forget quality, when a retain reference gave one.
    pub fn forget_quality(&self) -> Option<f64> {
        self.metrics.get("forget_quality").copied()
    }

    /// Model utility on the sampled utility items.
    pub fn model_utility(&self) -> Option<f64> {
        self.metrics.get("model_utility").copied()
    }
}

/// The checkpoint a run kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Selected {
    /// Its step.
    pub step: usize,
    /// The rule.
    pub rule: Select,
    /// Why, in words (the values compared).
    pub reason: String,
}

/// An early stop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stopped {
    /// The step it stopped after.
    pub step: usize,
    /// The guard.
    pub reason: StopReason,
    /// The values that tripped it, in words.
    pub detail: String,
}

/// `outcome.json`: what the evaluation during training decided.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunOutcome {
    /// The checkpoint the run kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected: Option<Selected>,
    /// An early stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<Stopped>,
}

fn push(errors: &mut Vec<FieldError>, field: &str, message: impl Into<String>) {
    errors.push(FieldError {
        field: field.into(),
        message: message.into(),
    });
}

/// The rules of `eval.during`, `eval.select` and `trainer.stop_when` together.
pub(super) fn validate(
    during: Option<&DuringEval>,
    select: Select,
    stop: Option<&StopWhen>,
    eval_enabled: bool,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(d) = during {
        if !eval_enabled {
            push(
                &mut errors,
                "eval.during",
                "evaluating while training uses the evaluation's data and settings: set \
                 eval.enabled",
            );
        }
        match d.every {
            Every::Steps(0) => push(&mut errors, "eval.during.every", "at least 1 step"),
            Every::Epochs(e) if !(e.is_finite() && e > 0.0) => push(
                &mut errors,
                "eval.during.every",
                format!("a number of epochs > 0 (got {e})"),
            ),
            _ => {}
        }
        if d.items == 0 || d.items > 10_000 {
            push(&mut errors, "eval.during.items", "1 to 10000");
        }
    }
    if select != Select::Last {
        if during.is_none() {
            push(
                &mut errors,
                "eval.select",
                format!(
                    "`{}` picks among the evaluations during training: set eval.during",
                    select.as_str()
                ),
            );
        }
        if !eval_enabled {
            push(
                &mut errors,
                "eval.select",
                "selecting a checkpoint needs the evaluation: set eval.enabled",
            );
        }
    }
    if let Some(stop) = stop {
        if during.is_none() && stop.any() {
            push(
                &mut errors,
                "trainer.stop_when",
                "the guards read the evaluations during training: set eval.during",
            );
        }
        if let Some(f) = stop.mu_below
            && !(f > 0.0 && f <= 1.0)
        {
            push(
                &mut errors,
                "trainer.stop_when.mu_below",
                format!("a fraction of the step-0 utility in (0, 1] (got {f})"),
            );
        }
        if let Some(g) = stop.gibberish_below
            && !(g > 0.0 && g <= 1.0)
        {
            push(
                &mut errors,
                "trainer.stop_when.gibberish_below",
                format!("a score in (0, 1] (got {g})"),
            );
        }
        if stop.no_change_after == Some(0) {
            push(
                &mut errors,
                "trainer.stop_when.no_change_after",
                "at least 1 step",
            );
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use crate::run::{Method, RunSpec};

    use super::*;

    #[test]
    fn the_spec_reads_as_the_issue_writes_it() {
        let spec: RunSpec = serde_json::from_str(
            r#"{"model": "demo", "objective": {"method": "npo"},
                "trainer": {"stop_when": {"mu_below": 0.5, "no_change_after": 20}},
                "eval": {"during": {"every": {"epochs": 0.5}, "items": 10},
                         "select": "best_balance"}}"#,
        )
        .unwrap();
        assert!(spec.validate().is_empty(), "{:?}", spec.validate());
        let during = spec.eval.during.unwrap();
        assert_eq!(during.every, Every::Epochs(0.5));
        assert_eq!(during.every.steps(5.0), 3, "2.5 rounds to 3");
        assert_eq!(Every::Steps(0).steps(5.0), 1);
        assert_eq!(spec.eval.select, Select::BestBalance);
        let stop = spec.trainer.stop_when.unwrap();
        assert_eq!(
            (stop.mu_below, stop.gibberish_below, stop.no_change_after),
            (Some(0.5), None, Some(20))
        );
        let steps: DuringEval = serde_json::from_str(r#"{"every": {"steps": 5}}"#).unwrap();
        assert_eq!(steps.items, DURING_ITEMS);
        let again: RunSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
        assert_eq!(again, spec);
        // A spec without the new fields writes none of them.
        let plain = serde_json::to_string(&RunSpec::new("demo", Method::Npo)).unwrap();
        assert!(
            !plain.contains("during") && !plain.contains("select") && !plain.contains("stop_when"),
            "{plain}"
        );
    }

    #[test]
    fn each_bad_setting_names_its_field() {
        let mut spec = RunSpec::new("demo", Method::Npo);
        spec.eval.select = Select::BestForgetQuality;
        spec.trainer.stop_when = Some(StopWhen {
            mu_below: Some(1.5),
            gibberish_below: Some(0.0),
            no_change_after: Some(0),
        });
        let fields: Vec<String> = spec.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "eval.select",
                "trainer.stop_when",
                "trainer.stop_when.mu_below",
                "trainer.stop_when.gibberish_below",
                "trainer.stop_when.no_change_after"
            ]
        );
        spec.trainer.stop_when = None;
        spec.eval.select = Select::Last;
        spec.eval.during = Some(DuringEval {
            every: Every::Epochs(-1.0),
            items: 0,
        });
        spec.eval.enabled = false;
        let fields: Vec<String> = spec.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["eval.during", "eval.during.every", "eval.during.items"]
        );
    }
}
