//! Matrix products with few rows on the CPU: decoding, where every sequence adds one token, so
//! each projection multiplies `batch` rows by a whole weight matrix.
//!
//! gemm (burn-flex's matrix product) packs the weight before every product. With 8 rows the
//! packing costs as much as the arithmetic, and gemm reached 0.2–0.45 of MKL's speed at those
//! shapes (docs/PERFORMANCE.md). The kernel here reads the weight where it lies, in the order the
//! prefetcher follows, and splits the output columns over rayon's threads. Everything else (more
//! rows, autodiff, half precision, quantized weights, GPU devices, processors without AVX2+FMA)
//! goes to burn's ops unchanged.

use burn::backend::Flex;
use burn::nn::Linear;
use burn::tensor::{DType, Tensor};
use rayon::prelude::*;

mod kernel;

use kernel::{Form, Panel};

/// Products with at most this many rows take the kernel. With the weights streaming from memory
/// as in a decoding step (`engine/benches/few_rows.rs`, `streaming`), it beats gemm by 1.2–2.5×
/// from 1 to 32 rows; past that the arithmetic, where gemm is stronger, takes over.
pub const MAX_ROWS: usize = 32;

/// Below this many multiply-adds one thread does the whole product.
const PARALLEL_WORK: usize = 1 << 19;

/// `layer.forward(x)`, through the few-rows kernel when `x` has at most [`MAX_ROWS`] rows.
pub fn linear(layer: &Linear, x: Tensor<3>) -> Tensor<3> {
    let [batch, seq, width] = x.dims();
    if batch * seq <= MAX_ROWS {
        let rows = x.clone().reshape([batch * seq, width]);
        if let Some(out) = product(rows, layer.weight.val(), false) {
            let out = match &layer.bias {
                Some(bias) => out + bias.val().unsqueeze_dim(0),
                None => out,
            };
            let out_width = out.dims()[1];
            return out.reshape([batch, seq, out_width]);
        }
    }
    layer.forward(x)
}

/// `x · wᵀ` (`x` `[m, k]`, `w` `[n, k]`), through the few-rows kernel when `m ≤ MAX_ROWS`.
pub fn matmul_transposed(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    if x.dims()[0] <= MAX_ROWS
        && let Some(out) = product(x.clone(), w.clone(), true)
    {
        return out;
    }
    x.matmul(w.transpose())
}

/// `x · w` (or `x · wᵀ` when `transposed`) on the kernel, or `None` where it does not apply.
fn product(x: Tensor<2>, w: Tensor<2>, transposed: bool) -> Option<Tensor<2>> {
    if w.dtype() != DType::F32 || !Panel::supported() {
        return None;
    }
    let [m, k] = x.dims();
    // `None` for autodiff tensors (both conversions): training keeps burn's ops and gradients.
    let x = super::fused::host(&x)?;
    let x_data = super::fused::values(&x);
    let w = w.try_into_primitive::<Flex>().ok()?;

    // The weight as `[k, n]` or `[n, k]` row-major, whichever its strides are.
    let (rows, cols, row_stride, col_stride) = w.layout().as_2d_strides()?;
    let row_major = col_stride == 1 && usize::try_from(row_stride).ok() == Some(cols);
    let col_major = row_stride == 1 && usize::try_from(col_stride).ok() == Some(rows);
    let form = match (transposed, row_major, col_major) {
        (false, true, _) | (true, _, true) => Form::KByN,
        (false, _, true) | (true, true, _) => Form::NByK,
        _ => return None,
    };
    let n = if transposed { rows } else { cols };
    if (if transposed { cols } else { rows }) != k || k == 0 || n == 0 {
        return None;
    }
    let w_start = w.layout().start_offset();
    let w_data = &w.storage::<f32>()[w_start..w_start + k * n];

    let panels = if m * k * n < PARALLEL_WORK {
        1
    } else {
        rayon::current_num_threads()
    };
    // Panels a multiple of 32 columns wide, so that only the last has a ragged edge.
    let panel_width = n.div_ceil(panels).div_ceil(32) * 32;
    let starts: Vec<usize> = (0..n).step_by(panel_width.max(1)).collect();
    let parts = starts
        .par_iter()
        .map(|&start| {
            Panel {
                x: x_data,
                m,
                k,
                n,
                w: w_data,
                form,
                cols: start..(start + panel_width).min(n),
            }
            .run()
        })
        .collect::<Option<Vec<Vec<f32>>>>()?;

    let mut out = vec![0.0f32; m * n];
    for (&start, part) in starts.iter().zip(&parts) {
        let width = part.len() / m.max(1);
        for row in 0..m {
            out[row * n + start..row * n + start + width]
                .copy_from_slice(&part[row * width..(row + 1) * width]);
        }
    }
    Some(super::fused::tensor(out, [m, n]))
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Distribution};

    use super::*;

    fn random(shape: [usize; 2]) -> Tensor<2> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), &Device::flex())
    }

    fn max_difference(got: Tensor<2>, expected: &Tensor<2>) -> f32 {
        (got - expected.clone()).abs().max().into_scalar()
    }

    /// Every row count up to past the limit, ragged column counts, both weight layouts and a
    /// transposed view: the kernel agrees with burn's matmul.
    #[test]
    fn the_kernel_agrees_with_burns_matmul() {
        for m in [1, 3, 8, 9, 17, 32, 33] {
            for (k, n) in [(64, 96), (70, 45), (576, 1536)] {
                let x = random([m, k]);
                let w = random([k, n]);
                let expected = x.clone().matmul(w.clone());

                let layer = Linear {
                    weight: burn::module::Param::from_tensor(w.clone()),
                    bias: None,
                };
                let got = linear(&layer, x.clone().reshape([m, 1, k])).reshape([m, n]);
                assert!(max_difference(got, &expected) < 1e-3, "linear {m}x{k}x{n}");
                let bias =
                    Tensor::<1>::random([n], Distribution::Normal(0.0, 1.0), &Device::flex());
                let biased = Linear {
                    weight: layer.weight.clone(),
                    bias: Some(burn::module::Param::from_tensor(bias.clone())),
                };
                let got = linear(&biased, x.clone().reshape([m, 1, k])).reshape([m, n]);
                let expected_biased = expected.clone() + bias.unsqueeze_dim(0);
                assert!(
                    max_difference(got, &expected_biased) < 1e-3,
                    "biased linear {m}x{k}x{n}"
                );

                let wt = w.transpose();
                let got = matmul_transposed(x.clone(), wt.clone());
                assert!(max_difference(got, &expected) < 1e-3, "view {m}x{k}x{n}");
                // The same weight stored `[n, k]` (a contiguous copy of the view).
                let stored = Tensor::<2>::from_data(wt.into_data(), &Device::flex());
                let got = matmul_transposed(x, stored);
                assert!(max_difference(got, &expected) < 1e-3, "stored {m}x{k}x{n}");
            }
        }
    }

    /// A product the kernel handles comes back from [`product`], not from the fallback; autodiff
    /// inputs do not apply.
    #[test]
    fn few_rows_take_the_kernel_and_autodiff_does_not() {
        assert_eq!(
            product(random([8, 64]), random([64, 32]), false).is_some(),
            Panel::supported()
        );
        let x = random([8, 64]).autodiff().require_grad();
        assert!(
            product(x, random([64, 32]), false).is_none(),
            "autodiff inputs keep burn's ops"
        );
    }
}
