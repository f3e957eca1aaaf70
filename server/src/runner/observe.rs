//! What watches a run's training loop: every step goes to `steps.jsonl`, the run's events and
//! the memory meter; with `eval.during`, the policy at each due step goes to the
//! [`Trajectory`].

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use engine::EngineError;
use engine::llama::LlamaForCausalLM;
use engine::train::{Flow, Observer, Progress, StepEvent};

use super::trajectory::Trajectory;
use super::{RunEvent, files, plan};

/// The runner's [`Observer`].
pub struct RunObserver<'a> {
    /// The run directory's files.
    pub files: &'a mut files::RunFiles,
    /// The run's events.
    pub events: &'a mut dyn FnMut(RunEvent),
    /// The device memory meter.
    pub meter: &'a mut plan::PeakMeter,
    /// The latest step's losses, for the headline metrics.
    pub metrics: BTreeMap<String, f64>,
    /// When training started.
    pub started: Instant,
    /// The evaluation during training, when the spec asks for one.
    pub trajectory: Option<&'a mut Trajectory>,
    /// The run's cancel flag.
    pub cancel: &'a AtomicBool,
}

impl Observer for RunObserver<'_> {
    fn step(&mut self, event: &StepEvent) {
        self.metrics = BTreeMap::from([
            ("train_loss".to_string(), event.loss),
            ("forget_loss".to_string(), event.forget_loss),
        ]);
        let point = files::step_point(event, self.started.elapsed().as_secs_f64());
        self.files.step(&point);
        (self.events)(RunEvent::Step(point));
        self.meter.sample();
    }

    fn checkpoint(
        &mut self,
        at: &Progress,
        policy: &LlamaForCausalLM,
    ) -> Result<Flow, EngineError> {
        match self.trajectory.as_deref_mut() {
            Some(trajectory) => trajectory.checkpoint(at, policy, self.events, self.cancel),
            None => Ok(Flow::Continue),
        }
    }
}
