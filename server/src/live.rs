//! Live state of active runs and the fan-out to websocket viewers.
//!
//! Each run being executed has a [`RunLive`]: the steps, evaluation progress and log so far
//! (what a [`Snapshot`] holds) and a broadcast channel of numbered [`ServerEvent`]s. A viewer
//! subscribes and takes the snapshot under one lock, so the first delta it receives is exactly
//! the one after the snapshot. A viewer that falls behind the channel's capacity gets
//! `Lagged` and resynchronises from a new snapshot, never a silent gap. Evaluation progress is
//! throttled at the source (at most one event per [`EVAL_THROTTLE`] per stage, plus each stage's
//! last batch); steps are never dropped.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use shared::live::{EvalPoint, ServerEvent, Snapshot, StepPoint};
use shared::run::{RunDetail, RunState, TrajectoryPoint};
use tokio::sync::broadcast;

/// Buffered events per run before a slow viewer lags.
pub const DEFAULT_CAPACITY: usize = 256;

/// Minimum spacing of evaluation progress events within a stage.
pub const EVAL_THROTTLE: Duration = Duration::from_millis(200);

/// Log lines kept for snapshots.
const LOG_LINES: usize = 200;

#[derive(Debug)]
struct Inner {
    seq: u64,
    run: RunDetail,
    steps: Vec<StepPoint>,
    eval: Option<EvalPoint>,
    last_eval: Option<Instant>,
    trajectory: Vec<TrajectoryPoint>,
    log: VecDeque<String>,
}

/// One active run's live state.
#[derive(Debug)]
pub struct RunLive {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<ServerEvent>,
}

fn lock(inner: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    // A panic while holding the lock leaves consistent data (every update is one assignment).
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RunLive {
    fn new(run: RunDetail, capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        Self {
            inner: Mutex::new(Inner {
                seq: 0,
                run,
                steps: Vec::new(),
                eval: None,
                last_eval: None,
                trajectory: Vec::new(),
                log: VecDeque::new(),
            }),
            tx,
        }
    }

    fn snapshot_of(inner: &Inner) -> ServerEvent {
        ServerEvent::Snapshot {
            seq: inner.seq,
            snapshot: Box::new(Snapshot {
                run: inner.run.clone(),
                steps: inner.steps.clone(),
                eval: inner.eval.clone(),
                trajectory: inner.trajectory.clone(),
                log: inner.log.iter().cloned().collect(),
            }),
        }
    }

    /// A snapshot and a receiver for every event after it.
    pub fn subscribe(&self) -> (ServerEvent, broadcast::Receiver<ServerEvent>) {
        let inner = lock(&self.inner);
        let rx = self.tx.subscribe();
        (Self::snapshot_of(&inner), rx)
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> ServerEvent {
        Self::snapshot_of(&lock(&self.inner))
    }

    fn emit(&self, inner: &mut Inner, make: impl FnOnce(u64) -> ServerEvent) {
        inner.seq += 1;
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(make(inner.seq));
    }

    /// Records and broadcasts an optimizer step.
    pub fn step(&self, point: StepPoint) {
        let mut inner = lock(&self.inner);
        inner.steps.push(point.clone());
        self.emit(&mut inner, |seq| ServerEvent::Step { seq, point });
    }

    /// Records evaluation progress; broadcasts it unless throttled.
    pub fn eval(&self, point: EvalPoint) {
        let mut inner = lock(&self.inner);
        let same_stage = inner.eval.as_ref().is_some_and(|e| e.stage == point.stage);
        let recent = inner
            .last_eval
            .is_some_and(|at| at.elapsed() < EVAL_THROTTLE);
        let last = point.done >= point.total;
        inner.eval = Some(point.clone());
        if same_stage && recent && !last {
            return;
        }
        inner.last_eval = Some(Instant::now());
        self.emit(&mut inner, |seq| ServerEvent::Eval { seq, point });
    }

    /// Records and broadcasts a point of the forgetting trajectory.
    pub fn trajectory(&self, point: TrajectoryPoint) {
        let mut inner = lock(&self.inner);
        inner.trajectory.push(point.clone());
        self.emit(&mut inner, |seq| ServerEvent::Trajectory { seq, point });
    }

    /// Appends and broadcasts a log line.
    pub fn log(&self, line: String) {
        let mut inner = lock(&self.inner);
        if inner.log.len() == LOG_LINES {
            inner.log.pop_front();
        }
        inner.log.push_back(line.clone());
        self.emit(&mut inner, |seq| ServerEvent::Log { seq, line });
    }

    /// Records and broadcasts the results.
    pub fn metrics(&self, metrics: BTreeMap<String, f64>) {
        let mut inner = lock(&self.inner);
        inner.run.summary.metrics.clone_from(&metrics);
        self.emit(&mut inner, |seq| ServerEvent::Metrics { seq, metrics });
    }

    /// Records and broadcasts a state change (with the run as stored after it).
    pub fn state(&self, run: RunDetail) {
        let mut inner = lock(&self.inner);
        let (state, error) = (run.summary.state, run.error.clone());
        inner.run = run;
        self.emit(&mut inner, |seq| ServerEvent::State { seq, state, error });
    }

    /// Replaces the run as stored (where it runs changed) and sends viewers a fresh snapshot;
    /// with `restart` the steps and evaluation progress so far are dropped (the run starts
    /// again from scratch).
    pub fn replace(&self, run: RunDetail, restart: bool) {
        let mut inner = lock(&self.inner);
        inner.run = run;
        if restart {
            inner.steps.clear();
            inner.trajectory.clear();
            inner.eval = None;
            inner.last_eval = None;
        }
        inner.seq += 1;
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(Self::snapshot_of(&inner));
    }

    /// The run's state as last recorded.
    pub fn run_state(&self) -> RunState {
        lock(&self.inner).run.summary.state
    }

    /// Every step so far.
    pub fn steps(&self) -> Vec<StepPoint> {
        lock(&self.inner).steps.clone()
    }
}

/// All active runs' live state.
#[derive(Debug)]
pub struct LiveHub {
    runs: Mutex<HashMap<i64, Arc<RunLive>>>,
    capacity: usize,
    stopping: tokio::sync::watch::Sender<bool>,
}

impl LiveHub {
    /// A hub whose per-run channels buffer `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Self {
            runs: Mutex::new(HashMap::new()),
            capacity,
            stopping: tokio::sync::watch::channel(false).0,
        }
    }

    /// Tells every viewer that the server is stopping (their sockets close).
    pub fn shutdown(&self) {
        self.stopping.send_replace(true);
    }

    /// Becomes true when the server stops.
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// The live state of run `run.summary.id`, created from `run` if absent.
    pub fn open(&self, run: RunDetail) -> Arc<RunLive> {
        let mut runs = self
            .runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(
            runs.entry(run.summary.id)
                .or_insert_with(|| Arc::new(RunLive::new(run, self.capacity))),
        )
    }

    /// The live state of run `id`, if it is active.
    pub fn get(&self, id: i64) -> Option<Arc<RunLive>> {
        self.runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    /// Forgets run `id` (viewers holding it still see its final events).
    pub fn close(&self, id: i64) {
        self.runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id);
    }
}
