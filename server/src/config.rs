//! The `lethe` command line: one clap struct, flags with environment fallbacks. Nothing else in
//! the server reads the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use engine::DeviceSpec;

/// Lethe: a workbench for LLM unlearning research.
#[derive(Debug, clap::Parser)]
#[command(name = "lethe", version, about, args_override_self = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `lethe`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run the server: REST API, live progress and the web UI.
    Serve(ServeArgs),
    /// Submit a run spec (JSON) to a server and follow it, or run it here without a server.
    Run(RunArgs),
    /// Manage API tokens for a team server: `create`, `list`, `revoke`.
    Token {
        /// Which token command.
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Evaluate one unlearning objective on one micro-batch: loss, terms, per-sample values,
    /// BalDRO weights or selections, and the gradient norm.
    Loss(LossArgs),
    /// Unlearn: train a model away from a forget set (objective, BalDRO wrapper, OU schedule) and
    /// write a HF checkpoint plus per-step metrics. `--config FILE` reads flags from TOML/JSON.
    Unlearn(UnlearnArgs),
    /// Fine-tune a model on question/answer rows (TOFU step 1: the target model on `full`, retain
    /// models on `retainNN`) and write a HF checkpoint plus per-step metrics.
    Finetune(FinetuneArgs),
    /// Evaluate a model on TOFU (forget split, retain, real authors, world facts) and write
    /// open-unlearning's TOFU_EVAL.json and TOFU_SUMMARY.json.
    Eval(EvalArgs),
    /// Work with TOFU eval logs: `summarize` (recompute every aggregate), `rescore` (audit a log
    /// against its own generations and losses).
    Tofu {
        /// Which TOFU command.
        #[command(subcommand)]
        command: TofuCommand,
    },
    /// Lethe's generated TOFU-format data: `generate` (seeded, byte-identical per seed) and
    /// `validate` (any TOFU directory, with the checks real TOFU goes through).
    Data {
        /// Which data command.
        #[command(subcommand)]
        command: DataCommand,
    },
    /// The embedded default: `build` trains the tiny `demo` model and its retain references on
    /// the generated data (TOFU step 1), so a first run completes on a CPU in minutes.
    Demo {
        /// Which demo command.
        #[command(subcommand)]
        command: DemoCommand,
    },
    /// The seed study: `spec` prints it as one sweep (submit it with `lethe run`), `report`
    /// writes its table and FQ-vs-MU scatter from the database.
    Study {
        /// Which study command.
        #[command(subcommand)]
        command: StudyCommand,
    },
    /// Look at and run models: `inspect`, `score`.
    Model {
        /// Which model command.
        #[command(subcommand)]
        command: ModelCommand,
    },
}

