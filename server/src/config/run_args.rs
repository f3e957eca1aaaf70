//! Flags of the commands that run things. Those that describe a run (`lethe unlearn`, `lethe
//! loss`) have no defaults of their own: they fill a [`shared::run::RunSpec`] whose defaults are
//! the spec's, after any `--config` spec file, so a flag given overrides and a flag left out
//! keeps the file's value (see `cli::spec_args`).

use std::path::PathBuf;

use engine::{DeviceSpec, Devices};
use shared::run::{Dtype, ReferenceMode};

pub(super) fn dtype(text: &str) -> Result<Dtype, String> {
    Dtype::parse(text).ok_or_else(|| format!("`{text}`: expected f32, bf16 or f16"))
}

pub(super) fn reference_mode(text: &str) -> Result<ReferenceMode, String> {
    ReferenceMode::parse(text).ok_or_else(|| format!("`{text}`: expected live or cached"))
}

/// Where a server or worker finds models and data.
#[derive(Debug, Clone, clap::Args)]
pub struct PlaceArgs {
    /// Directory for the database, checkpoints and results; created if missing.
    #[arg(long, env = "LETHE_DATA_DIR", default_value = "lethe-data")]
    pub data_dir: PathBuf,
    /// Directory of models offered by the registry (each subdirectory with a config.json, each
    /// .gguf file); repeatable. The local Hugging Face cache is offered too.
    #[arg(long = "model-root", env = "LETHE_MODEL_ROOTS", value_delimiter = ',')]
    pub model_roots: Vec<PathBuf>,
    /// TOFU split files for runs with the default data source, or `hub` for locuslab/TOFU;
    /// without it, Lethe's generated dataset (`<data-dir>/tofu-generated`, written on first start).
    #[arg(long, env = "LETHE_TOFU_DIR")]
    pub tofu_dir: Option<PathBuf>,
    /// Directories that run specs may name as data sources or retain references; repeatable.
    /// The TOFU directory is always one.
    #[arg(long = "data-root", env = "LETHE_DATA_ROOTS", value_delimiter = ',')]
    pub data_roots: Vec<PathBuf>,
}

/// Flags of `lethe worker`.
#[derive(Debug, Clone, clap::Args)]
pub struct WorkerArgs {
    /// The run directory: its `spec.json` is the run.
    pub run_dir: PathBuf,
    /// Where the spec's model ids and paths resolve (the server's settings).
    #[command(flatten)]
    pub places: PlaceArgs,
    /// Compute device: cpu, wgpu, wgpu:N or cuda:N. A list (`cuda:0,cuda:1`) splits the
    /// model's decoder layers over those GPUs, in order, and sets `trainer.devices`.
    #[arg(
        long,
        visible_alias = "devices",
        env = "LETHE_DEVICE",
        default_value = "cpu"
    )]
    pub device: Devices,
    /// Which attempt this is: SLURM counts the times it requeued the job. An earlier
    /// attempt's files are moved to `attempts/<n>/` first.
    #[arg(long, hide = true, env = "SLURM_RESTART_COUNT", default_value_t = 0)]
    pub attempt: u32,
    /// Fake the run with the deterministic fake executor (tests of the SLURM path).
    #[arg(long, hide = true)]
    pub fake_executor: bool,
    /// Steps of 100 ms each a fake run takes.
    #[arg(long, hide = true, default_value_t = 20)]
    pub fake_steps: usize,
}

