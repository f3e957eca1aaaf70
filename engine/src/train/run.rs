//! The training loop, faithful to an OU/BalDRO run on one device (spec §2.11): epochs over the
//! anchor set (the forget set when unlearning, the training set when fine-tuning) in a seeded
//! order, micro-batches of `batch_size`, losses divided by `grad_accum`, an optimizer step whenever
//! the global micro-batch counter reaches a multiple of `grad_accum` (or at the end of an epoch
//! shorter than that), warm-up then linear decay, and a stop after exactly `T` steps.
//!
//! [`unlearn`] pairs each forget item with a seeded random retain item (and, for IdkDPO, with an
//! I-don't-know answer drawn uniformly for every item in every epoch, as OU's `QAwithIdkDataset`
//! does); the frozen reference runs on the plain device, so it never records a graph.
//! [`finetune`] is TOFU's first step: answer-only token-mean NLL on one set (`full` for the
//! target model, `retainNN` for a retain model).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::tensor::Tensor;

use super::optimizer::{AdamW, AdamWConfig, GradStore};
use super::schedule::{StepPlan, lr_multiplier};
use crate::EngineError;
use crate::data::{Encoded, PromptTemplate};
use crate::llama::LlamaForCausalLM;
use crate::objectives::baldro::{sample_without_replacement, splitmix};
use crate::objectives::{ObjectiveConfig, compute, forward_stats, micro_batch, rows};
use crate::tokenizer::Tokenizer;

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

/// Everything [`unlearn`] needs besides the models and the data.
#[derive(Debug, Clone, PartialEq)]
pub struct UnlearnConfig {
    /// The objective and its wrapper.
    pub objective: ObjectiveConfig,
    /// Schedule and optimizer.
    pub train: TrainConfig,
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

/// Where IdkDPO's "win" answers come from: for forget item i in every epoch, one answer drawn
/// uniformly from `answers` and put after question i with the run's template.
#[derive(Debug, Clone)]
pub struct IdkAnswers {
    /// The I-don't-know answers (OU: `open-unlearning/idk`, 100 lines).
    pub answers: Vec<String>,
    /// `questions[i]` is forget item i's question.
    pub questions: Vec<String>,
    /// The run's prompt template.
    pub template: PromptTemplate,
    /// The policy's tokenizer.
    pub tokenizer: Tokenizer,
    /// Truncation of the string-path template (512).
    pub max_length: usize,
}

/// Which of `n` I-don't-know answers forget item `item` gets in `epoch` of a run with `seed`:
/// uniform, independent across items and epochs.
pub fn idk_pick(n: usize, seed: u64, epoch: u64, item: usize) -> usize {
    let mut state = seed_for(seed, epoch, 0x1d4 ^ ((item as u64) << 8));
    let span = u64::try_from(n).unwrap_or(1).max(1);
    usize::try_from(splitmix(&mut state) % span).unwrap_or(0)
}

impl IdkAnswers {
    /// Forget item `item` with its answer for `epoch`.
    fn draw(&self, item: usize, seed: u64, epoch: u64) -> Result<Encoded, EngineError> {
        let pick = idk_pick(self.answers.len(), seed, epoch, item);
        self.template.encode(
            &self.tokenizer,
            &self.questions[item],
            &self.answers[pick],
            self.max_length,
        )
    }
}

/// The unlearning data: tokenised forget and retain examples, and IdkDPO's answers.
#[derive(Debug, Clone)]
pub struct UnlearnData {
    /// Forget examples (defines the epoch).
    pub forget: Vec<Encoded>,
    /// Retain examples (one drawn per forget item).
    pub retain: Vec<Encoded>,
    /// I-don't-know answers, for IdkDPO.
    pub idk: Option<IdkAnswers>,
}

/// What one micro-batch contributed.
struct Micro {
    loss: Tensor<1>,
    loss_value: f64,
    forget_loss: f64,
    retain_loss: Option<f64>,
    per_sample: Vec<f64>,
    samples: Vec<usize>,
    weights: Vec<f64>,
    tokens: usize,
}

/// Where a micro-batch sits in the run, for the loss closure.
struct Position<'a> {
    items: &'a [usize],
    epoch: u64,
    counter: usize,
}

fn seed_for(seed: u64, epoch: u64, salt: u64) -> u64 {
    seed ^ (epoch << 32) ^ salt
}

