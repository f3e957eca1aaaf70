//! One run on its blocking thread, from claimed to its final state: the executor does the work,
//! and what it reports goes to the run's live viewers, its log and the database.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use shared::run::{Placement, RunSpec, RunState};

use super::run_log::RunLog;
use super::{Detached, Handover, JobContext, Queue, Reach, list_artifacts, run_dir};
use crate::db;
use crate::live::RunLive;
use crate::runner::RunEvent;

impl Queue {
    /// One run, start to final state (on a blocking thread).
    pub(super) fn run_job(
        &self,
        id: i64,
        spec: &RunSpec,
        devices: &engine::Devices,
        placement: Placement,
        cancel: &AtomicBool,
    ) {
        let outcome = self.try_run_job(id, spec, devices, placement, cancel);
        if let Err(error) = &outcome
            && error.is::<Detached>()
        {
            // The run goes on without this server, still `running`; the next start follows it.
            self.hub.close(id);
            tracing::info!(run = id, "left running on the cluster");
            return;
        }
        let (state, error, metrics) = match outcome {
            Ok(metrics) => (RunState::Succeeded, None, metrics),
            Err(_)
                if self.executor.reach() == Reach::Host
                    && self.shutting_down.load(Ordering::SeqCst) =>
            {
                (
                    RunState::Interrupted,
                    Some("the server shut down while this run was running".to_string()),
                    BTreeMap::new(),
                )
            }
            Err(_) if cancel.load(Ordering::SeqCst) => (RunState::Cancelled, None, BTreeMap::new()),
            Err(error) => (
                RunState::Failed,
                Some(format!("{error:#}")),
                BTreeMap::new(),
            ),
        };
        let live = self.hub.get(id);
        if let Some(live) = &live
            && !metrics.is_empty()
        {
            live.metrics(metrics.clone());
        }
        // A cluster run's worker (or its executor, for a job that never got that far) wrote the
        // log's last line.
        if self.executor.reach() == Reach::Host {
            let ending = match (state, &error) {
                (RunState::Failed | RunState::Interrupted, Some(error)) => {
                    format!("{}: {error}", state.as_str())
                }
                _ => state.as_str().to_string(),
            };
            self.log_line(id, live.as_deref(), &ending);
        }
        let stored = self.db.call_blocking(|conn| {
            db::finish_run(conn, id, state, error.as_deref(), &metrics)?;
            db::get_run(conn, id)
        });
        match stored {
            Ok(Some(mut run)) => {
                run.artifacts = list_artifacts(&run_dir(&self.data_dir, id));
                if let Some(live) = &live {
                    live.state(run);
                }
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(
                    run = id,
                    error = format!("{error:#}"),
                    "recording the final state"
                );
            }
        }
        self.hub.close(id);
        tracing::info!(run = id, state = state.as_str(), "run finished");
    }

    /// Appends `line` to run `id`'s log file and shows it to live viewers. A log that cannot
    /// be written is reported, not fatal: the run's results matter more than its log.
    fn log_line(&self, id: i64, live: Option<&RunLive>, line: &str) {
        if let Err(error) = RunLog::new(&run_dir(&self.data_dir, id)).append(line) {
            tracing::warn!(run = id, %error, "writing the run's log");
        }
        if let Some(live) = live {
            live.log(line.to_string());
        }
    }

    /// Stores where run `id` is and shows it to its viewers (`restart`: from scratch, without
    /// the steps so far).
    fn place(&self, id: i64, live: &RunLive, placement: &Placement, restart: bool) {
        let stored = self.db.call_blocking(|conn| {
            db::set_placement(conn, id, placement)?;
            db::get_run(conn, id)
        });
        match stored {
            Ok(Some(run)) => live.replace(run, restart),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(
                    run = id,
                    error = format!("{error:#}"),
                    "recording the placement"
                );
            }
        }
    }

    fn try_run_job(
        &self,
        id: i64,
        spec: &RunSpec,
        devices: &engine::Devices,
        placement: Placement,
        cancel: &AtomicBool,
    ) -> anyhow::Result<BTreeMap<String, f64>> {
        let dir = run_dir(&self.data_dir, id);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let environment = self.executor.environment(devices);
        let run = self.db.call_blocking(|conn| {
            db::set_environment(conn, id, &environment)?;
            db::get_run(conn, id)
        })?;
        let run = run.context("the run vanished from the database")?;
        let live = self.hub.open(run.clone());
        live.state(run);
        tracing::info!(run = id, "run started");
        let mut emit = |event: RunEvent| match event {
            RunEvent::Step(point) => live.step(point),
            RunEvent::Eval(point) => live.eval(point),
            RunEvent::Trajectory(point) => live.trajectory(point),
            RunEvent::Log(line) => self.log_line(id, Some(&*live), &line),
        };
        let mut hand_over = |report: Handover| match report {
            Handover::Placed(placement) => self.place(id, &live, &placement, false),
            Handover::Restarted(placement) => self.place(id, &live, &placement, true),
            Handover::Relayed(line) => live.log(line),
        };
        let mut ctx = JobContext {
            id,
            dir: dir.clone(),
            devices,
            placement,
            cancel,
            detach: &self.shutting_down,
            emit: &mut emit,
            hand_over: &mut hand_over,
        };
        self.executor.execute(spec, &mut ctx)
    }
}
