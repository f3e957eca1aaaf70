//! What an executor is to the queue: it runs one job on the calling (blocking) thread, with a
//! [`JobContext`] to report through, and says where its runs execute ([`Reach`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use shared::run::{Placement, RunSpec};

use crate::runner::RunEvent;

/// What an executor gets for one run.
pub struct JobContext<'a> {
    /// Run id.
    pub id: i64,
    /// The run's artifact directory (exists).
    pub dir: PathBuf,
    /// The devices it runs on, as many as `trainer.devices`: of this host's pool, or for a
    /// cluster executor those its worker uses on the node.
    pub devices: &'a engine::Devices,
    /// Where it was placed; for a run re-attached after a restart, the cluster job it already
    /// is.
    pub placement: Placement,
    /// Set when the run should stop; check it between steps.
    pub cancel: &'a AtomicBool,
    /// Set when the server stops: a cluster executor stops following the run, leaves it
    /// running and returns [`Detached`].
    pub detach: &'a AtomicBool,
    /// Report progress.
    pub emit: &'a mut dyn FnMut(RunEvent),
    /// Report where the run is (a cluster executor's job and its state).
    pub hand_over: &'a mut dyn FnMut(Handover),
}

/// What a cluster executor reports beyond the runner's events.
#[derive(Debug, Clone, PartialEq)]
pub enum Handover {
    /// Where the run is now (its job id, the job's state): stored and shown.
    Placed(Placement),
    /// The run starts again from scratch (the cluster requeued its job): the steps viewers have
    /// seen are dropped.
    Restarted(Placement),
    /// A line the worker wrote to the run's log: shown to viewers, not appended again.
    Relayed(String),
}

/// Where an executor's runs execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// In this process, on this host's device pool.
    Host,
    /// On a cluster, which schedules them: every queued run is handed over at once, runs
    /// outlive the server, and the worker writes the run's log (its last line included).
    Cluster,
}

/// A cluster executor's answer when the server stops while it follows a run: the run goes on
/// without the server, which re-attaches to it on its next start.
#[derive(Debug, Clone, Copy)]
pub struct Detached;

impl std::fmt::Display for Detached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the server stopped following this run; it re-attaches on its next start")
    }
}

impl std::error::Error for Detached {}

/// Runs one job on the calling (blocking) thread.
pub trait Executor: Send + Sync + 'static {
    /// Software and hardware facts recorded with every run on `devices` (versions, backend,
    /// adapter).
    fn environment(&self, devices: &engine::Devices) -> BTreeMap<String, String>;

    /// Does the run, writing its directory (`spec.json`, `steps.jsonl`, `metrics.json` and the
    /// rest: [`crate::runner::files`]); returns its headline metrics. On cancellation return any
    /// error after noticing `ctx.cancel`; the queue records `cancelled`.
    fn execute(
        &self,
        spec: &RunSpec,
        ctx: &mut JobContext<'_>,
    ) -> anyhow::Result<BTreeMap<String, f64>>;

    /// Where its runs execute.
    fn reach(&self) -> Reach {
        Reach::Host
    }

    /// Its name in placements (`local`, `slurm`).
    fn name(&self) -> &'static str {
        "local"
    }

    /// For a [`Reach::Cluster`] executor: the placement a run asking for `devices` devices is
    /// handed over with, and the devices its worker uses on the node. An error fails the run.
    fn hand_over(&self, devices: usize) -> anyhow::Result<(Placement, engine::Devices)> {
        anyhow::bail!("this executor runs on the host's device pool, not a cluster ({devices})")
    }
}
