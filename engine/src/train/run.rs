//! The unlearning loop, faithful to an OU/BalDRO run on one device (spec §2.11): epochs over the
//! forget set in a seeded order, each forget item paired with a seeded random retain item,
//! micro-batches of `batch_size`, losses divided by `grad_accum`, an optimizer step whenever the
//! global micro-batch counter reaches a multiple of `grad_accum` (or at the end of an epoch
//! shorter than that), warm-up then linear decay, and a stop after exactly `T` steps.
//! The frozen reference runs on the plain device, so it never records a graph.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::optimizer::{AdamW, AdamWConfig, GradStore};
use super::schedule::{StepPlan, lr_multiplier};
use crate::EngineError;
use crate::data::Encoded;
use crate::llama::LlamaForCausalLM;
use crate::objectives::baldro::sample_without_replacement;
use crate::objectives::{ObjectiveConfig, Rows, compute, micro_batch};

/// Everything the loop needs besides the models and the data.
#[derive(Debug, Clone, PartialEq)]
pub struct UnlearnConfig {
    /// The objective and its wrapper.
    pub objective: ObjectiveConfig,
    /// Peak learning rate (1e-5).
    pub lr: f64,
    /// Per-device micro-batch (8).
    pub batch_size: usize,
    /// Gradient accumulation (4).
    pub grad_accum: usize,
    /// Epochs over the forget set (10).
    pub epochs: f64,
    /// Warm-up length in epochs (1.0).
    pub warmup_epochs: f64,
    /// Data order, retain pairing and BalDRO-G draws.
    pub seed: u64,
    /// Optimizer settings.
    pub adamw: AdamWConfig,
}

/// Progress, sent after every optimizer step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepEvent {
    /// 1-based optimizer step.
    pub step: usize,
    /// `T`.
    pub total_steps: usize,
    /// Learning rate used by this step.
    pub lr: f64,
    /// Mean loss over the step's micro-batches.
    pub loss: f64,
    /// Mean forget term.
    pub forget_loss: f64,
    /// Mean retain term, if any.
    pub retain_loss: Option<f64>,
    /// Global grad norm before clipping.
    pub grad_norm: f64,
    /// Unreduced forget losses of the last micro-batch.
    pub per_sample: Vec<f64>,
    /// BalDRO-DV weights of the last micro-batch.
    pub weights: Vec<f64>,
    /// Tokens (policy forward passes) per second over this step.
    pub tokens_per_s: f64,
}

/// The training data: tokenised forget and retain examples, and the I-don't-know answer of every
/// forget item for IdkDPO.
#[derive(Debug, Clone)]
pub struct UnlearnData {
    /// Forget examples (defines the epoch).
    pub forget: Vec<Encoded>,
    /// Retain examples (one drawn per forget item).
    pub retain: Vec<Encoded>,
    /// `idk[i]` is forget item i's I-don't-know version.
    pub idk: Option<Vec<Encoded>>,
}

fn split(examples: &[&Encoded]) -> Rows {
    examples
        .iter()
        .map(|e| (e.input_ids.clone(), e.labels.clone()))
        .unzip()
}

/// Runs the loop and returns the unlearned policy. `on_step` receives every [`StepEvent`];
/// `cancel` is checked between micro-batches.
pub fn unlearn(
    mut policy: LlamaForCausalLM,
    reference: Option<&LlamaForCausalLM>,
    data: &UnlearnData,
    config: &UnlearnConfig,
    pad_id: u32,
    on_step: &mut dyn FnMut(&StepEvent),
    cancel: &AtomicBool,
) -> Result<LlamaForCausalLM, EngineError> {
    if data.forget.is_empty() || data.retain.is_empty() {
        return Err(EngineError::InvalidConfig {
            field: "data".into(),
            reason: "the forget and retain sets need at least one example each".into(),
        });
    }
    if config.objective.needs_reference() && reference.is_none() {
        return Err(EngineError::InvalidConfig {
            field: "reference".into(),
            reason: "this objective needs the frozen reference model".into(),
        });
    }
    let plan = StepPlan::new(
        data.forget.len(),
        config.batch_size,
        config.grad_accum,
        config.epochs,
        config.warmup_epochs,
    );
    let mut optimizer = AdamW::new(config.adamw);
    let mut store = GradStore::default();
    let mut counter = 0_usize;
    let mut step = 0_usize;
    let mut sums = (0.0, 0.0, 0.0, 0_usize, false);
    let mut tokens = 0_usize;
    let mut started = Instant::now();
    let mut epoch = 0_u64;
    #[expect(clippy::cast_precision_loss, reason = "GA is small")]
    let ga = config.grad_accum.max(1) as f64;
    while step < plan.total_steps {
        let order = sample_without_replacement(
            data.forget.len(),
            data.forget.len(),
            config.seed ^ (epoch << 32),
        );
        let partners = sample_without_replacement(
            data.retain.len(),
            data.retain.len(),
            config.seed ^ (epoch << 32) ^ 0x5eed,
        );
        let chunks: Vec<&[usize]> = order.chunks(config.batch_size.max(1)).collect();
        for (index, chunk) in chunks.iter().enumerate() {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            let forget: Vec<&Encoded> = chunk.iter().map(|i| &data.forget[*i]).collect();
            let retain: Vec<&Encoded> = chunk
                .iter()
                .map(|i| &data.retain[partners[*i % partners.len()] % data.retain.len()])
                .collect();
            let forget = split(&forget);
            let retain = split(&retain);
            let win = data
                .idk
                .as_ref()
                .map(|idk| split(&chunk.iter().map(|i| &idk[*i]).collect::<Vec<_>>()));
            let batch = micro_batch(
                &config.objective,
                &policy,
                reference,
                &forget,
                &retain,
                win.as_ref(),
                pad_id,
            )?;
            let output = compute(
                &config.objective,
                &batch,
                config.seed ^ counter as u64,
                None,
            )?;
            tokens += forget
                .0
                .iter()
                .chain(&retain.0)
                .map(Vec::len)
                .sum::<usize>();
            let grads = output.loss.backward();
            store.accumulate(&policy, &grads, 1.0 / ga);
            sums.0 += output.loss_value;
            sums.1 += output.forget_loss;
            if let Some(retain) = output.retain_loss {
                sums.2 += retain;
                sums.4 = true;
            }
            sums.3 += 1;
            counter += 1;
            let epoch_end = index + 1 == chunks.len();
            if counter.is_multiple_of(config.grad_accum.max(1))
                || (epoch_end && chunks.len() < config.grad_accum)
            {
                let lr = config.lr * lr_multiplier(step, plan.warmup_steps, plan.total_steps);
                let (updated, report) = optimizer.step_accumulated(policy, &store, lr);
                policy = updated;
                store = GradStore::default();
                step += 1;
                #[expect(clippy::cast_precision_loss, reason = "counts")]
                let (n, tokens_f) = (sums.3.max(1) as f64, tokens as f64);
                on_step(&StepEvent {
                    step,
                    total_steps: plan.total_steps,
                    lr,
                    loss: sums.0 / n,
                    forget_loss: sums.1 / n,
                    retain_loss: sums.4.then(|| sums.2 / n),
                    grad_norm: report.grad_norm,
                    per_sample: output.per_sample.clone(),
                    weights: output.weights.clone(),
                    tokens_per_s: tokens_f / started.elapsed().as_secs_f64().max(1e-9),
                });
                sums = (0.0, 0.0, 0.0, 0, false);
                tokens = 0;
                started = Instant::now();
                if step >= plan.total_steps {
                    break;
                }
            }
        }
        epoch += 1;
    }
    Ok(policy)
}
