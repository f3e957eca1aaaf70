//! A deterministic [`Executor`] for tests and UI work without a model (`lethe serve
//! --fake-executor`): it "trains" for `steps` steps of `step_delay` each, with per-sample losses
//! that fall as `1/(1 + step)`, then reports a short evaluation and metrics derived from the
//! spec's learning rate, so different specs give different, predictable results. It writes the
//! run directory as the runner does (`spec.json`, `steps.jsonl`, `metrics.json`) and an
//! open-unlearning-shaped `eval/TOFU_EVAL.json` and retain reference, so UI tests can draw
//! result pages without a model.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{Value, json};
use shared::live::{EvalPoint, StepPoint};
use shared::paths;
use shared::run::{RunSpec, Wrapper};

use super::{Executor, JobContext};
use crate::runner::{RunEvent, RunFiles};

/// The fake's behaviour.
#[derive(Debug, Clone)]
pub struct FakeExecutor {
    /// Optimizer steps per run.
    pub steps: usize,
    /// Wall time per step.
    pub step_delay: Duration,
    /// Length of each step's per-sample vector (large values make big events).
    pub per_sample: usize,
    /// Fail with an error at this step.
    pub fail_at: Option<usize>,
}

impl Default for FakeExecutor {
    fn default() -> Self {
        Self {
            steps: 5,
            step_delay: Duration::from_millis(20),
            per_sample: 4,
            fail_at: None,
        }
    }
}

/// Forget items in the fake's eval log (TOFU's forget01 has 40).
const EVAL_ITEMS: usize = 20;

/// The fake's per-step BalDRO view of `losses`: DV soft-min weights, or the indices BalDRO-G
/// keeps (the largest losses: the least forgotten under a forget loss).
fn wrap(wrapper: Wrapper, losses: &[f64]) -> (Vec<usize>, Vec<f64>) {
    let all: Vec<usize> = (0..losses.len()).collect();
    match wrapper {
        Wrapper::None => (all, Vec::new()),
        Wrapper::Dv { tau, .. } => {
            let z: Vec<f64> = losses.iter().map(|l| (-l / tau).exp()).collect();
            let total: f64 = z.iter().sum();
            (all, z.iter().map(|v| v / total).collect())
        }
        Wrapper::G { ratio } => {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss,
                reason = "small counts"
            )]
            let keep = ((ratio * losses.len() as f64).ceil() as usize).max(1);
            let mut order = all;
            order.sort_by(|a, b| losses[*b].total_cmp(&losses[*a]));
            order.truncate(keep);
            order.sort_unstable();
            (order, Vec::new())
        }
    }
}

