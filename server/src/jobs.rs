//! The job queue: runs wait in SQLite as `queued`; a dispatcher places them on the host's
//! [device pool](pool) (each device at most `concurrency` runs, default 1; a run takes as many
//! devices as it asks for), claims each atomically with its placement, and executes it on a
//! dedicated blocking thread, never on the async runtime. The [`Executor`] does the work (the
//! engine, a SLURM cluster, or a fake in tests), writes the run's directory and reports steps,
//! evaluation progress and log lines, which the queue fans out through [`LiveHub`] (log lines also
//! to `log.txt`) and turns into the final state ([`execute`]): `succeeded` with metrics, `failed`
//! with the error, `cancelled` on request, or `interrupted` when the server shuts down mid-run.
//!
//! A [`Reach::Cluster`] executor is handed every queued run at once (the cluster schedules
//! them), and its runs outlive the server: shutdown leaves them running and the next start
//! re-attaches to them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared::live::StepPoint;
use shared::run::{Placement, RunSpec, RunState, TrajectoryPoint};
use tokio::sync::Notify;

mod contract;
pub mod execute;
pub mod fake;
pub mod follow;
pub mod pool;
pub mod run_log;

use crate::db::{self, Db};
use crate::live::LiveHub;
pub use contract::{Detached, Executor, Handover, JobContext, Reach};
use pool::{Decision, DevicePool};

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

    /// The pool's devices, their memory and the runs on them now (none for a cluster
    /// executor: the cluster places its runs).
    pub fn devices(&self) -> Vec<shared::health::DeviceSlot> {
        match self.executor.reach() {
            Reach::Host => self.pool().slots(),
            Reach::Cluster => Vec::new(),
        }
    }

    /// The most devices one run can take: the pool's size, or for a cluster what a run may
    /// ask for at all.
    pub fn device_count(&self) -> usize {
        match self.executor.reach() {
            Reach::Host => self.pool().len(),
            Reach::Cluster => shared::run::MAX_DEVICES,
        }
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
            if queue.executor.reach() == Reach::Cluster
                && let Err(error) = queue.reattach().await
            {
                tracing::error!(error = format!("{error:#}"), "re-attaching to cluster jobs");
            }
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

    /// Follows again the cluster jobs of runs that were running when the server last stopped.
    async fn reattach(self: &Arc<Self>) -> anyhow::Result<()> {
        let running = self.db.call(|conn| db::running_placed(conn)).await?;
        for (id, spec, placement) in running {
            let devices = match self.executor.hand_over(spec.trainer.devices) {
                Ok((_, devices)) => devices,
                Err(error) => {
                    let error = format!("{error:#}");
                    self.db
                        .call(move |conn| {
                            db::finish_run(
                                conn,
                                id,
                                RunState::Failed,
                                Some(&error),
                                &BTreeMap::new(),
                            )
                        })
                        .await?;
                    continue;
                }
            };
            tracing::info!(run = id, job = ?placement.job_id, "re-attaching");
            self.spawn_run(id, spec, devices, placement);
        }
        Ok(())
    }

    /// One round: every queued run that fits the free devices now starts (with a cluster
    /// executor, every queued run).
    async fn dispatch(self: &Arc<Self>) -> anyhow::Result<()> {
        let queued = self.db.call(|conn| db::queued_needs(conn)).await?;
        if queued.is_empty() {
            return Ok(());
        }
        if self.executor.reach() == Reach::Cluster {
            for (id, wanted) in queued {
                if self.shutting_down.load(Ordering::SeqCst) {
                    return Ok(());
                }
                self.hand_over_run(id, wanted).await?;
            }
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
            .call({
                let placement = placement.clone();
                move |conn| db::claim(conn, id, &placement)
            })
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
        self.spawn_run(id, spec, devices, placement);
        Ok(())
    }

    /// Claims queued run `id` for the cluster executor and executes it; a run the executor
    /// cannot take fails.
    async fn hand_over_run(self: &Arc<Self>, id: i64, wanted: usize) -> anyhow::Result<()> {
        let (placement, devices) = match self.executor.hand_over(wanted) {
            Ok(slot) => slot,
            Err(error) => {
                let error = format!("{error:#}");
                if self
                    .db
                    .call(move |conn| db::fail_queued(conn, id, &error))
                    .await?
                {
                    self.hub.close(id);
                }
                return Ok(());
            }
        };
        let claim = placement.clone();
        let claimed = self
            .db
            .call(move |conn| db::claim(conn, id, &claim))
            .await?;
        if let Some(spec) = claimed {
            self.spawn_run(id, spec, devices, placement);
        }
        Ok(())
    }

    /// Executes claimed run `id` on a blocking thread; frees its devices when it ends.
    fn spawn_run(
        self: &Arc<Self>,
        id: i64,
        spec: RunSpec,
        devices: engine::Devices,
        placement: Placement,
    ) {
        let cancel = Arc::new(AtomicBool::new(false));
        self.running().insert(id, Arc::clone(&cancel));
        let job_queue = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            job_queue.run_job(id, &spec, &devices, placement, &cancel);
            job_queue.running().remove(&id);
            job_queue.pool().release(id);
            job_queue.wake.notify_one();
            job_queue.idle.notify_waiters();
        });
    }

    /// Stops claiming, cancels running jobs and waits up to `grace` for them to record their
    /// final state (`interrupted`). A cluster executor's runs are not cancelled: they go on, and
    /// the next start re-attaches to them.
    pub async fn shutdown(&self, grace: Duration) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
        if self.executor.reach() == Reach::Host {
            let flags: Vec<Arc<AtomicBool>> = self.running().values().cloned().collect();
            for flag in flags {
                flag.store(true, Ordering::SeqCst);
            }
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
    read_lines(&run_dir(data_dir, id).join(shared::paths::ARTIFACT_STEPS))
}

/// Run `id`'s forgetting trajectory (`evals.jsonl`), oldest first; empty without one.
pub fn read_trajectory(data_dir: &Path, id: i64) -> Vec<TrajectoryPoint> {
    read_lines(&run_dir(data_dir, id).join(shared::paths::ARTIFACT_EVALS))
}

/// Every line of the JSON-lines file `path` that parses as a `T`.
fn read_lines<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect()
        })
        .unwrap_or_default()
}
