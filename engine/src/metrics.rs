//! TOFU metrics (spec §5), one per file, as pure reductions over per-item statistics:
//! [`probability`] (Q_A_Prob, normalised), [`rouge`] (ROUGE-L / rouge1 recall with rouge-score's
//! tokeniser and NLTK's Porter stemmer), [`truth_ratio`], [`ks`] (forget quality's exact KS
//! p-value), [`model_utility`] (harmonic mean of 9), [`extraction`] (extraction strength, exact
//! memorization), [`privleak`] (MIA AUC) and [`gibberish`] (classifier P(clean) and the offline
//! detector). [`tofu_log`] reads and recomputes open-unlearning's
//! `TOFU_EVAL.json`; [`legacy`] the original TOFU repository's logs.

pub mod extraction;
pub mod gibberish;
pub mod ks;
pub mod legacy;
pub mod model_utility;
pub mod privleak;
pub mod probability;
pub mod rouge;
pub mod tofu_log;
pub mod truth_ratio;
