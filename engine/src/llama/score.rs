//! Answer-only negative log-likelihood, as transformers' `LlamaForCausalLM` loss computes it per
//! sequence: logits at position t predict label t+1, positions labelled `-100` carry nothing,
//! log-softmax in f32.

use burn::tensor::activation::log_softmax;
use burn::tensor::{FloatDType, Int, Tensor, TensorData};

use super::batch::{Padding, TokenBatch};
use super::model::LlamaForCausalLM;
use crate::data::{Encoded, IGNORE_INDEX};

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

impl LlamaForCausalLM {
    /// Answer-only NLL of each example (right-padded batch).
    pub fn sequence_nll(&self, examples: &[Encoded], pad_id: u32) -> Vec<SequenceNll> {
        let rows: Vec<Vec<u32>> = examples.iter().map(|e| e.input_ids.clone()).collect();
        let batch = TokenBatch::padded(&rows, pad_id, Padding::Right);
        let labels: Vec<Vec<i64>> = examples.iter().map(|e| e.labels.clone()).collect();
        let (nll, _) = token_nll(self.forward(&batch, None), &labels);
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
    /// §5.1 `avg_loss`: mean NLL over all target tokens (NaN when there are none).
    pub fn avg_loss(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "token counts are small")]
        let n = self.logprobs.len() as f64;
        -self.logprobs.iter().sum::<f64>() / n
    }
}

impl LlamaForCausalLM {
    /// [`TokenStats`] of each example (right-padded batch, f32 log-softmax).
    pub fn token_stats(&self, examples: &[Encoded], pad_id: u32) -> Vec<TokenStats> {
        let rows: Vec<Vec<u32>> = examples.iter().map(|e| e.input_ids.clone()).collect();
        let batch = TokenBatch::padded(&rows, pad_id, Padding::Right);
        let logits = self.forward(&batch, None).cast(FloatDType::F32);
        let [n, seq, vocab] = logits.dims();
        let log_probs = log_softmax(logits, 2);
        let probs = log_probs.clone().exp();
        let mean: Tensor<2> = (probs.clone() * log_probs.clone())
            .sum_dim(2)
            .reshape([n, seq]);
        let second: Tensor<2> = (probs * log_probs.clone().square())
            .sum_dim(2)
            .reshape([n, seq]);
        let argmax: Vec<i64> = log_probs
            .clone()
            .argmax(2)
            .into_data()
            .iter::<i64>()
            .collect();
        // Position t predicts label t + 1: gather each position's next label (0 where none).
        let mut next = vec![0_i64; n * seq];
        for (row, example) in examples.iter().enumerate() {
            for t in 0..seq.saturating_sub(1) {
                if let Some(label) = example.labels.get(t + 1).filter(|l| **l != IGNORE_INDEX) {
                    next[row * seq + t] =
                        (*label).clamp(0, i64::try_from(vocab).unwrap_or(i64::MAX) - 1);
                }
            }
        }
        let next: Tensor<3, Int> =
            Tensor::from_data(TensorData::new(next, [n, seq, 1]), &log_probs.device());
        let host = |t: Tensor<2>| -> Vec<f32> { t.into_data().iter::<f32>().collect() };
        let picked = host(log_probs.gather(2, next).reshape([n, seq]));
        let (mean, second) = (host(mean), host(second));
        let mut out = Vec::with_capacity(n);
        for (row, example) in examples.iter().enumerate() {
            let positions: Vec<(usize, u32)> = (1..seq.min(example.labels.len()))
                .filter_map(|t| {
                    let label = example.labels[t];
                    (label != IGNORE_INDEX).then(|| (t - 1, u32::try_from(label).unwrap_or(0)))
                })
                .collect();
            let picked: Vec<f64> = positions
                .iter()
                .map(|(p, _)| f64::from(picked[row * seq + p]))
                .collect();
            let at = |values: &[f32], p: usize| f64::from(values[row * seq + p]);
            out.push(TokenStats {
                labels: positions.iter().map(|(_, l)| *l).collect(),
                logprobs: picked,
                predictions: positions
                    .iter()
                    .map(|(p, _)| u32::try_from(argmax[row * seq + p]).unwrap_or(0))
                    .collect(),
                mean_logprob: positions.iter().map(|(p, _)| at(&mean, *p)).collect(),
                var_logprob: positions
                    .iter()
                    .map(|(p, _)| {
                        let m = at(&mean, *p);
                        (at(&second, *p) - m * m).max(0.0)
                    })
                    .collect(),
            });
        }
        out
    }
}
