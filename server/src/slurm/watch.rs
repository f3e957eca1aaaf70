//! One look at SLURM's queue shared by every run the server follows: `squeue --json` at most
//! once per interval however many runs ask, then `scontrol` or the completion log only for a job
//! that has left the queue or ended.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::JobStatus;

/// SLURM's queue as one `squeue` saw it: each job's status by id.
type Jobs = Arc<BTreeMap<String, JobStatus>>;

/// The cached queue.
#[derive(Debug)]
pub struct Watch {
    every: Duration,
    last: Mutex<Option<(Instant, Jobs)>>,
}

impl Watch {
    /// A watch that asks `squeue` at most once per `every`.
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            last: Mutex::new(None),
        }
    }

    fn queue(&self) -> anyhow::Result<Jobs> {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, jobs)) = &*last
            && at.elapsed() < self.every
        {
            return Ok(Arc::clone(jobs));
        }
        let jobs = Arc::new(super::squeue()?);
        *last = Some((Instant::now(), Arc::clone(&jobs)));
        Ok(jobs)
    }

    /// What SLURM says of `job` now: `Ok(None)` when it no longer knows it, an error when the
    /// controller does not answer.
    pub fn status(&self, job: &str) -> anyhow::Result<Option<JobStatus>> {
        let queue = self.queue()?;
        match queue.get(job) {
            Some(status) if !status.state.is_final() => Ok(Some(status.clone())),
            // Ended (or gone): how, with its exit code, from scontrol or the completion log.
            _ => super::status(job),
        }
    }
}
