//! The `lethe` command line: one clap struct, flags with environment fallbacks. Nothing else in
//! the server reads the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use engine::DeviceSpec;

/// Lethe: a workbench for LLM unlearning research.
#[derive(Debug, clap::Parser)]
#[command(name = "lethe", version, about)]
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
    /// Look at and run models: `inspect`, `score`.
    Model {
        /// Which model command.
        #[command(subcommand)]
        command: ModelCommand,
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
}
