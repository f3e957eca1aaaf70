//! The TOFU evaluation pass (spec §5): one teacher-forced pass per answer set and one greedy
//! generation pass per split, collected into open-unlearning's `TOFU_EVAL.json` layout so that
//! [`crate::metrics::tofu_log::EvalLog::recompute`] turns it into the aggregates. What is scored:
//!
//! | prefix | data | entries |
//! |---|---|---|
//! | `forget` | `forgetNN_perturbed` (+ `holdoutNN` for MIA) | `Q_A_Prob`, `Q_A_PARA_Prob`, `Q_A_PERT_Prob`, `truth_ratio`, `Q_A_ROUGE`, `Q_A_gibberish_heuristic` (+ `Q_A_gibberish` with the classifier), extraction strength, exact memorization, `mia_loss`, `mia_zlib`, `mia_min_k`, `mia_min_k_plus_plus` |
//! | `retain` | `retain_perturbed` | `Q_A_Prob`, `Q_A_PARA_Prob`, `Q_A_PERT_Prob`, `Truth_Ratio`, `Q_A_ROUGE` |
//! | `ra`, `wf` | `real_authors_perturbed`, `world_facts_perturbed` | `Q_A_Prob`, `Q_A_PERT_Prob`, `Q_A_Prob_normalised`, `Truth_Ratio`, `Q_A_ROUGE` |

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde_json::{Map, Value, json};

use crate::EngineError;
use crate::data::PromptTemplate;
use crate::data::tofu::{SplitPreset, TofuSource};
use crate::distilbert::Classifier;
use crate::llama::LoadedModel;
use crate::llama::score::StatsDetail;
use crate::metrics::gibberish;
use crate::metrics::probability::{finite_mean, normalised, prob};
use crate::metrics::tofu_log::EvalLog;
use crate::metrics::truth_ratio::truth_ratio;

mod mia;
mod pass;

use pass::{Pass, entry, items};

/// How to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalConfig {
    /// Prompt template (the model family's chat template, or question-answer).
    pub template: PromptTemplate,
    /// Rows per forward pass and per generation batch (OU: 32).
    pub batch_size: usize,
    /// Greedy generation length (OU: 200 new tokens).
    pub max_new_tokens: usize,
    /// Truncation of the string-path template (512).
    pub max_length: usize,
    /// Directory of the HF gibberish classifier (spec §5.9); without it only the offline
    /// detector's `forget_Q_A_gibberish_heuristic` is reported.
    pub gibberish_classifier: Option<PathBuf>,
    /// The classifier's truncation in tokens (TOFU: 32; MUSE: 512).
    pub classifier_max_length: usize,
    /// What is evaluated: everything, or the cheap subset of an evaluation during training.
    pub scope: EvalScope,
}

/// How much of TOFU one evaluation covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EvalScope {
    /// Every entry of every split.
    #[default]
    Full,
    /// The evaluation during training: the forget split's probabilities, truth ratio, ROUGE and
    /// gibberish (no memorization, no MIA, no holdout), and `utility_items` rows of each utility
    /// set, evenly spaced over it ([`spread`]), so forget quality and model utility still come
    /// out.
    During {
        /// Rows per utility set.
        utility_items: usize,
    },
    /// The forget split's entries of [`EvalScope::During`] only (no utility sets): what a
    /// robustness attack compares before and after.
    Forget,
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            template: PromptTemplate::QuestionAnswer,
            batch_size: 32,
            max_new_tokens: 200,
            max_length: 512,
            gibberish_classifier: None,
            classifier_max_length: gibberish::CLASSIFIER_MAX_LENGTH,
            scope: EvalScope::Full,
        }
    }
}

/// `k` of `rows`, evenly spaced (rows `⌊i·n/k⌋`), so a small sample still covers every author
/// of a set that lists them in order; all of them when `k ≥ n`.
pub fn spread<T>(rows: Vec<T>, k: usize) -> Vec<T> {
    let n = rows.len();
    if k >= n {
        return rows;
    }
    let picks: Vec<usize> = (0..k).map(|i| i * n / k).collect();
    rows.into_iter()
        .enumerate()
        .filter(|(index, _)| picks.binary_search(index).is_ok())
        .map(|(_, row)| row)
        .collect()
}

/// Progress of the pass: `stage` (e.g. `forget generation`) is `done` of `total` batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalProgress {
    /// What is being computed.
    pub stage: String,
    /// Batches finished in this stage.
    pub done: usize,
    /// Batches in this stage.
    pub total: usize,
}

