//! Step accounting and the linear schedule exactly as HF `Trainer` (transformers 4.45.1) does them
//! for OU/BalDRO runs (spec §2.11): one epoch is one pass over the forget set, an optimizer step
//! fires every `grad_accum` micro-batches of a *global* counter, and warm-up is counted in steps.

/// How many optimizer steps a run takes, and how many of them warm up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepPlan {
    /// Micro-batches per epoch: `ceil(N_f / batch_size)`.
    pub micro_batches_per_epoch: usize,
    /// `max(1, floor(micro_batches_per_epoch / grad_accum))`.
    pub updates_per_epoch: usize,
    /// `T = ceil(epochs · updates_per_epoch)`.
    pub total_steps: usize,
    /// `W = floor(warmup_epochs · N_f / (batch_size · grad_accum))`.
    pub warmup_steps: usize,
}

impl StepPlan {
    /// The plan for `n_forget` items, per-device `batch_size`, `grad_accum`, `epochs` and
    /// `warmup_epochs` (OU/BalDRO: 1.0), on one device.
    pub fn new(
        n_forget: usize,
        batch_size: usize,
        grad_accum: usize,
        epochs: f64,
        warmup_epochs: f64,
    ) -> Self {
        let batch_size = batch_size.max(1);
        let grad_accum = grad_accum.max(1);
        let micro_batches_per_epoch = n_forget.div_ceil(batch_size);
        let updates_per_epoch = (micro_batches_per_epoch / grad_accum).max(1);
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "step counts"
        )]
        let total_steps = (epochs * updates_per_epoch as f64).ceil() as usize;
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "step counts"
        )]
        let warmup_steps =
            (warmup_epochs * n_forget as f64 / (batch_size * grad_accum) as f64).floor() as usize;
        Self {
            micro_batches_per_epoch,
            updates_per_epoch,
            total_steps,
            warmup_steps,
        }
    }
}

/// HF `get_linear_schedule_with_warmup` at optimizer step `step` (0-based): `s/max(1,W)` during
/// warm-up, then `max(0, (T-s)/max(1,T-W))`. The first update uses lr·0 whenever `W ≥ 1`.
pub fn lr_multiplier(step: usize, warmup: usize, total: usize) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "step counts")]
    let (s, w, t) = (step as f64, warmup as f64, total as f64);
    if step < warmup {
        s / w.max(1.0)
    } else {
        ((t - s) / (t - w).max(1.0)).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forget01_with_bs8_ga4_for_10_epochs_takes_10_steps() {
        // TOFU forget01 has 40 items: 5 micro-batches per epoch, floor(5/4) = 1 update per epoch.
        let plan = StepPlan::new(40, 8, 4, 10.0, 1.0);
        assert_eq!(plan.micro_batches_per_epoch, 5);
        assert_eq!(plan.total_steps, 10);
        assert_eq!(plan.warmup_steps, 1);
        // forget10 (400 items): 50 micro-batches, 12 updates per epoch, 120 steps, 12 warm-up.
        let plan = StepPlan::new(400, 8, 4, 10.0, 1.0);
        assert_eq!(
            (plan.updates_per_epoch, plan.total_steps, plan.warmup_steps),
            (12, 120, 12)
        );
    }

    #[test]
    fn the_schedule_starts_at_zero_and_decays_linearly() {
        assert_eq!(lr_multiplier(0, 1, 10), 0.0);
        assert_eq!(lr_multiplier(1, 1, 10), 1.0);
        assert!((lr_multiplier(5, 1, 10) - 5.0 / 9.0).abs() < 1e-12);
        assert_eq!(lr_multiplier(10, 1, 10), 0.0);
        assert_eq!(lr_multiplier(0, 0, 4), 1.0);
        assert!((lr_multiplier(2, 4, 12) - 0.5).abs() < 1e-12);
    }
}
