//! Unlearning (spec §2.11): each forget item is paired with a seeded random retain item every
//! epoch (and, for IdkDPO, with an I-don't-know answer drawn uniformly for every item in every
//! epoch, as OU's `QAwithIdkDataset` does); the frozen reference runs on the plain device, so it
//! never records a graph, or is replaced by the cache of its statistics
//! ([`super::reference_cache`]).

use std::sync::atomic::AtomicBool;

use super::observe::{Observer, OnStep};
use super::reference_cache::Reference;
use super::run::{Micro, StepEvent, TrainConfig, drive, seed_for};
use crate::EngineError;
use crate::data::{Encoded, PromptTemplate};
use crate::llama::LlamaForCausalLM;
use crate::objectives::baldro::{sample_without_replacement, splitmix};
use crate::objectives::{Frozen, ObjectiveConfig, compute, micro_batch_with, rows};
use crate::tokenizer::Tokenizer;

/// Everything [`unlearn`] needs besides the models and the data.
#[derive(Debug, Clone, PartialEq)]
pub struct UnlearnConfig {
    /// The objective and its wrapper.
    pub objective: ObjectiveConfig,
    /// Schedule and optimizer.
    pub train: TrainConfig,
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
    pub(crate) fn draw(&self, item: usize, seed: u64, epoch: u64) -> Result<Encoded, EngineError> {
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

/// Unlearns `data.forget` from `policy` and returns the result. `on_step` receives every
/// [`StepEvent`]; `cancel` is checked between micro-batches.
pub fn unlearn<'r>(
    policy: LlamaForCausalLM,
    reference: impl Into<Reference<'r>>,
    data: &UnlearnData,
    config: &UnlearnConfig,
    pad_id: u32,
    on_step: &mut dyn FnMut(&StepEvent),
    cancel: &AtomicBool,
) -> Result<LlamaForCausalLM, EngineError> {
    unlearn_observed(
        policy,
        reference,
        data,
        config,
        pad_id,
        &mut OnStep(on_step),
        cancel,
    )
}

/// [`unlearn`] with an [`Observer`], which also sees the policy at step 0 and after every
/// optimizer step and can end the run early (the evaluation during training).
pub fn unlearn_observed<'r>(
    policy: LlamaForCausalLM,
    reference: impl Into<Reference<'r>>,
    data: &UnlearnData,
    config: &UnlearnConfig,
    pad_id: u32,
    observer: &mut dyn Observer,
    cancel: &AtomicBool,
) -> Result<LlamaForCausalLM, EngineError> {
    if data.forget.is_empty() || data.retain.is_empty() {
        return Err(EngineError::InvalidConfig {
            field: "data".into(),
            reason: "the forget and retain sets need at least one example each".into(),
        });
    }
    let reference = reference.into();
    if config.objective.needs_reference() && matches!(reference, Reference::Absent) {
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
        observer,
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
            let cached;
            let frozen = match reference {
                Reference::Absent => Frozen::Absent,
                Reference::Live(model) => Frozen::Live(model),
                Reference::Cached(_) if !config.objective.method.needs_reference() => {
                    Frozen::Absent
                }
                Reference::Cached(cache) => {
                    cached = cache.stats(&forget, win.as_ref())?;
                    Frozen::Cached(&cached)
                }
            };
            let batch = micro_batch_with(
                &config.objective,
                policy,
                frozen,
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