/// `lethe study ...`
#[derive(Debug, clap::Subcommand)]
pub enum StudyCommand {
    /// Print the study sweep (NPO/WGA/TNPO × plain/BalDRO-DV/BalDRO-G × forget01/05/10 × the
    /// models) as JSON.
    Spec {
        /// Model ids (repeatable).
        #[arg(long = "model", required = true)]
        models: Vec<String>,
        /// Learning rate of every run (the spec's 1e-5 when absent).
        #[arg(long)]
        lr: Option<f64>,
    },
    /// Print the study's table (objective × model → FQ · MU · gibberish) and write `study.md`
    /// and `study.svg` (FQ-vs-MU, log FQ) into `--out`.
    Report {
        /// The sweep id.
        #[arg(long)]
        sweep: i64,
        /// The server's data dir.
        #[arg(long, env = "LETHE_DATA_DIR", default_value = "lethe-data")]
        data_dir: PathBuf,
        /// Where to write study.md and study.svg.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// `lethe demo ...`
#[derive(Debug, clap::Subcommand)]
pub enum DemoCommand {
    /// Generate the default data (if missing), train the `demo` model on `full` and one retain
    /// model per split on `retainNN`, and store the retain models' eval logs as references.
    Build(DemoArgs),
}

/// Flags of `lethe demo build`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// The server's data dir: the data goes to `tofu-generated/`, the model to `models/demo/`.
    #[arg(long, env = "LETHE_DATA_DIR", default_value = "lethe-data")]
    pub data_dir: PathBuf,
    /// Seed of the data, the initial weights and the data order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Authors in the generated data (the default data when 200).
    #[arg(long, default_value_t = 200)]
    pub authors: usize,
    /// Questions per author.
    #[arg(long, default_value_t = 20)]
    pub questions: usize,
    /// Fine-tuning epochs of the target and retain models.
    #[arg(long, default_value_t = 8.0)]
    pub epochs: f64,
    /// Peak learning rate (the model starts from random weights).
    #[arg(long, default_value_t = 3e-3)]
    pub lr: f64,
    /// The unlearning learning rate the model recommends (recorded in its manifest; the
    /// new-run form's presets use it). The spec's 1e-5 barely moves a model fine-tuned at
    /// 3e-3; on the default demo, 2e-4 is the smallest that moves forget quality.
    #[arg(long, default_value_t = crate::cli::demo::DEFAULT_UNLEARN_LR)]
    pub unlearn_lr: f64,
    /// Forget splits that get a retain model and reference.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "forget01,forget05,forget10"
    )]
    pub splits: Vec<String>,
    /// Compute device: cpu, wgpu or cuda:N.
    #[arg(long, env = "LETHE_DEVICE", default_value = "cpu")]
    pub device: DeviceSpec,
    /// Train on this TOFU directory (e.g. the real TOFU) instead of the generated data.
    #[arg(long)]
    pub tofu_dir: Option<PathBuf>,
    /// Model id: the directory under `<data-dir>/models`.
    #[arg(long, default_value = "demo")]
    pub name: String,
}

/// `lethe data ...`
#[derive(Debug, clap::Subcommand)]
pub enum DataCommand {
    /// Write a TOFU-format dataset of fictitious authors (full, forgetNN, retainNN, holdoutNN,
    /// the `_perturbed` eval files, real_authors, world_facts) as `<split>.jsonl`.
    Generate {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Seed of every choice.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Authors in `full` (TOFU: 200).
        #[arg(long, default_value_t = 200)]
        authors: usize,
        /// Question/answer pairs per author (TOFU: 20).
        #[arg(long, default_value_t = 20)]
        questions: usize,
    },
    /// Check every split file of a TOFU directory; exit 0 when all are well-formed, else name
    /// the file, line and field.
    Validate {
        /// The directory.
        dir: PathBuf,
    },
}

/// `lethe model ...`
#[derive(Debug, clap::Subcommand)]
pub enum ModelCommand {
    /// Architecture, parameter count, on-disk dtypes, tokenizer and chat template (no weights loaded).
    Inspect {
        /// A model directory, a .gguf file, or a hub id (org/name) in the local Hugging Face cache.
        model: String,
    },
    /// Answer-only NLL of every question/answer row of a JSONL file, one JSON object per row.
    Score(ScoreArgs),
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
    #[arg(long, default_value_t = engine::metrics::gibberish::CLASSIFIER_MAX_LENGTH)]
    pub classifier_max_length: usize,
    /// Compute device: cpu, wgpu or cuda:N.
    #[arg(long, env = "LETHE_DEVICE", default_value = "cpu")]
    pub device: DeviceSpec,
    /// Weight precision: f32, f16 or bf16.
    #[arg(long, default_value = "f32")]
    pub dtype: engine::llama::WeightDtype,
    /// Output directory for TOFU_EVAL.json and TOFU_SUMMARY.json.
    #[arg(long)]
    pub out: PathBuf,
}

