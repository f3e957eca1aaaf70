//! Model utility (spec §5.6): the harmonic mean of the 9 retain-side numbers, as
//! `scipy.stats.hmean` computes it (0 when any of them is 0).

/// The 9 TOFU_EVAL keys model utility is the harmonic mean of, in OU's order.
pub const COMPONENTS: [&str; 9] = [
    "retain_Q_A_Prob",
    "retain_Q_A_ROUGE",
    "retain_Truth_Ratio",
    "ra_Q_A_Prob_normalised",
    "ra_Q_A_ROUGE",
    "ra_Truth_Ratio",
    "wf_Q_A_Prob_normalised",
    "wf_Q_A_ROUGE",
    "wf_Truth_Ratio",
];

/// `n / Σ 1/v`, 0 if any value is 0; `None` for no values or a negative one.
pub fn harmonic_mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() || values.iter().any(|v| *v < 0.0 || v.is_nan()) {
        return None;
    }
    if values.contains(&0.0) {
        return Some(0.0);
    }
    #[expect(clippy::cast_precision_loss, reason = "a handful of values")]
    let n = values.len() as f64;
    Some(n / values.iter().map(|v| 1.0 / v).sum::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harmonic_mean_like_scipy() {
        assert_eq!(harmonic_mean(&[1.0, 0.0, 2.0]), Some(0.0));
        assert_eq!(harmonic_mean(&[]), None);
        let value = harmonic_mean(&[1.0, 2.0, 4.0]).unwrap_or_default();
        assert!((value - 12.0 / 7.0).abs() < 1e-15);
    }
}
