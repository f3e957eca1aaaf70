//! What a run is: [`RunSpec`] (what to do, as submitted), its lifecycle [`RunState`], and what the
//! server reports back ([`RunSummary`] in lists, [`RunDetail`] for one run). Defaults follow
//! UNLEARNING_SPEC §2–§3 (open-unlearning / BalDRO); [`RunSpec::validate`] is the one set of rules
//! the server enforces and the UI checks as the user types.

use serde::{Deserialize, Serialize};

mod attack;
mod data;
mod during;
mod lora;
mod method;
mod objective;
mod report;
mod set;
mod trainer;
mod validate;

pub use attack::{AttackReport, AttackSpec, ForgetScore};
pub use data::{DataSource, DataSpec, PromptFormat, Split};
pub use during::{
    DURING_ITEMS, DuringEval, Every, RunOutcome, Select, Selected, StopReason, StopWhen, Stopped,
    TrajectoryPoint,
};
pub use lora::{LORA_TARGETS, LoraSpec};
pub use method::{Method, ParamInfo};
pub use objective::{Direction, ObjectiveSpec, RetainLoss, Wrapper};
pub use report::{Created, ModelEntry, Placement, RunDetail, RunPage, RunState, RunSummary};
pub use trainer::{
    CLASSIFIER_MAX_LENGTH, Dtype, EvalSpec, MAX_DEVICES, ReferenceMode, TrainerSpec,
};

/// Everything that defines a run, as submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// A label for lists; the server names unnamed runs `<method>-<split>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Free-form tags for filtering.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// A model id from the server's registry (`GET /api/models`); on the command line also a
    /// model directory, `.gguf` file or hub id.
    pub model: String,
    /// The frozen reference model (same naming as `model`); default: a fresh copy of `model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Data source and split.
    #[serde(default)]
    pub data: DataSpec,
    /// Prompt format.
    #[serde(default)]
    pub template: PromptFormat,
    /// Method and hyperparameters.
    pub objective: ObjectiveSpec,
    /// BalDRO wrapper.
    #[serde(default)]
    pub wrapper: Wrapper,
    /// Optimiser and schedule.
    #[serde(default)]
    pub trainer: TrainerSpec,
    /// Evaluation.
    #[serde(default)]
    pub eval: EvalSpec,
    /// Robustness attacks on the unlearned model, run after the evaluation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attacks: Vec<AttackSpec>,
}

/// Longest accepted name, tag or path.
pub const MAX_TEXT: usize = 200;

impl RunSpec {
    /// A spec with every default: NPO on forget01 of the default data.
    pub fn new(model: impl Into<String>, method: Method) -> Self {
        Self {
            name: None,
            tags: Vec::new(),
            model: model.into(),
            reference: None,
            data: DataSpec::default(),
            template: PromptFormat::Plain,
            objective: ObjectiveSpec::new(method),
            wrapper: Wrapper::None,
            trainer: TrainerSpec::default(),
            eval: EvalSpec::default(),
            attacks: Vec::new(),
        }
    }

