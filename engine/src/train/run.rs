//! The training loop, faithful to an OU/BalDRO run on one device (spec §2.11): epochs over the
//! anchor set (the forget set when unlearning, the training set when fine-tuning) in a seeded
//! order, micro-batches of `batch_size`, losses divided by `grad_accum`, an optimizer step whenever
//! the global micro-batch counter reaches a multiple of `grad_accum` (or at the end of an epoch
//! shorter than that), warm-up then linear decay, and a stop after exactly `T` steps.
//!
//! One schedule lists the micro-batches, and one driver runs them. Unlearning is in
//! [`mod@super::unlearn`]; [`finetune`] is TOFU's first step: answer-only token-mean NLL on one
//! set (`full` for the target model, `retainNN` for a retain model).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::tensor::Tensor;

use super::observe::{Flow, Observer, OnStep, Progress};
use super::optimizer::{AdamW, AdamWConfig, GradStore};
use super::schedule::{StepPlan, lr_multiplier};
use crate::EngineError;
use crate::data::Encoded;
use crate::device::on_pool;
use crate::llama::LlamaForCausalLM;
use crate::objectives::baldro::sample_without_replacement;
use crate::objectives::{rows, token_nll_of};

/// The schedule and optimizer settings shared by fine-tuning and unlearning (spec §2.11).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Peak learning rate (1e-5).
    pub lr: f64,
    /// Per-device micro-batch (8).
    pub batch_size: usize,
    /// Gradient accumulation (4).
    pub grad_accum: usize,
    /// Epochs over the anchor set (10 for unlearning, 5 for TOFU fine-tuning).
    pub epochs: f64,
    /// Warm-up length in epochs (1.0).
    pub warmup_epochs: f64,
    /// Data order, retain pairing, IDK draws and BalDRO-G draws.
    pub seed: u64,
    /// Optimizer settings.
    pub adamw: AdamWConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            lr: 1e-5,
            batch_size: 8,
            grad_accum: 4,
            epochs: 10.0,
            warmup_epochs: 1.0,
            seed: 0,
            adamw: AdamWConfig::default(),
        }
    }
}

/// Progress, sent after every optimizer step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepEvent {
    /// 1-based optimizer step.
    pub step: usize,
    /// `T`.
    pub total_steps: usize,
    /// Epoch (0-based) the step's last micro-batch came from.
    pub epoch: usize,
    /// Learning rate used by this step.
    pub lr: f64,
    /// Mean loss over the step's micro-batches.
    pub loss: f64,
    /// Mean forget term (fine-tuning: the training NLL).
    pub forget_loss: f64,
    /// Mean retain term, if any.
    pub retain_loss: Option<f64>,
    /// Global grad norm before clipping.
    pub grad_norm: f64,
    /// Forget loss of every sample the step trained on, over all its micro-batches (token
    /// methods: the row's mean; fine-tuning: per-sample NLL; BalDRO-G: the kept rows only).
    pub per_sample: Vec<f64>,
    /// The forget item (fine-tuning: training row) of each `per_sample` entry.
    pub samples: Vec<usize>,
    /// The data epoch (0-based pass over the anchor set) each `per_sample` entry was drawn in.
    /// A step's micro-batches can straddle two passes: HF counts epochs in optimizer steps, and
    /// when `grad_accum` does not divide an epoch's micro-batches, steps run across its end.
    pub sample_epochs: Vec<usize>,
    /// BalDRO-DV weight of each `per_sample` entry within its micro-batch (the sum of its
    /// units' weights); empty without DV.
    pub weights: Vec<f64>,
    /// Tokens (policy forward passes) per second over this step.
    pub tokens_per_s: f64,
}

/// What one micro-batch contributed.
pub(crate) struct Micro {
    pub loss: Tensor<1>,
    pub loss_value: f64,
    pub forget_loss: f64,
    pub retain_loss: Option<f64>,
    pub per_sample: Vec<f64>,
    pub samples: Vec<usize>,
    pub weights: Vec<f64>,
    pub tokens: usize,
}

/// Where a micro-batch sits in the run, for the loss closure.
pub(crate) struct Position<'a> {
    pub items: &'a [usize],
    pub epoch: u64,
    pub counter: usize,
}

pub(crate) fn seed_for(seed: u64, epoch: u64, salt: u64) -> u64 {
    seed ^ (epoch << 32) ^ salt
}

