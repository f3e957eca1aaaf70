//! Element-wise chains in one pass each, for inference passes on the CPU: RMSNorm and RoPE (with
//! the `[batch, seq, heads, dim] → [batch, heads, seq, dim]` transpose folded in); and the pieces
//! the other CPU kernels share (host buffers, chunked dispatch, a vectorized `e^x`).
//!
//! burn writes each op of a chain into a buffer of its own, one thread at a time: RMSNorm is six
//! ops, RoPE five plus a transposing copy. Here one loop reads the input once and writes the
//! output once, split over rayon's threads when the tensor is large enough to pay for the
//! wake-up. The loops are plain arithmetic compiled inside pulp's run-time dispatch, so they
//! vectorize with AVX-512 or AVX2 where the processor has them. Each function returns `None`
//! where it does not apply (autodiff tensors, other dtypes, GPU devices), and the caller keeps
//! burn's ops, which training needs for its gradients. `silu(gate) · up` is in [`super::swiglu`],
//! with a backward of its own.

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, Tensor, TensorData};
use rayon::prelude::*;

use super::vectorized::vectorized;

/// Below this many output elements one thread does the whole chain.
pub(super) const PARALLEL_ELEMENTS: usize = 1 << 15;

/// `x`'s storage as a contiguous host f32 tensor, or `None` off the plain CPU device at f32.
pub(super) fn host<const D: usize>(x: &Tensor<D>) -> Option<FlexTensor> {
    if x.dtype() != DType::F32 || x.is_autodiff() || !super::is_cpu(&x.device()) {
        return None;
    }
    let x = x.clone().try_into_primitive::<Flex>().ok()?;
    Some(contiguous(x))
}

/// `x` itself when its storage is contiguous, else a contiguous copy.
pub(super) fn contiguous(x: FlexTensor) -> FlexTensor {
    if x.layout().is_contiguous() {
        x
    } else {
        x.to_contiguous()
    }
}

/// The elements of a contiguous `x`.
pub(super) fn values(x: &FlexTensor) -> &[f32] {
    let start = x.layout().start_offset();
    &x.storage::<f32>()[start..start + x.layout().num_elements()]
}

/// Runs `body` over `out` in chunks of `chunk` elements (the last may be shorter), on rayon's
/// threads when `out` is large, inside pulp's dispatch so that the loops vectorize.
pub(super) fn for_chunks(out: &mut [f32], chunk: usize, body: impl Fn(usize, &mut [f32]) + Sync) {
    let chunk = chunk.max(1);
    let arch = pulp::Arch::new();
    if out.len() < PARALLEL_ELEMENTS {
        vectorized(
            arch,
            #[inline(always)]
            || {
                for (index, part) in out.chunks_mut(chunk).enumerate() {
                    body(index, part);
                }
            },
        );
    } else {
        // Enough chunks per task that each thread gets a few large pieces.
        let per_task = (PARALLEL_ELEMENTS / 4 / chunk).max(1);
        out.par_chunks_mut(chunk)
            .enumerate()
            .with_min_len(per_task)
            .for_each(|(index, part)| {
                vectorized(
                    arch,
                    #[inline(always)]
                    || body(index, part),
                )
            });
    }
}

/// A host f32 tensor of `shape` holding `values`.
pub(super) fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> Tensor<D> {
    Tensor::from_primitive::<Flex>(FlexTensor::from_data(TensorData::new(values, shape)))
}

/// `weight * x / sqrt(mean(x²) + eps)` over the last dimension, in the order burn's ops compute
/// it (mean, plus eps, square root, reciprocal, product with `x`, product with `weight`).
pub fn rms_norm<const D: usize>(x: &Tensor<D>, weight: &Tensor<1>, eps: f64) -> Option<Tensor<D>> {
    let shape = x.dims();
    let width = shape[D - 1];
    let (x_host, w_host) = (host(x)?, host(weight)?);
    let (x_values, w_values) = (values(&x_host), values(&w_host));
    if w_values.len() != width || width == 0 {
        return None;
    }
    #[expect(clippy::cast_possible_truncation, reason = "burn adds eps as an f32")]
    let eps = eps as f32;
    #[expect(clippy::cast_precision_loss, reason = "widths are far below 2^24")]
    let count = width as f32;
    let mut out = vec![0.0f32; x_values.len()];
    for_chunks(
        &mut out,
        width,
        #[inline(always)]
        |row, dst| {
            let src = &x_values[row * width..(row + 1) * width];
            let inv_rms = 1.0 / (sum_of_squares(src) / count + eps).sqrt();
            for ((o, &v), &w) in dst.iter_mut().zip(src).zip(w_values) {
                *o = (v * inv_rms) * w;
            }
        },
    );
    Some(tensor(out, shape))
}

/// Σ v² with sixteen partial sums, so that the loop vectorizes.
#[inline(always)]
pub(super) fn sum_of_squares(row: &[f32]) -> f32 {
    dot(row, row)
}

/// `Σ a[j] · b[j]` with sixteen partial sums, so that the loop vectorizes.
#[inline(always)]
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0.0f32; 16];
    let (chunks_a, chunks_b) = (a.chunks_exact(16), b.chunks_exact(16));
    let rest: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in chunks_a.zip(chunks_b) {
        for ((sum, &x), &y) in sums.iter_mut().zip(x).zip(y) {
            *sum += x * y;
        }
    }
    sums.iter().sum::<f32>() + rest
}

