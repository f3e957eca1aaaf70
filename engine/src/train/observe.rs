//! What watches a training loop: every [`StepEvent`], and the policy itself at step 0 and after
//! each optimizer step, where an [`Observer`] can evaluate it, keep a copy of it or end the run
//! early ([`Flow::Stop`]). The evaluation during training, checkpoint selection and the early-stop
//! guards of a run are one observer (in the server's runner); a plain closure over step events is
//! another.

use super::run::StepEvent;
use crate::EngineError;
use crate::llama::LlamaForCausalLM;

/// What the loop does after an [`Observer::checkpoint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Train on.
    Continue,
    /// End the run here, as if it had reached its last step: the loop returns the policy as it
    /// is now.
    Stop,
}

/// Where the run stands at a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Optimizer steps done (0: before the first).
    pub step: usize,
    /// Steps the run takes.
    pub total_steps: usize,
    /// Optimizer steps per epoch (HF counts epochs as `step / steps_per_epoch`).
    pub steps_per_epoch: usize,
}

impl Progress {
    /// Epochs done, as HF counts them.
    pub fn epoch(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "step counts")]
        let epoch = self.step as f64 / self.steps_per_epoch.max(1) as f64;
        epoch
    }
}

/// Watches a training loop.
pub trait Observer {
    /// An optimizer step finished.
    fn step(&mut self, event: &StepEvent);

    /// Called with the policy before the first step and after each optimizer step (after
    /// [`Observer::step`]). The policy is on the autodiff device; evaluate
    /// [`LlamaForCausalLM::without_autodiff`] (the same weights on the plain device) to keep the
    /// graph out of it.
    fn checkpoint(
        &mut self,
        _at: &Progress,
        _policy: &LlamaForCausalLM,
    ) -> Result<Flow, EngineError> {
        Ok(Flow::Continue)
    }
}

/// A closure over step events is an observer that never stops the run.
pub struct OnStep<'a>(pub &'a mut dyn FnMut(&StepEvent));

impl Observer for OnStep<'_> {
    fn step(&mut self, event: &StepEvent) {
        (self.0)(event);
    }
}
