//! One query row of scaled dot-product attention against a run of keys, forward and backward:
//! the inner loops of [`super::cached_attention`] (decoding over a KV cache) and
//! [`super::sequence_attention`] (whole sequences, inference and training).
//!
//! Keys, and in the backward values, are read transposed (`[dim, stride]`: element `p` of key `j`
//! at `p * stride + j`), so that a row's scores against every key are multiply-adds along
//! contiguous memory; the weighted sums over values read `[keys, dim]` rows. Callers run these
//! inside pulp's dispatch, where the loops vectorize with AVX-512 or AVX2.
//!
//! A row reads `scores.len()` keys: callers stop at the last key the mask leaves visible, since
//! every later one would get a weight of exactly zero.

use rayon::prelude::*;

use super::fused::{dot, exp_non_positive};
use super::vectorized::vectorized;

/// `task(block)` for every block `0..blocks`, each inside pulp's dispatch (so that the row
/// kernels vectorize), on rayon's threads when `parallel` (the call pays for waking them).
pub(super) fn map_blocks<T: Send>(
    blocks: usize,
    parallel: bool,
    task: impl Fn(usize) -> T + Sync,
) -> Vec<T> {
    let arch = pulp::Arch::new();
    let run = |block| {
        vectorized(
            arch,
            #[inline(always)]
            || task(block),
        )
    };
    if parallel {
        (0..blocks).into_par_iter().map(run).collect()
    } else {
        (0..blocks).map(run).collect()
    }
}

/// A row's softmax statistics: the max of its scores and `Σ e^(s - max)`.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RowStats {
    pub max: f32,
    pub sum: f32,
}

/// The keys and values one row reads.
#[derive(Debug, Clone, Copy)]
pub(super) struct KeyValues<'a> {
    /// `[dim, stride]`.
    pub keys_t: &'a [f32],
    /// `[stride, dim]`.
    pub values: &'a [f32],
    pub stride: usize,
}

/// Keys per register block of [`products`]: four 16-lane accumulators (AVX-512; eight of 8 lanes
/// on AVX2), so that one query's multiply-adds against 64 keys run as independent chains and
/// each key element is loaded once.
const BLOCK: usize = 64;

/// Lanes of the softmax's and the products' short loops: one AVX-512 register, two of AVX2.
const LANES: usize = 16;

/// Floats a transposed key or value buffer keeps past its last row, so that [`products`] can
/// read a whole block of [`LANES`] columns at its end.
pub(super) const SLACK: usize = LANES;

/// `out[j] = Σₚ x[p] · columns[p * stride + j]` for the first `out.len()` columns.
///
/// The last partial block of 16 is computed whole and truncated where `columns` has the slack
/// (callers leave [`SLACK`] floats past their last row); the columns past `out.len()` are
/// other keys, or the next row's, and are read but never used.
#[inline(always)]
fn products(x: &[f32], columns: &[f32], stride: usize, out: &mut [f32]) {
    let mut start = 0;
    while start + BLOCK <= out.len() {
        out[start..start + BLOCK]
            .copy_from_slice(&block_products::<BLOCK>(x, columns, stride, start));
        start += BLOCK;
    }
    while start + LANES <= out.len() {
        out[start..start + LANES]
            .copy_from_slice(&block_products::<LANES>(x, columns, stride, start));
        start += LANES;
    }
    let rest = &mut out[start..];
    if rest.is_empty() {
        return;
    }
    let last = x.len().saturating_sub(1) * stride + start + LANES;
    if last <= columns.len() {
        let block = block_products::<LANES>(x, columns, stride, start);
        let len = rest.len();
        rest.copy_from_slice(&block[..len]);
        return;
    }
    rest.fill(0.0);
    for (p, &x) in x.iter().enumerate() {
        for (o, &c) in rest.iter_mut().zip(&columns[p * stride + start..]) {
            *o += x * c;
        }
    }
}

/// [`products`] for the `N` columns from `start`, accumulated in registers.
#[inline(always)]
fn block_products<const N: usize>(
    x: &[f32],
    columns: &[f32],
    stride: usize,
    start: usize,
) -> [f32; N] {
    let mut acc = [0.0f32; N];
    for (p, &x) in x.iter().enumerate() {
        for (a, &c) in acc.iter_mut().zip(&columns[p * stride + start..][..N]) {
            *a += x * c;
        }
    }
    acc
}

/// `out = Σⱼ weights[j] · rows[j]` over `[len, dim]` rows, `dim = out.len()`; the common head
/// widths accumulate in registers.
#[inline(always)]
fn weighted_rows(weights: &[f32], rows: &[f32], out: &mut [f32]) {
    match out.len() {
        16 => out.copy_from_slice(&fixed_weighted_rows::<16>(weights, rows)),
        32 => out.copy_from_slice(&fixed_weighted_rows::<32>(weights, rows)),
        64 => out.copy_from_slice(&fixed_weighted_rows::<64>(weights, rows)),
        128 => out.copy_from_slice(&fixed_weighted_rows::<128>(weights, rows)),
        dim => {
            out.fill(0.0);
            for (&weight, row) in weights.iter().zip(rows.chunks_exact(dim)) {
                for (o, &v) in out.iter_mut().zip(row) {
                    *o += weight * v;
                }
            }
        }
    }
}

#[inline(always)]
fn fixed_weighted_rows<const D: usize>(weights: &[f32], rows: &[f32]) -> [f32; D] {
    let mut acc = [0.0f32; D];
    for (&weight, row) in weights.iter().zip(rows.chunks_exact(D)) {
        for (a, &v) in acc.iter_mut().zip(row) {
            *a += weight * v;
        }
    }
    acc
}