    /// The name lists show.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            let wrapper = match self.wrapper {
                Wrapper::None => String::new(),
                w => format!("{}-", w.as_str()),
            };
            format!(
                "{wrapper}{}-{}",
                self.objective.method.as_str(),
                self.data.split.as_str()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_json_takes_every_default() {
        let spec: RunSpec =
            serde_json::from_str(r#"{"model": "demo", "objective": {"method": "npo"}}"#).unwrap();
        assert_eq!(spec, RunSpec::new("demo", Method::Npo));
        assert!(spec.validate().is_empty());
        assert_eq!(spec.objective.param("beta"), Some(0.1));
        assert_eq!(spec.display_name(), "npo-forget01");
    }

    #[test]
    fn spec_files_written_before_the_new_fields_still_read() {
        // A run's spec.json as the server wrote it before the trainer gained max_grad_norm,
        // master_weights and save_dtype, and eval its gibberish settings.
        let old = r#"{"model": "demo", "data": {"source": {"kind": "default"}, "split": "forget05"},
            "template": "plain", "objective": {"method": "npo", "params": {"beta": 0.2}},
            "wrapper": {"kind": "dv", "tau": 2.0, "direction": "soft_min"},
            "trainer": {"lr": 2e-4, "epochs": 10.0, "batch_size": 8, "grad_accum": 4,
                "warmup_epochs": 1.0, "weight_decay": 0.01, "seed": 0, "dtype": "f32",
                "gradient_checkpointing": false},
            "eval": {"enabled": true, "batch_size": 32, "max_new_tokens": 200, "retain_ref": null}}"#;
        let spec: RunSpec = serde_json::from_str(old).unwrap();
        assert!(spec.validate().is_empty());
        assert_eq!(spec.trainer.max_grad_norm, 1.0, "the clip every run had");
        assert!(spec.trainer.master_weights);
        assert_eq!(spec.trainer.save_dtype, None);
        assert_eq!(spec.eval.classifier_max_length, CLASSIFIER_MAX_LENGTH);
        assert_eq!(spec.reference, None);
        let again: RunSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
        assert_eq!(again, spec);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let error = serde_json::from_str::<RunSpec>(
            r#"{"model": "demo", "objective": {"method": "npo"}, "lr": 1}"#,
        )
        .unwrap_err();
        assert!(error.to_string().contains("unknown field `lr`"), "{error}");
        let error = serde_json::from_str::<RunSpec>(
            r#"{"model": "m", "objective": {"method": "npo"}, "wrapper": {"kind": "dv", "t": 1}}"#,
        )
        .unwrap_err();
        assert!(error.to_string().contains("unknown field `t`"), "{error}");
    }

    #[test]
    fn wrappers_round_trip_with_defaults() {
        let w: Wrapper = serde_json::from_str(r#"{"kind": "dv"}"#).unwrap();
        assert_eq!(
            w,
            Wrapper::Dv {
                tau: 1.0,
                direction: Direction::SoftMin
            }
        );
        let g: Wrapper = serde_json::from_str(r#"{"kind": "g", "ratio": 0.25}"#).unwrap();
        assert_eq!(g, Wrapper::G { ratio: 0.25 });
        let text = serde_json::to_string(&g).unwrap();
        assert_eq!(serde_json::from_str::<Wrapper>(&text).unwrap(), g);
    }

    #[test]
    fn validation_names_every_bad_field() {
        let mut spec = RunSpec::new("", Method::Npo);
        spec.objective.params.insert("beta".into(), -1.0);
        spec.objective.params.insert("tau".into(), 1.0);
        spec.wrapper = Wrapper::G { ratio: 1.5 };
        spec.trainer.lr = f64::NAN;
        spec.trainer.batch_size = 0;
        spec.eval.max_new_tokens = 0;
        spec.tags = vec!["a,b".into()];
        let fields: Vec<String> = spec.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "model",
                "tags.0",
                "objective.params.beta",
                "objective.params.tau",
                "wrapper.ratio",
                "trainer.lr",
                "trainer.batch_size",
                "eval.max_new_tokens"
            ]
        );
    }

    #[test]
    fn every_method_has_gamma_and_alpha_and_parses_back() {
        for method in Method::ALL {
            let names: Vec<&str> = method.params().iter().map(|p| p.name).collect();
            assert!(names.ends_with(&["gamma", "alpha"]), "{method:?}");
            assert_eq!(Method::parse(method.as_str()), Some(method));
            let json = serde_json::to_string(&method).unwrap();
            assert_eq!(json, format!("\"{}\"", method.as_str()));
        }
        assert_eq!(Method::GradAscent.default_of("alpha"), Some(0.0));
        assert_eq!(Method::SimNpo.default_of("gamma"), Some(0.125));
    }
}
