//! The evaluation during training (`eval.during`): at step 0, at every interval and at the last
//! step, a cheap TOFU evaluation of the policy as it is ([`EvalScope::During`], on the plain
//! device through `policy.valid()`, so no autodiff graph is built). Each result is a
//! [`TrajectoryPoint`]: a line of `evals.jsonl` and a live event. The point `eval.select` ranks
//! best so far is saved as `selected/` (the final evaluation and the download use it), and the
//! `trainer.stop_when` guards can end the run ([`super::guards`]).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Context as _;
use engine::EngineError;
use engine::data::tofu::{SplitPreset, TofuSource};
use engine::eval::{EvalConfig, EvalScope, evaluate};
use engine::llama::{LlamaForCausalLM, LoadedModel, ModelSource, WeightDtype};
use engine::metrics::tofu_log::EvalLog;
use engine::train::{Flow, Progress};
use shared::run::{
    DuringEval, RunOutcome, RunSpec, Select, Selected, StopWhen, Stopped, TrajectoryPoint,
};

use super::guards;
use super::{RunEvent, files};

/// Where the best point's LoRA adapters are kept, beside [`SELECTED_DIR`].
pub const SELECTED_ADAPTER_DIR: &str = "selected-adapter";

/// The directory the best point's weights are kept in while the run trains ([`engine::train::save`]
/// writes beside it and renames, so it always holds one whole checkpoint).
pub const SELECTED_DIR: &str = "selected";

/// Everything one evaluation during training needs besides the policy.
pub struct Trajectory {
    during: DuringEval,
    select: Select,
    stop: StopWhen,
    config: EvalConfig,
    data: TofuSource,
    preset: SplitPreset,
    retain: Option<EvalLog>,
    tokenizer: engine::Tokenizer,
    source: ModelSource,
    save_dtype: WeightDtype,
    lora: Option<engine::lora::LoraConfig>,
    base_model: String,
    run_dir: PathBuf,
    evals: std::fs::File,
    points: Vec<TrajectoryPoint>,
    best: Option<usize>,
    stopped: Option<Stopped>,
}

impl Trajectory {
    /// Ready to evaluate `spec`'s run into `run_dir`. `template_of` is the loaded policy (its
    /// tokenizer and template are used; its weights are replaced at every point), `config` the
    /// final evaluation's settings, `retain` the retain reference's log (for forget quality).
    pub fn new(
        spec: &RunSpec,
        during: DuringEval,
        config: &EvalConfig,
        data: TofuSource,
        retain: Option<EvalLog>,
        template_of: &LoadedModel,
        run_dir: &Path,
    ) -> anyhow::Result<Self> {
        if spec.eval.select.needs_forget_quality() && retain.is_none() {
            anyhow::bail!(
                "eval.select: `{}` ranks points by forget quality, which needs a retain \
                 reference for {}: set eval.retain_ref",
                spec.eval.select.as_str(),
                spec.data.split.as_str()
            );
        }
        let preset = SplitPreset::parse(spec.data.split.as_str())?;
        let path = run_dir.join(shared::paths::ARTIFACT_EVALS);
        let evals =
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        for dir in [SELECTED_DIR, SELECTED_ADAPTER_DIR] {
            let selected = run_dir.join(dir);
            if selected.exists() {
                std::fs::remove_dir_all(&selected)
                    .with_context(|| format!("clearing {}", selected.display()))?;
            }
        }
        Ok(Self {
            during,
            select: spec.eval.select,
            stop: spec.trainer.stop_when.unwrap_or_default(),
            config: EvalConfig {
                scope: EvalScope::During {
                    utility_items: during.items,
                },
                ..config.clone()
            },
            data,
            preset,
            retain,
            tokenizer: template_of.tokenizer.clone(),
            source: template_of.source.clone(),
            save_dtype: super::engine_config::save_dtype(&spec.trainer),
            lora: spec.trainer.lora.as_ref().map(super::engine_config::lora),
            base_model: spec.model.clone(),
            run_dir: run_dir.to_path_buf(),
            evals,
            points: Vec::new(),
            best: None,
            stopped: None,
        })
    }

    /// Whether step `at.step` is evaluated: step 0, every interval, and the last step.
    pub fn due(&self, at: &Progress) -> bool {
        #[expect(clippy::cast_precision_loss, reason = "step counts")]
        let every = self.during.every.steps(at.steps_per_epoch as f64);
        at.step == 0 || at.step.is_multiple_of(every) || at.step == at.total_steps
    }

