//! The job queue: runs wait in SQLite as `queued`; a dispatcher places them on the host's
//! [device pool](pool) (each device at most `concurrency` runs, default 1; a run takes as many
//! devices as it asks for), claims each atomically with its placement, and executes it on a
//! dedicated blocking thread, never on the async runtime. The [`Executor`] does the work (the engine, or a fake in
//! tests) writes the run's directory and reports steps, evaluation progress and log lines, which
//! the queue fans out through [`LiveHub`] (log lines also to `log.txt`) and turns into the final state:
//! `succeeded` with metrics, `failed` with the error, `cancelled` on request, or `interrupted`
//! when the server shuts down mid-run.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use shared::live::StepPoint;
use shared::run::{RunSpec, RunState};
use tokio::sync::Notify;

pub mod fake;
pub mod follow;
pub mod pool;
pub mod run_log;

use crate::db::{self, Db};
use crate::live::LiveHub;
use crate::runner::RunEvent;
use pool::{Decision, DevicePool};
use run_log::RunLog;

/// What an executor gets for one run.
pub struct JobContext<'a> {
    /// Run id.
    pub id: i64,
    /// The run's artifact directory (exists).
    pub dir: PathBuf,
    /// The devices of the pool it holds, as many as `trainer.devices`.
    pub devices: &'a engine::Devices,
    /// Set when the run should stop; check it between steps.
    pub cancel: &'a AtomicBool,
    /// Report progress.
    pub emit: &'a mut dyn FnMut(RunEvent),
}

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
}

/// The queue's shared state.
pub struct Queue {
    db: Db,
    hub: Arc<LiveHub>,
    executor: Arc<dyn Executor>,
    data_dir: PathBuf,
    wake: Notify,
    pool: Mutex<DevicePool>,
    running: Mutex<HashMap<i64, Arc<AtomicBool>>>,
    shutting_down: AtomicBool,
    idle: Notify,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

/// `data_dir/runs/<id>`.
pub fn run_dir(data_dir: &Path, id: i64) -> PathBuf {
    data_dir.join("runs").join(id.to_string())
}

impl Queue {
    /// A queue over `db` executing with `executor` on `pool`.
    pub fn new(
        db: Db,
        hub: Arc<LiveHub>,
        executor: Arc<dyn Executor>,
        data_dir: PathBuf,
        pool: DevicePool,
    ) -> Arc<Self> {
        Arc::new(Self {
            db,
            hub,
            executor,
            data_dir,
            wake: Notify::new(),
            pool: Mutex::new(pool),
            running: Mutex::new(HashMap::new()),
            shutting_down: AtomicBool::new(false),
            idle: Notify::new(),
        })
    }

