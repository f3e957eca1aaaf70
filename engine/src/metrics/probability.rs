//! Q_A_Prob and Q_A_Prob_normalised (spec §5.1–5.2): the geometric-mean per-token probability of
//! an answer, `exp(-avg_loss)`, and the correct answer's share of the probability mass among the
//! correct and the perturbed answers.

/// `exp(-avg_loss)`: the per-token geometric-mean probability of an answer.
pub fn prob(avg_loss: f64) -> f64 {
    (-avg_loss).exp()
}

/// OU's normalised probability: `p_c / (p_c + Σ_j p_j + 1e-10)` (TOFU-LEGACY: `epsilon = 0`).
pub fn normalised(correct: f64, wrong: &[f64], epsilon: f64) -> f64 {
    correct / (correct + wrong.iter().sum::<f64>() + epsilon)
}

/// The mean of the finite values, or `None` when there are none. Non-finite per-item values (an
/// answer with no scored token, spec §5.1) are skipped rather than poisoning the mean.
pub fn finite_mean(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((0.0, 0_usize), |(s, n), v| (s + v, n + 1));
    #[expect(clippy::cast_precision_loss, reason = "item counts")]
    (n > 0).then(|| sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_probability_of_the_reference_log() {
        // Llama-2-7b-chat full, ra_Q_A_Prob_normalised index 0, from the stored per-option probs.
        let correct = 0.017_843_468_114_733_696;
        let wrong = [
            0.003_429_287_811_741_233,
            0.033_687_405_288_219_45,
            0.001_169_807_044_789_195,
        ];
        let value = normalised(correct, &wrong, 1e-10);
        assert!((value - 0.317_895_566_953_743_16).abs() < 1e-12, "{value}");
        assert_eq!(finite_mean([1.0, f64::NAN, 3.0]), Some(2.0));
        assert_eq!(finite_mean([f64::INFINITY]), None);
    }
}
