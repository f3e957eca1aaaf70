//! `lethe worker RUN_DIR`: executes the run a directory describes (its `spec.json`) with the
//! runner, with no server and no database; the directory is the only channel. It writes what
//! every run writes (`steps.jsonl`, `checkpoint/`, `eval/`, `metrics.json`), appends its log to
//! `log.txt`, and ends with `state.json`: `succeeded`, `failed` with the error, or `cancelled`
//! (SIGTERM or Ctrl-C stop it between steps). It exits non-zero unless the run succeeded.
//!
//! Each start is an attempt (`SLURM_RESTART_COUNT`, 0 for the first): what an earlier attempt
//! wrote is moved to `attempts/<n>/` before this one begins, so a requeued job starts from
//! scratch and never mixes its files with a killed one's, and the `attempt` file says which
//! attempt the directory's files belong to.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use shared::run::{Placement, RunSpec, RunState};

use super::progress::RunProgress;
use crate::config::WorkerArgs;
use crate::jobs::fake::FakeExecutor;
use crate::jobs::follow::attempt;
use crate::jobs::run_log::RunLog;
use crate::jobs::{Executor as _, JobContext};
use crate::runner::{self, RunEnd, RunEvent};

pub(crate) fn read_spec(dir: &Path) -> anyhow::Result<RunSpec> {
    let path = dir.join(shared::paths::ARTIFACT_SPEC);
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{}: not a RunSpec", path.display()))
}

/// Runs `lethe worker`: the run's end as `state.json` records it.
pub async fn run(args: WorkerArgs) -> anyhow::Result<()> {
    let dir = args.run_dir.clone();
    if !dir.is_dir() {
        anyhow::bail!("{}: not a run directory", dir.display());
    }
    attempt::begin(&dir, args.attempt)?;
    let cancel = Arc::new(AtomicBool::new(false));
    let signal = {
        let cancel = Arc::clone(&cancel);
        tokio::spawn(async move {
            crate::shutdown_signal().await;
            cancel.store(true, Ordering::SeqCst);
        })
    };
    let work = {
        let cancel = Arc::clone(&cancel);
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || execute(&args, &dir, &cancel))
    };
    let outcome = work.await.context("the run's thread")?;
    signal.abort();
    let end = match outcome {
        Ok(metrics) => RunEnd {
            state: RunState::Succeeded,
            error: None,
            metrics,
        },
        Err(_) if cancel.load(Ordering::SeqCst) => RunEnd {
            state: RunState::Cancelled,
            error: None,
            metrics: Default::default(),
        },
        Err(error) => RunEnd {
            state: RunState::Failed,
            error: Some(format!("{error:#}")),
            metrics: Default::default(),
        },
    };
    let ending = match &end.error {
        Some(error) => format!("{}: {error}", end.state.as_str()),
        None => end.state.as_str().to_string(),
    };
    if let Err(error) = RunLog::new(&dir).append(&ending) {
        tracing::warn!(%error, "writing the run's log");
    }
    end.write(&dir)?;
    match end.state {
        RunState::Succeeded => Ok(()),
        state => anyhow::bail!(
            "run {} {}{}",
            dir.display(),
            state.as_str(),
            end.error.map(|e| format!(": {e}")).unwrap_or_default()
        ),
    }
}

fn execute(
    args: &WorkerArgs,
    dir: &Path,
    cancel: &AtomicBool,
) -> anyhow::Result<std::collections::BTreeMap<String, f64>> {
    let spec = read_spec(dir)?;
    let log = RunLog::new(dir);
    let mut progress = RunProgress::default();
    let mut eval = EvalFile::new(dir);
    let mut emit = |event: RunEvent| {
        match &event {
            RunEvent::Log(line) => {
                if let Err(error) = log.append(line) {
                    tracing::warn!(%error, "writing the run's log");
                }
            }
            RunEvent::Eval(point) => eval.write(point),
            RunEvent::Step(_) | RunEvent::Trajectory(_) => {}
        }
        progress.show(&event);
    };
    let result = if args.fake_executor {
        let fake = FakeExecutor {
            steps: args.fake_steps,
            step_delay: Duration::from_millis(100),
            ..FakeExecutor::default()
        };
        let detach = AtomicBool::new(false);
        let mut ctx = JobContext {
            id: 0,
            dir: dir.to_path_buf(),
            devices: &args.device,
            placement: Placement::local(vec![args.device.to_string()]),
            cancel,
            detach: &detach,
            emit: &mut emit,
            hand_over: &mut |_| {},
        };
        fake.execute(&spec, &mut ctx)
    } else {
        let places = crate::places(&args.places, false)?;
        runner::execute(&spec, &places, dir, &args.device, &mut emit, cancel)
    };
    progress.finish();
    result
}

/// The worker's evaluation progress for whoever follows the directory
/// ([`crate::jobs::follow::EVAL_PROGRESS`]): rewritten when the stage changes or ends, and at most
/// every [`EVAL_EVERY`] in between.
struct EvalFile {
    path: std::path::PathBuf,
    last: Option<(std::time::Instant, String)>,
}

/// The least time between two writes of one stage's progress.
const EVAL_EVERY: Duration = Duration::from_millis(200);

impl EvalFile {
    fn new(dir: &Path) -> Self {
        Self {
            path: dir.join(crate::jobs::follow::EVAL_PROGRESS),
            last: None,
        }
    }

    fn write(&mut self, point: &shared::live::EvalPoint) {
        let same_stage = self
            .last
            .as_ref()
            .is_some_and(|(at, stage)| *stage == point.stage && at.elapsed() < EVAL_EVERY);
        if same_stage && point.done < point.total {
            return;
        }
        self.last = Some((std::time::Instant::now(), point.stage.clone()));
        let written = serde_json::to_vec(point)
            .map_err(anyhow::Error::from)
            .and_then(|bytes| runner::write_atomic(&self.path, &bytes));
        if let Err(error) = written {
            tracing::warn!(
                error = format!("{error:#}"),
                "writing the evaluation progress"
            );
        }
    }
}
