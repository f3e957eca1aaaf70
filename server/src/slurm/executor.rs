//! The SLURM [`Executor`]: each run becomes one `sbatch` job whose script runs `lethe worker` on
//! a compute node, in the run's directory on the shared filesystem. The server follows that
//! directory ([`RunFollower`]) and relays steps and log lines as a local run emits them, reads
//! the job's state from SLURM, cancels with `scancel`, and turns a job that SLURM ended before
//! the worker recorded an end into a failure with SLURM's reason. The directory is the only
//! channel: compute nodes need no token and never call the server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use engine::{DeviceSpec, Devices};
use shared::run::{Placement, RunSpec, RunState};

use super::script::{JobSettings, job_name, node_devices};
use super::watch::Watch;
use super::{JobStatus, probe};
use crate::jobs::follow::{Followed, RunFollower, attempt};
use crate::jobs::run_log::RunLog;
use crate::jobs::{Detached, Executor, Handover, JobContext, Reach};
use crate::runner::{RunEvent, write_atomic};

/// Consecutive looks in which SLURM does not know a job before its run fails (a job between
/// the queue and the completion log is briefly in neither).
const UNKNOWN_LOOKS: usize = 3;

/// Runs as SLURM jobs.
#[derive(Debug)]
pub struct SlurmExecutor {
    settings: JobSettings,
    backend: DeviceSpec,
    poll: Duration,
    watch: Watch,
    probe: Arc<OnceLock<Result<(), String>>>,
}