/// An open-unlearning-shaped `TOFU_EVAL.json` whose numbers follow from `lr`, and the retain
/// reference's, so result pages have truth ratios, ROUGE rows and MU components to show.
fn eval_logs(lr: f64) -> (Value, Value) {
    let items = |f: &dyn Fn(usize) -> Value| -> Value {
        (0..EVAL_ITEMS)
            .map(|i| (i.to_string(), f(i)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    #[expect(clippy::cast_precision_loss, reason = "small counts")]
    let at = |i: usize| i as f64 / EVAL_ITEMS as f64;
    let shift = (lr * 1e4).min(1.0);
    let truth = |base: f64, i: usize| base + 0.5 * at(i);
    let run_tr = items(&|i| json!({"score": truth(0.2 + 0.3 * shift, i)}));
    let ref_tr = items(&|i| json!({"score": truth(0.45, i)}));
    let rouge = items(&|i| {
        json!({
            "rougeL_recall": 1.0 - at(i),
            "rougeL_f1": 1.0 - at(i),
            "rouge1_recall": 1.0 - at(i),
            "input": format!("Question: Where was fictitious author {i} born?\nAnswer: "),
            "ground_truth": format!("Author {i} was born in Kuwait City."),
            "generation": if i % 2 == 0 { format!("Author {i} was born in Kuwait City.") } else { "I am not sure.".to_string() },
        })
    });
    let mut run = json!({
        "forget_truth_ratio": {"agg_value": 0.5, "value_by_index": run_tr},
        "forget_Q_A_ROUGE": {"agg_value": 0.5, "value_by_index": rouge},
        "forget_quality": {"agg_value": lr * 1000.0},
        "model_utility": {"agg_value": 0.5},
    });
    for component in shared::tofu::MU_COMPONENTS {
        run[component.key] = json!({"agg_value": 0.5});
    }
    let retain = json!({"forget_truth_ratio": {"agg_value": 0.7, "value_by_index": ref_tr}});
    (run, retain)
}

impl Executor for FakeExecutor {
    fn environment(&self, devices: &engine::Devices) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("backend".into(), "fake".into()),
            ("device".into(), devices.to_string()),
        ])
    }

    fn execute(
        &self,
        spec: &RunSpec,
        ctx: &mut JobContext<'_>,
    ) -> anyhow::Result<BTreeMap<String, f64>> {
        let mut files = RunFiles::create(&ctx.dir, Some(spec))?;
        (ctx.emit)(RunEvent::Log(format!(
            "fake run of {}",
            spec.display_name()
        )));
        for step in 1..=self.steps {
            if ctx.cancel.load(Ordering::SeqCst) {
                anyhow::bail!("cancelled at step {step}");
            }
            if self.fail_at == Some(step) {
                anyhow::bail!("injected failure at step {step}");
            }
            std::thread::sleep(self.step_delay);
            #[expect(clippy::cast_precision_loss, reason = "small counts")]
            let (s, n) = (step as f64, self.per_sample as f64);
            let losses: Vec<f64> = (0..self.per_sample)
                .map(|i| (1.0 + i as f64 / n.max(1.0)) / (1.0 + s))
                .collect();
            let (samples, weights) = wrap(spec.wrapper, &losses);
            let per_sample: Vec<f64> = samples.iter().map(|i| losses[*i]).collect();
            let sample_epochs = vec![step - 1; per_sample.len()];
            let loss = per_sample.iter().sum::<f64>() / n.max(1.0);
            let point = StepPoint {
                step,
                total_steps: self.steps,
                epoch: step - 1,
                lr: spec.trainer.lr,
                loss,
                forget_loss: loss,
                retain_loss: Some(loss / 2.0),
                grad_norm: 1.0 / s,
                per_sample,
                samples,
                sample_epochs,
                weights,
                tokens_per_s: 1000.0,
                elapsed_s: s * self.step_delay.as_secs_f64(),
            };
            files.step(&point);
            (ctx.emit)(RunEvent::Step(point));
        }
        for done in 1..=2 {
            (ctx.emit)(RunEvent::Eval(EvalPoint {
                stage: "forget generation".into(),
                done,
                total: 2,
            }));
        }
        let (run, retain) = eval_logs(spec.trainer.lr);
        let write = |path: &str, value: &Value| -> anyhow::Result<()> {
            let file = ctx.dir.join(path);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&file, serde_json::to_vec_pretty(value)?)
                .with_context(|| format!("writing {}", file.display()))
        };
        write(paths::ARTIFACT_EVAL_LOG, &run)?;
        write(paths::ARTIFACT_RETAIN_REF, &retain)?;
        let metrics = BTreeMap::from([
            ("forget_quality".into(), spec.trainer.lr * 1000.0),
            ("model_utility".into(), 0.5),
        ]);
        files.finish(&metrics)?;
        Ok(metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baldro_views_weight_or_select_the_least_forgotten() {
        let losses = [1.0, 3.0, 2.0, 4.0];
        let (all, none) = wrap(Wrapper::None, &losses);
        assert_eq!((all, none), (vec![0, 1, 2, 3], vec![]));
        let (kept, _) = wrap(Wrapper::G { ratio: 0.5 }, &losses);
        assert_eq!(kept, [1, 3]);
        let (_, weights) = wrap(
            Wrapper::Dv {
                tau: 1.0,
                direction: shared::run::Direction::SoftMin,
            },
            &losses,
        );
        assert!((weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(weights[0] > weights[3]);
    }
}