/// `e^t` for `t ≤ 0`, in arithmetic that vectorizes (libm's `expf` is a call per element):
/// `t = n·ln 2 + r` with `|r| ≤ ln 2 / 2`, `e^r` by Cephes' degree-6 polynomial (within 2 ulp),
/// `2^n` written into the exponent bits. Below -87 (where `e^t` < 1.7e-38, past the normal
/// floats) the result is 0: a sigmoid is 0 or 1 there to f32 precision, and a masked attention
/// score (`f32::MIN`) gets no weight at all.
#[inline(always)]
pub(super) fn exp_non_positive(t: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 in two parts, so that `n · LN2_HIGH` is exact.
    const LN2_HIGH: f32 = 0.693_359_4;
    const LN2_LOW: f32 = -2.121_944_4e-4;
    // Adding 1.5 · 2^23 rounds to the nearest integer, which lands in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    let clamped = t.max(-87.0);
    let rounded = clamped * LOG2_E + ROUND;
    let n = rounded - ROUND;
    let r = clamped - n * LN2_HIGH - n * LN2_LOW;
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    // `n + 127` (n in [-126, 0]) from the bits, in integer lanes: a float-to-int `as` saturates,
    // which LLVM scalarizes, one conversion and two compares per lane.
    let exponent = rounded
        .to_bits()
        .wrapping_sub(ROUND.to_bits())
        .wrapping_add(127);
    let e = e_r * f32::from_bits(exponent << 23);
    if t > -87.0 { e } else { 0.0 }
}

/// RoPE (`x · cos + rotate_half(x) · sin`, HF's half-split layout) of `x` `[batch, seq, heads,
/// dim]` with tables `[batch, 1, seq, dim]`, returned as `[batch, heads, seq, dim]`: the
/// attention's layout, so the transpose costs no pass of its own.
pub fn rope(x: &Tensor<4>, cos: &Tensor<4>, sin: &Tensor<4>) -> Option<Tensor<4>> {
    let [batch, seq, heads, dim] = x.dims();
    if cos.dims() != [batch, 1, seq, dim] || sin.dims() != cos.dims() || dim % 2 != 0 {
        return None;
    }
    let (x_host, cos_host, sin_host) = (host(x)?, host(cos)?, host(sin)?);
    let (x, cos, sin) = (values(&x_host), values(&cos_host), values(&sin_host));
    let half = dim / 2;
    let mut out = vec![0.0f32; x.len()];
    // One chunk per (row, head): `[seq, dim]` of the output.
    for_chunks(
        &mut out,
        seq * dim,
        #[inline(always)]
        |index, dst| {
            let (row, head) = (index / heads, index % heads);
            for (position, dst) in dst.chunks_exact_mut(dim).enumerate() {
                let at = (row * seq + position) * dim;
                let (cos, sin) = (&cos[at..at + dim], &sin[at..at + dim]);
                let src = &x[((row * seq + position) * heads + head) * dim..][..dim];
                let (first, second) = src.split_at(half);
                let (out_first, out_second) = dst.split_at_mut(half);
                for i in 0..half {
                    out_first[i] = first[i] * cos[i] + (-second[i]) * sin[i];
                    out_second[i] = second[i] * cos[half + i] + first[i] * sin[half + i];
                }
            }
        },
    );
    Some(tensor(out, [batch, heads, seq, dim]))
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Distribution};

    use super::*;

    fn random<const D: usize>(shape: [usize; D], scale: f64) -> Tensor<D> {
        Tensor::random(shape, Distribution::Normal(0.0, scale), &Device::flex())
    }

    fn max_difference<const D: usize>(got: Tensor<D>, expected: Tensor<D>) -> f32 {
        assert_eq!(got.dims(), expected.dims());
        (got - expected).abs().max().into_scalar()
    }

    /// Small (one thread) and large (rayon) shapes, widths with and without a ragged tail.
    #[test]
    fn rms_norm_agrees_with_burns_ops() {
        for (rows, width) in [(3, 64), (5, 70), (600, 576)] {
            let x = random([rows, 1, width], 2.0);
            let weight = random([width], 1.0);
            let eps = 1e-6;
            let inv = (x.clone().square().mean_dim(2) + eps).sqrt().recip();
            let expected = x.clone() * inv * weight.clone().unsqueeze();
            let got = rms_norm(&x, &weight, eps).expect("a plain f32 CPU tensor");
            assert!(max_difference(got, expected) < 1e-5, "{rows}x{width}");
        }
    }

    /// Against the separate ops on the transposed input.
    #[test]
    fn rope_agrees_with_burns_ops_and_transposes() {
        let inv_freq: Vec<f32> = (0..8)
            .map(|i| 1.0 / 10_000f32.powf(i as f32 / 8.0))
            .collect();
        for (batch, seq, heads) in [(1, 3, 2), (8, 74, 4)] {
            let positions: Vec<usize> = (0..batch * seq).map(|i| i % seq + 2).collect();
            let tables = crate::llama::rope::RopeTables::new(
                &inv_freq,
                &positions,
                batch,
                seq,
                &Device::flex(),
            );
            let x = random([batch, seq, heads, 16], 1.0);
            let expected = tables.apply_separately(x.clone().swap_dims(1, 2));
            let got = rope(&x, &tables.cos, &tables.sin).expect("a plain f32 CPU tensor");
            assert_eq!(max_difference(got, expected), 0.0, "{batch}x{seq}x{heads}");
        }
    }

    #[test]
    fn autodiff_tensors_keep_burns_ops() {
        let x = random([4, 8], 1.0).autodiff().require_grad();
        assert!(rms_norm(&x, &random([8], 1.0), 1e-6).is_none());
    }
}
