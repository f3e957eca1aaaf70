//! The flags of `lethe bench`: the measurements `scripts/gpu_check.sh` takes on a lent GPU, each
//! printing one JSON line.

use std::path::PathBuf;

use engine::Devices;

use super::plan_args::{MemorySwitches, size};

/// `lethe bench ...`
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Logits of the tiny fixtures (`tiny-llama`, `tiny-qwen3`, `tiny-mistral`) on a device
    /// against transformers' reference logits: the largest |Δlogit| per model.
    Parity(ParityArgs),
    /// NPO steps of a randomly initialised model of a `config.json` on synthetic rows, as
    /// `../shared/bench/torch_reference.py npo-step --config ... --synthetic N` runs them (here
    /// `--model-config`):
    /// tokens per second (policy forward and backward on the forget and retain rows, the
    /// reference forward on the forget rows), the measured peak against the plan.
    NpoStep(NpoStepArgs),
}

/// `lethe bench parity`.
#[derive(Debug, Clone, clap::Args)]
pub struct ParityArgs {
    /// The fixtures directory: `tiny-*/` beside `reference.json` and
    /// `reference_logits.safetensors` (`../shared/fixtures`).
    #[arg(long)]
    pub fixtures: PathBuf,
    /// Compute device: cpu, wgpu, wgpu:N or cuda:N.
    #[arg(long, env = "LETHE_DEVICE", default_value = "cpu")]
    pub device: engine::DeviceSpec,
}

/// `lethe bench npo-step`.
#[derive(Debug, Clone, clap::Args)]
pub struct NpoStepArgs {
    /// A model's `config.json`, or the directory holding it (no weights are read). Named so
    /// because `--config FILE` reads any command's flags from a file.
    #[arg(long)]
    pub model_config: PathBuf,
    /// Tokens per row (labels on the second half, like torch_reference.py).
    #[arg(long, default_value_t = 256)]
    pub synthetic: usize,
    /// Rows per micro-batch (forget and retain each).
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// Optimizer steps; the first is a warm-up, the median of the rest is reported.
    #[arg(long, default_value_t = 5)]
    pub steps: usize,
    /// Compute device(s); a list splits the model's layers over them.
    #[arg(
        long,
        visible_alias = "devices",
        env = "LETHE_DEVICE",
        default_value = "cpu"
    )]
    pub device: Devices,
    /// Precision and memory switches.
    #[command(flatten)]
    pub switches: MemorySwitches,
    /// Use the settings `lethe plan --auto` picks for `--device-memory` instead of the switches
    /// above (at most as many devices as `--device` lists).
    #[arg(long, requires = "device_memory")]
    pub auto: bool,
    /// One device's memory for the plan, e.g. `80GiB`.
    #[arg(long, value_parser = size)]
    pub device_memory: Option<u64>,
    /// Seed of the weights and the token ids.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}
