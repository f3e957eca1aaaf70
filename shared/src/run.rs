//! What a run is: [`RunSpec`] (what to do, as submitted), its lifecycle [`RunState`], and what the
//! server reports back ([`RunSummary`] in lists, [`RunDetail`] for one run). Defaults follow
//! UNLEARNING_SPEC §2–§3 (open-unlearning / BalDRO); [`RunSpec::validate`] is the one set of rules
//! the server enforces and the UI checks as the user types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// An unlearning method (spec §2). Wire names are the CLI's (`npo`, `tnpo_fork`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Gradient ascent on the forget set.
    GradAscent,
    /// Gradient ascent plus retain NLL.
    GradDiff,
    /// Negative preference optimisation.
    Npo,
    /// Reference-free NPO with length normalisation.
    #[serde(rename = "simnpo")]
    SimNpo,
    /// Weighted gradient ascent.
    Wga,
    /// Token-wise NPO (G-effect form).
    Tnpo,
    /// Token-wise NPO as the BalDRO fork codes it.
    TnpoFork,
    /// Saturation-importance weighting.
    #[serde(rename = "satimp")]
    SatImp,
    /// DPO towards "I don't know" answers.
    IdkDpo,
}

/// One hyperparameter of a method: its name on the wire and its default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamInfo {
    /// Key in [`ObjectiveSpec::params`].
    pub name: &'static str,
    /// Spec default.
    pub default: f64,
    /// One line for a form.
    pub help: &'static str,
}

const fn param(name: &'static str, default: f64, help: &'static str) -> ParamInfo {
    ParamInfo {
        name,
        default,
        help,
    }
}

impl Method {
    /// Every method, in the order a form lists them.
    pub const ALL: [Self; 9] = [
        Self::Npo,
        Self::Wga,
        Self::Tnpo,
        Self::SimNpo,
        Self::GradAscent,
        Self::GradDiff,
        Self::TnpoFork,
        Self::SatImp,
        Self::IdkDpo,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GradAscent => "grad_ascent",
            Self::GradDiff => "grad_diff",
            Self::Npo => "npo",
            Self::SimNpo => "simnpo",
            Self::Wga => "wga",
            Self::Tnpo => "tnpo",
            Self::TnpoFork => "tnpo_fork",
            Self::SatImp => "satimp",
            Self::IdkDpo => "idk_dpo",
        }
    }

    /// Name as papers write it.
    pub fn label(self) -> &'static str {
        match self {
            Self::GradAscent => "GradAscent",
            Self::GradDiff => "GradDiff",
            Self::Npo => "NPO",
            Self::SimNpo => "SimNPO",
            Self::Wga => "WGA",
            Self::Tnpo => "TNPO",
            Self::TnpoFork => "TNPO (fork)",
            Self::SatImp => "SatImp",
            Self::IdkDpo => "IdkDPO",
        }
    }

    /// The method from its wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }

    /// Hyperparameters with spec defaults: the method's own, then `gamma` (forget weight) and
    /// `alpha` (retain weight).
    pub fn params(self) -> Vec<ParamInfo> {
        let mut own = match self {
            Self::GradAscent | Self::GradDiff => vec![],
            Self::Npo => vec![param("beta", 0.1, "inverse temperature β")],
            Self::SimNpo => vec![
                param("beta", 4.5, "inverse temperature β"),
                param("delta", 0.0, "reward margin δ"),
            ],
            Self::Wga => vec![param("beta", 1.0, "weight exponent β")],
            Self::Tnpo => vec![param("beta", 4.0, "inverse temperature β (token level)")],
            Self::TnpoFork => vec![param("beta", 0.1, "inverse temperature β (sequence level)")],
            Self::SatImp => vec![
                param("beta1", 5.0, "saturation exponent β₁"),
                param("beta2", 1.0, "importance exponent β₂"),
            ],
            Self::IdkDpo => vec![param("beta", 0.1, "DPO inverse temperature β")],
        };
        let gamma = match self {
            Self::SimNpo => 0.125,
            Self::SatImp => 0.1,
            _ => 1.0,
        };
        let alpha = if self == Self::GradAscent { 0.0 } else { 1.0 };
        own.push(param("gamma", gamma, "forget-term weight γ"));
        own.push(param("alpha", alpha, "retain-term weight α"));
        own
    }

    /// The default of `name` for this method, if it has that parameter.
    pub fn default_of(self, name: &str) -> Option<f64> {
        self.params()
            .into_iter()
            .find(|p| p.name == name)
            .map(|p| p.default)
    }
}

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