/// Flags of `lethe eval`.
#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// A model directory, a .gguf file, or a hub id.
    pub model: String,
    /// TOFU forget split: forget01, forget05 or forget10.
    #[arg(long, default_value = "forget01")]
    pub split: String,
    /// Directory of TOFU split files (`{split}.jsonl` or `.json`); without it they are
    /// downloaded from the hub dataset locuslab/TOFU.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The retain model's TOFU_EVAL.json (or its directory), for forget quality and privleak.
    #[arg(long)]
    pub retain_ref: Option<PathBuf>,
    /// Prompt format.
    #[arg(long, value_enum, default_value = "plain")]
    pub template: TemplateChoice,
    /// Rows per forward pass and generation batch.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Greedy generation length.
    #[arg(long, default_value_t = 200)]
    pub max_new_tokens: usize,
    /// Directory of the HF gibberish classifier (madhurjindal/autonlp-Gibberish-Detector-492513457:
    /// config.json, model.safetensors, tokenizer.json) for open-unlearning's
    /// forget_Q_A_gibberish; without it only the offline forget_Q_A_gibberish_heuristic is reported.
    #[arg(long)]
    pub gibberish_model: Option<PathBuf>,
    /// The gibberish classifier's truncation in tokens (TOFU: 32; MUSE: 512).
    #[arg(long, default_value_t = shared::run::CLASSIFIER_MAX_LENGTH)]
    pub classifier_max_length: usize,
    /// Compute device: cpu, wgpu or cuda:N.
    #[arg(long, env = "LETHE_DEVICE", default_value = "cpu")]
    pub device: DeviceSpec,
    /// Weight precision: f32, f16 or bf16.
    #[arg(long, default_value = "f32", value_parser = dtype)]
    pub dtype: Dtype,
    /// Output directory for TOFU_EVAL.json and TOFU_SUMMARY.json.
    #[arg(long)]
    pub out: PathBuf,
}

/// How prompts are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TemplateChoice {
    /// `Question: {question}\nAnswer: ` (spec §6.1 string path).
    Plain,
    /// The model family's chat template (spec §6.2).
    Chat,
}

impl From<TemplateChoice> for shared::run::PromptFormat {
    fn from(choice: TemplateChoice) -> Self {
        match choice {
            TemplateChoice::Plain => Self::Plain,
            TemplateChoice::Chat => Self::Chat,
        }
    }
}

/// Flags of `lethe loss`.
#[derive(Debug, Clone, clap::Args)]
pub struct LossArgs {
    /// The model being unlearned (directory, .gguf or hub id).
    #[arg(long)]
    pub policy: String,
    /// Data, objective and device.
    #[command(flatten)]
    pub objective: ObjectiveArgs,
    /// Print one JSON object (the only output format; accepted for scripts that pass it).
    #[arg(long)]
    pub json: bool,
}

/// Flags of `lethe unlearn`.
#[derive(Debug, Clone, clap::Args)]
pub struct UnlearnArgs {
    /// The model to unlearn (directory, .gguf or hub id); also the frozen reference unless
    /// `--reference` is given.
    #[arg(long)]
    pub model: Option<String>,
    /// A RunSpec to start from (`--config FILE` passes a spec file here); the flags given
    /// override its fields.
    #[arg(long, hide = true)]
    pub spec: Option<PathBuf>,
    /// Data, objective and device.
    #[command(flatten)]
    pub objective: ObjectiveArgs,
    /// Schedule, precision and output.
    #[command(flatten)]
    pub train: TrainArgs,
}

/// Flags of `lethe finetune`.
#[derive(Debug, Clone, clap::Args)]
pub struct FinetuneArgs {
    /// The model to fine-tune (directory, .gguf or hub id).
    #[arg(long)]
    pub model: String,
    /// Training rows (JSONL with `question`, `answer`): TOFU `full` for the target model,
    /// `retainNN` for a retain model.
    #[arg(long)]
    pub data: PathBuf,
    /// Prompt format.
    #[arg(long, value_enum, default_value = "plain")]
    pub template: TemplateChoice,
    /// Compute device: cpu, wgpu, wgpu:N or cuda:N. A list (`cuda:0,cuda:1`) splits the
    /// model's decoder layers over those GPUs, in order, and sets `trainer.devices`.
    #[arg(
        long,
        visible_alias = "devices",
        env = "LETHE_DEVICE",
        default_value = "cpu"
    )]
    pub device: Devices,
    /// Schedule, precision and output (TOFU fine-tuning: 5 epochs).
    #[command(flatten)]
    pub train: TrainArgs,
}

