//! The TOFU evaluation stage: one model on one forget split, written as open-unlearning's
//! `TOFU_EVAL.json` and `TOFU_SUMMARY.json`, plus `eval_timing.json` (seconds per stage; a stage
//! runs from the end of the previous one to its last batch) and, when forget quality had a
//! retain reference, that reference as `RETAIN_REF_EVAL.json`. A run's evaluation and
//! `lethe eval` are this function.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use engine::DeviceSpec;
use engine::data::tofu::{SplitPreset, TofuSource};
use engine::eval::{EvalConfig, EvalScope, evaluate as engine_evaluate};
use engine::llama::{LoadedModel, ModelSource, load};
use engine::metrics::tofu_log::EvalLog;
use shared::live::EvalPoint;
use shared::run::{Dtype, EvalSpec, PromptFormat, Split};

use super::{RunEvent, engine_config, prepare::MAX_LENGTH};

/// What one evaluation needs, every name resolved.
#[derive(Debug, Clone)]
pub struct EvalJob {
    /// The model, as [`ModelSource::parse`] reads it.
    pub model: String,
    /// The TOFU data.
    pub data: TofuSource,
    /// The forget split.
    pub split: Split,
    /// Prompt format.
    pub template: PromptFormat,
    /// Weight precision.
    pub dtype: Dtype,
    /// Batch size, generation length, classifier truncation.
    pub eval: EvalSpec,
    /// A retain model's `TOFU_EVAL.json` (or its directory), for forget quality and privleak.
    pub retain_ref: Option<PathBuf>,
    /// The gibberish classifier's directory.
    pub gibberish_model: Option<PathBuf>,
}

/// The evaluation settings of `job` for `model`: the full TOFU evaluation.
pub fn eval_config(job: &EvalJob, model: &LoadedModel) -> anyhow::Result<EvalConfig> {
    scoped_config(job, model, EvalScope::Full)
}

fn scoped_config(
    job: &EvalJob,
    model: &LoadedModel,
    scope: EvalScope,
) -> anyhow::Result<EvalConfig> {
    Ok(EvalConfig {
        template: engine_config::template(job.template, model, &job.model)?,
        batch_size: job.eval.batch_size,
        max_new_tokens: job.eval.max_new_tokens,
        max_length: MAX_LENGTH,
        gibberish_classifier: job.gibberish_model.clone(),
        classifier_max_length: job.eval.classifier_max_length,
        scope,
    })
}

/// The retain reference's log of `job`, when it names one.
pub fn retain_log(job: &EvalJob) -> anyhow::Result<Option<EvalLog>> {
    job.retain_ref
        .as_deref()
        .map(|path| EvalLog::read(&retain_file(path)).context("eval.retain_ref"))
        .transpose()
}

fn retain_file(path: &Path) -> PathBuf {
    if path.is_dir() {
        path.join("TOFU_EVAL.json")
    } else {
        path.to_path_buf()
    }
}

/// Evaluates `job.model` on `device` into `out`, reporting each batch as [`RunEvent::Eval`];
/// stops between batches once `cancel` is set.
pub fn evaluate(
    job: &EvalJob,
    out: &Path,
    device: DeviceSpec,
    events: &mut dyn FnMut(RunEvent),
    cancel: &AtomicBool,
) -> anyhow::Result<EvalLog> {
    evaluate_scoped(job, out, device, EvalScope::Full, events, cancel)
}

/// [`evaluate`] of `scope` (the robustness attacks read the target on the forget split only).
pub fn evaluate_scoped(
    job: &EvalJob,
    out: &Path,
    device: DeviceSpec,
    scope: EvalScope,
    events: &mut dyn FnMut(RunEvent),
    cancel: &AtomicBool,
) -> anyhow::Result<EvalLog> {
    let preset = SplitPreset::parse(job.split.as_str())?;
    let retain = retain_log(job)?;
    let model = load(
        &ModelSource::parse(&job.model)?,
        &device.device()?,
        engine_config::dtype(job.dtype),
    )
    .with_context(|| format!("model {}", job.model))?;
    let config = scoped_config(job, &model, scope)?;
    // Seconds per stage, in order, for eval_timing.json (what the eval benchmark reads).
    let mut timing: Vec<(String, Instant, f64)> = Vec::new();
    let started = Instant::now();
    let log = engine_evaluate(
        &model,
        &job.data,
        preset,
        &config,
        retain.as_ref(),
        &mut |progress| {
            events(RunEvent::Eval(EvalPoint {
                stage: progress.stage.clone(),
                done: progress.done,
                total: progress.total,
            }));
            match timing.last_mut() {
                Some((stage, since, seconds)) if *stage == progress.stage => {
                    *seconds = since.elapsed().as_secs_f64();
                }
                _ => {
                    let since = timing.last().map_or(started, |(_, since, seconds)| {
                        *since + Duration::from_secs_f64(*seconds)
                    });
                    timing.push((progress.stage.clone(), since, since.elapsed().as_secs_f64()));
                }
            }
        },
        cancel,
    )?;
    log.write(out)?;
    let timing = serde_json::json!({
        "total_seconds": started.elapsed().as_secs_f64(),
        "stages": timing
            .iter()
            .map(|(stage, _, seconds)| serde_json::json!({"stage": stage, "seconds": seconds}))
            .collect::<Vec<_>>(),
    });
    let path = out.join("eval_timing.json");
    std::fs::write(&path, serde_json::to_string_pretty(&timing)?)
        .with_context(|| format!("writing {}", path.display()))?;
    if let Some(path) = &job.retain_ref {
        let file = retain_file(path);
        let name = Path::new(shared::paths::ARTIFACT_RETAIN_REF)
            .file_name()
            .context("the retain reference's artifact name")?;
        std::fs::copy(&file, out.join(name))
            .with_context(|| format!("copying the retain reference {}", file.display()))?;
    }
    Ok(log)
}
