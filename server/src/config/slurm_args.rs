//! The flags of `lethe serve` that send runs to a SLURM cluster.

use std::path::PathBuf;

/// Where `lethe serve` executes runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ExecutorKind {
    /// In this process, on this host's device pool (`--devices`).
    #[default]
    Local,
    /// Each run becomes one SLURM job (`sbatch`) running `lethe worker` on a compute node.
    Slurm,
}

/// `--executor` and the `--slurm-*` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ExecutorArgs {
    /// Where runs execute: `local` (this host's device pool) or `slurm`: each run becomes one
    /// `sbatch` job that runs `lethe worker` on a compute node. With `slurm`, `--data-dir` must
    /// be on a filesystem that the compute nodes share (a probe job checks this at start-up),
    /// `--devices` names the backend a job uses on its node (`cuda`: cuda:0..n-1 of the n GPUs
    /// SLURM gives it), and the nodes must be able to run `--slurm-lethe`.
    #[arg(long, env = "LETHE_EXECUTOR", value_enum, default_value_t)]
    pub executor: ExecutorKind,
    /// The SLURM partition jobs go to (`sbatch --partition`); default: the cluster's default.
    #[arg(long, env = "LETHE_SLURM_PARTITION")]
    pub slurm_partition: Option<String>,
    /// The account jobs are charged to (`sbatch --account`).
    #[arg(long, env = "LETHE_SLURM_ACCOUNT")]
    pub slurm_account: Option<String>,
    /// Each job's time limit (`sbatch --time`, e.g. `04:00:00`); a job that reaches it fails
    /// its run with SLURM's reason.
    #[arg(long, env = "LETHE_SLURM_TIME")]
    pub slurm_time: Option<String>,
    /// Generic resources per job (`sbatch --gres`); `{n}` is the run's `trainer.devices`.
    /// `none` asks for none (CPU partitions).
    #[arg(long, env = "LETHE_SLURM_GRES", default_value = "gpu:{n}")]
    pub slurm_gres: String,
    /// One more `sbatch` argument, passed through as is; repeatable
    /// (`--slurm-arg=--qos=high --slurm-arg=--mem=64G`).
    #[arg(long = "slurm-arg", allow_hyphen_values = true)]
    pub slurm_args: Vec<String>,
    /// Let SLURM requeue a job that a node failure or preemption ends (`sbatch --requeue`): the
    /// run shows the requeue and starts again from scratch. Without it such a job fails its run
    /// with SLURM's reason.
    #[arg(long, env = "LETHE_SLURM_REQUEUE")]
    pub slurm_requeue: bool,
    /// The `lethe` binary the compute nodes run; default: this one, which must then be on the
    /// shared filesystem (an unpacked `scripts/package.sh` tarball is).
    #[arg(long, env = "LETHE_SLURM_LETHE")]
    pub slurm_lethe: Option<PathBuf>,
    /// Seconds to wait at start-up for the probe job that checks that the nodes see
    /// `--data-dir`; a busy cluster that has not started it by then leaves the check undone.
    #[arg(long, env = "LETHE_SLURM_PROBE_TIMEOUT", default_value_t = 120)]
    pub slurm_probe_timeout: u64,
    /// Seconds between looks at the cluster's queue (`squeue`).
    #[arg(long, env = "LETHE_SLURM_POLL", default_value_t = 1.0)]
    pub slurm_poll: f64,
}