    /// Tells the dispatcher that a run was queued.
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, DevicePool> {
        self.pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The pool's devices, their memory and the runs on them now.
    pub fn devices(&self) -> Vec<shared::health::DeviceSlot> {
        self.pool().slots()
    }

    /// How many devices the pool has: the most one run can take.
    pub fn device_count(&self) -> usize {
        self.pool().len()
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<AtomicBool>>> {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Asks running run `id` to stop; false if it is not running here.
    pub fn cancel(&self, id: i64) -> bool {
        match self.running().get(&id) {
            Some(flag) => {
                flag.store(true, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    /// Runs the dispatcher until shutdown: place what fits, claim it, execute each on a blocking
    /// thread; again whenever a run is queued or ends.
    pub fn start(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let queue = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                if queue.shutting_down.load(Ordering::SeqCst) {
                    return;
                }
                if let Err(error) = queue.dispatch().await {
                    tracing::error!(error = format!("{error:#}"), "placing queued runs");
                }
                // Wake on a submission or an ending run, or poll in case one was missed.
                let _ = tokio::time::timeout(Duration::from_secs(2), queue.wake.notified()).await;
            }
        })
    }

    /// One round: every queued run that fits the free devices now starts.
    async fn dispatch(self: &Arc<Self>) -> anyhow::Result<()> {
        let queued = self.db.call(|conn| db::queued_needs(conn)).await?;
        if queued.is_empty() {
            return Ok(());
        }
        let decisions = self.pool().schedule(&queued);
        for (id, decision) in decisions {
            if self.shutting_down.load(Ordering::SeqCst) {
                return Ok(());
            }
            match decision {
                Decision::TooBig => {
                    let count = self.device_count();
                    let wanted = queued.iter().find(|(q, _)| *q == id).map_or(0, |q| q.1);
                    let error = format!(
                        "trainer.devices: the run asks for {wanted} devices; this server's pool \
                         has {count}"
                    );
                    if self
                        .db
                        .call(move |conn| db::fail_queued(conn, id, &error))
                        .await?
                    {
                        self.hub.close(id);
                    }
                }
                Decision::Start(indices) => self.start_run(id, &indices).await?,
            }
        }
        Ok(())
    }

    /// Holds `indices` for run `id`, claims it and executes it; frees them if it was no longer
    /// queued.
    async fn start_run(self: &Arc<Self>, id: i64, indices: &[usize]) -> anyhow::Result<()> {
        let specs = self.pool().hold(id, indices);
        let placement =
            shared::run::Placement::local(specs.iter().map(ToString::to_string).collect());
        let claimed = self
            .db
            .call(move |conn| db::claim(conn, id, &placement))
            .await;
        let spec = match claimed {
            Ok(Some(spec)) => spec,
            Ok(None) => {
                self.pool().release(id);
                return Ok(());
            }
            Err(error) => {
                self.pool().release(id);
                return Err(error);
            }
        };
        let devices: engine::Devices = placement_devices(&specs).parse()?;
        let cancel = Arc::new(AtomicBool::new(false));
        self.running().insert(id, Arc::clone(&cancel));
        let job_queue = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            job_queue.run_job(id, &spec, &devices, &cancel);
            job_queue.running().remove(&id);
            job_queue.pool().release(id);
            job_queue.wake.notify_one();
            job_queue.idle.notify_waiters();
        });
        Ok(())
    }

    /// Stops claiming, cancels running jobs and waits up to `grace` for them to record their
    /// final state (`interrupted`).
    pub async fn shutdown(&self, grace: Duration) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
        let flags: Vec<Arc<AtomicBool>> = self.running().values().cloned().collect();
        for flag in flags {
            flag.store(true, Ordering::SeqCst);
        }
        let deadline = tokio::time::Instant::now() + grace;
        while !self.running().is_empty() {
            let idle = self.idle.notified();
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                tracing::warn!(
                    "runs still executing at shutdown; they will be `interrupted` on the next start"
                );
                return;
            }
        }
    }

    /// One run, start to final state (on a blocking thread).
    fn run_job(&self, id: i64, spec: &RunSpec, devices: &engine::Devices, cancel: &AtomicBool) {
        let outcome = self.try_run_job(id, spec, devices, cancel);
        let (state, error, metrics) = match outcome {
            Ok(metrics) => (RunState::Succeeded, None, metrics),
            Err(_) if self.shutting_down.load(Ordering::SeqCst) => (
                RunState::Interrupted,
                Some("the server shut down while this run was running".to_string()),
                BTreeMap::new(),
            ),
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
        let ending = match (state, &error) {
            (RunState::Failed | RunState::Interrupted, Some(error)) => {
                format!("{}: {error}", state.as_str())
            }
            _ => state.as_str().to_string(),
        };
        self.log_line(id, live.as_deref(), &ending);
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
    fn log_line(&self, id: i64, live: Option<&crate::live::RunLive>, line: &str) {
        if let Err(error) = RunLog::new(&run_dir(&self.data_dir, id)).append(line) {
            tracing::warn!(run = id, %error, "writing the run's log");
        }
        if let Some(live) = live {
            live.log(line.to_string());
        }
    }

    fn try_run_job(
        &self,
        id: i64,
        spec: &RunSpec,
        devices: &engine::Devices,
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
            RunEvent::Log(line) => self.log_line(id, Some(&*live), &line),
        };
        let mut ctx = JobContext {
            id,
            dir: dir.clone(),
            devices,
            cancel,
            emit: &mut emit,
        };
        self.executor.execute(spec, &mut ctx)
    }
}

/// `cuda:0,cuda:1`: the list as `--devices` takes it.
fn placement_devices(specs: &[engine::DeviceSpec]) -> String {
    specs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Files under a run directory, relative, sorted (checkpoint shards included).
pub fn list_artifacts(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if let Ok(relative) = path.strip_prefix(root)
                && path.extension().is_none_or(|e| e != "partial")
            {
                out.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Every step recorded in `runs/<id>/steps.jsonl` (a torn last line is skipped).
pub fn read_steps(data_dir: &Path, id: i64) -> Vec<StepPoint> {
    std::fs::read_to_string(run_dir(data_dir, id).join(shared::paths::ARTIFACT_STEPS))
        .map(|text| {
            text.lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect()
        })
        .unwrap_or_default()
}
