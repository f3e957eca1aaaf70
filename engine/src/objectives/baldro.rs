//! BalDRO (arXiv 2601.09172; code: nxZhai/BalDRO `src/trainer/utils.py`, spec §3) as a wrapper over
//! any objective.
//!
//! - BalDRO-DV: `DV_τ(ℓ) = -τ·(logsumexp(-ℓ/τ) - log m)` over the method's units; its gradient is
//!   `Σ softmax(-ℓ/τ)_j ∇ℓ_j`. The released code is this soft-*min* ([`Direction::SoftMin`], the
//!   default, reproduces the released configs); the paper's sup is the soft-max
//!   `τ·(logsumexp(ℓ/τ) - log m)` ([`Direction::SoftMax`]).
//! - BalDRO-G: keep the `k = max(1, ⌊ρ·B⌋)` forget rows with the smallest mean NLL (least
//!   forgotten), and a random `min(k, B_r)` retain rows.
//!
//! DrWGA: the fork applies DV to `compute_wga_loss`'s already-averaged scalar, so its weights are a
//! single 1 and DrWGA equals WGA. Here WGA's unit is the token, so DV really reweights it.

use burn::tensor::Tensor;

use super::token_loss::host;
use super::{ForgetTerm, ObjectiveBatch};

/// Which way DV leans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Largest weight on the smallest loss (the released BalDRO code).
    #[default]
    SoftMin,
    /// Largest weight on the largest loss (the paper's `sup`).
    SoftMax,
}

/// How forget losses are pooled over a micro-batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Wrapper {
    /// The base method's own mean.
    None,
    /// BalDRO-DV with temperature `tau`.
    Dv {
        /// τ > 0; τ → ∞ is the plain mean.
        tau: f64,
        /// Soft-min (code) or soft-max (paper).
        direction: Direction,
    },
    /// BalDRO-G keeping a `ratio` of the micro-batch.
    Group {
        /// ρ in (0, 1].
        ratio: f64,
    },
}

/// `(DV value [1], weights over the valid units)`.
pub fn dv(term: &ForgetTerm, tau: f64, direction: Direction) -> (Tensor<1>, Vec<f64>) {
    let sign = match direction {
        Direction::SoftMin => -1.0,
        Direction::SoftMax => 1.0,
    };
    let invalid = term.mask.clone().equal_elem(0.0);
    // Invalid units get a very negative exponent: exp(·) = 0, so they count neither in the sum nor m.
    let z = term
        .values
        .clone()
        .mul_scalar(sign / tau)
        .mask_fill(invalid, -1e30);
    let max = z.clone().detach().max();
    let lse = (z.clone() - max.clone()).exp().sum().log() + max;
    #[expect(clippy::cast_precision_loss, reason = "unit counts are small")]
    let log_m = (term.count.max(1) as f64).ln();
    let value = lse.clone().sub_scalar(log_m).mul_scalar(sign * tau);
    let weights = (z - lse.detach()).exp();
    let mask = host(term.mask.clone());
    let weights = host(weights)
        .into_iter()
        .zip(mask)
        .filter(|(_, valid)| *valid > 0.5)
        .map(|(weight, _)| weight)
        .collect();
    (value, weights)
}

/// A tiny deterministic generator (splitmix64) for the retain draw; seeded per step by the trainer.
pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `k` distinct indices of `0..n`, uniformly (partial Fisher–Yates).
pub fn sample_without_replacement(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut state = seed;
    let mut pool: Vec<usize> = (0..n).collect();
    for i in 0..k.min(n) {
        let span = u64::try_from(n - i).unwrap_or(1);
        let j = i + usize::try_from(splitmix(&mut state) % span).unwrap_or(0);
        pool.swap(i, j);
    }
    pool.truncate(k.min(n));
    pool
}

