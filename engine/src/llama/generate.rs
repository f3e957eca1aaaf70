//! Greedy decoding with a KV cache and left padding, as transformers' `generate(do_sample=False)`:
//! a finished row keeps receiving the pad id (and an attended position) until every row is done.

use burn::tensor::Tensor;

use super::batch::{Padding, TokenBatch};
use super::model::LlamaForCausalLM;
use crate::device::on_pool;

/// When to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    /// At most this many new tokens per row.
    pub max_new_tokens: usize,
    /// Ids that end a row (EOS, end-of-turn); the stop id itself is not returned.
    pub stop_ids: Vec<u32>,
    /// Fills left padding and the steps after a row has stopped.
    pub pad_id: u32,
    /// Reuse keys/values (the default); `false` recomputes the whole prefix every step.
    pub use_cache: bool,
}

/// One row's continuation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    /// New token ids, without the stop id.
    pub new_ids: Vec<u32>,
    /// Whether a stop id ended the row (otherwise `max_new_tokens` did).
    pub stopped: bool,
}

/// The argmax id at the last position of every row.
fn last_argmax(logits: Tensor<3>) -> Vec<u32> {
    let [batch, _, vocab] = logits.dims();
    logits
        .reshape([batch, vocab])
        .argmax(1)
        .into_data()
        .iter::<i64>()
        .map(|id| u32::try_from(id).unwrap_or(0))
        .collect()
}

impl LlamaForCausalLM {
    /// Logits of the last position only (`[batch, 1, vocab]`): the prefill never projects the
    /// prompt's other positions onto the vocabulary.
    fn last_logits(&self, batch: &TokenBatch, cache: Option<&mut super::KvCache>) -> Tensor<3> {
        let hidden = self.forward_hidden(batch, cache);
        let seq = hidden.dims()[1];
        self.logits(hidden.narrow(1, seq - 1, 1))
    }

    /// Greedy continuations of `prompts` (batched, left-padded); on the CPU on rayon's pool
    /// ([`crate::device::on_pool`]).
    pub fn generate(&self, prompts: &[Vec<u32>], options: &GenerateOptions) -> Vec<Generation> {
        on_pool(&self.device(), || self.generate_here(prompts, options))
    }

    fn generate_here(&self, prompts: &[Vec<u32>], options: &GenerateOptions) -> Vec<Generation> {
        let rows = prompts.len();
        let mut out = vec![
            Generation {
                new_ids: Vec::new(),
                stopped: false,
            };
            rows
        ];
        if rows == 0 || options.max_new_tokens == 0 {
            return out;
        }
        let prompt = TokenBatch::padded(prompts, options.pad_id, Padding::Left);
        let mut cache = self.new_cache(rows);
        let mut sequence = prompt.clone();
        let mut next = if options.use_cache {
            last_argmax(self.last_logits(&prompt, Some(&mut cache)))
        } else {
            last_argmax(self.last_logits(&prompt, None))
        };
        for step in 0..options.max_new_tokens {
            for (row, id) in next.iter_mut().enumerate() {
                let generation = &mut out[row];
                if generation.stopped {
                    *id = options.pad_id;
                } else if options.stop_ids.contains(id) {
                    generation.stopped = true;
                    *id = options.pad_id;
                } else {
                    generation.new_ids.push(*id);
                }
            }
            if step + 1 == options.max_new_tokens || out.iter().all(|row| row.stopped) {
                break;
            }
            let step_batch = TokenBatch {
                ids: next.clone(),
                mask: vec![true; rows],
                batch: rows,
                seq: 1,
            };
            next = if options.use_cache {
                last_argmax(self.last_logits(&step_batch, Some(&mut cache)))
            } else {
                sequence = append_column(&sequence, &next);
                last_argmax(self.last_logits(&sequence, None))
            };
        }
        out
    }
}

fn append_column(batch: &TokenBatch, column: &[u32]) -> TokenBatch {
    let seq = batch.seq + 1;
    let mut ids = Vec::with_capacity(batch.batch * seq);
    let mut mask = Vec::with_capacity(batch.batch * seq);
    for (row, id) in column.iter().enumerate() {
        ids.extend_from_slice(&batch.ids[row * batch.seq..(row + 1) * batch.seq]);
        ids.push(*id);
        mask.extend_from_slice(batch.mask_row(row));
        mask.push(true);
    }
    TokenBatch {
        ids,
        mask,
        batch: batch.batch,
        seq,
    }
}
