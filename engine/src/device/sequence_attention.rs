//! Attention over a whole sequence on the CPU at f32, with a backward of its own: every forward
//! and training pass without a KV cache.
//!
//! With burn's ops a training pass writes the `[batch, heads, seq, keys]` scores, adds the mask,
//! runs the softmax (libm's scalar `expf` per element, masked entries included) and multiplies
//! by the values, each into a fresh buffer, and the backward walks the same chain back. burn's
//! fused `attention` op, which inference used, computes each score and `exp` one scalar at a
//! time. Here one task per (row, key/value head) transposes that head's keys once and runs
//! `attention_rows` for the query heads sharing it: scores, softmax and weighted values
//! in one vectorized pass per query, stopping at the last key the mask leaves visible (the causal
//! half is never computed). The forward keeps each query's max and sum; the backward recomputes
//! the probabilities from them instead of storing `[batch, heads, seq, keys]`.
//!
//! Training devices with and without gradient checkpointing record it the same way
//! (`autodiff_op`); other dtypes and GPU devices return `None` and keep burn's ops.

use std::sync::Arc;

use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, NoCheckpointing};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, Tensor, TensorData};

use super::attention_rows::{
    KeyValues, KeyValuesBack, RowGrads, RowStats, SLACK, attend_row, attend_row_backward,
    map_blocks,
};
use super::autodiff_op::Strategy;
use super::fused::{contiguous, host, tensor, values};

/// Below this many multiply-adds (scores side) one thread runs every block.
const PARALLEL_WORK: usize = 1 << 16;

/// `softmax(q·kᵀ · scale + mask) · v` with `q` `[batch, heads, seq, dim]`, `k` and `v`
/// `[batch, kv_heads, keys, dim]` and the additive `mask` `[batch, 1, seq, keys]`, returned as
/// `[batch, seq, heads * dim]` (the layout the output projection takes), or `None` where the
/// kernel does not apply.
pub fn attend(
    q: &Tensor<4>,
    k: &Tensor<4>,
    v: &Tensor<4>,
    mask: &Tensor<4>,
    scale: f64,
) -> Option<Tensor<3>> {
    let [batch, heads, seq, dim] = q.dims();
    let [_, kv_heads, keys, _] = k.dims();
    let shapes_fit = k.dims() == [batch, kv_heads, keys, dim]
        && v.dims() == k.dims()
        && mask.dims() == [batch, 1, seq, keys]
        && kv_heads > 0
        && heads % kv_heads == 0
        && keys > 0;
    if !shapes_fit
        || [q, k, v, mask].iter().any(|t| t.dtype() != DType::F32)
        || !super::is_cpu(&q.device())
    {
        return None;
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "burn scales f32 scores by an f32"
    )]
    let dims = Dims {
        batch,
        heads,
        kv_heads,
        seq,
        keys,
        dim,
        scale: scale as f32,
    };
    let out_shape = [batch, seq, heads * dim];
    if !q.is_autodiff() {
        let (q, k, v, mask) = (host(q)?, host(k)?, host(v)?, host(mask)?);
        let (out, _) = forward(&dims, [&q, &k, &v, &mask].map(values));
        return Some(tensor(out, out_shape));
    }
    tracked::<NoCheckpointing>(dims, [q, k, v, mask])
        .or_else(|| tracked::<BalancedCheckpointing>(dims, [q, k, v, mask]))
}

/// [`attend`] on autodiff tensors under checkpointing strategy `C`, recorded with its backward.
fn tracked<C: Strategy>(dims: Dims, [q, k, v, mask]: [&Tensor<4>; 4]) -> Option<Tensor<3>> {
    let parts = |t: &Tensor<4>| C::parts(t).map(|(primitive, node)| (contiguous(primitive), node));
    let ((q, q_node), (k, k_node), (v, v_node)) = (parts(q)?, parts(k)?, parts(v)?);
    // The mask is a constant: its node, if it has one, is left out of the graph.
    let mask = if mask.is_autodiff() {
        parts(mask)?.0
    } else {
        host(mask)?
    };
    let (out, stats) = forward(&dims, [&q, &k, &v, &mask].map(values));
    let out = FlexTensor::from_data(TensorData::new(
        out,
        [dims.batch, dims.seq, dims.heads * dims.dim],
    ));
    let saved = Saved {
        dims,
        inputs: [q, k, v, mask],
        stats: Arc::new(stats),
    };
    Some(C::record(
        AttentionBackward,
        [q_node, k_node, v_node],
        saved,
        out,
    ))
}

