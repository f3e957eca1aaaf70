//! Answer-only negative log-likelihood, as transformers' `LlamaForCausalLM` loss computes it per
//! sequence: logits at position t predict label t+1, positions labelled `-100` carry nothing,
//! log-softmax in f32.

use burn::tensor::activation::log_softmax;
use burn::tensor::{FloatDType, Int, Tensor, TensorData};

use super::batch::{Padding, TokenBatch};
use super::model::LlamaForCausalLM;
use crate::data::{Encoded, IGNORE_INDEX};
use crate::device::on_pool;

/// Summed NLL of one sequence's target tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SequenceNll {
    /// Target tokens (labels other than `-100`, the first position excluded).
    pub n_tokens: usize,
    /// Sum of their NLLs (nats).
    pub sum_nll: f64,
}

impl SequenceNll {
    /// Mean NLL per target token (NaN when there are none).
    pub fn avg_nll(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "token counts are small")]
        let n = self.n_tokens as f64;
        self.sum_nll / n
    }
}

/// Per-token NLL `[batch, seq - 1]` (0 where the label is ignored) and the 0/1 weights.
pub fn token_nll(logits: Tensor<3>, labels: &[Vec<i64>]) -> (Tensor<2>, Tensor<2>) {
    let [batch, seq, vocab] = logits.dims();
    let device = logits.device();
    let steps = seq.saturating_sub(1);
    let mut targets = Vec::with_capacity(batch * steps);
    let mut weights = Vec::with_capacity(batch * steps);
    for row in labels {
        for t in 1..seq {
            let label = row.get(t).copied().unwrap_or(IGNORE_INDEX);
            let keep = label != IGNORE_INDEX;
            targets.push(if keep { label } else { 0 });
            weights.push(if keep { 1.0_f32 } else { 0.0 });
        }
    }
    let targets: Tensor<3, Int> =
        Tensor::from_data(TensorData::new(targets, [batch, steps, 1]), &device);
    let weights: Tensor<2> = Tensor::from_data(TensorData::new(weights, [batch, steps]), &device);
    let log_probs = log_softmax(logits.narrow(1, 0, steps).cast(FloatDType::F32), 2);
    let picked: Tensor<2> = log_probs.gather(2, targets).reshape([batch, steps]);
    debug_assert!(vocab > 0);
    (picked.neg() * weights.clone(), weights)
}

/// `(row, predicting position, label)` of every target token of right-padded rows of length `seq`,
/// in order: the positions whose logits a loss or a metric reads.
fn targets(labels: &[Vec<i64>], seq: usize) -> Vec<(usize, usize, i64)> {
    let mut out = Vec::new();
    for (row, labels) in labels.iter().enumerate() {
        for (t, label) in labels.iter().enumerate().take(seq).skip(1) {
            if *label != IGNORE_INDEX {
                out.push((row, t - 1, *label));
            }
        }
    }
    out
}

/// The rows of `hidden` (`[batch, seq, width]`) at `positions` (`(row, position)`), `[count, width]`.
fn pick_rows(hidden: Tensor<3>, positions: impl Iterator<Item = (usize, usize)>) -> Tensor<2> {
    let [batch, seq, width] = hidden.dims();
    let index: Vec<i64> = positions
        .map(|(row, p)| i64::try_from(row * seq + p).unwrap_or(0))
        .collect();
    let count = index.len();
    let index: Tensor<1, Int> =
        Tensor::from_data(TensorData::new(index, [count]), &hidden.device());
    hidden.reshape([batch * seq, width]).select(0, index)
}

