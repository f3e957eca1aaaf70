//! The runner: the one code that does a run. A [`RunSpec`] goes in; [`execute`] resolves its
//! names ([`places`]), maps it onto the engine's settings ([`engine_config`]), loads and
//! tokenises ([`prepare`]), unlearns, saves the checkpoint, evaluates against the retain
//! reference ([`evaluate()`]) and writes the run directory ([`files`]). The server's job queue,
//! `lethe run` without a server, `lethe worker RUN_DIR` and `lethe unlearn` all call
//! [`execute`]; `lethe eval` is its evaluation stage. Nothing on the way is text: the spec's
//! typed values become the engine's typed values in [`engine_config`], once.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use engine::Devices;
use engine::train::{Reference, ReferenceCache, UnlearnConfig, UnlearnData, unlearn_observed};
use shared::live::{EvalPoint, StepPoint};
use shared::run::{ReferenceMode, RunSpec, TrajectoryPoint};

pub mod attacks;
pub mod engine_config;
pub mod evaluate;
pub mod files;
pub mod guards;
pub mod observe;
pub mod places;
pub mod plan;
pub mod prepare;
pub mod trajectory;

pub use evaluate::{EvalJob, evaluate};
pub use files::{RunEnd, RunFiles, write_atomic};
pub use places::{Places, Resolved, RetainRef, fields_message};

/// What a run reports while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    /// An optimizer step finished.
    Step(StepPoint),
    /// Evaluation moved on.
    Eval(EvalPoint),
    /// An evaluation during training finished.
    Trajectory(TrajectoryPoint),
    /// A line for the run's log.
    Log(String),
}

