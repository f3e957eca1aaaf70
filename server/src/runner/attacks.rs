//! Robustness attacks on a finished run's unlearned checkpoint (a run's `attacks`, and
//! `lethe attack … RUN_DIR`): each writes `attacks/<name>/TOFU_EVAL.json` and
//! `TOFU_SUMMARY.json` (the full evaluation of the attacked model, in the main evaluation's
//! format) and `attacks/<name>/ATTACK.json` ([`AttackReport`]: the forget probability and ROUGE of
//! the target, unlearned and attacked models, and how much of what unlearning removed came back).
//!
//! - **Relearning** fine-tunes the checkpoint (answer-only NLL, AdamW with the run's settings, a
//!   constant learning rate) on a seeded `fraction` of the forget split for `steps` steps; the
//!   held-out rest shows whether relearning some facts brings back others.
//! - **Quantization** rounds the projection weights to llama.cpp's `Q8_0` / `Q4_0`
//!   ([`engine::quantize`]) and evaluates the de-quantized model.
//!
//! The target model's forget scores are evaluated once per run (`attacks/target/`), on the forget
//! split only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Context as _;
use engine::data::tofu::TofuSource;
use engine::eval::EvalScope;
use engine::llama::{ModelSource, load};
use engine::metrics::tofu_log::EvalLog;
use engine::train::{TrainConfig, finetune, save_state};
use engine::{DeviceSpec, Devices};
use shared::run::{AttackReport, AttackSpec, ForgetScore, RunSpec};

use super::evaluate::{EvalJob, evaluate_scoped};
use super::places::Resolved;
use super::prepare::{encode_pairs, load_policy};
use super::{RunEvent, engine_config, files};

/// Everything an attack needs: the run, its names resolved, its directory, the device.
pub struct AttackRun<'a> {
    /// The run's spec.
    pub spec: &'a RunSpec,
    /// Its names, resolved.
    pub resolved: &'a Resolved,
    /// Its directory (with `checkpoint/` and `eval/`).
    pub run_dir: &'a Path,
    /// The devices (the first is used).
    pub devices: &'a Devices,
}

fn score(log: &EvalLog, items: Option<&[usize]>) -> anyhow::Result<ForgetScore> {
    let mean = |metric: &str, field: &str| -> anyhow::Result<f64> {
        let values = log
            .field(metric, field)?
            .with_context(|| format!("{}: no {metric}", log.path.display()))?;
        let picked: Vec<f64> = match items {
            Some(items) => items
                .iter()
                .filter_map(|i| values.get(i).copied())
                .collect(),
            None => values.into_values().collect(),
        };
        anyhow::ensure!(!picked.is_empty(), "{metric}: no items to average");
        #[expect(clippy::cast_precision_loss, reason = "item counts")]
        Ok(picked.iter().sum::<f64>() / picked.len() as f64)
    };
    Ok(ForgetScore {
        prob: mean("forget_Q_A_Prob", "prob")?,
        rouge: mean("forget_Q_A_ROUGE", "rougeL_recall")?,
    })
}