impl LlamaForCausalLM {
    /// [`token_nll`] from the final hidden states (`[batch, seq, width]`), with the same values,
    /// shapes and gradients: the output projection and the log-softmax run only at the positions
    /// that predict a target (about a third of a TOFU batch's positions), and the others are 0.
    pub fn target_nll(&self, hidden: Tensor<3>, labels: &[Vec<i64>]) -> (Tensor<2>, Tensor<2>) {
        let [batch, seq, width] = hidden.dims();
        let steps = seq.saturating_sub(1);
        let targets = targets(labels, seq);
        if targets.is_empty() {
            return token_nll(self.logits(hidden), labels);
        }
        let count = targets.len();
        let mut weights = vec![0.0_f32; batch * steps];
        // Where each position's NLL comes from: its target's index, or `count` (a zero) when it
        // has none.
        let mut source = vec![i64::try_from(count).unwrap_or(i64::MAX); batch * steps];
        for (k, (row, p, _)) in targets.iter().enumerate() {
            weights[row * steps + p] = 1.0;
            source[row * steps + p] = i64::try_from(k).unwrap_or(0);
        }
        let picked = pick_rows(hidden, targets.iter().map(|(row, p, _)| (*row, *p)));
        let logits = self
            .logits(picked.reshape([1, count, width]))
            .cast(FloatDType::F32);
        let vocab = logits.dims()[2];
        let device = logits.device();
        let next: Vec<i64> = targets.iter().map(|(_, _, label)| *label).collect();
        let nll = crate::device::target_nll(logits.reshape([count, vocab]), &next);
        let padded = Tensor::cat(vec![nll, Tensor::zeros([1], &device)], 0);
        let source: Tensor<1, Int> =
            Tensor::from_data(TensorData::new(source, [batch * steps]), &device);
        let weights = Tensor::from_data(TensorData::new(weights, [batch, steps]), &device);
        (padded.select(0, source).reshape([batch, steps]), weights)
    }

    /// Answer-only NLL of each example (right-padded batch).
    pub fn sequence_nll(&self, examples: &[Encoded], pad_id: u32) -> Vec<SequenceNll> {
        let rows: Vec<Vec<u32>> = examples.iter().map(|e| e.input_ids.clone()).collect();
        let batch = TokenBatch::padded(&rows, pad_id, Padding::Right);
        let labels: Vec<Vec<i64>> = examples.iter().map(|e| e.labels.clone()).collect();
        let (nll, _) = self.target_nll(self.forward_hidden_real(&batch), &labels);
        let sums: Vec<f32> = nll.sum_dim(1).into_data().iter::<f32>().collect();
        examples
            .iter()
            .zip(sums)
            .map(|(example, sum)| SequenceNll {
                n_tokens: example.target_count(),
                sum_nll: f64::from(sum),
            })
            .collect()
    }
}

/// What one teacher-forced pass tells about one answer, per target token in order: what the
/// TOFU probability, memorization and MIA metrics reduce.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenStats {
    /// The target ids (labels other than `-100`).
    pub labels: Vec<u32>,
    /// `log p(label)`.
    pub logprobs: Vec<f64>,
    /// The argmax of each predicting position.
    pub predictions: Vec<u32>,
    /// `E_p[log p]` of each predicting position's distribution (Min-K++'s μ).
    pub mean_logprob: Vec<f64>,
    /// `Var_p[log p]` of each predicting position's distribution (Min-K++'s σ²).
    pub var_logprob: Vec<f64>,
}

impl TokenStats {
    /// No tokens yet.
    pub fn empty() -> Self {
        Self {
            labels: Vec::new(),
            logprobs: Vec::new(),
            predictions: Vec::new(),
            mean_logprob: Vec::new(),
            var_logprob: Vec::new(),
        }
    }

    /// §5.1 `avg_loss`: mean NLL over all target tokens (NaN when there are none).
    pub fn avg_loss(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "token counts are small")]
        let n = self.logprobs.len() as f64;
        -self.logprobs.iter().sum::<f64>() / n
    }
}

