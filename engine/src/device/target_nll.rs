//! `-log_softmax(logits)[target]` of each row in one pass, with a backward of its own, on the
//! CPU at f32: the loss of every objective and the score of every reference and evaluation pass.
//!
//! With burn's ops this is six passes over the `[rows, vocab]` logits (max, subtract, `exp` with
//! libm's scalar `expf` per element, sum, log, subtract) and a gather, and the backward adds a
//! scatter into a zeroed `[rows, vocab]` tensor and three more passes. Here the forward reads
//! each row twice (its max, then `Σ e^(x - max)`) and keeps two numbers per row; the backward
//! writes `g · (softmax - onehot)` in one pass, recomputing the softmax from those two numbers.
//! Both vectorize (pulp's run-time dispatch; `e^x` by [`super::fused`]'s polynomial) and split
//! rows over rayon's threads when there are enough.
//!
//! The values are burn's `log_softmax` (max-shifted, the max detached) to summation order; the
//! gradient is the same function's.

use std::sync::Arc;

use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, NoCheckpointing};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, unary};
use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, Tensor, TensorData};
use rayon::prelude::*;

use super::autodiff_op::Strategy;
use super::fused::{contiguous, exp_non_positive, for_chunks, host, tensor, values};
use super::vectorized::vectorized;

/// Below this many logits one thread does the forward.
const PARALLEL_ELEMENTS: usize = 1 << 15;

/// What the backward needs of a row: its max and `ln Σ e^(x - max)`.
#[derive(Debug, Clone, Copy)]
struct RowStats {
    max: f32,
    log_sum: f32,
}

/// The NLL `[rows]` of `targets` under `logits` (`[rows, vocab]`), or `None` off the CPU at f32
/// or for a target outside the vocabulary (the caller's burn ops then report it their way).
pub fn target_nll(logits: &Tensor<2>, targets: &[usize]) -> Option<Tensor<1>> {
    let [rows, vocab] = logits.dims();
    if logits.dtype() != DType::F32
        || !super::is_cpu(&logits.device())
        || targets.len() != rows
        || targets.iter().any(|&t| t >= vocab)
    {
        return None;
    }
    if !logits.is_autodiff() {
        let plain = host(logits)?;
        let (nll, _) = forward(values(&plain), vocab, targets);
        return Some(tensor(nll, [rows]));
    }
    tracked::<NoCheckpointing>(logits, targets)
        .or_else(|| tracked::<BalancedCheckpointing>(logits, targets))
}

/// [`target_nll`] of autodiff logits under checkpointing strategy `C`, recorded with its backward.
fn tracked<C: Strategy>(logits: &Tensor<2>, targets: &[usize]) -> Option<Tensor<1>> {
    let [rows, vocab] = logits.dims();
    let (primitive, node) = C::parts(logits)?;
    let primitive = contiguous(primitive);
    let (nll, stats) = forward(values(&primitive), vocab, targets);
    let out = FlexTensor::from_data(TensorData::new(nll, [rows]));
    let saved = Saved {
        logits: primitive,
        stats: Arc::new(stats),
        targets: Arc::new(targets.to_vec()),
        vocab,
    };
    Some(C::record(NllBackward, [node], saved, out))
}

/// Each row's NLL and statistics.
fn forward(x: &[f32], vocab: usize, targets: &[usize]) -> (Vec<f32>, Vec<RowStats>) {
    let arch = pulp::Arch::new();
    let stats_of = |row| {
        vectorized(
            arch,
            #[inline(always)]
            || row_stats(row),
        )
    };
    let stats: Vec<RowStats> = if x.len() < PARALLEL_ELEMENTS {
        x.chunks_exact(vocab).map(stats_of).collect()
    } else {
        x.par_chunks_exact(vocab).map(stats_of).collect()
    };
    let nll = stats
        .iter()
        .zip(targets)
        .enumerate()
        .map(|(row, (s, &t))| -((x[row * vocab + t] - s.max) - s.log_sum))
        .collect();
    (nll, stats)
}

/// The max of `row` and `ln Σ e^(x - max)`, over sixteen lanes so that the loops vectorize.
#[inline(always)]
fn row_stats(row: &[f32]) -> RowStats {
    let chunks = row.chunks_exact(16);
    let rest = chunks.remainder();
    let mut lanes = [f32::NEG_INFINITY; 16];
    for chunk in chunks.clone() {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = lane.max(v);
        }
    }
    let max = lanes
        .iter()
        .chain(rest)
        .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut sums = [0.0f32; 16];
    for chunk in chunks {
        for (sum, &v) in sums.iter_mut().zip(chunk) {
            *sum += exp_non_positive(v - max);
        }
    }
    let sum =
        sums.iter().sum::<f32>() + rest.iter().map(|&v| exp_non_positive(v - max)).sum::<f32>();
    RowStats {
        max,
        log_sum: sum.ln(),
    }
}

