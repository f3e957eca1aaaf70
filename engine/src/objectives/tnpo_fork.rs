//! TNPO as the BalDRO fork codes it (annahuynhly/BalDRO `compute_tnpo_loss`, spec §2.8 FORK
//! variant, the form the seed study used): weights `2·p^β / (p^β + p_ref^β)` are **not** detached
//! and have no epsilon, and the reduction is per sequence, `ℓ(x) = -(1/max(1,n))·Σ w·c`; β = 0.1.

use burn::tensor::{Tensor, TensorData};

use super::ForgetTerm;
use super::token_loss::TokenNll;

/// Per-sequence fork-TNPO losses.
pub fn forget_term(forget: &TokenNll, reference: &TokenNll, beta: f64) -> ForgetTerm {
    let p_beta = forget.nll.clone().mul_scalar(-beta).exp();
    let p_ref_beta = reference.nll.clone().mul_scalar(-beta).exp();
    let weight = p_beta.clone().mul_scalar(2.0) / (p_beta + p_ref_beta);
    let batch = forget.batch();
    let sums = (weight * forget.nll.clone()).sum_dim(1).reshape([batch]);
    #[expect(clippy::cast_precision_loss, reason = "token counts are small")]
    let counts: Vec<f32> = forget.counts.iter().map(|n| (*n).max(1) as f32).collect();
    let counts = Tensor::from_data(TensorData::new(counts, [batch]), &sums.device());
    ForgetTerm::samples((sums / counts).neg())
}