impl AttackRun<'_> {
    fn device(&self) -> DeviceSpec {
        self.devices.first()
    }

    fn data(&self) -> anyhow::Result<TofuSource> {
        self.resolved
            .tofu
            .clone()
            .context("data.source: the attacks are judged on a TOFU directory")
    }

    fn job(&self, model: &Path) -> anyhow::Result<EvalJob> {
        Ok(EvalJob {
            model: model.to_string_lossy().into_owned(),
            data: self.data()?,
            split: self.spec.data.split,
            template: self.spec.template,
            dtype: self.spec.trainer.dtype,
            eval: self.spec.eval.clone(),
            retain_ref: self.resolved.retain_ref.path().map(Path::to_path_buf),
            gibberish_model: self.resolved.gibberish_model.clone(),
        })
    }

    /// Evaluates `model` with `scope` into `dir` (staged and renamed), unless `dir` holds a log.
    fn evaluated(
        &self,
        model: &Path,
        dir: &Path,
        scope: EvalScope,
        events: &mut dyn FnMut(RunEvent),
        cancel: &AtomicBool,
    ) -> anyhow::Result<EvalLog> {
        let file = dir.join("TOFU_EVAL.json");
        if file.is_file() {
            return Ok(EvalLog::read(&file)?);
        }
        let staging = files::staging_dir(dir)?;
        let job = self.job(model)?;
        evaluate_scoped(&job, &staging, self.device(), scope, events, cancel)?;
        files::promote_dir(&staging, dir)?;
        Ok(EvalLog::read(&file)?)
    }

    /// Runs `attack`; returns its report (also written to `attacks/<name>/ATTACK.json`).
    pub fn run(
        &self,
        attack: &AttackSpec,
        events: &mut dyn FnMut(RunEvent),
        cancel: &AtomicBool,
    ) -> anyhow::Result<AttackReport> {
        let started = Instant::now();
        let checkpoint = self.run_dir.join(shared::paths::ARTIFACT_CHECKPOINT);
        anyhow::ensure!(
            checkpoint.join("config.json").is_file(),
            "{}: no unlearned checkpoint to attack",
            checkpoint.display()
        );
        let root = self.run_dir.join(shared::paths::ARTIFACT_ATTACKS);
        let unlearned = self.evaluated(
            &checkpoint,
            &self.run_dir.join(shared::paths::ARTIFACT_EVAL),
            EvalScope::Full,
            events,
            cancel,
        )?;
        let target_model = PathBuf::from(&self.resolved.model);
        let target = self.evaluated(
            &target_model,
            &root.join("target"),
            EvalScope::Forget,
            events,
            cancel,
        )?;
        let name = attack.dir_name();
        events(RunEvent::Log(format!("attack: {}", attack.label())));
        let model_dir = root.join(format!(".{name}-model"));
        let relearned = match *attack {
            AttackSpec::Quantize { bits } => {
                self.quantized(&checkpoint, &model_dir, bits)?;
                Vec::new()
            }
            AttackSpec::Relearn {
                steps,
                lr,
                fraction,
            } => self.relearned(&checkpoint, &model_dir, steps, lr, fraction, cancel)?,
        };
        let out = root.join(&name);
        if out.exists() {
            std::fs::remove_dir_all(&out)
                .with_context(|| format!("replacing {}", out.display()))?;
        }
        let attacked = self.evaluated(&model_dir, &out, EvalScope::Full, events, cancel);
        // The attacked weights are only a means: they are not kept.
        let _ = std::fs::remove_dir_all(&model_dir);
        let attacked = attacked?;
        let held_out = if relearned.is_empty() {
            None
        } else {
            let all = attacked
                .field("forget_Q_A_Prob", "prob")?
                .unwrap_or_default();
            let rest: Vec<usize> = all
                .keys()
                .filter(|i| !relearned.contains(i))
                .copied()
                .collect();
            Some([
                score(&unlearned, Some(&rest))?,
                score(&attacked, Some(&rest))?,
            ])
        };
        let (target, unlearned_score, attacked_score) = (
            score(&target, None)?,
            score(&unlearned, None)?,
            score(&attacked, None)?,
        );
        let report = AttackReport {
            attack: *attack,
            target,
            unlearned: unlearned_score,
            attacked: attacked_score,
            relearned,
            held_out,
            recovered: attacked_score.recovered(unlearned_score, target),
            metrics: attacked.summary(),
            seconds: started.elapsed().as_secs_f64(),
        };
        files::write_atomic(
            &out.join(shared::paths::ATTACK_REPORT),
            &serde_json::to_vec_pretty(&report)?,
        )?;
        events(RunEvent::Log(format!(
            "attack {}: forget probability {:.4} → {:.4} (target {:.4}), {:.0}% of what unlearning removed came back",
            attack.label(),
            report.unlearned.prob,
            report.attacked.prob,
            report.target.prob,
            (report.recovered.prob * 100.0).round() + 0.0
        )));
        Ok(report)
    }

    /// Writes the checkpoint with its projection weights quantized to `bits` into `dir`.
    fn quantized(&self, checkpoint: &Path, dir: &Path, bits: u8) -> anyhow::Result<()> {
        let model = load(
            &ModelSource::Dir(checkpoint.to_path_buf()),
            &self.device().device()?,
            engine_config::dtype(self.spec.trainer.dtype),
        )
        .with_context(|| format!("loading {}", checkpoint.display()))?;
        let mut state = model.model.state_dict();
        engine::quantize::quantize_state(&mut state, bits)?;
        save_state(
            &state,
            &model.model,
            &model.tokenizer,
            dir,
            engine_config::save_dtype(&self.spec.trainer),
        )?;
        Ok(())
    }

    /// Fine-tunes the checkpoint on a seeded `fraction` of the forget split into `dir`; the
    /// indices it trained on.
    fn relearned(
        &self,
        checkpoint: &Path,
        dir: &Path,
        steps: usize,
        lr: f64,
        fraction: f64,
        cancel: &AtomicBool,
    ) -> anyhow::Result<Vec<usize>> {
        let data = self.data()?;
        let preset = engine::data::tofu::SplitPreset::parse(self.spec.data.split.as_str())?;
        let rows = data.read(&preset.forget_perturbed())?;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "a validated share of a row count"
        )]
        let take = ((fraction * rows.len() as f64).round() as usize).clamp(1, rows.len());
        let mut picked = engine::objectives::baldro::sample_without_replacement(
            rows.len(),
            take,
            self.spec.trainer.seed ^ 0x007e_1ea2,
        );
        picked.sort_unstable();
        let plain = self.devices.take(1, "device")?.devices()?;
        let policy = load_policy(
            &checkpoint.to_string_lossy(),
            "checkpoint",
            &plain,
            engine_config::dtype(self.spec.trainer.dtype),
            false,
        )?;
        let template = engine_config::template(self.spec.template, &policy, &self.resolved.model)?;
        let encoded = encode_pairs(
            &template,
            &policy.tokenizer,
            picked
                .iter()
                .map(|i| (rows[*i].question.as_str(), rows[*i].answer.as_str())),
        )?;
        let base = engine_config::train(&self.spec.trainer);
        let batch_size = base.batch_size.min(encoded.len()).max(1);
        let per_epoch = encoded.len().div_ceil(batch_size);
        #[expect(clippy::cast_precision_loss, reason = "step counts")]
        let config = TrainConfig {
            lr,
            batch_size,
            grad_accum: 1,
            epochs: steps as f64 / per_epoch as f64,
            warmup_epochs: 0.0,
            ..base
        };
        let pad = policy.tokenizer.pad_or_eos();
        let trained = finetune(
            policy.model,
            &encoded,
            &config,
            pad,
            &mut |_: &engine::train::StepEvent| {},
            cancel,
        )?;
        engine::train::save(
            &trained,
            &policy.tokenizer,
            dir,
            engine_config::save_dtype(&self.spec.trainer),
        )?;
        Ok(picked)
    }
}

/// Runs every attack of `run.spec` in order; the headline numbers for the run's metrics
/// (`attack_<name>_forget_Q_A_Prob`, `attack_<name>_prob_recovered`, `…_rouge_recovered`).
pub fn run_all(
    run: &AttackRun<'_>,
    events: &mut dyn FnMut(RunEvent),
    cancel: &AtomicBool,
) -> anyhow::Result<BTreeMap<String, f64>> {
    let mut metrics = BTreeMap::new();
    for attack in &run.spec.attacks {
        let report = run.run(attack, events, cancel)?;
        metrics.extend(headline(&report));
    }
    Ok(metrics)
}

/// The numbers of `report` a run's metrics (and the compare table) carry.
pub fn headline(report: &AttackReport) -> BTreeMap<String, f64> {
    let name = report.attack.dir_name();
    BTreeMap::from([
        (
            format!("attack_{name}_forget_Q_A_Prob"),
            report.attacked.prob,
        ),
        (
            format!("attack_{name}_prob_recovered"),
            report.recovered.prob,
        ),
        (
            format!("attack_{name}_rouge_recovered"),
            report.recovered.rouge,
        ),
    ])
}