impl SlurmExecutor {
    /// An executor submitting with `settings`, whose jobs use `backend` on their nodes. It starts
    /// the probe job that checks that the nodes see `data_dir`; runs wait for its answer.
    pub fn new(
        settings: JobSettings,
        backend: DeviceSpec,
        data_dir: &Path,
        probe_timeout: Duration,
        poll: Duration,
    ) -> Self {
        let cell = Arc::new(OnceLock::new());
        let answer = Arc::clone(&cell);
        let probe_settings = settings.clone();
        let data_dir = data_dir.to_path_buf();
        std::thread::spawn(move || {
            let outcome = match probe::probe(&probe_settings, &data_dir, probe_timeout, poll) {
                Ok(true) => {
                    tracing::info!(data_dir = %data_dir.display(), "SLURM nodes see --data-dir");
                    Ok(())
                }
                Ok(false) => {
                    tracing::warn!(
                        "the SLURM probe job did not start within --slurm-probe-timeout; \
                         whether the nodes see --data-dir is unchecked"
                    );
                    Ok(())
                }
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "SLURM probe");
                    Err(format!(
                        "checking the SLURM cluster at start-up: {error:#} (restart `lethe serve` \
                         once fixed)"
                    ))
                }
            };
            let _ = answer.set(outcome);
        });
        Self {
            settings,
            backend,
            poll,
            watch: Watch::new(poll),
            probe: cell,
        }
    }

    /// Waits for the probe's answer; its error fails the run.
    fn wait_probe(&self, ctx: &JobContext<'_>) -> anyhow::Result<()> {
        loop {
            if let Some(answer) = self.probe.get() {
                return answer.clone().map_err(anyhow::Error::msg);
            }
            if ctx.cancel.load(Ordering::SeqCst) {
                anyhow::bail!("cancelled before it was submitted");
            }
            if ctx.detach.load(Ordering::SeqCst) {
                return Err(Detached.into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Writes the run's spec and job script and submits it: the job id.
    fn submit(&self, spec: &RunSpec, ctx: &JobContext<'_>) -> anyhow::Result<String> {
        self.wait_probe(ctx)?;
        write_atomic(
            &ctx.dir.join(shared::paths::ARTIFACT_SPEC),
            &serde_json::to_vec_pretty(spec)?,
        )?;
        // The job runs elsewhere, in its own working directory: absolute paths only.
        let dir = std::path::absolute(&ctx.dir)
            .with_context(|| format!("{}: no absolute path", ctx.dir.display()))?;
        // A job this run already became (the server stopped between `sbatch` and recording its
        // id) is followed, not submitted twice.
        if let Ok(Some(job)) = super::find(&job_name(ctx.id), &dir) {
            return Ok(job);
        }
        let script = dir.join(attempt::SCRIPT);
        write_atomic(
            &script,
            self.settings.script(ctx.id, &dir, ctx.devices).as_bytes(),
        )?;
        super::sbatch(
            &script,
            &self.settings.sbatch_args(ctx.id, &dir, ctx.devices),
        )
        .context("submitting the run to SLURM")
    }

    /// Relays what the worker appended.
    fn relay(follower: &mut RunFollower, ctx: &mut JobContext<'_>) {
        match follower.poll() {
            Ok(items) => {
                for item in items {
                    match item {
                        Followed::Step(point) => (ctx.emit)(RunEvent::Step(point)),
                        Followed::Log(line) => (ctx.hand_over)(Handover::Relayed(line)),
                        Followed::Eval(point) => (ctx.emit)(RunEvent::Eval(point)),
                        Followed::Trajectory(point) => (ctx.emit)(RunEvent::Trajectory(point)),
                    }
                }
            }
            Err(error) => tracing::warn!(run = ctx.id, %error, "following the run's directory"),
        }
    }

    /// Follows `job` until SLURM ends it: its last status (`None`: SLURM no longer knows it).
    fn follow(
        &self,
        job: &str,
        placement: &mut Placement,
        follower: &mut RunFollower,
        ctx: &mut JobContext<'_>,
    ) -> anyhow::Result<Option<JobStatus>> {
        let log = RunLog::new(&ctx.dir);
        let mut cancelled = false;
        let mut unknown = 0;
        loop {
            Self::relay(follower, ctx);
            if ctx.cancel.load(Ordering::SeqCst) && !cancelled {
                if let Err(error) = super::scancel(job) {
                    tracing::warn!(run = ctx.id, error = format!("{error:#}"), "scancel");
                }
                cancelled = true;
            }
            if ctx.detach.load(Ordering::SeqCst) && !cancelled {
                return Err(Detached.into());
            }
            match self.watch.status(job) {
                // The controller does not answer: the job goes on; look again.
                Err(error) => {
                    tracing::warn!(run = ctx.id, error = format!("{error:#}"), "squeue");
                    unknown = 0;
                }
                Ok(None) => {
                    unknown += 1;
                    if unknown >= UNKNOWN_LOOKS {
                        return Ok(None);
                    }
                }
                Ok(Some(status)) => {
                    unknown = 0;
                    let state = status.state.as_str().to_string();
                    if status.restarts > placement.requeues {
                        placement.requeues = status.restarts;
                        placement.job_state = Some(state);
                        *follower = RunFollower::new(&ctx.dir, placement.requeues);
                        let reason = status
                            .reason()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default();
                        let _ = log.append(&format!(
                            "requeued: SLURM requeued job {job}{reason}; the run starts again \
                             from scratch (attempt {})",
                            placement.requeues + 1
                        ));
                        (ctx.hand_over)(Handover::Restarted(placement.clone()));
                    } else if placement.job_state.as_deref() != Some(state.as_str()) {
                        placement.job_state = Some(state);
                        (ctx.hand_over)(Handover::Placed(placement.clone()));
                    }
                    if status.state.is_final() {
                        return Ok(Some(status));
                    }
                }
            }
            std::thread::sleep(self.poll);
        }
    }
}

/// The last lines of SLURM's output file for `job`, or why there is none.
fn output_tail(dir: &Path, job: &str) -> String {
    let path: PathBuf = dir.join(format!("slurm-{job}.out"));
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            if lines.is_empty() {
                return format!("; {} is empty", path.display());
            }
            let tail = lines[lines.len().saturating_sub(5)..].join(" | ");
            format!("; the end of {}: {tail}", path.display())
        }
        Err(_) => format!(
            "; {} is missing (does the compute node see --data-dir?)",
            path.display()
        ),
    }
}

impl Executor for SlurmExecutor {
    fn environment(&self, devices: &Devices) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("lethe".into(), env!("CARGO_PKG_VERSION").into()),
            ("git_commit".into(), env!("LETHE_GIT_COMMIT").into()),
            ("burn".into(), "0.22.1".into()),
            ("executor".into(), "slurm".into()),
            (
                "partition".into(),
                self.settings
                    .partition
                    .clone()
                    .unwrap_or_else(|| "(default)".into()),
            ),
            ("device".into(), devices.to_string()),
            ("backend".into(), devices.first().backend().to_string()),
        ])
    }

    fn reach(&self) -> Reach {
        Reach::Cluster
    }

    fn name(&self) -> &'static str {
        "slurm"
    }

    fn hand_over(&self, devices: usize) -> anyhow::Result<(Placement, Devices)> {
        Ok((Placement::slurm(None), node_devices(self.backend, devices)?))
    }

    fn execute(
        &self,
        spec: &RunSpec,
        ctx: &mut JobContext<'_>,
    ) -> anyhow::Result<BTreeMap<String, f64>> {
        let log = RunLog::new(&ctx.dir);
        let mut placement = ctx.placement.clone();
        let job = if let Some(job) = placement.job_id.clone() {
            let _ = log.append(&format!("the server follows SLURM job {job} again"));
            job
        } else {
            let submitted = Instant::now();
            let job = match self.submit(spec, ctx) {
                Ok(job) => job,
                Err(error) if error.is::<Detached>() => return Err(error),
                Err(error) => {
                    if !ctx.cancel.load(Ordering::SeqCst) {
                        let _ = log.append(&format!("failed: {error:#}"));
                    }
                    return Err(error);
                }
            };
            placement.job_id = Some(job.clone());
            placement.job_state = Some("PENDING".into());
            (ctx.hand_over)(Handover::Placed(placement.clone()));
            let _ = log.append(&format!(
                "submitted as SLURM job {job} ({} ms)",
                submitted.elapsed().as_millis()
            ));
            job
        };
        let mut follower = RunFollower::new(&ctx.dir, placement.requeues);
        let last = self.follow(&job, &mut placement, &mut follower, ctx)?;
        // The worker's last writes may trail the job's end on a network filesystem.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut end = follower.end();
        while end.is_none() && last.is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
            end = follower.end();
        }
        Self::relay(&mut follower, ctx);
        let cancelled = ctx.cancel.load(Ordering::SeqCst);
        let outcome = match (end, &last) {
            (Some(end), _) if end.state == RunState::Succeeded => return Ok(end.metrics),
            (Some(end), _) if end.state == RunState::Failed => {
                return Err(anyhow::anyhow!(
                    end.error.unwrap_or_else(|| "the worker failed".into())
                ));
            }
            (Some(_), _) if cancelled => return Err(anyhow::anyhow!("cancelled")),
            (None, _) if cancelled => {
                let _ = log.append("cancelled");
                Err(anyhow::anyhow!("cancelled"))
            }
            (_, None) => Err(anyhow::anyhow!(
                "SLURM no longer knows job {job}, and the worker recorded no end of the run"
            )),
            (_, Some(status)) => {
                let reason = status
                    .reason()
                    .map(|r| format!(", reason {r}"))
                    .unwrap_or_default();
                Err(anyhow::anyhow!(
                    "SLURM job {job} ended {} (exit {}{reason}) before the worker recorded how \
                     the run ended{}",
                    status.state.as_str(),
                    status.exit_code,
                    output_tail(&ctx.dir, &job)
                ))
            }
        };
        if let Err(error) = &outcome
            && !cancelled
        {
            let _ = log.append(&format!("failed: {error:#}"));
        }
        Self::relay(&mut follower, ctx);
        outcome
    }
}