/// Does the run `spec` describes on the first `trainer.devices` of `devices` (the model split
/// over them when there are several), with the names in it resolved by `places`, writing
/// `run_dir` (see [`files`]); reports to `events`; stops between micro-batches and eval batches
/// once `cancel` is set (and then returns an error). Returns the headline metrics.
pub fn execute(
    spec: &RunSpec,
    places: &Places,
    run_dir: &Path,
    devices: &Devices,
    events: &mut dyn FnMut(RunEvent),
    cancel: &AtomicBool,
) -> anyhow::Result<BTreeMap<String, f64>> {
    let errors = spec.validate();
    if !errors.is_empty() {
        anyhow::bail!("{}", fields_message(&errors));
    }
    let devices = devices.take(spec.trainer.devices, "trainer.devices (--devices)")?;
    let device = devices.first();
    if let Some(problem) = engine_config::precision_problem(&spec.trainer, device) {
        anyhow::bail!("trainer.dtype: {problem}");
    }
    let resolved = places.resolve(spec)?;
    let mut files = RunFiles::create(run_dir, Some(spec))?;
    events(RunEvent::Log(format!(
        "unlearning {} with {} on {} ({})",
        spec.model,
        spec.objective.method.label(),
        spec.data.split.as_str(),
        spec.wrapper.label()
    )));
    let mut meter = plan::PeakMeter::start(&devices);
    let prepared = prepare::prepare(spec, &resolved, &devices)?;
    let config = UnlearnConfig {
        objective: prepared.config,
        train: engine_config::train(&spec.trainer),
    };
    events(RunEvent::Log(format!(
        "{:?}; {} forget and {} retain rows",
        config.objective,
        prepared.forget.len(),
        prepared.retain.len()
    )));
    let longest = prepared
        .forget
        .iter()
        .chain(&prepared.retain)
        .map(|e| e.input_ids.len())
        .max()
        .unwrap_or(1);
    let plan_file = run_dir.join(shared::paths::ARTIFACT_PLAN);
    let mut planned = plan::model_config(&resolved.model).ok().map(|config| {
        plan::report(
            &config,
            &plan::settings(spec, longest),
            device,
            plan::device_memory(device),
        )
    });
    if let Some(report) = &planned {
        events(RunEvent::Log(format!(
            "memory plan: peak {} on {} at {longest} tokens per row",
            shared::plan::human_bytes(report.peak_bytes),
            if devices.len() > 1 {
                format!("each of {devices}")
            } else {
                devices.to_string()
            },
        )));
        write_atomic(&plan_file, &serde_json::to_vec_pretty(report)?)?;
    }
    let tokenizer = prepared.policy.tokenizer.clone();
    let pad = tokenizer.pad_or_eos();
    let data = UnlearnData {
        forget: prepared.forget,
        retain: prepared.retain,
        idk: prepared.idk_answers,
    };
    let mut reference = prepared.reference;
    let cache = match (&reference, spec.trainer.reference_mode) {
        (Some(model), ReferenceMode::Cached) => {
            let cache = ReferenceCache::compute(&model.model, &data, &config, pad, cancel)?;
            events(RunEvent::Log(format!(
                "reference cached: {} rows, {} KiB in host memory; the reference model is freed",
                cache.len(),
                cache.bytes().div_ceil(1024)
            )));
            reference = None;
            Some(cache)
        }
        _ => None,
    };
    let frozen = match &cache {
        Some(cache) => Reference::Cached(cache),
        None => reference.as_ref().map(|r| &r.model).into(),
    };
    let checkpoint = run_dir.join(shared::paths::ARTIFACT_CHECKPOINT);
    let job = match (&resolved.tofu, spec.eval.enabled) {
        (Some(data), true) => Some(EvalJob {
            model: checkpoint.to_string_lossy().into_owned(),
            data: data.clone(),
            split: spec.data.split,
            template: spec.template,
            dtype: spec.trainer.dtype,
            eval: spec.eval.clone(),
            retain_ref: resolved.retain_ref.path().map(Path::to_path_buf),
            gibberish_model: resolved.gibberish_model.clone(),
        }),
        (None, true) => anyhow::bail!("data.source: the evaluation needs a TOFU directory"),
        (_, false) => None,
    };
    let mut trajectory = match (spec.eval.during, &job) {
        (Some(during), Some(job)) => Some(trajectory::Trajectory::new(
            spec,
            during,
            &evaluate::eval_config(job, &prepared.policy)?,
            job.data.clone(),
            evaluate::retain_log(job)?,
            &prepared.policy,
            run_dir,
        )?),
        (Some(_), None) => {
            anyhow::bail!("eval.during: evaluating while training needs eval.enabled")
        }
        (None, _) => None,
    };
    let mut observer = observe::RunObserver {
        files: &mut files,
        events,
        meter: &mut meter,
        metrics: BTreeMap::new(),
        started: Instant::now(),
        trajectory: trajectory.as_mut(),
        cancel,
    };
    let trained = unlearn_observed(
        prepared.policy.model,
        frozen,
        &data,
        &config,
        pad,
        &mut observer,
        cancel,
    )?;
    let mut metrics = std::mem::take(&mut observer.metrics);
    drop(observer);
    drop(reference);
    if let (Some(report), Some(peak)) = (&mut planned, meter.peak()) {
        report.measured_peak_bytes = Some(peak);
        #[expect(clippy::cast_precision_loss, reason = "a ratio for people")]
        let ratio = report.peak_bytes as f64 / peak as f64;
        events(RunEvent::Log(format!(
            "measured peak {} (the plan said {}, {:+.0}%)",
            shared::plan::human_bytes(peak),
            shared::plan::human_bytes(report.peak_bytes),
            (ratio - 1.0) * 100.0
        )));
        write_atomic(&plan_file, &serde_json::to_vec_pretty(report)?)?;
    }
    let kept = match trajectory {
        Some(trajectory) => {
            let (outcome, kept) = trajectory.finish(run_dir)?;
            if let Some(selected) = &outcome.selected {
                events(RunEvent::Log(format!(
                    "selected the checkpoint of step {}: {}",
                    selected.step, selected.reason
                )));
                metrics.insert("selected_step".into(), usize_metric(selected.step));
            }
            if let Some(stopped) = &outcome.stopped {
                metrics.insert("stopped_step".into(), usize_metric(stopped.step));
            }
            kept
        }
        None => false,
    };
    if !kept {
        let staging = files::staging_dir(&checkpoint)?;
        engine::train::save(
            &trained,
            &tokenizer,
            &staging,
            engine_config::save_dtype(&spec.trainer),
        )?;
        files::promote_dir(&staging, &checkpoint)?;
        if let Some(lora) = &spec.trainer.lora {
            let adapter = run_dir.join(shared::paths::ARTIFACT_ADAPTER);
            let staging = files::staging_dir(&adapter)?;
            engine::lora::save_peft(&trained, &engine_config::lora(lora), &spec.model, &staging)?;
            files::promote_dir(&staging, &adapter)?;
        }
    }
    drop(trained);
    if let Some(job) = job {
        events(RunEvent::Log("evaluating on TOFU".into()));
        events(RunEvent::Log(resolved.retain_ref.log_line()));
        let eval_dir = run_dir.join(shared::paths::ARTIFACT_EVAL);
        let staging = files::staging_dir(&eval_dir)?;
        let log = evaluate(&job, &staging, device, events, cancel)?;
        files::promote_dir(&staging, &eval_dir)?;
        let mut summary = log.summary();
        summary.extend(metrics);
        metrics = summary;
    }
    if !spec.attacks.is_empty() {
        let run = attacks::AttackRun {
            spec,
            resolved: &resolved,
            run_dir,
            devices: &devices,
        };
        metrics.extend(attacks::run_all(&run, events, cancel)?);
    }
    files.finish(&metrics)?;
    Ok(metrics)
}

#[expect(clippy::cast_precision_loss, reason = "step counts")]
fn usize_metric(value: usize) -> f64 {
    value as f64
}
