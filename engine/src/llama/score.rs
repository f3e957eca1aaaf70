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
