//! The flags of `lethe plan`.

use engine::DeviceSpec;
use shared::run::{Dtype, ReferenceMode};

use super::run_args::{dtype, reference_mode};

/// `lethe plan MODEL [...]`.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// The model: anything `lethe model inspect` takes, or a directory holding only its
    /// `config.json` (planning needs no weights).
    pub model: String,
    /// grad_ascent, grad_diff, npo, simnpo, wga, tnpo, tnpo_fork, satimp or idk_dpo.
    #[arg(long, default_value = "npo")]
    pub objective: String,
    /// BalDRO wrapper: none, dv or g (no memory of its own; recorded in the settings).
    #[arg(long, default_value = "none")]
    pub wrapper: String,
    /// Hyperparameters by their spec names, as for `lethe unlearn` (`retain_loss_type=kl` keeps
    /// the reference live).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Rows per micro-batch.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// Tokens per row to plan for (TOFU truncates at 512).
    #[arg(long, default_value_t = 512)]
    pub max_length: usize,
    /// Precision and memory switches.
    #[command(flatten)]
    pub switches: MemorySwitches,
    /// GPUs the decoder layers are split over (`lethe unlearn --devices cuda:0,cuda:1`); with
    /// `--auto`, the most it may use.
    #[arg(long, default_value_t = 1)]
    pub devices: usize,
    /// Train LoRA adapters of this rank on every projection (alpha twice the rank) instead of
    /// every weight; the frozen base is the reference.
    #[arg(long)]
    pub lora_rank: Option<usize>,
    /// Memory of one device, e.g. `80GiB` or `24GB`; default: what `--device` reports (total
    /// RAM for `cpu`; GPU backends report nothing, so give it).
    #[arg(long, value_parser = size)]
    pub device_memory: Option<u64>,
    /// The device the run will use: cpu, wgpu or cuda:N (bf16 training is for CUDA).
    #[arg(long, env = "LETHE_DEVICE", default_value = "cpu")]
    pub device: DeviceSpec,
    /// Pick the fastest settings that fit, giving things up in a fixed order (gradient
    /// checkpointing, the reference cache, bf16 on CUDA, no master weights, optimizer offload,
    /// more devices), and print the flags chosen.
    #[arg(long)]
    pub auto: bool,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The switches a memory plan weighs, as `lethe plan` and `lethe bench npo-step` take them
/// (`lethe unlearn` has the same flags, without defaults, in its trainer flags).
#[derive(Debug, Clone, clap::Args)]
pub struct MemorySwitches {
    /// Weight precision: f32, bf16 or f16.
    #[arg(long, default_value = "f32", value_parser = dtype)]
    pub dtype: Dtype,
    /// With half weights, no f32 master copy.
    #[arg(long)]
    pub no_master_weights: bool,
    /// `live` or `cached` (see `lethe unlearn --help`).
    #[arg(long, default_value = "live", value_parser = reference_mode)]
    pub reference_mode: ReferenceMode,
    /// AdamW state in host memory.
    #[arg(long)]
    pub optimizer_offload: bool,
    /// Balanced gradient checkpointing.
    #[arg(long)]
    pub gradient_checkpointing: bool,
}

impl MemorySwitches {
    /// Sets the trainer fields these switches give.
    pub fn apply(&self, t: &mut shared::run::TrainerSpec) {
        t.dtype = self.dtype;
        t.master_weights = !self.no_master_weights;
        t.reference_mode = self.reference_mode;
        t.optimizer_offload = self.optimizer_offload;
        t.gradient_checkpointing = self.gradient_checkpointing;
    }
}

pub(super) fn size(text: &str) -> Result<u64, String> {
    engine::plan::parse_bytes(text)
        .ok_or_else(|| format!("`{text}`: expected a size such as 80GiB, 24GB or 512MiB"))
}