    /// Evaluates `policy` at `at` when due, records the point, keeps it when it is the best so
    /// far and checks the guards.
    pub fn checkpoint(
        &mut self,
        at: &Progress,
        policy: &LlamaForCausalLM,
        events: &mut dyn FnMut(RunEvent),
        cancel: &AtomicBool,
    ) -> Result<Flow, EngineError> {
        if !self.due(at) {
            return Ok(Flow::Continue);
        }
        let started = Instant::now();
        // The same weights on the plain device; dropped after this point, so the run never
        // holds a second copy of an older policy.
        let model = LoadedModel {
            model: policy.without_autodiff(),
            tokenizer: self.tokenizer.clone(),
            source: self.source.clone(),
        };
        let log = evaluate(
            &model,
            &self.data,
            self.preset,
            &self.config,
            self.retain.as_ref(),
            &mut |_| {},
            cancel,
        )?;
        // The summary is the top-level metrics already (no per-set inputs of model utility).
        let metrics = log.summary();
        let point = TrajectoryPoint {
            step: at.step,
            epoch: at.epoch(),
            eval_seconds: started.elapsed().as_secs_f64(),
            metrics,
        };
        let line = serde_json::to_string(&point).unwrap_or_default();
        writeln!(self.evals, "{line}").map_err(|source| EngineError::Io {
            path: self.run_dir.join(shared::paths::ARTIFACT_EVALS),
            source,
        })?;
        events(RunEvent::Log(format!(
            "evaluation at step {} (epoch {:.2}, {:.1} s): forget quality {}, model utility {}",
            point.step,
            point.epoch,
            point.eval_seconds,
            shown(point.forget_quality()),
            shown(point.model_utility()),
        )));
        self.points.push(point.clone());
        events(RunEvent::Trajectory(point));
        let index = self.points.len() - 1;
        let first = &self.points[0];
        if self.select != Select::Last
            && guards::better(
                self.select,
                &self.points[index],
                self.best.map(|b| &self.points[b]),
                first,
            )
        {
            self.best = Some(index);
            engine::train::save(
                &model.model,
                &self.tokenizer,
                &self.run_dir.join(SELECTED_DIR),
                self.save_dtype,
            )?;
            if let Some(lora) = &self.lora {
                engine::lora::save_peft(
                    &model.model,
                    lora,
                    &self.base_model,
                    &self.run_dir.join(SELECTED_ADAPTER_DIR),
                )?;
            }
        }
        if let Some(stopped) = guards::check(&self.stop, &self.points) {
            events(RunEvent::Log(format!(
                "stopping early ({}): {}",
                stopped.reason.label(),
                stopped.detail
            )));
            self.stopped = Some(stopped);
            return Ok(Flow::Stop);
        }
        Ok(Flow::Continue)
    }

    /// What was decided: the selected step (the last evaluated one for `last`) and any stop.
    /// Moves `selected/` to `checkpoint` when a point other than the final model was kept, and
    /// returns whether it did.
    pub fn finish(self, run_dir: &Path) -> anyhow::Result<(RunOutcome, bool)> {
        let first = self.points.first();
        let (selected, moved) = match (self.select, self.best, first) {
            (Select::Last, _, _) | (_, None, _) | (_, _, None) => (None, false),
            (rule, Some(best), Some(first)) => {
                let point = &self.points[best];
                let checkpoint = run_dir.join(shared::paths::ARTIFACT_CHECKPOINT);
                files::promote_dir(&run_dir.join(SELECTED_DIR), &checkpoint)?;
                let adapter = run_dir.join(SELECTED_ADAPTER_DIR);
                if adapter.is_dir() {
                    files::promote_dir(&adapter, &run_dir.join(shared::paths::ARTIFACT_ADAPTER))?;
                }
                (
                    Some(Selected {
                        step: point.step,
                        rule,
                        reason: guards::reason(rule, point, first, self.points.len()),
                    }),
                    true,
                )
            }
        };
        let outcome = RunOutcome {
            selected,
            stopped: self.stopped,
        };
        files::write_atomic(
            &run_dir.join(shared::paths::ARTIFACT_OUTCOME),
            &serde_json::to_vec_pretty(&outcome)?,
        )?;
        Ok((outcome, moved))
    }
}

fn shown(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".into(), |v| format!("{v:.4}"))
}
