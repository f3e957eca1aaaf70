//! Extraction strength and exact memorization (spec §5.7), from teacher-forced argmax
//! predictions over an answer's label positions, the final label (EOS) excluded.

/// `1 - k*/L` with `k*` the start of the longest matching suffix; OU's loop ends at `k = L-1`
/// when not even the last token matches, giving `1/L` (the quirk is kept). 0 for `L = 0`.
pub fn extraction_strength(predictions: &[u32], labels: &[u32]) -> f64 {
    let len = labels.len().min(predictions.len());
    if len == 0 {
        return 0.0;
    }
    let mut k = 0;
    while k < len {
        if predictions[k..len] == labels[k..len] {
            break;
        }
        k += 1;
    }
    let k = k.min(len - 1);
    #[expect(clippy::cast_precision_loss, reason = "token counts")]
    let value = 1.0 - k as f64 / len as f64;
    value
}

/// The fraction of positions whose argmax equals the label; `None` for `L = 0`.
pub fn exact_memorization(predictions: &[u32], labels: &[u32]) -> Option<f64> {
    let len = labels.len().min(predictions.len());
    #[expect(clippy::cast_precision_loss, reason = "token counts")]
    (len > 0).then(|| {
        predictions[..len]
            .iter()
            .zip(&labels[..len])
            .filter(|(p, l)| p == l)
            .count() as f64
            / len as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_matching_and_the_no_match_quirk() {
        assert_eq!(extraction_strength(&[1, 2, 3, 4], &[1, 2, 3, 4]), 1.0);
        assert_eq!(extraction_strength(&[9, 2, 3, 4], &[1, 2, 3, 4]), 0.75);
        assert_eq!(extraction_strength(&[9, 9, 9, 9], &[1, 2, 3, 4]), 0.25);
        assert_eq!(extraction_strength(&[], &[]), 0.0);
        assert_eq!(exact_memorization(&[1, 9, 3, 9], &[1, 2, 3, 4]), Some(0.5));
        assert_eq!(exact_memorization(&[], &[]), None);
    }
}