fn push(errors: &mut Vec<FieldError>, field: impl Into<String>, message: impl Into<String>) {
    errors.push(FieldError {
        field: field.into(),
        message: message.into(),
    });
}

fn check_positive(errors: &mut Vec<FieldError>, field: &str, value: f64) {
    if !(value.is_finite() && value > 0.0) {
        push(errors, field, format!("must be a number > 0 (got {value})"));
    }
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

    /// Every problem with the spec, each naming its dotted field path; empty when valid.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.model.trim().is_empty() {
            push(&mut errors, "model", "choose a model");
        }
        if self.model.len() > MAX_TEXT {
            push(
                &mut errors,
                "model",
                format!("at most {MAX_TEXT} characters"),
            );
        }
        if let Some(name) = &self.name
            && (name.trim().is_empty() || name.len() > MAX_TEXT)
        {
            push(
                &mut errors,
                "name",
                format!("1 to {MAX_TEXT} characters, or leave it out"),
            );
        }
        if self.tags.len() > 20 {
            push(&mut errors, "tags", "at most 20 tags");
        }
        for (i, tag) in self.tags.iter().enumerate() {
            if tag.trim().is_empty() || tag.len() > 64 || tag.contains(',') {
                push(
                    &mut errors,
                    format!("tags.{i}"),
                    "1 to 64 characters, no commas",
                );
            }
        }
        if let DataSource::Dir { path } = &self.data.source
            && (path.trim().is_empty() || path.len() > MAX_TEXT)
        {
            push(&mut errors, "data.source.path", "give a directory");
        }
        let method = self.objective.method;
        let known: Vec<&str> = method.params().iter().map(|p| p.name).collect();
        for (name, value) in &self.objective.params {
            let field = format!("objective.params.{name}");
            if !known.contains(&name.as_str()) {
                push(
                    &mut errors,
                    field,
                    format!(
                        "{} has no parameter `{name}`; it takes {}",
                        method.label(),
                        known.join(", ")
                    ),
                );
            } else if !value.is_finite() {
                push(&mut errors, field, "must be a finite number");
            } else if matches!(name.as_str(), "gamma" | "alpha") && *value < 0.0 {
                push(&mut errors, field, "must be ≥ 0");
            } else if name.starts_with("beta") && *value <= 0.0 {
                push(&mut errors, field, "must be > 0");
            }
        }
        match self.wrapper {
            Wrapper::None => {}
            Wrapper::Dv { tau, .. } => check_positive(&mut errors, "wrapper.tau", tau),
            Wrapper::G { ratio } => {
                if !(ratio > 0.0 && ratio <= 1.0) {
                    push(
                        &mut errors,
                        "wrapper.ratio",
                        format!("must be in (0, 1] (got {ratio})"),
                    );
                }
            }
        }
        let t = &self.trainer;
        check_positive(&mut errors, "trainer.lr", t.lr);
        if t.lr.is_finite() && t.lr > 1.0 {
            push(&mut errors, "trainer.lr", "must be ≤ 1");
        }
        check_positive(&mut errors, "trainer.epochs", t.epochs);
        if t.epochs > 1000.0 {
            push(&mut errors, "trainer.epochs", "at most 1000");
        }
        if t.batch_size == 0 || t.batch_size > 1024 {
            push(&mut errors, "trainer.batch_size", "1 to 1024");
        }
        if t.grad_accum == 0 || t.grad_accum > 1024 {
            push(&mut errors, "trainer.grad_accum", "1 to 1024");
        }
        if !(t.warmup_epochs.is_finite() && t.warmup_epochs >= 0.0) {
            push(&mut errors, "trainer.warmup_epochs", "must be ≥ 0");
        }
        if !(t.weight_decay.is_finite() && t.weight_decay >= 0.0) {
            push(&mut errors, "trainer.weight_decay", "must be ≥ 0");
        }
        let e = &self.eval;
        if e.batch_size == 0 || e.batch_size > 1024 {
            push(&mut errors, "eval.batch_size", "1 to 1024");
        }
        if e.max_new_tokens == 0 || e.max_new_tokens > 4096 {
            push(&mut errors, "eval.max_new_tokens", "1 to 4096");
        }
        if let Some(path) = &e.retain_ref
            && (path.trim().is_empty() || path.len() > MAX_TEXT)
        {
            push(&mut errors, "eval.retain_ref", "give a TOFU_EVAL.json path");
        }
        errors
    }
}