/// Evaluates `model` on the TOFU split `preset` from `data`; `retain` (a retain model's log)
/// adds forget quality and privleak. The returned log has every `agg_value` filled.
pub fn evaluate(
    model: &LoadedModel,
    data: &TofuSource,
    preset: SplitPreset,
    config: &EvalConfig,
    retain: Option<&EvalLog>,
    on_progress: &mut dyn FnMut(&EvalProgress),
    cancel: &AtomicBool,
) -> Result<EvalLog, EngineError> {
    let tokenizer = &model.tokenizer;
    let classifier = config
        .gibberish_classifier
        .as_deref()
        .map(|dir| Classifier::load(dir, &model.model.device()))
        .transpose()?;
    let mut pass = Pass {
        model,
        config,
        on_progress,
        cancel,
        pad: tokenizer.pad_or_eos(),
    };
    let mut metrics = Map::new();
    let splits = [
        ("forget", preset.forget_perturbed()),
        ("retain", "retain_perturbed".to_string()),
        ("ra", "real_authors_perturbed".to_string()),
        ("wf", "world_facts_perturbed".to_string()),
    ];
    for (prefix, split) in splits {
        if config.scope == EvalScope::Forget && prefix != "forget" {
            continue;
        }
        let mut rows = data.read(&split)?;
        if let (EvalScope::During { utility_items }, false) = (config.scope, prefix == "forget") {
            rows = spread(rows, utility_items);
        }
        let (entry_prob, losses, stats) = pass.prob_entry(
            &format!("{prefix} probabilities"),
            &rows,
            |r| r.answer.as_str(),
            // Memorization and MIA read the forget answers' full statistics.
            if prefix == "forget" && config.scope == EvalScope::Full {
                StatsDetail::Full
            } else {
                StatsDetail::LogProbs
            },
        )?;
        metrics.insert(format!("{prefix}_Q_A_Prob"), entry_prob);
        let correct = if matches!(prefix, "forget" | "retain") {
            let (entry_para, para, _) = pass.prob_entry(
                &format!("{prefix} paraphrases"),
                &rows,
                |r| r.paraphrased_answer.as_deref().unwrap_or(r.answer.as_str()),
                StatsDetail::LogProbs,
            )?;
            metrics.insert(format!("{prefix}_Q_A_PARA_Prob"), entry_para);
            para
        } else {
            losses.clone()
        };
        let (entry_pert, pert) =
            pass.options_entry(&format!("{prefix} perturbed answers"), &rows)?;
        metrics.insert(format!("{prefix}_Q_A_PERT_Prob"), entry_pert);
        let ratios: Vec<f64> = correct
            .iter()
            .zip(&pert)
            .map(|(c, w)| truth_ratio(*c, w))
            .collect();
        let name = if prefix == "forget" {
            "forget_truth_ratio".to_string()
        } else {
            format!("{prefix}_Truth_Ratio")
        };
        metrics.insert(
            name,
            entry(items(ratios.iter().map(|tr| json!({"score": tr}))), None),
        );
        if matches!(prefix, "ra" | "wf") {
            let values: Vec<f64> = losses
                .iter()
                .zip(&pert)
                .map(|(c, w)| {
                    normalised(
                        prob(*c),
                        &w.iter().map(|x| prob(*x)).collect::<Vec<_>>(),
                        1e-10,
                    )
                })
                .collect();
            metrics.insert(
                format!("{prefix}_Q_A_Prob_normalised"),
                entry(
                    items(values.iter().map(|p| json!({"prob": p}))),
                    finite_mean(values.iter().copied()),
                ),
            );
        }
        let (entry_rouge, generations) =
            pass.rouge_entry(&format!("{prefix} generation"), &rows)?;
        metrics.insert(format!("{prefix}_Q_A_ROUGE"), entry_rouge);
        if prefix == "forget" {
            let scores = |values: Vec<f64>| {
                entry(
                    items(values.iter().map(|s| json!({"score": s}))),
                    finite_mean(values.iter().copied()),
                )
            };
            metrics.insert(
                gibberish::HEURISTIC.into(),
                scores(
                    generations
                        .iter()
                        .map(|g| gibberish::heuristic(g).score)
                        .collect(),
                ),
            );
            if let Some(classifier) = &classifier {
                (pass.on_progress)(&EvalProgress {
                    stage: "gibberish classifier".into(),
                    done: 0,
                    total: 1,
                });
                let texts: Vec<&str> = generations.iter().map(String::as_str).collect();
                let clean = gibberish::clean_index(&classifier.labels);
                let probabilities = classifier.probabilities(
                    &texts,
                    config.classifier_max_length,
                    config.batch_size,
                )?;
                metrics.insert(
                    gibberish::CLASSIFIER.into(),
                    scores(probabilities.iter().map(|p| f64::from(p[clean])).collect()),
                );
                (pass.on_progress)(&EvalProgress {
                    stage: "gibberish classifier".into(),
                    done: 1,
                    total: 1,
                });
            }
            if config.scope == EvalScope::Full {
                mia::forget_extras(&mut pass, data, preset, &rows, &stats, &mut metrics)?;
            }
        }
    }
    let mut log = EvalLog {
        path: Path::new("TOFU_EVAL.json").to_path_buf(),
        metrics,
    };
    let recomputed = log.recompute(retain)?;
    for (name, r) in recomputed {
        match log.metrics.get_mut(&name) {
            Some(Value::Object(entry)) => {
                entry.insert("agg_value".into(), json!(r.value));
            }
            Some(_) => {}
            None => {
                if r.value.is_some() {
                    log.metrics.insert(name, json!({"agg_value": r.value}));
                }
            }
        }
    }
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn spread_picks_evenly_and_keeps_short_sets_whole() {
        assert_eq!(spread((0..10).collect(), 3), [0, 3, 6]);
        assert_eq!(spread((0..24).collect(), 8), [0, 3, 6, 9, 12, 15, 18, 21]);
        assert_eq!(spread((0..4).collect(), 8), [0, 1, 2, 3]);
        assert_eq!(spread((0..4).collect::<Vec<i32>>(), 0), Vec::<i32>::new());
    }
}
