//! Names in open-unlearning's `TOFU_EVAL.json` that the UI reads: the headline metrics and the
//! nine model-utility inputs (UNLEARNING_SPEC §5.5), with the labels a results table shows.

/// One input of model utility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MuComponent {
    /// Metric name in `TOFU_EVAL.json`.
    pub key: &'static str,
    /// The evaluation set (`Retain`, `Real authors`, `World facts`).
    pub set: &'static str,
    /// The measurement (`Probability`, `ROUGE-L recall`, `Truth ratio`).
    pub measure: &'static str,
}

const fn mu(key: &'static str, set: &'static str, measure: &'static str) -> MuComponent {
    MuComponent { key, set, measure }
}

/// Model utility is the harmonic mean of these nine numbers.
pub const MU_COMPONENTS: [MuComponent; 9] = [
    mu("retain_Q_A_Prob", "Retain", "Probability"),
    mu("retain_Q_A_ROUGE", "Retain", "ROUGE-L recall"),
    mu("retain_Truth_Ratio", "Retain", "Truth ratio"),
    mu("ra_Q_A_Prob_normalised", "Real authors", "Probability"),
    mu("ra_Q_A_ROUGE", "Real authors", "ROUGE-L recall"),
    mu("ra_Truth_Ratio", "Real authors", "Truth ratio"),
    mu("wf_Q_A_Prob_normalised", "World facts", "Probability"),
    mu("wf_Q_A_ROUGE", "World facts", "ROUGE-L recall"),
    mu("wf_Truth_Ratio", "World facts", "Truth ratio"),
];

/// Forget quality: the KS-test p-value of the forget truth ratios against the retain model's.
pub const FORGET_QUALITY: &str = "forget_quality";
/// Model utility: the harmonic mean of [`MU_COMPONENTS`].
pub const MODEL_UTILITY: &str = "model_utility";
/// Per-item forget truth ratios (the KS test's samples).
pub const FORGET_TRUTH_RATIO: &str = "forget_truth_ratio";
/// Gibberish: the classifier's mean P(clean) of the forget generations.
pub const GIBBERISH: &str = "forget_Q_A_gibberish";
/// Gibberish from the offline detector (not comparable with published numbers).
pub const GIBBERISH_HEURISTIC: &str = "forget_Q_A_gibberish_heuristic";
/// The ROUGE entries that hold (question, ground truth, generation) rows, with their set labels.
pub const ROUGE_SETS: [(&str, &str); 4] = [
    ("forget_Q_A_ROUGE", "Forget"),
    ("retain_Q_A_ROUGE", "Retain"),
    ("ra_Q_A_ROUGE", "Real authors"),
    ("wf_Q_A_ROUGE", "World facts"),
];
/// The other headline metrics a result page lists after FQ and MU, with their labels.
pub const HEADLINE: [(&str, &str); 8] = [
    ("forget_Q_A_Prob", "Forget probability"),
    ("forget_Q_A_ROUGE", "Forget ROUGE-L recall"),
    ("forget_truth_ratio", "Forget truth ratio"),
    ("extraction_strength", "Extraction strength"),
    ("privleak", "Privleak"),
    ("forget_success", "Forget success (BalDRO)"),
    (GIBBERISH, "Gibberish P(clean)"),
    (GIBBERISH_HEURISTIC, "Gibberish, offline detector"),
];
