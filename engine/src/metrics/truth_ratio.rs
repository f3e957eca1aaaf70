//! Truth ratio (spec §5.4): how much more likely the perturbed (wrong) answers are than the
//! correct one, `TR = P_w / (P_c + 1e-10)` with `P_w` the geometric mean over the options, and the
//! three ways OU aggregates it.

/// `TR_i` from the correct answer's and the K options' average losses (OU's geometric form).
pub fn truth_ratio(correct_avg_loss: f64, wrong_avg_losses: &[f64]) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "a handful of options")]
    let k = wrong_avg_losses.len().max(1) as f64;
    let wrong = (-(wrong_avg_losses.iter().sum::<f64>() / k)).exp();
    let correct = (-correct_avg_loss).exp();
    wrong / (correct + 1e-10)
}

/// How per-item truth ratios become one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregator {
    /// Forget set: `mean min(TR, 1/(TR + 1e-10))`; 1 means indifferent.
    CloserTo1Better,
    /// Retain, real authors, world facts (model utility): `mean max(0, 1 - TR)`.
    TrueBetter,
}

impl Aggregator {
    /// One item's contribution.
    pub fn item(self, tr: f64) -> f64 {
        match self {
            Self::CloserTo1Better => tr.min(1.0 / (tr + 1e-10)),
            Self::TrueBetter => (1.0 - tr).max(0.0),
        }
    }

    /// The aggregate over items (non-finite ratios are skipped).
    pub fn aggregate(self, ratios: &[f64]) -> Option<f64> {
        super::probability::finite_mean(ratios.iter().map(|tr| self.item(*tr)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_test_vector() {
        // Llama-2 full, forget01 index 0 (spec §5.4).
        let tr = truth_ratio(
            2.040_714_025_497_436_5,
            &[
                2.246_780_633_926_391_6,
                2.358_944_654_464_721_7,
                2.167_720_556_259_155_3,
                2.374_383_687_973_022_5,
                2.739_814_996_719_360_4,
            ],
        );
        assert!((tr - 0.714_041_010_126_027_3).abs() < 1e-15, "{tr}");
        assert_eq!(Aggregator::TrueBetter.item(1.5), 0.0);
        assert!((Aggregator::CloserTo1Better.item(2.0) - 0.5).abs() < 1e-9);
    }
}
