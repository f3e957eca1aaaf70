//! The `lethe` command line: one clap struct, flags with environment fallbacks. Nothing else in
//! the server reads the environment. The flags of the commands that run things (`unlearn`,
//! `eval`, `loss`, `finetune`, `worker`) are in `config/run_args.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;

use engine::{DeviceSpec, Devices};

mod attack_args;
mod bench_args;
mod plan_args;
mod run_args;
mod slurm_args;

pub use attack_args::{AttackCommand, AttackTarget};
pub use bench_args::{BenchCommand, NpoStepArgs, ParityArgs};
pub use plan_args::{MemorySwitches, PlanArgs};
pub use run_args::{
    EvalArgs, FinetuneArgs, LossArgs, ObjectiveArgs, PlaceArgs, TemplateChoice, TrainArgs,
    UnlearnArgs, WorkerArgs,
};
pub use slurm_args::{ExecutorArgs, ExecutorKind};

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
    /// write a HF checkpoint plus per-step metrics. `--config FILE` reads a RunSpec (a run's
    /// `spec.json`) or flags from TOML/JSON.
    Unlearn(UnlearnArgs),
    /// Execute the `spec.json` in a run directory without a server or database, writing
    /// `steps.jsonl`, `checkpoint/`, `eval/`, `metrics.json` and `state.json` into it; exits
    /// non-zero when the run does not succeed.
    Worker(WorkerArgs),
    /// Plan a run's memory before it starts, from the model's `config.json` alone: each part on
    /// the device and in host memory, the peak, whether it fits, and with `--auto` the fastest
    /// settings that do.
    Plan(PlanArgs),
    /// Measure on a device: `parity` (the tiny fixtures' logits against transformers) and
    /// `npo-step` (tokens per second and peak memory of NPO on a random model of a
    /// `config.json`); one JSON line each, for `scripts/gpu_check.sh`.
    Bench {
        /// Which measurement.
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Fine-tune a model on question/answer rows (TOFU step 1: the target model on `full`, retain
    /// models on `retainNN`) and write a HF checkpoint plus per-step metrics.
    Finetune(FinetuneArgs),
    /// Evaluate a model on TOFU (forget split, retain, real authors, world facts) and write
    /// open-unlearning's TOFU_EVAL.json and TOFU_SUMMARY.json.
    Eval(EvalArgs),
    /// Robustness attacks on a finished run: `relearn` (fine-tune on part of the forget set) and
    /// `quantize` (8- or 4-bit weights); each writes `attacks/<name>/` in the run's directory.
    Attack {
        /// Which attack.
        #[command(subcommand)]
        command: AttackCommand,
    },
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
        /// Attack every unlearned model: relearning (20 steps on half the forget items at the
        /// run's learning rate) and 8- and 4-bit weights.
        #[arg(long)]
        attacks: bool,
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
    /// Where models and data are: the data dir, model roots, TOFU directory and data roots.
    #[command(flatten)]
    pub places: PlaceArgs,
    /// Directory of the UI's static files (index.html, style.css and the built `pkg/` bundle).
    #[arg(long, env = "LETHE_STATIC_DIR", default_value = "public")]
    pub static_dir: PathBuf,
    /// The host's device pool: cpu, wgpu (Vulkan/Metal/DX12), wgpu:N or cuda:N, or a list
    /// (`cuda:0,cuda:1,cuda:2,cuda:3`). Each device runs `--concurrency` runs at a time; a run
    /// takes as many devices as its `trainer.devices`, and waits while too few are free.
    #[arg(
        long,
        visible_alias = "device",
        env = "LETHE_DEVICES",
        default_value = "cpu"
    )]
    pub devices: Devices,
    /// API tokens: `off` (single user) or `tokens` (team host; make them with `lethe token
    /// create`). Default: off on a loopback address, tokens on any other.
    #[arg(long, env = "LETHE_AUTH", value_enum)]
    pub auth: Option<crate::auth::AuthMode>,
    /// Runs executing at once on each device of the pool.
    #[arg(long, env = "LETHE_CONCURRENCY", default_value_t = 1)]
    pub concurrency: usize,
    /// Each device's memory, e.g. `80GiB`: a submitted run whose memory plan (`lethe plan`)
    /// does not fit is refused with a 422 naming `trainer`. Default: what the device reports
    /// (total RAM for `cpu`; GPU backends report nothing, and then runs are not checked).
    #[arg(long, env = "LETHE_DEVICE_MEMORY", value_parser = plan_args::size)]
    pub device_memory: Option<u64>,
    /// On start, queue runs that were running when the server stopped, instead of marking them
    /// `interrupted`.
    #[arg(long, env = "LETHE_REQUEUE_INTERRUPTED")]
    pub requeue_interrupted: bool,
    /// Where runs execute: this host, or a SLURM cluster.
    #[command(flatten)]
    pub executor: ExecutorArgs,
    /// Execute runs with the deterministic fake executor (tests and UI work without a model;
    /// with `--executor slurm`, the workers fake the run).
    #[arg(long, hide = true)]
    pub fake_executor: bool,
    /// Steps of 100 ms each fake run takes (tests that watch a run while it runs).
    #[arg(long, hide = true, default_value_t = 20)]
    pub fake_steps: usize,
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