/// Which per-token statistics [`LlamaForCausalLM::token_stats`] computes beyond the target
/// log-probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsDetail {
    /// Only `labels` and `logprobs` (probabilities, truth ratios); the other vectors stay empty.
    LogProbs,
    /// Also `predictions`, `mean_logprob` and `var_logprob` (memorization, MIA).
    Full,
}

impl LlamaForCausalLM {
    /// [`TokenStats`] of each example (right-padded batch, f32 log-softmax). The vocabulary-wide
    /// work (output projection, log-softmax and, with [`StatsDetail::Full`], argmax and the
    /// distribution's mean and variance) runs only at the positions that predict a target.
    /// On the CPU the batch runs on rayon's pool ([`crate::device::on_pool`]).
    pub fn token_stats(
        &self,
        examples: &[Encoded],
        pad_id: u32,
        detail: StatsDetail,
    ) -> Vec<TokenStats> {
        on_pool(&self.device(), || {
            self.token_stats_here(examples, pad_id, detail)
        })
    }

    fn token_stats_here(
        &self,
        examples: &[Encoded],
        pad_id: u32,
        detail: StatsDetail,
    ) -> Vec<TokenStats> {
        let rows: Vec<Vec<u32>> = examples.iter().map(|e| e.input_ids.clone()).collect();
        let batch = TokenBatch::padded(&rows, pad_id, Padding::Right);
        let hidden = self.forward_hidden_real(&batch);
        let [_, seq, width] = hidden.dims();
        let labels: Vec<Vec<i64>> = examples.iter().map(|e| e.labels.clone()).collect();
        let targets: Vec<(usize, usize, u32)> = targets(&labels, seq)
            .into_iter()
            .map(|(row, p, label)| (row, p, u32::try_from(label).unwrap_or(0)))
            .collect();
        if targets.is_empty() {
            return examples.iter().map(|_| TokenStats::empty()).collect();
        }
        let count = targets.len();
        let picked_hidden = pick_rows(hidden, targets.iter().map(|(row, p, _)| (*row, *p)));
        let logits = self
            .logits(picked_hidden.reshape([1, count, width]))
            .cast(FloatDType::F32);
        let vocab = logits.dims()[2];
        let log_probs: Tensor<2> = log_softmax(logits.reshape([count, vocab]), 1);
        let next: Vec<i64> = targets
            .iter()
            .map(|(_, _, label)| {
                i64::from(*label).min(i64::try_from(vocab).unwrap_or(i64::MAX) - 1)
            })
            .collect();
        let next: Tensor<2, Int> =
            Tensor::from_data(TensorData::new(next, [count, 1]), &log_probs.device());
        let host =
            |t: Tensor<2>| -> Vec<f64> { t.into_data().iter::<f32>().map(f64::from).collect() };
        let picked = host(log_probs.clone().gather(1, next));
        let (predictions, mean, second) = match detail {
            StatsDetail::LogProbs => (Vec::new(), Vec::new(), Vec::new()),
            StatsDetail::Full => {
                let probs = log_probs.clone().exp();
                let mean = host((probs.clone() * log_probs.clone()).sum_dim(1));
                let second = host((probs * log_probs.clone().square()).sum_dim(1));
                let argmax: Vec<u32> = log_probs
                    .argmax(1)
                    .into_data()
                    .iter::<i64>()
                    .map(|a| u32::try_from(a).unwrap_or(0))
                    .collect();
                (argmax, mean, second)
            }
        };
        let full = detail == StatsDetail::Full;
        let mut out: Vec<TokenStats> = examples.iter().map(|_| TokenStats::empty()).collect();
        for (k, (row, _, label)) in targets.iter().enumerate() {
            let stats = &mut out[*row];
            stats.labels.push(*label);
            stats.logprobs.push(picked[k]);
            if full {
                stats.predictions.push(predictions[k]);
                stats.mean_logprob.push(mean[k]);
                stats
                    .var_logprob
                    .push((second[k] - mean[k] * mean[k]).max(0.0));
            }
        }
        out
    }
}
