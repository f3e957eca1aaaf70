//! Gibberish scores of the forget-set generations (spec §5.9). Two metrics, never mixed:
//!
//! - [`CLASSIFIER`] (`forget_Q_A_gibberish`): open-unlearning's metric, the mean P(clean) of the
//!   HF classifier `madhurjindal/autonlp-Gibberish-Detector-492513457` over the generations,
//!   truncated to 32 classifier tokens. Computed by [`crate::distilbert::Classifier`] when the
//!   user gives its directory (`lethe eval --gibberish-model DIR`).
//! - [`HEURISTIC`] (`forget_Q_A_gibberish_heuristic`): an offline detector for hosts without
//!   that model, defined below. It is a different instrument: its numbers are not comparable
//!   with the classifier's or with published `forget_Q_A_gibberish` values, so it is reported
//!   under its own name.
//!
//! # The heuristic (version 1)
//! Both scores read "higher is better" in [0, 1]. For one generation:
//! `score = clean_chars × plausible_words × diversity`, and 0 for an empty generation (a model
//! that answers nothing has not produced clean text).
//! - `clean_chars`: the fraction of non-whitespace characters that are letters (any script),
//!   digits or ordinary punctuation ``.,;:!?'"()-–—&/%$``. It catches noise such as `#@^~|{}`.
//! - `plausible_words`: the fraction of words (maximal runs of letters or digits) that could be
//!   words: numbers, or at most 20 letters with no letter three times in a row, no run of more
//!   than 5 consonants, and a vowel (`aeiouy`) unless at most 3 letters long. It catches
//!   keyboard mash (`zzzzz`, `xxcv`, `qwrtplk`).
//! - `diversity`: `min(1, 2 × distinct word bigrams / word bigrams)` for 4 or more words, and
//!   one for shorter texts. Ordinary prose repeats few bigrams (1); a phrase said three times
//!   scores about 0.7; a degenerate loop (`the the the …`) about 0.2.
//!
//! What it does not see: fluent-looking word salad made of real words, which the classifier's
//! `word salad` class is for. Use the classifier for published comparisons.

/// The open-unlearning metric name (classifier P(clean)).
pub const CLASSIFIER: &str = "forget_Q_A_gibberish";

/// The offline detector's metric name.
pub const HEURISTIC: &str = "forget_Q_A_gibberish_heuristic";

/// The classifier's truncation for TOFU (512 in the MUSE variant).
pub const CLASSIFIER_MAX_LENGTH: usize = 32;

/// The three factors of the heuristic score and their product.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Heuristic {
    /// Fraction of non-whitespace characters that are letters, digits or ordinary punctuation.
    pub clean_chars: f64,
    /// Fraction of words that could be words.
    pub plausible_words: f64,
    /// Bigram diversity, capped at 1.
    pub diversity: f64,
    /// `clean_chars × plausible_words × diversity` (0 for empty text).
    pub score: f64,
}

fn ordinary_punctuation(c: char) -> bool {
    ".,;:!?'\"()-\u{2013}\u{2014}&/%$\u{2019}\u{201c}\u{201d}".contains(c)
}

fn plausible(word: &str) -> bool {
    if word.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    let letters: Vec<char> = word.chars().flat_map(char::to_lowercase).collect();
    if letters.len() > 20 {
        return false;
    }
    let vowel = |c: char| "aeiouyàáâäèéêëìíîïòóôöùúûüý".contains(c) || !c.is_ascii();
    let (mut consonants, mut same, mut longest_consonants, mut longest_same) = (0, 0, 0, 0);
    let mut previous = None;
    for &c in &letters {
        consonants = if vowel(c) || c.is_ascii_digit() {
            0
        } else {
            consonants + 1
        };
        same = if previous == Some(c) { same + 1 } else { 1 };
        previous = Some(c);
        longest_consonants = longest_consonants.max(consonants);
        longest_same = longest_same.max(same);
    }
    longest_same < 3
        && longest_consonants <= 5
        && (letters.len() <= 3 || letters.iter().any(|c| vowel(*c)))
}

#[expect(clippy::cast_precision_loss, reason = "counts of one generation")]
fn fraction(hits: usize, total: usize) -> f64 {
    if total == 0 {
        1.0
    } else {
        hits as f64 / total as f64
    }
}

/// The offline detector's score of one generation (see the module docs).
pub fn heuristic(text: &str) -> Heuristic {
    let visible: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    if visible.is_empty() {
        return Heuristic {
            clean_chars: 0.0,
            plausible_words: 0.0,
            diversity: 0.0,
            score: 0.0,
        };
    }
    let clean = visible
        .iter()
        .filter(|c| c.is_alphanumeric() || ordinary_punctuation(**c))
        .count();
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let good = words.iter().filter(|w| plausible(w)).count();
    let diversity = if words.len() >= 4 {
        let bigrams: Vec<(&str, &str)> = words
            .windows(2)
            .map(|w| (w[0].as_str(), w[1].as_str()))
            .collect();
        let distinct: std::collections::BTreeSet<_> = bigrams.iter().collect();
        (2.0 * fraction(distinct.len(), bigrams.len())).min(1.0)
    } else {
        1.0
    };
    let clean_chars = fraction(clean, visible.len());
    let plausible_words = fraction(good, words.len());
    Heuristic {
        clean_chars,
        plausible_words,
        diversity,
        score: clean_chars * plausible_words * diversity,
    }
}

/// Index of the "clean" class in a classifier's labels (spec: 0).
pub fn clean_index(labels: &[String]) -> usize {
    labels
        .iter()
        .position(|label| label.eq_ignore_ascii_case("clean"))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_is_clean() {
        for text in [
            "The author was born in Paris in 1953 and wrote three mystery novels.",
            "Jaime Vasquez's father was a chef; his mother, a well-known journalist.",
            "I don't know.",
            "Strengths: 42%.",
        ] {
            let h = heuristic(text);
            assert!(h.score > 0.99, "{text}: {h:?}");
        }
    }

    #[test]
    fn noise_mash_and_loops_score_low() {
        assert_eq!(heuristic("").score, 0.0);
        assert_eq!(heuristic("   \n").score, 0.0);
        let mash = heuristic("zzzzz xxcv qwrtplk");
        assert_eq!(mash.plausible_words, 0.0, "{mash:?}");
        let noise = heuristic("#@^~|{} <<>> ^^^");
        assert_eq!(noise.clean_chars, 0.0, "{noise:?}");
        let looped = heuristic("the the the the the the the the the the");
        assert!((looped.diversity - 2.0 / 9.0).abs() < 1e-12, "{looped:?}");
        let repeated = heuristic("I don't know. I don't know. I don't know.");
        assert!(
            repeated.diversity > 0.5 && repeated.diversity < 1.0,
            "{repeated:?}"
        );
        let mixed = heuristic("The author zzzzz wrote xxcv books");
        assert!(
            (mixed.plausible_words - 4.0 / 6.0).abs() < 1e-12,
            "{mixed:?}"
        );
    }

    #[test]
    fn the_clean_class_is_found_by_name() {
        let labels: Vec<String> = ["noise", "clean"].map(String::from).to_vec();
        assert_eq!(clean_index(&labels), 1);
        assert_eq!(clean_index(&["LABEL_0".to_string()]), 0);
    }
}
