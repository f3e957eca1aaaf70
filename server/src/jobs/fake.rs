//! A deterministic [`Executor`] for tests and UI work without a model (`lethe serve
//! --fake-executor`): it "trains" for `steps` steps of `step_delay` each, with per-sample losses
//! that fall as `1/(1 + step)`, then reports a short evaluation and metrics derived from the
//! spec's learning rate, so different specs give different, predictable results.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use shared::live::{EvalPoint, StepPoint};
use shared::run::RunSpec;

use super::{Executor, JobContext, JobEvent};

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

impl Executor for FakeExecutor {
    fn environment(&self) -> BTreeMap<String, String> {
        BTreeMap::from([("backend".into(), "fake".into())])
    }

    fn execute(
        &self,
        spec: &RunSpec,
        ctx: &mut JobContext<'_>,
    ) -> anyhow::Result<BTreeMap<String, f64>> {
        (ctx.emit)(JobEvent::Log(format!(
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
            let per_sample: Vec<f64> = (0..self.per_sample)
                .map(|i| (1.0 + i as f64 / n.max(1.0)) / (1.0 + s))
                .collect();
            let loss = per_sample.iter().sum::<f64>() / n.max(1.0);
            (ctx.emit)(JobEvent::Step(StepPoint {
                step,
                total_steps: self.steps,
                epoch: step - 1,
                lr: spec.trainer.lr,
                loss,
                forget_loss: loss,
                retain_loss: Some(loss / 2.0),
                grad_norm: 1.0 / s,
                per_sample,
                weights: Vec::new(),
                tokens_per_s: 1000.0,
                elapsed_s: s * self.step_delay.as_secs_f64(),
            }));
        }
        for done in 1..=2 {
            (ctx.emit)(JobEvent::Eval(EvalPoint {
                stage: "forget generation".into(),
                done,
                total: 2,
            }));
        }
        std::fs::write(ctx.dir.join("fake_result.json"), b"{}")?;
        Ok(BTreeMap::from([
            ("forget_quality".into(), spec.trainer.lr * 1000.0),
            ("model_utility".into(), 0.5),
        ]))
    }
}