/// The sizes of one attention call.
#[derive(Debug, Clone, Copy)]
struct Dims {
    batch: usize,
    heads: usize,
    kv_heads: usize,
    seq: usize,
    keys: usize,
    dim: usize,
    scale: f32,
}

impl Dims {
    fn group(&self) -> usize {
        self.heads / self.kv_heads
    }

    fn blocks(&self) -> usize {
        self.batch * self.kv_heads
    }

    /// Runs `task` for every (row, key/value head) block, on rayon's threads when the call is
    /// large enough to pay for waking them.
    fn map_blocks<T: Send>(&self, task: impl Fn(usize) -> T + Sync) -> Vec<T> {
        let work = self.batch * self.heads * self.seq * self.keys * self.dim;
        map_blocks(self.blocks(), work >= PARALLEL_WORK, task)
    }

    /// Query `index` of `block`'s task (`[group, seq]` in the task's order): its batch row, head
    /// and position.
    fn query(&self, block: usize, index: usize) -> (usize, usize, usize) {
        let (row, kv_head) = (block / self.kv_heads, block % self.kv_heads);
        (
            row,
            kv_head * self.group() + index / self.seq,
            index % self.seq,
        )
    }

    /// The part of `mask`'s row for (`row`, `position`) that a pass reads: up to the last visible
    /// key, or all of them when none is (the softmax is then uniform, as burn's is).
    fn bias<'a>(&self, mask: &'a [f32], row: usize, position: usize) -> &'a [f32] {
        let bias = &mask[(row * self.seq + position) * self.keys..][..self.keys];
        let visible = bias
            .iter()
            .rposition(|&b| b > f32::MIN)
            .map_or(bias.len(), |last| last + 1);
        &bias[..visible]
    }
}

/// A block's `[keys, dim]` slab of `k` or `v` (`[batch, kv_heads, keys, dim]`).
fn slab<'a>(dims: &Dims, x: &'a [f32], block: usize) -> &'a [f32] {
    let size = dims.keys * dims.dim;
    &x[block * size..][..size]
}

/// `[keys, dim]` → `[dim, keys]`, with [`SLACK`] zeros after it for the row kernels' last block.
fn transposed(x: &[f32], keys: usize, dim: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; x.len() + SLACK];
    // Row by row of the output: contiguous writes, reads one cache line per key.
    for (p, row) in out.chunks_exact_mut(keys).take(dim).enumerate() {
        for (o, &value) in row.iter_mut().zip(x[p..].iter().step_by(dim)) {
            *o = value;
        }
    }
    out
}

/// The output `[batch, seq, heads * dim]` and each query's statistics (`[batch, heads, seq]`).
fn forward(dims: &Dims, [q, k, v, mask]: [&[f32]; 4]) -> (Vec<f32>, Vec<RowStats>) {
    let Dims {
        heads,
        seq,
        keys,
        dim,
        scale,
        ..
    } = *dims;
    let group = dims.group();
    let parts = dims.map_blocks(
        #[inline(always)]
        |block| {
            let keys_t = transposed(slab(dims, k, block), keys, dim);
            let kv = KeyValues {
                keys_t: &keys_t,
                values: slab(dims, v, block),
                stride: keys,
            };
            let mut out = vec![0.0f32; group * seq * dim];
            let mut stats = vec![RowStats::default(); group * seq];
            let mut scores = vec![0.0f32; keys];
            for (index, (out, stats)) in out.chunks_exact_mut(dim).zip(&mut stats).enumerate() {
                let (row, head, position) = dims.query(block, index);
                let query = &q[((row * heads + head) * seq + position) * dim..][..dim];
                let bias = dims.bias(mask, row, position);
                let scores = &mut scores[..bias.len()];
                *stats = attend_row(query, kv, bias, scale, scores, out);
            }
            (out, stats)
        },
    );
    let width = heads * dim;
    let mut out = vec![0.0f32; dims.batch * seq * width];
    let mut all_stats = vec![RowStats::default(); dims.batch * heads * seq];
    for (block, (part, stats)) in parts.iter().enumerate() {
        // A task's queries are consecutive in `[batch, heads, seq]`, from its first head on.
        let (row, first_head, _) = dims.query(block, 0);
        let first = (row * heads + first_head) * seq;
        all_stats[first..first + group * seq].copy_from_slice(stats);
        for (index, values) in part.chunks_exact(dim).enumerate() {
            let (row, head, position) = dims.query(block, index);
            out[(row * seq + position) * width + head * dim..][..dim].copy_from_slice(values);
        }
    }
    (out, all_stats)
}