/// `(q·kⱼ) · scale + biasⱼ` for the first `scores.len()` keys into `scores`; returns their max.
#[inline(always)]
fn scores_into(
    query: &[f32],
    keys_t: &[f32],
    stride: usize,
    bias: &[f32],
    scale: f32,
    scores: &mut [f32],
) -> f32 {
    products(query, keys_t, stride, scores);
    let mut lanes = [f32::MIN; LANES];
    let mut chunks = scores.chunks_exact_mut(LANES);
    let mut biases = bias.chunks_exact(LANES);
    for (chunk, bias) in (&mut chunks).zip(&mut biases) {
        for ((score, &bias), lane) in chunk.iter_mut().zip(bias).zip(&mut lanes) {
            *score = *score * scale + bias;
            *lane = lane.max(*score);
        }
    }
    let mut max = lanes.iter().fold(f32::MIN, |m, &v| m.max(v));
    for (score, &bias) in chunks.into_remainder().iter_mut().zip(biases.remainder()) {
        *score = *score * scale + bias;
        max = max.max(*score);
    }
    max
}

/// `scores[j] = e^(scores[j] - max)`; returns their sum. Sixteen lanes, the tail padded with
/// `-∞` (whose exponential is 0), so that every exponential is a vector one.
#[inline(always)]
fn exponentials(scores: &mut [f32], max: f32) -> f32 {
    let mut sums = [0.0f32; LANES];
    let mut chunks = scores.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        for (score, sum) in chunk.iter_mut().zip(&mut sums) {
            *score = exp_non_positive(*score - max);
            *sum += *score;
        }
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let mut tail = [f32::NEG_INFINITY; LANES];
        tail[..rest.len()].copy_from_slice(rest);
        for (score, sum) in tail.iter_mut().zip(&mut sums) {
            *score = exp_non_positive(*score - max);
            *sum += *score;
        }
        let len = rest.len();
        rest.copy_from_slice(&tail[..len]);
    }
    sums.iter().sum()
}

/// `softmax(q·kᵀ · scale + bias) · v` into `out` (`[dim]`), over `scores.len()` keys.
#[inline(always)]
pub(super) fn attend_row(
    query: &[f32],
    kv: KeyValues<'_>,
    bias: &[f32],
    scale: f32,
    scores: &mut [f32],
    out: &mut [f32],
) -> RowStats {
    let dim = out.len();
    let max = scores_into(query, kv.keys_t, kv.stride, bias, scale, scores);
    let sum = exponentials(scores, max);
    weighted_rows(scores, &kv.values[..scores.len() * dim], out);
    let inverse = 1.0 / sum;
    for o in out.iter_mut() {
        *o *= inverse;
    }
    RowStats { max, sum }
}

/// What the backward of one row reads besides [`KeyValues`]: the same keys untransposed and the
/// values transposed.
#[derive(Debug, Clone, Copy)]
pub(super) struct KeyValuesBack<'a> {
    pub kv: KeyValues<'a>,
    /// `[stride, dim]`.
    pub keys: &'a [f32],
    /// `[dim, stride]`.
    pub values_t: &'a [f32],
}

/// Where one row's backward writes: its query's gradient (overwritten) and the gradients of the
/// keys and values it read (added to).
pub(super) struct RowGrads<'a> {
    pub query: &'a mut [f32],
    pub keys: &'a mut [f32],
    pub values: &'a mut [f32],
}

/// The backward of [`attend_row`] for the output gradient `grad_out`, with the forward's `stats`:
/// `pⱼ` recomputed, `dpⱼ = g·vⱼ`, `dsⱼ = pⱼ (dpⱼ - Σ pₗ dpₗ) · scale`, then `dq = Σ dsⱼ kⱼ`,
/// `dkⱼ += dsⱼ q`, `dvⱼ += pⱼ g`. `scores` and `dp` are scratch of the row's length.
#[expect(
    clippy::too_many_arguments,
    reason = "one row's inputs, outputs and scratch"
)]
#[inline(always)]
pub(super) fn attend_row_backward(
    query: &[f32],
    back: KeyValuesBack<'_>,
    bias: &[f32],
    scale: f32,
    stats: RowStats,
    grad_out: &[f32],
    (scores, dp): (&mut [f32], &mut [f32]),
    grads: RowGrads<'_>,
) {
    let (dim, stride) = (query.len(), back.kv.stride);
    scores_into(query, back.kv.keys_t, stride, bias, scale, scores);
    exponentials(scores, stats.max);
    let inverse = 1.0 / stats.sum;
    for score in scores.iter_mut() {
        *score *= inverse;
    }
    products(grad_out, back.values_t, stride, dp);
    let delta = dot(scores, dp);
    for (d, &p) in dp.iter_mut().zip(scores.iter()) {
        *d = p * (*d - delta) * scale;
    }
    weighted_rows(dp, &back.keys[..dp.len() * dim], grads.query);
    let key_grads = grads.keys.chunks_exact_mut(dim);
    let value_grads = grads.values.chunks_exact_mut(dim);
    for (((&ds, &p), key_grad), value_grad) in
        dp.iter().zip(scores.iter()).zip(key_grads).zip(value_grads)
    {
        for ((gk, &q), (gv, &g)) in key_grad
            .iter_mut()
            .zip(query)
            .zip(value_grad.iter_mut().zip(grad_out))
        {
            *gk += ds * q;
            *gv += p * g;
        }
    }
}
