//! The real [`Executor`]: maps a [`RunSpec`] onto the engine (the one place `shared` run types
//! become engine settings) and runs what `lethe unlearn` and `lethe eval` run, into the run's
//! directory: `checkpoint/`, `metrics.jsonl`, `run.json`, then `eval/TOFU_EVAL.json` and
//! `eval/TOFU_SUMMARY.json` (written to `eval.partial/` and renamed into place).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context as _;
use engine::data::tofu::TofuSource;
use engine::llama::WeightDtype;
use engine::{DeviceInfo, DeviceSpec};
use shared::live::{EvalPoint, StepPoint};
use shared::run::{DataSource, Dtype, PromptFormat, RetainLoss, RunSpec, Wrapper};

use crate::cli;
use crate::config::{EvalArgs, ObjectiveArgs, TemplateChoice, TrainArgs, UnlearnArgs};
use crate::jobs::{Executor, JobContext, JobEvent};
use crate::models::{ModelRegistry, inside_roots};

/// The engine on this host's device.
#[derive(Debug, Clone)]
pub struct EngineExecutor {
    /// Where model ids resolve.
    pub registry: ModelRegistry,
    /// The TOFU directory used for `DataSource::Default` (the hub when absent).
    pub tofu_dir: Option<PathBuf>,
    /// Roots that `DataSource::Dir` paths and retain references must lie in.
    pub data_roots: Vec<PathBuf>,
    /// Compute device.
    pub device: DeviceSpec,
    /// What the device is.
    pub device_info: DeviceInfo,
}

fn dtype(d: Dtype) -> WeightDtype {
    match d {
        Dtype::F32 => WeightDtype::F32,
        Dtype::Bf16 => WeightDtype::Bf16,
        Dtype::F16 => WeightDtype::F16,
    }
}

/// The `--set` pairs and wrapper name of the CLI for `spec`.
pub fn objective_flags(spec: &RunSpec) -> (String, Vec<String>) {
    let mut set: Vec<String> = spec
        .objective
        .params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if let Some(retain) = spec.objective.retain_loss {
        let name = match retain {
            RetainLoss::None => "none",
            RetainLoss::Nll => "nll",
            RetainLoss::SummedNll => "summed_nll",
            RetainLoss::Kl => "kl",
        };
        set.push(format!("retain_loss_type={name}"));
    }
    match spec.wrapper {
        Wrapper::None => {}
        Wrapper::Dv { tau, direction } => {
            set.push(format!("tau={tau}"));
            let direction = match direction {
                shared::run::Direction::SoftMin => "soft_min",
                shared::run::Direction::SoftMax => "soft_max",
            };
            set.push(format!("direction={direction}"));
        }
        Wrapper::G { ratio } => set.push(format!("ratio={ratio}")),
    }
    (spec.wrapper.as_str().to_string(), set)
}

/// The log line of a run evaluated without a retain reference: no forget quality, why, and
/// what to do.
fn no_retain_ref(why: Option<&str>) -> String {
    let why = why.map(|w| format!(": {w}")).unwrap_or_default();
    format!(
        "no retain reference, so no forget quality{why}. Forget quality compares this run's \
         truth ratios with a retain model's: set eval.retain_ref to a retain model's \
         TOFU_EVAL.json under the server's --data-root"
    )
}

impl EngineExecutor {
    fn source(&self, spec: &RunSpec) -> anyhow::Result<TofuSource> {
        Ok(match &spec.data.source {
            DataSource::Default => match &self.tofu_dir {
                Some(dir) => TofuSource::Dir(dir.clone()),
                None => TofuSource::Hub,
            },
            DataSource::Dir { path } => TofuSource::Dir(
                inside_roots(path, &self.data_roots).with_context(|| {
                    format!("data.source.path: `{path}` is not a directory under the server's data roots")
                })?,
            ),
        })
    }
}

