//! What the server reports back about runs: their lifecycle [`RunState`], [`RunSummary`] in
//! lists, [`RunDetail`] for one run, pages of them, the model registry's [`ModelEntry`], and
//! the answer to a submission.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Method, RunSpec, Split};

/// Where a run is in its life. `queued → running → succeeded | failed | cancelled`, and
/// `interrupted` for a run that was running when the server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Waiting for the GPU.
    Queued,
    /// On the GPU.
    Running,
    /// Finished with results.
    Succeeded,
    /// Stopped by an error.
    Failed,
    /// Stopped by a user.
    Cancelled,
    /// The server stopped while it ran.
    Interrupted,
}

impl RunState {
    /// Every state.
    pub const ALL: [Self; 6] = [
        Self::Queued,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
        Self::Interrupted,
    ];

    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
        }
    }

    /// The state from its wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// No more changes will come.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

/// A run as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Identifier.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// State.
    pub state: RunState,
    /// Model id.
    pub model: String,
    /// Method.
    pub method: Method,
    /// Wrapper short name (`none`, `dv`, `g`).
    pub wrapper: String,
    /// Forget split.
    pub split: Split,
    /// Tags.
    pub tags: Vec<String>,
    /// Who submitted it (`local` without auth).
    pub created_by: String,
    /// Submission time, Unix milliseconds.
    pub created_at_ms: i64,
    /// Start, Unix milliseconds.
    pub started_at_ms: Option<i64>,
    /// End, Unix milliseconds.
    pub finished_at_ms: Option<i64>,
    /// Sweep it belongs to.
    pub sweep_id: Option<i64>,
    /// Headline metrics once evaluated (`forget_quality`, `model_utility`, gibberish, ...).
    pub metrics: BTreeMap<String, f64>,
}

/// One run with everything the result page needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    /// The list fields.
    #[serde(flatten)]
    pub summary: RunSummary,
    /// The spec as submitted.
    pub spec: RunSpec,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// Read-only share slug (`/s/{slug}`); shown to the owner, hidden on shared pages.
    pub share_slug: Option<String>,
    /// Artifact files under the run directory (relative paths).
    pub artifacts: Vec<String>,
    /// Software and hardware that ran it (versions, backend, adapter).
    pub environment: BTreeMap<String, String>,
    /// Where it ran, once it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
}

/// Where a run executes: `{"executor": "local", "devices": ["cuda:0"]}` on this host's pool, or
/// `{"executor": "slurm", "job_id": "4242"}` as a job of a SLURM cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// `local` (this host's device pool) or `slurm` (a cluster job).
    pub executor: String,
    /// The devices it holds, in the order its model's layers are split over them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    /// The cluster's id for its job, once submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// The job's state as the cluster last said (`PENDING`, `RUNNING`), while it is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_state: Option<String>,
    /// Times the cluster requeued the job (node failure, preemption); each requeue starts the
    /// run again from scratch.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub requeues: u32,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if"
)]
fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Placement {
    /// A run on this host's `devices`.
    pub fn local(devices: Vec<String>) -> Self {
        Self {
            executor: "local".into(),
            devices,
            job_id: None,
            job_state: None,
            requeues: 0,
        }
    }

    /// A run handed to a SLURM cluster, not yet (`None`) or already submitted as `job_id`.
    pub fn slurm(job_id: Option<String>) -> Self {
        Self {
            executor: "slurm".into(),
            devices: Vec::new(),
            job_id,
            job_state: None,
            requeues: 0,
        }
    }
}

/// One page of runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunPage {
    /// Runs, newest first.
    pub runs: Vec<RunSummary>,
    /// Runs matching the filter in all.
    pub total: u64,
    /// Offset of this page.
    pub offset: u64,
    /// Page size asked for.
    pub limit: u64,
}

/// A model the server can load (`GET /api/models`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelEntry {
    /// What a [`RunSpec::model`] names.
    pub id: String,
    /// Architecture family (`llama`, `qwen3`, `mistral`), or why it cannot be read.
    pub family: String,
    /// Parameters the config implies.
    pub parameters: Option<u64>,
    /// `root` (a configured model directory) or `hf-cache`.
    pub source: String,
    /// The peak learning rate the model recommends for unlearning it (the demo model's: the
    /// spec's 1e-5 barely moves a model fine-tuned at 3e-3); the new-run form's presets use it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommended_lr: Option<f64>,
    /// Splits for which the model brings its own retain reference on this server's default
    /// data (the demo model on the data it was built on): its runs there get forget quality
    /// without naming one. The form preselects such a model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retain_refs: Vec<Split>,
}

/// The answer to a submission.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Created {
    /// New run ids, in grid order for sweeps.
    pub ids: Vec<i64>,
    /// The sweep id, for sweeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep_id: Option<i64>,
}
