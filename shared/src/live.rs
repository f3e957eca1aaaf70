//! What `/api/runs/{id}/live` sends: first a [`ServerEvent::Snapshot`] (everything so far), then
//! deltas in order, each with a sequence number one higher than the last. A client that falls
//! behind gets a fresh snapshot instead of a gap; the socket closes after the terminal state.

use serde::{Deserialize, Serialize};

use crate::run::{RunDetail, RunState, TrajectoryPoint};

/// One optimizer step, as the live page plots it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepPoint {
    /// 1-based optimizer step.
    pub step: usize,
    /// Steps in the run.
    pub total_steps: usize,
    /// Data epoch (0-based) of the step's last micro-batch.
    pub epoch: usize,
    /// Learning rate used.
    pub lr: f64,
    /// Total loss.
    pub loss: f64,
    /// Forget term.
    pub forget_loss: f64,
    /// Retain term, if any.
    pub retain_loss: Option<f64>,
    /// Grad norm before clipping.
    pub grad_norm: f64,
    /// Forget loss of every sample the step trained on (BalDRO-G: the kept ones only).
    pub per_sample: Vec<f64>,
    /// The forget item index of each `per_sample` entry (empty in logs from before it existed).
    #[serde(default)]
    pub samples: Vec<usize>,
    /// The data epoch (0-based pass over the forget set) each `per_sample` entry was drawn in;
    /// a step can straddle two (HF counts epochs in optimizer steps). Empty in logs from before
    /// it existed: then every entry counts as drawn in `epoch`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sample_epochs: Vec<usize>,
    /// BalDRO-DV weight of each `per_sample` entry within its micro-batch; empty without DV.
    pub weights: Vec<f64>,
    /// Policy tokens per second.
    pub tokens_per_s: f64,
    /// Seconds since the run started.
    pub elapsed_s: f64,
}

/// Evaluation progress: `stage` is `done` of `total` batches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalPoint {
    /// What is being computed (`forget generation`, ...).
    pub stage: String,
    /// Batches done.
    pub done: usize,
    /// Batches in the stage.
    pub total: usize,
}

/// Everything a live page needs to draw a run from scratch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The run as the API returns it.
    pub run: RunDetail,
    /// Every step so far.
    pub steps: Vec<StepPoint>,
    /// The latest evaluation progress.
    pub eval: Option<EvalPoint>,
    /// Every evaluation during training so far (the forgetting trajectory).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trajectory: Vec<TrajectoryPoint>,
    /// The last log lines (oldest first).
    pub log: Vec<String>,
}

/// One message on the live socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// The whole state; sent first, and again after the client fell behind.
    Snapshot {
        /// Sequence number of the last event the snapshot includes.
        seq: u64,
        /// The state.
        snapshot: Box<Snapshot>,
    },
    /// An optimizer step finished.
    Step {
        /// Sequence number.
        seq: u64,
        /// The step.
        point: StepPoint,
    },
    /// Evaluation moved on.
    Eval {
        /// Sequence number.
        seq: u64,
        /// Progress.
        point: EvalPoint,
    },
    /// An evaluation during training finished: the trajectory's next point.
    Trajectory {
        /// Sequence number.
        seq: u64,
        /// The point.
        point: TrajectoryPoint,
    },
    /// Results are in (the run's headline metrics).
    Metrics {
        /// Sequence number.
        seq: u64,
        /// Metric name → value.
        metrics: std::collections::BTreeMap<String, f64>,
    },
    /// A log line.
    Log {
        /// Sequence number.
        seq: u64,
        /// The line.
        line: String,
    },
    /// The run changed state; after a terminal state the server closes the socket.
    State {
        /// Sequence number.
        seq: u64,
        /// New state.
        state: RunState,
        /// The failure, for `failed`.
        error: Option<String>,
    },
}

impl ServerEvent {
    /// The event's sequence number.
    pub fn seq(&self) -> u64 {
        match self {
            Self::Snapshot { seq, .. }
            | Self::Step { seq, .. }
            | Self::Eval { seq, .. }
            | Self::Trajectory { seq, .. }
            | Self::Metrics { seq, .. }
            | Self::Log { seq, .. }
            | Self::State { seq, .. } => *seq,
        }
    }
}