/// The gradients of `q`, `k` and `v`, in their shapes, for the output gradient `grad`.
fn backward(saved: &Saved, grad: &[f32]) -> [Vec<f32>; 3] {
    let dims = &saved.dims;
    let Dims {
        heads,
        seq,
        keys,
        dim,
        scale,
        ..
    } = *dims;
    let group = dims.group();
    let [q, k, v, mask] = saved.inputs.each_ref().map(values);
    let width = heads * dim;
    let parts = dims.map_blocks(
        #[inline(always)]
        |block| {
            let (key_slab, value_slab) = (slab(dims, k, block), slab(dims, v, block));
            let (keys_t, values_t) = (
                transposed(key_slab, keys, dim),
                transposed(value_slab, keys, dim),
            );
            let back = KeyValuesBack {
                kv: KeyValues {
                    keys_t: &keys_t,
                    values: value_slab,
                    stride: keys,
                },
                keys: key_slab,
                values_t: &values_t,
            };
            let mut grad_q = vec![0.0f32; group * seq * dim];
            let (mut grad_k, mut grad_v) = (vec![0.0f32; keys * dim], vec![0.0f32; keys * dim]);
            let (mut scores, mut dp) = (vec![0.0f32; keys], vec![0.0f32; keys]);
            for (index, grad_query) in grad_q.chunks_exact_mut(dim).enumerate() {
                let (row, head, position) = dims.query(block, index);
                let at = (row * heads + head) * seq + position;
                let query = &q[at * dim..][..dim];
                let bias = dims.bias(mask, row, position);
                let len = bias.len();
                let grad_out = &grad[(row * seq + position) * width + head * dim..][..dim];
                attend_row_backward(
                    query,
                    back,
                    bias,
                    scale,
                    saved.stats[at],
                    grad_out,
                    (&mut scores[..len], &mut dp[..len]),
                    RowGrads {
                        query: grad_query,
                        keys: &mut grad_k[..len * dim],
                        values: &mut grad_v[..len * dim],
                    },
                );
            }
            (grad_q, grad_k, grad_v)
        },
    );
    let mut grad_q = vec![0.0f32; q.len()];
    let (mut grad_k, mut grad_v) = (vec![0.0f32; k.len()], vec![0.0f32; v.len()]);
    let (head_size, slab_size) = (seq * dim, keys * dim);
    for (block, (part_q, part_k, part_v)) in parts.into_iter().enumerate() {
        let (row, first_head, _) = dims.query(block, 0);
        let first = (row * heads + first_head) * head_size;
        grad_q[first..first + group * head_size].copy_from_slice(&part_q);
        grad_k[block * slab_size..][..slab_size].copy_from_slice(&part_k);
        grad_v[block * slab_size..][..slab_size].copy_from_slice(&part_v);
    }
    [grad_q, grad_k, grad_v]
}

/// The backward step of [`attend`].
#[derive(Debug)]
struct AttentionBackward;

/// The forward's inputs (`q`, `k`, `v`, `mask`, contiguous) and each query's statistics.
#[derive(Debug, Clone)]
struct Saved {
    dims: Dims,
    inputs: [FlexTensor; 4],
    stats: Arc<Vec<RowStats>>,
}

impl Backward<Flex, 3> for AttentionBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = contiguous(grads.consume::<Flex>(&ops.node));
        let saved = ops.state;
        let shapes = saved.inputs.each_ref().map(|x| x.layout().shape().clone());
        let computed = backward(&saved, values(&grad));
        for ((parent, values), shape) in ops.parents.into_iter().zip(computed).zip(shapes) {
            if let Some(parent) = parent {
                let data = TensorData::new(values, shape);
                grads.register::<Flex>(parent.id, FlexTensor::from_data(data));
            }
        }
    }
}

#[cfg(test)]
#[path = "sequence_attention_tests.rs"]
mod tests;
