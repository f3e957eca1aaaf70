//! Flags of `lethe attack`: robustness attacks on a finished run's directory.

use std::path::PathBuf;

use engine::Devices;

use super::PlaceArgs;

/// The attacks.
#[derive(Debug, clap::Subcommand)]
pub enum AttackCommand {
    /// Fine-tune the unlearned checkpoint on a seeded part of the forget set, then evaluate the
    /// forget metrics on the held-out rest and on the whole split.
    Relearn {
        /// Which run, and where things are.
        #[command(flatten)]
        target: AttackTarget,
        /// Optimizer steps.
        #[arg(long, default_value_t = 20)]
        steps: usize,
        /// Learning rate (constant).
        #[arg(long, default_value_t = 1e-5)]
        lr: f64,
        /// Share of the forget items relearned; the rest are held out.
        #[arg(long, default_value_t = 0.5)]
        fraction: f64,
    },
    /// Quantize the projection weights (llama.cpp Q8_0 or Q4_0 blocks) and re-evaluate.
    Quantize {
        /// Which run, and where things are.
        #[command(flatten)]
        target: AttackTarget,
        /// 8 or 4.
        #[arg(long, default_value_t = 4)]
        bits: u8,
    },
}

/// The run directory an attack reads, and the places its spec's names resolve in.
#[derive(Debug, Clone, clap::Args)]
pub struct AttackTarget {
    /// A finished run's directory (`spec.json`, `checkpoint/`, `eval/`); the attack writes
    /// `attacks/<name>/` into it.
    pub run_dir: PathBuf,
    /// Where the spec's model ids and paths resolve (the server's settings).
    #[command(flatten)]
    pub places: PlaceArgs,
    /// Compute device: cpu, wgpu, wgpu:N or cuda:N.
    #[arg(long, env = "LETHE_DEVICE", default_value = "cpu")]
    pub device: Devices,
}