/// `lethe tofu ...`
#[derive(Debug, clap::Subcommand)]
pub enum TofuCommand {
    /// Recompute every aggregate of a saved eval log from its per-item values (forget quality and
    /// privleak against `--retain-ref`), flagging disagreements with the stored values on stderr.
    Summarize {
        /// An open-unlearning `TOFU_EVAL.json` (or its directory), or an original TOFU log
        /// directory (`eval_log_forget.json` and friends).
        log: PathBuf,
        /// The retain model's log, in the same format.
        #[arg(long)]
        retain_ref: Option<PathBuf>,
        /// Print one JSON object (metric name → value) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Recompute ROUGE from the stored generations and truth ratios from the stored losses of a
    /// log, and count the items that disagree with the stored per-item values.
    Rescore {
        /// A `TOFU_EVAL.json`, its directory, or an original TOFU log directory.
        log: PathBuf,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// How `lethe model score` builds prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TemplateChoice {
    /// `Question: {question}\nAnswer: ` (spec §6.1 string path).
    Plain,
    /// The model family's chat template (spec §6.2).
    Chat,
}

/// Flags of `lethe model score`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScoreArgs {
    /// A model directory, a .gguf file, or a hub id in the local Hugging Face cache.
    pub model: String,
    /// JSONL with `question` and `answer` on every line.
    #[arg(long)]
    pub data: PathBuf,
    /// Prompt format.
    #[arg(long, value_enum, default_value = "plain")]
    pub template: TemplateChoice,
    /// Compute device: cpu, wgpu or cuda:N.
    #[arg(long, env = "LETHE_DEVICE", default_value = "cpu")]
    pub device: DeviceSpec,
    /// Weight precision on the device: f32, f16 or bf16.
    #[arg(long, default_value = "f32")]
    pub dtype: engine::llama::WeightDtype,
    /// Rows per forward pass.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub batch_size: u16,
    /// Truncation of the plain template's token sequences (OU: 512).
    #[arg(long, default_value_t = 512)]
    pub max_length: usize,
}

/// Flags of `lethe serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, env = "LETHE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Directory for the database, checkpoints and results; created if missing.
    #[arg(long, env = "LETHE_DATA_DIR", default_value = "lethe-data")]
    pub data_dir: PathBuf,
    /// Directory of the UI's static files (index.html, style.css and the built `pkg/` bundle).
    #[arg(long, env = "LETHE_STATIC_DIR", default_value = "public")]
    pub static_dir: PathBuf,
    /// Compute device for runs: cpu, wgpu (Vulkan/Metal/DX12) or cuda:N.
    #[arg(long, env = "LETHE_DEVICE", default_value = "cpu")]
    pub device: DeviceSpec,
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
    /// API tokens: `off` (single user) or `tokens` (team host; make them with `lethe token
    /// create`). Default: off on a loopback address, tokens on any other.
    #[arg(long, env = "LETHE_AUTH", value_enum)]
    pub auth: Option<crate::auth::AuthMode>,
    /// Runs executing at once (the GPU limit).
    #[arg(long, env = "LETHE_CONCURRENCY", default_value_t = 1)]
    pub concurrency: usize,
    /// On start, queue runs that were running when the server stopped, instead of marking them
    /// `interrupted`.
    #[arg(long, env = "LETHE_REQUEUE_INTERRUPTED")]
    pub requeue_interrupted: bool,
    /// Execute runs with the deterministic fake executor (tests and UI work without a model).
    #[arg(long, hide = true)]
    pub fake_executor: bool,
}

/// `lethe token ...`
#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a team member; it is printed once and stored hashed.
    Create {
        /// Who it is for (recorded as the creator of their runs).
        #[arg(long)]
        name: String,
        /// May manage tokens.
        #[arg(long)]
        admin: bool,
        /// The server's data directory.
        #[arg(long, env = "LETHE_DATA_DIR", default_value = "lethe-data")]
        data_dir: PathBuf,
    },
    /// List tokens (names, never the secrets).
    List {
        /// The server's data directory.
        #[arg(long, env = "LETHE_DATA_DIR", default_value = "lethe-data")]
        data_dir: PathBuf,
    },
    /// Revoke a token by name.
    Revoke {
        /// The token's name.
        #[arg(long)]
        name: String,
        /// The server's data directory.
        #[arg(long, env = "LETHE_DATA_DIR", default_value = "lethe-data")]
        data_dir: PathBuf,
    },
}

