//! What a run is: [`RunSpec`] (what to do, as submitted), its lifecycle [`RunState`], and what the
//! server reports back ([`RunSummary`] in lists, [`RunDetail`] for one run). Defaults follow
//! UNLEARNING_SPEC §2–§3 (open-unlearning / BalDRO); [`RunSpec::validate`] is the one set of rules
//! the server enforces and the UI checks as the user types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

mod method;
mod report;
mod validate;

pub use method::{Method, ParamInfo};
pub use report::{Created, ModelEntry, RunDetail, RunPage, RunState, RunSummary};

/// The retain term (spec §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetainLoss {
    /// No retain term.
    None,
    /// Token-mean NLL on the retain batch.
    Nll,
    /// DrNPO's summed-NLL-per-sequence quirk.
    SummedNll,
    /// KL to the reference on the retain batch.
    Kl,
}

/// Method, hyperparameters and retain term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveSpec {
    /// Which method.
    pub method: Method,
    /// Overrides of [`Method::params`] defaults; absent keys take the default.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, f64>,
    /// Override of the method's retain term.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_loss: Option<RetainLoss>,
}

impl ObjectiveSpec {
    /// `method` with every default.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            params: BTreeMap::new(),
            retain_loss: None,
        }
    }

    /// The effective value of `name` (override or default).
    pub fn param(&self, name: &str) -> Option<f64> {
        self.params
            .get(name)
            .copied()
            .or_else(|| self.method.default_of(name))
    }
}

/// BalDRO-DV's weighting direction (spec §3.3, §8 Q1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// As the published code does it (the default).
    #[default]
    SoftMin,
    /// As the paper writes it.
    SoftMax,
}

/// The BalDRO wrapper around the objective.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Wrapper {
    /// The plain objective.
    #[default]
    None,
    /// BalDRO-DV: Donsker-Varadhan soft weighting with temperature `tau`.
    Dv {
        /// Temperature τ > 0.
        #[serde(default = "one")]
        tau: f64,
        /// Soft-min (code) or soft-max (paper).
        #[serde(default)]
        direction: Direction,
    },
    /// BalDRO-G: keep the `ratio` least-forgotten samples of each micro-batch.
    G {
        /// Fraction kept, in (0, 1].
        #[serde(default = "half")]
        ratio: f64,
    },
}

fn one() -> f64 {
    1.0
}

fn half() -> f64 {
    0.5
}

impl Wrapper {
    /// Short name (`none`, `dv`, `g`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Dv { .. } => "dv",
            Self::G { .. } => "g",
        }
    }

    /// Name as papers write it.
    pub fn label(&self) -> &'static str {
        match self {
            Self::None => "plain",
            Self::Dv { .. } => "BalDRO-DV",
            Self::G { .. } => "BalDRO-G",
        }
    }
}

/// Where the TOFU-format data comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataSource {
    /// The server's configured TOFU directory, or the hub dataset `locuslab/TOFU`.
    #[default]
    Default,
    /// A directory of split files on the server, under a configured data root.
    Dir {
        /// Path as the server sees it.
        path: String,
    },
}

/// TOFU forget split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// 1 % (2 authors).
    #[default]
    Forget01,
    /// 5 %.
    Forget05,
    /// 10 %.
    Forget10,
}

impl Split {
    /// Every split.
    pub const ALL: [Self; 3] = [Self::Forget01, Self::Forget05, Self::Forget10];

    /// The split named `text` (`forget05`).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forget01 => "forget01",
            Self::Forget05 => "forget05",
            Self::Forget10 => "forget10",
        }
    }

    /// The matching retain split.
    pub fn retain(self) -> &'static str {
        match self {
            Self::Forget01 => "retain99",
            Self::Forget05 => "retain95",
            Self::Forget10 => "retain90",
        }
    }
}

/// Data of a run.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// Where the split files are.
    #[serde(default)]
    pub source: DataSource,
    /// Forget split (the retain split follows).
    #[serde(default)]
    pub split: Split,
}

/// How prompts are built (spec §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptFormat {
    /// `Question: {q}\nAnswer: ` (the string path).
    #[default]
    Plain,
    /// The model family's chat template.
    Chat,
}

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
    /// Seed of data order and pairing.
    pub seed: u64,
    /// Weight precision.
    pub dtype: Dtype,
    /// Balanced gradient checkpointing.
    pub gradient_checkpointing: bool,
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
            seed: 0,
            dtype: Dtype::F32,
            gradient_checkpointing: false,
        }
    }
}

/// The TOFU evaluation after training (spec §5 defaults).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

impl Default for EvalSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            batch_size: 32,
            max_new_tokens: 200,
            retain_ref: None,
        }
    }
}

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
    /// A model id from the server's registry (`GET /api/models`).
    pub model: String,
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
            data: DataSpec::default(),
            template: PromptFormat::Plain,
            objective: ObjectiveSpec::new(method),
            wrapper: Wrapper::None,
            trainer: TrainerSpec::default(),
            eval: EvalSpec::default(),
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
