//! MIA AUC and privleak (spec §5.8): `roc_auc_score` with the forget set labelled 0 and the
//! holdout set 1, and the relative AUC gap to the retain model.

/// `sklearn.metrics.roc_auc_score` for forget (label 0) vs holdout (label 1) scores: the
/// probability that a holdout score exceeds a forget score, ties counting one half.
pub fn roc_auc(forget: &[f64], holdout: &[f64]) -> Option<f64> {
    if forget.is_empty() || holdout.is_empty() {
        return None;
    }
    // Mann–Whitney U by average ranks over the pooled, sorted scores.
    let mut pooled: Vec<(f64, bool)> = forget
        .iter()
        .map(|s| (*s, false))
        .chain(holdout.iter().map(|s| (*s, true)))
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pooled.len() {
        let mut j = i;
        while j + 1 < pooled.len() && pooled[j + 1].0 == pooled[i].0 {
            j += 1;
        }
        #[expect(clippy::cast_precision_loss, reason = "ranks")]
        let rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += rank * pooled[i..=j].iter().filter(|p| p.1).count() as f64;
        i = j + 1;
    }
    #[expect(clippy::cast_precision_loss, reason = "set sizes")]
    let (n0, n1) = (forget.len() as f64, holdout.len() as f64);
    Some((rank_sum - n1 * (n1 + 1.0) / 2.0) / (n0 * n1))
}

/// `((1 - AUC) - (1 - AUC_retain)) / ((1 - AUC_retain) + 1e-10) · 100`; the retain AUC defaults
/// to 0.5 when no retain log is given.
pub fn privleak(auc: f64, retain_auc: Option<f64>) -> f64 {
    let reference = 1.0 - retain_auc.unwrap_or(0.5);
    ((1.0 - auc) - reference) / (reference + 1e-10) * 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_as_half_and_privleak_matches_the_reference_logs() {
        assert_eq!(roc_auc(&[1.0, 2.0], &[3.0, 4.0]), Some(1.0));
        assert_eq!(roc_auc(&[3.0, 4.0], &[1.0, 2.0]), Some(0.0));
        assert_eq!(roc_auc(&[1.0, 2.0], &[2.0, 1.0]), Some(0.5));
        assert_eq!(roc_auc(&[], &[1.0]), None);
        // Llama-2-7b-chat: full model AUC 1.0 against the retain99 model's 0.50375.
        assert!((privleak(1.0, Some(0.50375)) - -99.999_999_979_848_87).abs() < 1e-9);
        assert!((privleak(0.50375, None) - -0.749_999_999_850_006_2).abs() < 1e-9);
    }
}