/// The backward step: `d nll_r / d x_rj = softmax_rj - [j = target_r]`, times the row's gradient.
#[derive(Debug)]
struct NllBackward;

/// The forward's input and row statistics.
#[derive(Debug, Clone)]
struct Saved {
    logits: FlexTensor,
    stats: Arc<Vec<RowStats>>,
    targets: Arc<Vec<usize>>,
    vocab: usize,
}

impl Backward<Flex, 1> for NllBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Saved, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let saved = ops.state;
        unary::<Flex, _>(ops.parents, ops.node, grads, |grad| {
            let grad = contiguous(grad);
            let rows = saved.stats.len();
            let out = grad_logits(
                values(&saved.logits),
                saved.vocab,
                &saved.stats,
                &saved.targets,
                values(&grad),
            );
            FlexTensor::from_data(TensorData::new(out, [rows, saved.vocab]))
        });
    }
}

/// `g_r · (e^(x_rj - max_r - log_sum_r) - [j = target_r])` for every logit.
fn grad_logits(
    x: &[f32],
    vocab: usize,
    stats: &[RowStats],
    targets: &[usize],
    g: &[f32],
) -> Vec<f32> {
    let mut out = vec![0.0f32; x.len()];
    for_chunks(
        &mut out,
        vocab,
        #[inline(always)]
        |row, dst| {
            let (s, g) = (stats[row], g[row]);
            let src = &x[row * vocab..(row + 1) * vocab];
            for (o, &v) in dst.iter_mut().zip(src) {
                *o = g * exp_non_positive((v - s.max) - s.log_sum);
            }
            dst[targets[row]] -= g;
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use burn::tensor::activation::log_softmax;
    use burn::tensor::{Device, Distribution, Int};

    use super::*;

    fn reference(logits: Tensor<2>, targets: &[usize]) -> Tensor<1> {
        let rows = targets.len();
        let index: Vec<i64> = targets.iter().map(|&t| t as i64).collect();
        let index: Tensor<2, Int> =
            Tensor::from_data(TensorData::new(index, [rows, 1]), &logits.device());
        log_softmax(logits, 1)
            .gather(1, index)
            .reshape([rows])
            .neg()
    }

    fn floats<const D: usize>(x: Tensor<D>) -> Vec<f32> {
        x.into_data().try_into_vec::<f32>().expect("f32")
    }

    fn close(got: &[f32], expected: &[f32], tolerance: f32, what: &str) {
        assert_eq!(got.len(), expected.len(), "{what}");
        for (i, (a, b)) in got.iter().zip(expected).enumerate() {
            assert!(
                (a - b).abs() <= tolerance * (1.0 + b.abs()),
                "{what}[{i}]: {a} vs {b}"
            );
        }
    }

    /// Values and gradients against log_softmax + gather, one thread and rayon, with a weighted
    /// sum downstream so that every row's gradient differs.
    #[test]
    fn agrees_with_burns_log_softmax_and_gather() {
        for (rows, vocab) in [(3, 17), (64, 1000), (40, 4099)] {
            let device = Device::flex();
            let logits: Tensor<2> =
                Tensor::random([rows, vocab], Distribution::Normal(0.0, 4.0), &device);
            let targets: Vec<usize> = (0..rows).map(|r| (r * 7919) % vocab).collect();
            let weights: Tensor<1> =
                Tensor::random([rows], Distribution::Uniform(-1.0, 1.0), &device);

            let plain = target_nll(&logits, &targets).expect("a plain f32 CPU tensor");
            let expected = reference(logits.clone(), &targets);
            close(
                &floats(plain),
                &floats(expected.clone()),
                1e-5,
                "plain values",
            );

            let tracked = logits.clone().autodiff().require_grad();
            let ours = target_nll(&tracked, &targets).expect("an autodiff f32 CPU tensor");
            close(
                &floats(ours.clone().inner()),
                &floats(expected),
                1e-5,
                "tracked values",
            );
            let grads = (ours * weights.clone().autodiff()).sum().backward();
            let got = tracked.grad(&grads).expect("a gradient");

            let tracked = logits.autodiff().require_grad();
            let burns = reference(tracked.clone(), &targets);
            let grads = (burns * weights.autodiff()).sum().backward();
            let expected = tracked.grad(&grads).expect("a gradient");
            close(
                &floats(got),
                &floats(expected),
                1e-6,
                &format!("gradient {rows}x{vocab}"),
            );
        }
    }

    #[test]
    fn targets_outside_the_vocabulary_keep_burns_ops() {
        let logits: Tensor<2> = Tensor::zeros([2, 5], &Device::flex());
        assert!(target_nll(&logits, &[1, 5]).is_none());
        assert!(target_nll(&logits, &[1]).is_none());
    }
}