impl Executor for EngineExecutor {
    fn environment(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("lethe".into(), env!("CARGO_PKG_VERSION").into()),
            ("git_commit".into(), env!("LETHE_GIT_COMMIT").into()),
            ("burn".into(), "0.22.1".into()),
            ("device".into(), self.device_info.device.clone()),
            ("backend".into(), self.device_info.backend.to_string()),
            ("adapter".into(), self.device_info.adapter.clone()),
        ])
    }

    fn execute(
        &self,
        spec: &RunSpec,
        ctx: &mut JobContext<'_>,
    ) -> anyhow::Result<BTreeMap<String, f64>> {
        let model = self.registry.resolve(&spec.model).with_context(|| {
            format!(
                "model: `{}` is not in this server's model registry",
                spec.model
            )
        })?;
        let source = self.source(spec)?;
        let split = spec.data.split;
        let forget = source.file(split.as_str())?;
        let retain = source.file(split.retain())?;
        let template = match spec.template {
            PromptFormat::Plain => TemplateChoice::Plain,
            PromptFormat::Chat => TemplateChoice::Chat,
        };
        let (wrapper, set) = objective_flags(spec);
        let t = &spec.trainer;
        let args = UnlearnArgs {
            model: model.to_string_lossy().into_owned(),
            objective: ObjectiveArgs {
                reference: None,
                forget,
                retain,
                idk: None,
                template,
                objective: spec.objective.method.as_str().to_string(),
                wrapper,
                set,
                device: self.device,
            },
            train: TrainArgs {
                lr: t.lr,
                batch_size: t.batch_size,
                grad_accum: t.grad_accum,
                epochs: t.epochs,
                warmup_epochs: t.warmup_epochs,
                weight_decay: t.weight_decay,
                max_grad_norm: 1.0,
                seed: t.seed,
                dtype: dtype(t.dtype),
                no_master_weights: false,
                gradient_checkpointing: t.gradient_checkpointing,
                out: ctx.dir.clone(),
                save_dtype: dtype(t.dtype),
            },
        };
        (ctx.emit)(JobEvent::Log(format!(
            "unlearning {} with {} on {} ({})",
            spec.model,
            spec.objective.method.label(),
            split.as_str(),
            spec.wrapper.label()
        )));
        let started = Instant::now();
        let mut last = BTreeMap::new();
        let emit = &mut *ctx.emit;
        let checkpoint = cli::unlearn::execute(
            &args,
            &mut |event| {
                last = BTreeMap::from([
                    ("train_loss".to_string(), event.loss),
                    ("forget_loss".to_string(), event.forget_loss),
                ]);
                emit(JobEvent::Step(StepPoint {
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
                    elapsed_s: started.elapsed().as_secs_f64(),
                }));
            },
            ctx.cancel,
        )?;
        if !spec.eval.enabled {
            return Ok(last);
        }
        (ctx.emit)(JobEvent::Log("evaluating on TOFU".into()));
        let retain_ref = spec
            .eval
            .retain_ref
            .as_deref()
            .map(|path| {
                inside_roots(path, &self.data_roots).with_context(|| {
                    format!("eval.retain_ref: `{path}` is not a file under the server's data roots")
                })
            })
            .transpose()?;
        // Without one, a demo model run on the data it was built on uses its own reference.
        let retain_ref = match (retain_ref, &source, &model) {
            (Some(path), _, _) => Some(path),
            (None, TofuSource::Dir(data), model) => {
                match cli::demo::retain_ref_for(model, split.as_str(), data) {
                    Ok(path) => {
                        (ctx.emit)(JobEvent::Log(format!(
                            "forget quality against the demo model's retain reference {}",
                            path.display()
                        )));
                        Some(path)
                    }
                    Err(why) => {
                        (ctx.emit)(JobEvent::Log(no_retain_ref(why.as_deref())));
                        None
                    }
                }
            }
            (None, TofuSource::Hub, _) => {
                (ctx.emit)(JobEvent::Log(no_retain_ref(None)));
                None
            }
        };
        let staging = ctx.dir.join("eval.partial");
        let eval_args = EvalArgs {
            model: checkpoint.to_string_lossy().into_owned(),
            split: split.as_str().to_string(),
            data: match &source {
                TofuSource::Dir(dir) => Some(dir.clone()),
                TofuSource::Hub => None,
            },
            retain_ref,
            template,
            batch_size: spec.eval.batch_size,
            max_new_tokens: spec.eval.max_new_tokens,
            gibberish_model: None,
            classifier_max_length: engine::metrics::gibberish::CLASSIFIER_MAX_LENGTH,
            device: self.device,
            dtype: dtype(t.dtype),
            out: staging.clone(),
        };
        let emit = &mut *ctx.emit;
        let log = cli::eval::execute(
            &eval_args,
            &mut |p| {
                emit(JobEvent::Eval(EvalPoint {
                    stage: p.stage.clone(),
                    done: p.done,
                    total: p.total,
                }));
            },
            ctx.cancel,
        )?;
        if let Some(path) = &eval_args.retain_ref {
            let file = if path.is_dir() {
                path.join("TOFU_EVAL.json")
            } else {
                path.clone()
            };
            let name = std::path::Path::new(shared::paths::ARTIFACT_RETAIN_REF)
                .file_name()
                .context("the retain reference's artifact name")?;
            std::fs::copy(&file, staging.join(name))
                .with_context(|| format!("copying the retain reference {}", file.display()))?;
        }
        let final_dir = ctx.dir.join("eval");
        if final_dir.exists() {
            std::fs::remove_dir_all(&final_dir)
                .with_context(|| format!("replacing {}", final_dir.display()))?;
        }
        std::fs::rename(&staging, &final_dir)
            .with_context(|| format!("renaming {} into place", staging.display()))?;
        let mut metrics = log.summary();
        metrics.extend(last);
        Ok(metrics)
    }
}