/// The schedule, accumulation, clipping, events and cancellation shared by both loops;
/// `micro` computes one micro-batch's loss on the current policy; `observer` sees every step and
/// the policy at step 0 and after each step, and can end the run there.
pub(crate) fn drive(
    mut policy: LlamaForCausalLM,
    anchor_len: usize,
    config: &TrainConfig,
    observer: &mut dyn Observer,
    cancel: &AtomicBool,
    micro: &mut (dyn FnMut(&LlamaForCausalLM, &Position<'_>) -> Result<Micro, EngineError> + Send),
) -> Result<LlamaForCausalLM, EngineError> {
    if !(config.lr.is_finite() && config.lr >= 0.0) {
        return Err(EngineError::InvalidConfig {
            field: "lr".into(),
            reason: format!("{} is not a non-negative number", config.lr),
        });
    }
    if config.batch_size == 0 || config.grad_accum == 0 {
        return Err(EngineError::InvalidConfig {
            field: "batch_size".into(),
            reason: "batch_size and grad_accum must be at least 1".into(),
        });
    }
    if !(config.epochs.is_finite() && config.epochs > 0.0) {
        return Err(EngineError::InvalidConfig {
            field: "epochs".into(),
            reason: format!("{} is not a positive number", config.epochs),
        });
    }
    let plan = StepPlan::new(
        anchor_len,
        config.batch_size,
        config.grad_accum,
        config.epochs,
        config.warmup_epochs,
    );
    // Each micro-batch and optimizer step runs on rayon's pool on the CPU (`device::on_pool`).
    let device = policy.device();
    let mut optimizer = AdamW::new(config.adamw);
    let mut store = GradStore::for_config(&config.adamw);
    let mut step = 0_usize;
    let mut sums = (0.0, 0.0, 0.0, 0_usize, false);
    let mut tokens = 0_usize;
    let (mut per_sample, mut samples, mut weights) = (Vec::new(), Vec::new(), Vec::new());
    let mut sample_epochs = Vec::new();
    let mut started = Instant::now();
    let at_step = |step| Progress {
        step,
        total_steps: plan.total_steps,
        steps_per_epoch: plan.updates_per_epoch,
    };
    if observer.checkpoint(&at_step(0), &policy)? == Flow::Stop {
        return Ok(policy);
    }
    #[expect(clippy::cast_precision_loss, reason = "GA is small")]
    let ga = config.grad_accum as f64;
    for slot in schedule(anchor_len, config, &plan) {
        if cancel.load(Ordering::Relaxed) {
            return Err(EngineError::Cancelled);
        }
        let at = |what: String| format!("{what} at optimizer step {}", step + 1);
        let position = Position {
            items: &slot.items,
            epoch: slot.epoch,
            counter: slot.counter,
        };
        let output = on_pool(&device, || {
            let output = micro(&policy, &position).map_err(|error| match error {
                EngineError::NonFinite { what, value } => EngineError::NonFinite {
                    what: at(what),
                    value,
                },
                other => other,
            })?;
            if !output.loss_value.is_finite() {
                return Err(EngineError::NonFinite {
                    what: at("loss".into()),
                    value: output.loss_value,
                });
            }
            let grads = output.loss.backward();
            store.accumulate(&policy, &grads, 1.0 / ga);
            Ok(output)
        })?;
        tokens += output.tokens;
        sums.0 += output.loss_value;
        sums.1 += output.forget_loss;
        if let Some(retain) = output.retain_loss {
            sums.2 += retain;
            sums.4 = true;
        }
        sums.3 += 1;
        let data_epoch = usize::try_from(slot.epoch).unwrap_or(usize::MAX);
        sample_epochs.extend(std::iter::repeat_n(data_epoch, output.per_sample.len()));
        per_sample.extend(output.per_sample);
        samples.extend(output.samples);
        weights.extend(output.weights);
        if slot.ends_step {
            let lr = config.lr * lr_multiplier(step, plan.warmup_steps, plan.total_steps);
            let (updated, report) =
                on_pool(&device, || optimizer.step_accumulated(policy, &store, lr));
            if !report.grad_norm.is_finite() {
                return Err(EngineError::NonFinite {
                    what: at("gradient norm".into()),
                    value: report.grad_norm,
                });
            }
            policy = updated;
            store = GradStore::for_config(&config.adamw);
            step += 1;
            #[expect(clippy::cast_precision_loss, reason = "counts")]
            let (n, tokens_f) = (sums.3.max(1) as f64, tokens as f64);
            observer.step(&StepEvent {
                step,
                total_steps: plan.total_steps,
                epoch: data_epoch,
                lr,
                loss: sums.0 / n,
                forget_loss: sums.1 / n,
                retain_loss: sums.4.then(|| sums.2 / n),
                grad_norm: report.grad_norm,
                per_sample: std::mem::take(&mut per_sample),
                samples: std::mem::take(&mut samples),
                sample_epochs: std::mem::take(&mut sample_epochs),
                weights: std::mem::take(&mut weights),
                tokens_per_s: tokens_f / started.elapsed().as_secs_f64().max(1e-9),
            });
            sums = (0.0, 0.0, 0.0, 0, false);
            tokens = 0;
            if observer.checkpoint(&at_step(step), &policy)? == Flow::Stop {
                break;
            }
            started = Instant::now();
        }
    }
    Ok(policy)
}

/// One micro-batch of a run, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Slot {
    /// The data epoch (pass over the anchor set) it comes from.
    pub epoch: u64,
    /// Anchor items, in the epoch's seeded order.
    pub items: Vec<usize>,
    /// Global micro-batch counter, 0-based.
    pub counter: usize,
    /// Whether an optimizer step follows it.
    pub ends_step: bool,
}

/// Every micro-batch a run with `config` over `anchor_len` items trains on: epochs in a seeded
/// order, chunks of `batch_size`, an optimizer step whenever the global counter reaches a
/// multiple of `grad_accum` (or at the end of an epoch shorter than that), and nothing after
/// step `T`. The loop follows it, and so does the reference cache's pre-pass.
pub(crate) fn schedule(anchor_len: usize, config: &TrainConfig, plan: &StepPlan) -> Vec<Slot> {
    let mut slots = Vec::new();
    let (mut counter, mut step, mut epoch) = (0_usize, 0_usize, 0_u64);
    while step < plan.total_steps {
        let order =
            sample_without_replacement(anchor_len, anchor_len, seed_for(config.seed, epoch, 0));
        let chunks: Vec<&[usize]> = order.chunks(config.batch_size).collect();
        for (index, chunk) in chunks.iter().enumerate() {
            counter += 1;
            let epoch_end = index + 1 == chunks.len();
            let ends_step = counter.is_multiple_of(config.grad_accum)
                || (epoch_end && chunks.len() < config.grad_accum);
            slots.push(Slot {
                epoch,
                items: chunk.to_vec(),
                counter: counter - 1,
                ends_step,
            });
            if ends_step {
                step += 1;
                if step >= plan.total_steps {
                    break;
                }
            }
        }
        epoch += 1;
    }
    slots
}

/// Fine-tunes `policy` on `data` with the answer-only token-mean NLL of each micro-batch (OU's
/// `finetune` trainer; HF divides it by `grad_accum`), with the same schedule as [`super::unlearn()`].
pub fn finetune(
    policy: LlamaForCausalLM,
    data: &[Encoded],
    config: &TrainConfig,
    pad_id: u32,
    on_step: &mut dyn FnMut(&StepEvent),
    cancel: &AtomicBool,
) -> Result<LlamaForCausalLM, EngineError> {
    if data.is_empty() {
        return Err(EngineError::InvalidConfig {
            field: "data".into(),
            reason: "the training set is empty".into(),
        });
    }
    drive(
        policy,
        data.len(),
        config,
        &mut OnStep(on_step),
        cancel,
        &mut |policy, at| {
            let rows = rows(at.items.iter().map(|i| &data[*i]));
            let nll = token_nll_of(policy, &rows.0, &rows.1, pad_id);
            let loss = nll.token_mean();
            let loss_value = f64::from(loss.clone().into_scalar::<f32>());
            let per_sample = crate::objectives::token_loss::host(nll.means());
            Ok(Micro {
                loss,
                loss_value,
                forget_loss: loss_value,
                retain_loss: None,
                per_sample,
                samples: at.items.to_vec(),
                weights: Vec::new(),
                tokens: rows.0.iter().map(Vec::len).sum(),
            })
        },
    )
}