/// BalDRO-G: the sub-batch of the `k` least-forgotten forget rows (largest `-M`, in `torch.topk`
/// order: descending, ties to the lower index) and `min(k, B_r)` retain rows.
pub fn group_select(
    batch: &ObjectiveBatch,
    ratio: f64,
    seed: u64,
    retain_rows: Option<&[usize]>,
) -> (ObjectiveBatch, Vec<usize>, Vec<usize>) {
    let rows = batch.forget.batch();
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "k <= batch"
    )]
    let k = ((rows as f64 * ratio).floor() as usize).clamp(1, rows.max(1));
    let hardness: Vec<f64> = host(batch.forget.means().detach())
        .into_iter()
        .map(|m| -m)
        .collect();
    let mut order: Vec<usize> = (0..rows).collect();
    order.sort_by(|a, b| hardness[*b].total_cmp(&hardness[*a]).then(a.cmp(b)));
    order.truncate(k);
    let retain_count = k.min(batch.retain.batch());
    let retain_rows = retain_rows.map_or_else(
        || sample_without_replacement(batch.retain.batch(), retain_count, seed),
        <[usize]>::to_vec,
    );
    let sub = ObjectiveBatch {
        forget: batch.forget.select(&order),
        forget_ref: batch.forget_ref.as_ref().map(|r| r.select(&order)),
        retain: batch.retain.select(&retain_rows),
        win: batch.win.as_ref().map(|w| w.select(&order)),
        win_ref: batch.win_ref.as_ref().map(|w| w.select(&order)),
        retain_logits: batch.retain_logits.as_ref().map(|(policy, reference)| {
            let index = burn::tensor::Tensor::<1, burn::tensor::Int>::from_data(
                burn::tensor::TensorData::new(
                    retain_rows
                        .iter()
                        .map(|r| i64::try_from(*r).unwrap_or(0))
                        .collect::<Vec<_>>(),
                    [retain_rows.len()],
                ),
                &policy.device(),
            );
            (
                policy.clone().select(0, index.clone()),
                reference.clone().select(0, index),
            )
        }),
    };
    (sub, order, retain_rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeviceSpec;
    use crate::objectives::constant;

    fn term(values: &[f32]) -> ForgetTerm {
        let device = DeviceSpec::Cpu.device().unwrap();
        ForgetTerm::samples(constant(values.to_vec(), &device))
    }

    #[test]
    fn dv_weights_match_the_worked_example_and_limits() {
        // Spec §3.3: ℓ = (1, 5), τ = 1 gives weights (0.982, 0.018).
        let (_, weights) = dv(&term(&[1.0, 5.0]), 1.0, Direction::SoftMin);
        assert!(
            (weights[0] - 0.982).abs() < 1e-3 && (weights[1] - 0.018).abs() < 1e-3,
            "{weights:?}"
        );
        let (_, weights) = dv(&term(&[1.0, 5.0]), 1.0, Direction::SoftMax);
        assert!(weights[1] > 0.98, "{weights:?}");
        // Uniform losses give uniform weights and DV equals the loss.
        let (value, weights) = dv(&term(&[2.5, 2.5, 2.5, 2.5]), 0.7, Direction::SoftMin);
        assert!(weights.iter().all(|w| (w - 0.25).abs() < 1e-6));
        assert!((host(value)[0] - 2.5).abs() < 1e-5);
        // τ → ∞ is the mean (τ = 1e3: bias var/2τ = 2.3e-3; in f32 a larger τ only adds
        // cancellation error); τ → 0 the minimum.
        let (value, _) = dv(&term(&[1.0, 2.0, 6.0]), 1e3, Direction::SoftMin);
        let value = host(value)[0];
        assert!((value - 3.0).abs() < 5e-3, "{value}");
        let (value, _) = dv(&term(&[1.0, 2.0, 6.0]), 1e-3, Direction::SoftMin);
        assert!((host(value)[0] - 1.0).abs() < 1e-2);
    }

    #[test]
    fn retain_draws_are_distinct_and_seeded() {
        let a = sample_without_replacement(10, 4, 7);
        assert_eq!(a, sample_without_replacement(10, 4, 7));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 4);
        assert!(a.iter().all(|i| *i < 10));
    }
}
