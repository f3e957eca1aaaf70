//! A run's directory, as every way of running writes it: `spec.json` (the run), `steps.jsonl`
//! (one [`StepPoint`] per optimizer step, as the live view gets them), `checkpoint/` and `eval/`
//! (each written beside its place and renamed into it, so a reader never sees half of one),
//! `metrics.json` (the headline numbers) and, from `lethe worker`, `state.json` (how it ended).
//! Files that end in `.partial` are unfinished.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use engine::train::StepEvent;
use serde::{Deserialize, Serialize};
use shared::live::StepPoint;
use shared::run::{RunSpec, RunState};

/// Writes `bytes` to `path` through a temporary file and a rename, so readers never see half a
/// file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
}

/// Moves the finished directory `staging` to `dir`, replacing what was there.
pub fn promote_dir(staging: &Path, dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("replacing {}", dir.display()))?;
    }
    std::fs::rename(staging, dir)
        .with_context(|| format!("renaming {} into place", staging.display()))
}

/// The directory `dir` is written in before [`promote_dir`] moves it into place (emptied).
pub fn staging_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    let staging = dir.with_extension("partial");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("clearing {}", staging.display()))?;
    }
    Ok(staging)
}

/// What the live view and `steps.jsonl` record of one step, `elapsed_s` into the run.
pub fn step_point(event: &StepEvent, elapsed_s: f64) -> StepPoint {
    StepPoint {
        step: event.step,
        total_steps: event.total_steps,
        epoch: event.epoch,
        lr: event.lr,
        loss: event.loss,
        forget_loss: event.forget_loss,
        retain_loss: event.retain_loss,
        grad_norm: event.grad_norm,
        per_sample: event.per_sample.clone(),
        samples: event.samples.clone(),
        sample_epochs: event.sample_epochs.clone(),
        weights: event.weights.clone(),
        tokens_per_s: event.tokens_per_s,
        elapsed_s,
    }
}

/// One run directory, open for writing.
pub struct RunFiles {
    dir: PathBuf,
    steps_path: PathBuf,
    steps: std::fs::File,
    write_error: Option<std::io::Error>,
}

impl RunFiles {
    /// Creates `dir`, writes `spec.json` (when there is a spec: `lethe finetune` has none) and
    /// starts `steps.jsonl` afresh (an earlier attempt's steps are not mixed in).
    pub fn create(dir: &Path, spec: Option<&RunSpec>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        if let Some(spec) = spec {
            write_atomic(
                &dir.join(shared::paths::ARTIFACT_SPEC),
                &serde_json::to_vec_pretty(spec)?,
            )?;
        }
        let steps_path = dir.join(shared::paths::ARTIFACT_STEPS);
        let steps = std::fs::File::create(&steps_path)
            .with_context(|| format!("creating {}", steps_path.display()))?;
        Ok(Self {
            dir: dir.to_path_buf(),
            steps_path,
            steps,
            write_error: None,
        })
    }

    /// Appends one step (a failed write is reported by [`RunFiles::finish`]: training goes on).
    pub fn step(&mut self, point: &StepPoint) {
        let line = serde_json::to_string(point).unwrap_or_default();
        if let Err(error) = writeln!(self.steps, "{line}") {
            self.write_error.get_or_insert(error);
        }
    }

    /// Writes `metrics.json`, after any failure to record a step.
    pub fn finish(self, metrics: &BTreeMap<String, f64>) -> anyhow::Result<()> {
        if let Some(error) = self.write_error {
            return Err(error).with_context(|| format!("writing {}", self.steps_path.display()));
        }
        write_atomic(
            &self.dir.join(shared::paths::ARTIFACT_METRICS),
            &serde_json::to_vec_pretty(metrics)?,
        )
    }
}

/// How a run ended, as `lethe worker` leaves it in `state.json` for whoever follows the
/// directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEnd {
    /// `succeeded`, `failed` or `cancelled`.
    pub state: RunState,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The headline metrics of a run that succeeded.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
}

impl RunEnd {
    /// Writes `dir/state.json`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        write_atomic(
            &dir.join(shared::paths::ARTIFACT_STATE),
            &serde_json::to_vec_pretty(self)?,
        )
    }

    /// Reads `dir/state.json`.
    pub fn read(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(shared::paths::ARTIFACT_STATE);
        let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&text).with_context(|| format!("parsing {}", path.display()))
    }
}