/// What `lethe unlearn` and `lethe finetune` share: the schedule of spec §2.11, precision and
/// memory switches, and the output directory. Each sets the trainer field of its name.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TrainArgs {
    /// Peak learning rate [default: 1e-5].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Per-device micro-batch [default: 8].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Gradient accumulation steps [default: 4].
    #[arg(long)]
    pub grad_accum: Option<usize>,
    /// Epochs over the forget set (unlearn) or the training set (finetune; TOFU used 5)
    /// [default: 10].
    #[arg(long)]
    pub epochs: Option<f64>,
    /// Linear warm-up, in epochs [default: 1].
    #[arg(long)]
    pub warmup_epochs: Option<f64>,
    /// AdamW weight decay (matrices only) [default: 0.01].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Global grad-norm clip; 0 turns clipping off [default: 1].
    #[arg(long)]
    pub max_grad_norm: Option<f64>,
    /// Data order and pairing [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Precision of the trained (and reference) weights: f32, or bf16/f16 on CUDA (optimizer
    /// state stays f32) [default: f32].
    #[arg(long, value_parser = dtype)]
    pub dtype: Option<Dtype>,
    /// With half-precision weights, update them in place like HF Trainer instead of through an
    /// f32 master copy (saves 4 bytes per parameter; loses updates below bf16 resolution).
    #[arg(long)]
    pub no_master_weights: bool,
    /// Recompute memory-bound activations in the backward pass instead of keeping them.
    #[arg(long)]
    pub gradient_checkpointing: bool,
    /// Where the frozen reference's log-probabilities come from: `live` (the model runs on every
    /// micro-batch) or `cached` (computed once before training, kept in host memory, the model
    /// freed: one model copy less on the device; not with a KL retain term; unlearning only)
    /// [default: live].
    #[arg(long, value_parser = reference_mode)]
    pub reference_mode: Option<ReferenceMode>,
    /// Keep AdamW's moments and master weights in host memory and update on the CPU with every
    /// core: the device holds only the weights and the gradients (12 bytes per parameter less
    /// with bf16 + master weights, 8 with f32), for a copy down and up each step.
    #[arg(long)]
    pub optimizer_offload: bool,
    /// Output directory: `spec.json`, `steps.jsonl`, `checkpoint/`, `metrics.json`.
    #[arg(long)]
    pub out: PathBuf,
    /// Checkpoint precision: f32 or bf16 [default: the training dtype].
    #[arg(long, value_parser = dtype)]
    pub save_dtype: Option<Dtype>,
}

/// What `lethe loss` and `lethe unlearn` share: the reference, the data, the objective and the
/// device.
#[derive(Debug, Clone, clap::Args)]
pub struct ObjectiveArgs {
    /// The frozen reference model; defaults to a fresh copy of the model being unlearned (OU's
    /// deep copy).
    #[arg(long)]
    pub reference: Option<String>,
    /// Forget rows (JSONL with `question`, `answer`). `loss`: all of them form the micro-batch, in
    /// order; `unlearn`: one epoch is one pass over them. Needs `--retain`.
    #[arg(long, requires = "retain")]
    pub forget: Option<PathBuf>,
    /// Retain rows. `loss`: retain row i is paired with forget row i; `unlearn`: each forget item
    /// is paired with a random retain item. Needs `--forget`.
    #[arg(long, requires = "forget")]
    pub retain: Option<PathBuf>,
    /// Instead of `--forget`/`--retain`: a TOFU directory, whose `--split` and matching retain
    /// split are the rows.
    #[arg(long, conflicts_with = "forget")]
    pub data: Option<PathBuf>,
    /// TOFU forget split of `--data`: forget01, forget05 or forget10 [default: forget01].
    #[arg(long)]
    pub split: Option<String>,
    /// I-don't-know answers for idk_dpo, one per line; forget row i gets line i mod n.
    #[arg(long)]
    pub idk: Option<PathBuf>,
    /// Prompt format [default: plain].
    #[arg(long, value_enum)]
    pub template: Option<TemplateChoice>,
    /// grad_ascent, grad_diff, npo, simnpo, wga, tnpo, tnpo_fork, satimp or idk_dpo.
    #[arg(long)]
    pub objective: Option<String>,
    /// BalDRO wrapper: none, dv or g [default: none].
    #[arg(long)]
    pub wrapper: Option<String>,
    /// Hyperparameters by their spec names (`beta`, `alpha`, `gamma`, `delta`, `beta1`, `beta2`,
    /// `tau`, `direction`, `ratio`, `seed`, `retain_loss_type`), e.g. `--set beta=0.2`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Compute device: cpu, wgpu, wgpu:N or cuda:N. A list (`cuda:0,cuda:1`) splits the
    /// model's decoder layers over those GPUs, in order, and sets `trainer.devices`.
    #[arg(
        long,
        visible_alias = "devices",
        env = "LETHE_DEVICE",
        default_value = "cpu"
    )]
    pub device: Devices,
}