/// The schedule, accumulation, clipping, events and cancellation shared by both loops;
/// `micro` computes one micro-batch's loss on the current policy.
fn drive(
    mut policy: LlamaForCausalLM,
    anchor_len: usize,
    config: &TrainConfig,
    on_step: &mut dyn FnMut(&StepEvent),
    cancel: &AtomicBool,
    micro: &mut dyn FnMut(&LlamaForCausalLM, &Position<'_>) -> Result<Micro, EngineError>,
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
    let mut optimizer = AdamW::new(config.adamw);
    let mut store = GradStore::for_config(&config.adamw);
    let mut counter = 0_usize;
    let mut step = 0_usize;
    let mut sums = (0.0, 0.0, 0.0, 0_usize, false);
    let mut tokens = 0_usize;
    let (mut per_sample, mut samples, mut weights) = (Vec::new(), Vec::new(), Vec::new());
    let mut sample_epochs = Vec::new();
    let mut started = Instant::now();
    let mut epoch = 0_u64;
    #[expect(clippy::cast_precision_loss, reason = "GA is small")]
    let ga = config.grad_accum as f64;
    while step < plan.total_steps {
        let order =
            sample_without_replacement(anchor_len, anchor_len, seed_for(config.seed, epoch, 0));
        let chunks: Vec<&[usize]> = order.chunks(config.batch_size).collect();
        for (index, chunk) in chunks.iter().enumerate() {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            let at = |what: String| format!("{what} at optimizer step {}", step + 1);
            let output = micro(
                &policy,
                &Position {
                    items: chunk,
                    epoch,
                    counter,
                },
            )
            .map_err(|error| match error {
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
            tokens += output.tokens;
            let grads = output.loss.backward();
            store.accumulate(&policy, &grads, 1.0 / ga);
            sums.0 += output.loss_value;
            sums.1 += output.forget_loss;
            if let Some(retain) = output.retain_loss {
                sums.2 += retain;
                sums.4 = true;
            }
            sums.3 += 1;
            let data_epoch = usize::try_from(epoch).unwrap_or(usize::MAX);
            sample_epochs.extend(std::iter::repeat_n(data_epoch, output.per_sample.len()));
            per_sample.extend(output.per_sample);
            samples.extend(output.samples);
            weights.extend(output.weights);
            counter += 1;
            let epoch_end = index + 1 == chunks.len();
            if counter.is_multiple_of(config.grad_accum)
                || (epoch_end && chunks.len() < config.grad_accum)
            {
                let lr = config.lr * lr_multiplier(step, plan.warmup_steps, plan.total_steps);
                let (updated, report) = optimizer.step_accumulated(policy, &store, lr);
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
                on_step(&StepEvent {
                    step,
                    total_steps: plan.total_steps,
                    epoch: usize::try_from(epoch).unwrap_or(usize::MAX),
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

/// Unlearns `data.forget` from `policy` and returns the result. `on_step` receives every
/// [`StepEvent`]; `cancel` is checked between micro-batches.
pub fn unlearn(
    policy: LlamaForCausalLM,
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
    if let Some(idk) = &data.idk
        && (idk.answers.is_empty() || idk.questions.len() != data.forget.len())
    {
        return Err(EngineError::InvalidConfig {
            field: "idk".into(),
            reason: format!(
                "{} answers for {} questions of {} forget items: need at least one answer and one question per item",
                idk.answers.len(),
                idk.questions.len(),
                data.forget.len()
            ),
        });
    }
    let seed = config.train.seed;
    let mut partners = (u64::MAX, Vec::new());
    drive(
        policy,
        data.forget.len(),
        &config.train,
        on_step,
        cancel,
        &mut |policy, at| {
            if partners.0 != at.epoch {
                let pairing = seed_for(seed, at.epoch, 0x5eed);
                partners = (
                    at.epoch,
                    sample_without_replacement(data.retain.len(), data.retain.len(), pairing),
                );
            }
            let forget: Vec<&Encoded> = at.items.iter().map(|i| &data.forget[*i]).collect();
            let retain: Vec<&Encoded> = at
                .items
                .iter()
                .map(|i| &data.retain[partners.1[*i % partners.1.len()]])
                .collect();
            let win = data
                .idk
                .as_ref()
                .map(|idk| {
                    at.items
                        .iter()
                        .map(|i| idk.draw(*i, seed, at.epoch))
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?;
            let (forget, retain) = (rows(forget), rows(retain));
            let win = win.as_ref().map(rows);
            let batch = micro_batch(
                &config.objective,
                policy,
                reference,
                &forget,
                &retain,
                win.as_ref(),
                pad_id,
            )?;
            let output = compute(&config.objective, &batch, seed ^ at.counter as u64, None)?;
            let samples = if output.selected.is_empty() {
                at.items.to_vec()
            } else {
                output.selected.iter().map(|row| at.items[*row]).collect()
            };
            Ok(Micro {
                loss: output.loss,
                loss_value: output.loss_value,
                forget_loss: output.forget_loss,
                retain_loss: output.retain_loss,
                per_sample: output.per_sample,
                samples,
                weights: output.sample_weights,
                tokens: forget.0.iter().chain(&retain.0).map(Vec::len).sum(),
            })
        },
    )
}

/// Fine-tunes `policy` on `data` with the answer-only token-mean NLL of each micro-batch (OU's
/// `finetune` trainer; HF divides it by `grad_accum`), with the same schedule as [`unlearn`].
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
        on_step,
        cancel,
        &mut |policy, at| {
            let rows = rows(at.items.iter().map(|i| &data[*i]));
            let (nll, _) = forward_stats(policy, &rows.0, &rows.1, pad_id);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idk_answers_are_redrawn_every_epoch_and_cover_the_file() {
        let picks: Vec<usize> = (0..400).map(|epoch| idk_pick(100, 0, epoch, 3)).collect();
        let distinct: std::collections::BTreeSet<_> = picks.iter().collect();
        assert!(
            distinct.len() > 90,
            "{} of 100 answers drawn",
            distinct.len()
        );
        assert!(picks.iter().all(|p| *p < 100));
        assert_ne!(idk_pick(100, 0, 0, 3), idk_pick(100, 0, 0, 4));
        assert_eq!(idk_pick(100, 7, 2, 3), idk_pick(100, 7, 2, 3));
    }
}