/// Where a run is in its life. `queued → running → succeeded | failed | cancelled`, and
/// `interrupted` for a run that was running when the server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Waiting for the GPU.
    Queued,
    /// On the GPU.
    Running,
    /// Finished with results.
    Succeeded,
    /// Stopped by an error.
    Failed,
    /// Stopped by a user.
    Cancelled,
    /// The server stopped while it ran.
    Interrupted,
}

impl RunState {
    /// Every state.
    pub const ALL: [Self; 6] = [
        Self::Queued,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
        Self::Interrupted,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
        }
    }

    /// The state from its wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// No more changes will come.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

/// A run as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Identifier.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// State.
    pub state: RunState,
    /// Model id.
    pub model: String,
    /// Method.
    pub method: Method,
    /// Wrapper short name (`none`, `dv`, `g`).
    pub wrapper: String,
    /// Forget split.
    pub split: Split,
    /// Tags.
    pub tags: Vec<String>,
    /// Who submitted it (`local` without auth).
    pub created_by: String,
    /// Submission time, Unix milliseconds.
    pub created_at_ms: i64,
    /// Start, Unix milliseconds.
    pub started_at_ms: Option<i64>,
    /// End, Unix milliseconds.
    pub finished_at_ms: Option<i64>,
    /// Sweep it belongs to.
    pub sweep_id: Option<i64>,
    /// Headline metrics once evaluated (`forget_quality`, `model_utility`, gibberish, ...).
    pub metrics: BTreeMap<String, f64>,
}

/// One run with everything the result page needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    /// The list fields.
    #[serde(flatten)]
    pub summary: RunSummary,
    /// The spec as submitted.
    pub spec: RunSpec,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Read-only share slug (`/s/{slug}`); shown to the owner, hidden on shared pages.
    pub share_slug: Option<String>,
    /// Artifact files under the run directory (relative paths).
    pub artifacts: Vec<String>,
    /// Software and hardware that ran it (versions, backend, adapter).
    pub environment: BTreeMap<String, String>,
}

/// One page of runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPage {
    /// Runs, newest first.
    pub runs: Vec<RunSummary>,
    /// Runs matching the filter in all.
    pub total: u64,
    /// Offset of this page.
    pub offset: u64,
    /// Page size asked for.
    pub limit: u64,
}

/// A model the server can load (`GET /api/models`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelEntry {
    /// What a [`RunSpec::model`] names.
    pub id: String,
    /// Architecture family (`llama`, `qwen3`, `mistral`), or why it cannot be read.
    pub family: String,
    /// Parameters the config implies.
    pub parameters: Option<u64>,
    /// `root` (a configured model directory) or `hf-cache`.
    pub source: String,
}

/// The answer to a submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Created {
    /// New run ids, in grid order for sweeps.
    pub ids: Vec<i64>,
    /// The sweep id, for sweeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep_id: Option<i64>,
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