/// Flags of `lethe run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// A RunSpec (or, with `--sweep`, a SweepSpec) as JSON.
    pub spec: PathBuf,
    /// The server to submit to; without it the run executes here, in this process.
    #[arg(long, env = "LETHE_SERVER")]
    pub server: Option<String>,
    /// The API token for a team server.
    #[arg(long, env = "LETHE_TOKEN")]
    pub token: Option<String>,
    /// The file is a SweepSpec.
    #[arg(long)]
    pub sweep: bool,
    /// Return once submitted instead of following the run to its end.
    #[arg(long)]
    pub detach: bool,
    /// For local runs: the server settings (data dir, model roots, TOFU dir, device).
    #[command(flatten)]
    pub local: ServeArgs,
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
    pub model: String,
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
    /// Compute device: cpu, wgpu or cuda:N.
    #[arg(long, env = "LETHE_DEVICE", default_value = "cpu")]
    pub device: DeviceSpec,
    /// Schedule, precision and output (TOFU fine-tuning: 5 epochs).
    #[command(flatten)]
    pub train: TrainArgs,
}

/// What `lethe unlearn` and `lethe finetune` share: the schedule of spec §2.11, precision and
/// memory switches, and the output directory.
#[derive(Debug, Clone, clap::Args)]
pub struct TrainArgs {
    /// Peak learning rate.
    #[arg(long, default_value_t = 1e-5)]
    pub lr: f64,
    /// Per-device micro-batch.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// Gradient accumulation steps.
    #[arg(long, default_value_t = 4)]
    pub grad_accum: usize,
    /// Epochs over the forget set (unlearn) or the training set (finetune; TOFU used 5).
    #[arg(long, default_value_t = 10.0)]
    pub epochs: f64,
    /// Linear warm-up, in epochs.
    #[arg(long, default_value_t = 1.0)]
    pub warmup_epochs: f64,
    /// AdamW weight decay (matrices only).
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    /// Global grad-norm clip; 0 turns clipping off.
    #[arg(long, default_value_t = 1.0)]
    pub max_grad_norm: f64,
    /// Data order and pairing.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Precision of the trained (and reference) weights: f32, or bf16/f16 on GPUs (optimizer
    /// state stays f32).
    #[arg(long, default_value = "f32")]
    pub dtype: engine::llama::WeightDtype,
    /// With half-precision weights, update them in place like HF Trainer instead of through an
    /// f32 master copy (saves 4 bytes per parameter; loses updates below bf16 resolution).
    #[arg(long)]
    pub no_master_weights: bool,
    /// Recompute memory-bound activations in the backward pass instead of keeping them.
    #[arg(long)]
    pub gradient_checkpointing: bool,
    /// Output directory: `checkpoint/`, `metrics.jsonl`, `run.json`.
    #[arg(long)]
    pub out: PathBuf,
    /// Checkpoint precision: f32 or bf16.
    #[arg(long, default_value = "f32")]
    pub save_dtype: engine::llama::WeightDtype,
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
    /// order; `unlearn`: one epoch is one pass over them.
    #[arg(long)]
    pub forget: PathBuf,
    /// Retain rows. `loss`: retain row i is paired with forget row i; `unlearn`: each forget item
    /// is paired with a random retain item.
    #[arg(long)]
    pub retain: PathBuf,
    /// I-don't-know answers for idk_dpo, one per line; forget row i gets line i mod n.
    #[arg(long)]
    pub idk: Option<PathBuf>,
    /// Prompt format.
    #[arg(long, value_enum, default_value = "plain")]
    pub template: TemplateChoice,
    /// grad_ascent, grad_diff, npo, simnpo, wga, tnpo, tnpo_fork, satimp or idk_dpo.
    #[arg(long)]
    pub objective: String,
    /// BalDRO wrapper: none, dv or g.
    #[arg(long, default_value = "none")]
    pub wrapper: String,
    /// Hyperparameters by their spec names (`beta`, `alpha`, `gamma`, `delta`, `beta1`, `beta2`,
    /// `tau`, `direction`, `ratio`, `seed`, `retain_loss_type`), e.g. `--set beta=0.2`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Compute device: cpu, wgpu or cuda:N.
    #[arg(long, env = "LETHE_DEVICE", default_value = "cpu")]
    pub device: DeviceSpec,
}
