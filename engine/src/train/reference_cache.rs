//! `reference_mode: cached`: the frozen reference's token NLLs of every forget row and every
//! I-don't-know row a run will train on, computed once before training on the plain device and
//! kept in host memory, so the reference model can be freed before the first step. This serves
//! the objectives whose reference enters only through those log-probabilities (NPO, TNPO, the
//! fork's TNPO, IdkDPO, and the BalDRO wrappers over them); a KL retain term needs the
//! reference's whole distribution on random retain rows and keeps the live model.
//!
//! Rows are cached one by one, keyed by their tokens, and reassembled into each micro-batch's
//! right-padded `[batch, seq - 1]` layout (zeros past a row's end, as the live pass gives them).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::tensor::TensorData;

use super::run::schedule;
use super::schedule::StepPlan;
use super::unlearn::{UnlearnConfig, UnlearnData};
use crate::EngineError;
use crate::llama::LlamaForCausalLM;
use crate::objectives::{CachedStats, HostNll, RetainLoss, Rows, token_nll_of};

/// Where an unlearning run gets its frozen reference's statistics.
#[derive(Debug, Clone, Copy)]
pub enum Reference<'a> {
    /// No reference: only reference-free objectives run.
    Absent,
    /// The model, run on every micro-batch.
    Live(&'a LlamaForCausalLM),
    /// Its statistics, computed before training.
    Cached(&'a ReferenceCache),
}

impl<'a> From<Option<&'a LlamaForCausalLM>> for Reference<'a> {
    fn from(reference: Option<&'a LlamaForCausalLM>) -> Self {
        reference.map_or(Self::Absent, Self::Live)
    }
}

impl<'a> From<&'a ReferenceCache> for Reference<'a> {
    fn from(cache: &'a ReferenceCache) -> Self {
        Self::Cached(cache)
    }
}

/// One row's NLL at positions `1..len` (f32), and whether each is an answer token.
type RowStats = (Vec<f32>, Vec<f32>);

/// The reference's statistics of every row a run needs, in host memory.
#[derive(Debug, Clone, Default)]
pub struct ReferenceCache {
    rows: HashMap<(Vec<u32>, Vec<i64>), RowStats>,
}

impl ReferenceCache {
    /// The pre-pass: runs `reference` (on its plain device) over every distinct forget row, and
    /// every I-don't-know row that `config`'s schedule will draw, in chunks of the run's batch
    /// size. Checks `cancel` between chunks.
    pub fn compute(
        reference: &LlamaForCausalLM,
        data: &UnlearnData,
        config: &UnlearnConfig,
        pad_id: u32,
        cancel: &AtomicBool,
    ) -> Result<Self, EngineError> {
        if config.objective.retain == RetainLoss::Kl {
            return Err(EngineError::InvalidConfig {
                field: "reference_mode".into(),
                reason: "a KL retain term needs the reference's whole distribution on the retain \
                         rows: use the live reference"
                    .into(),
            });
        }
        let mut cache = Self::default();
        if !config.objective.method.needs_reference() {
            return Ok(cache);
        }
        let train = &config.train;
        let plan = StepPlan::new(
            data.forget.len(),
            train.batch_size,
            train.grad_accum,
            train.epochs,
            train.warmup_epochs,
        );
        let mut wanted: Vec<(Vec<u32>, Vec<i64>)> = data
            .forget
            .iter()
            .map(|e| (e.input_ids.clone(), e.labels.clone()))
            .collect();
        if let Some(idk) = &data.idk {
            for slot in schedule(data.forget.len(), train, &plan) {
                for item in &slot.items {
                    let row = idk.draw(*item, train.seed, slot.epoch)?;
                    wanted.push((row.input_ids, row.labels));
                }
            }
        }
        let mut seen = std::collections::HashSet::new();
        wanted.retain(|row| seen.insert(row.clone()));
        for chunk in wanted.chunks(train.batch_size.max(1)) {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            let (ids, labels): Rows = chunk.iter().cloned().unzip();
            let nll = token_nll_of(reference, &ids, &labels, pad_id);
            let steps = nll.nll.dims()[1];
            let values: Vec<f32> = nll.nll.into_data().iter::<f32>().collect();
            let mask: Vec<f32> = nll.mask.into_data().iter::<f32>().collect();
            for (row, key) in chunk.iter().enumerate() {
                let len = key.0.len().saturating_sub(1);
                let span = row * steps..row * steps + len;
                cache.rows.insert(
                    key.clone(),
                    (values[span.clone()].to_vec(), mask[span].to_vec()),
                );
            }
        }
        Ok(cache)
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row is held (reference-free objectives).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Host bytes held by the statistics.
    pub fn bytes(&self) -> usize {
        self.rows
            .iter()
            .map(|((ids, labels), (nll, mask))| {
                ids.len() * 4 + labels.len() * 8 + (nll.len() + mask.len()) * 4
            })
            .sum()
    }

    /// One micro-batch's statistics: its forget rows and, for IdkDPO, its I-don't-know rows.
    pub fn stats(&self, forget: &Rows, win: Option<&Rows>) -> Result<CachedStats, EngineError> {
        Ok(CachedStats {
            forget: self.assemble(forget)?,
            win: win.map(|rows| self.assemble(rows)).transpose()?,
        })
    }

    /// The right-padded `[batch, seq - 1]` layout of `rows`, as the live pass gives it.
    fn assemble(&self, rows: &Rows) -> Result<HostNll, EngineError> {
        let seq = rows.0.iter().map(Vec::len).max().unwrap_or(0);
        let steps = seq.saturating_sub(1);
        let batch = rows.0.len();
        let (mut nll, mut mask) = (vec![0.0_f32; batch * steps], vec![0.0_f32; batch * steps]);
        let mut counts = Vec::with_capacity(batch);
        for (row, (ids, labels)) in rows.0.iter().zip(&rows.1).enumerate() {
            let key = (ids.clone(), labels.clone());
            let (values, answer) = self.rows.get(&key).ok_or_else(|| {
                EngineError::InvalidConfig {
                    field: "reference_mode".into(),
                    reason: format!(
                        "row {row} of a micro-batch ({} tokens) is not in the reference cache: the \
                     cache was computed for other data or another schedule",
                        ids.len()
                    ),
                }
            })?;
            nll[row * steps..row * steps + values.len()].copy_from_slice(values);
            mask[row * steps..row * steps + answer.len()].copy_from_slice(answer);
            counts.push(
                labels
                    .iter()
                    .skip(1)
                    .filter(|label| **label != crate::data::IGNORE_INDEX)
                    .count(),
            );
        }
        Ok(HostNll::new(
            TensorData::new(nll, [batch, steps]),
            TensorData::new(mask, [batch, steps]),
            counts,
        ))
    }
}
