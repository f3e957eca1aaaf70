//! The original TOFU repository's eval logs (locuslab/tofu `evaluate_util.py`): a directory with
//! `eval_log.json` (retain), `eval_log_forget.json`, `eval_real_author_wo_options.json` and
//! `eval_real_world_wo_options.json`, each keyed by field then item index (`avg_gt_loss`,
//! `avg_paraphrased_loss`, `average_perturb_loss`, `rougeL_recall`, `generated_text` as
//! `[input, generation, ground truth]`, ...). [`LegacyLogs::metrics`] computes what TOFU's
//! `aggregate_eval_stat.py` prints, with its conventions (spec §5.4): truth ratio as
//! `R = P_c / P_w`, `min(R, 1/R)` on the forget set and `max(0, 1 - 1/R)` elsewhere, normalised
//! probability without the epsilon, and forget quality as the KS p-value of the forget-set `R`s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::ks::{KsResult, ks_2samp};
use super::model_utility::harmonic_mean;
use super::probability::{finite_mean, normalised};
use crate::EngineError;

/// The four files and the name each aggregate carries in `expected_metrics.json`.
pub const FILES: [(&str, &str); 4] = [
    ("eval_log.json", "Retain"),
    ("eval_log_forget.json", "Forget"),
    ("eval_real_author_wo_options.json", "Real Authors"),
    ("eval_real_world_wo_options.json", "Real World"),
];

/// One model's legacy logs.
#[derive(Debug, Clone)]
pub struct LegacyLogs {
    /// The directory.
    pub dir: PathBuf,
    /// File name → parsed JSON.
    pub files: BTreeMap<&'static str, Value>,
}

/// One stored generation with its stored scores.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredGeneration {
    /// The file it came from.
    pub file: &'static str,
    /// Item index.
    pub index: usize,
    /// The model's output.
    pub generation: String,
    /// The dataset answer.
    pub ground_truth: String,
    /// Stored rouge1 recall.
    pub rouge1_recall: f64,
    /// Stored rougeL recall.
    pub rouge_l_recall: f64,
}

impl LegacyLogs {
    /// Whether `dir` looks like a legacy log directory.
    pub fn is_legacy_dir(dir: &Path) -> bool {
        dir.join("eval_log_forget.json").is_file()
    }

    /// Reads the four files of `dir`.
    pub fn read(dir: &Path) -> Result<Self, EngineError> {
        let mut files = BTreeMap::new();
        for (name, _) in FILES {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path).map_err(|source| EngineError::Io {
                path: path.clone(),
                source,
            })?;
            let value: Value =
                serde_json::from_str(&text).map_err(|e| EngineError::InvalidFile {
                    path: path.clone(),
                    reason: format!("not JSON: {e}"),
                })?;
            files.insert(name, value);
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            files,
        })
    }

    fn invalid(&self, file: &str, reason: String) -> EngineError {
        EngineError::InvalidFile {
            path: self.dir.join(file),
            reason,
        }
    }

    /// `field` of `file` as index → value, in index order.
    fn field(
        &self,
        file: &'static str,
        field: &str,
    ) -> Result<BTreeMap<usize, &Value>, EngineError> {
        let by_index = self
            .files
            .get(file)
            .and_then(|f| f.get(field))
            .and_then(Value::as_object)
            .ok_or_else(|| self.invalid(file, format!("no field `{field}`")))?;
        by_index
            .iter()
            .map(|(k, v)| {
                k.parse()
                    .map(|i| (i, v))
                    .map_err(|_| self.invalid(file, format!("{field}: key `{k}` is not an index")))
            })
            .collect()
    }

    fn numbers(
        &self,
        file: &'static str,
        field: &str,
    ) -> Result<BTreeMap<usize, f64>, EngineError> {
        self.field(file, field)?
            .into_iter()
            .map(|(i, v)| {
                v.as_f64()
                    .map(|x| (i, x))
                    .ok_or_else(|| self.invalid(file, format!("{field}.{i}: not a number")))
            })
            .collect()
    }

    fn lists(
        &self,
        file: &'static str,
        field: &str,
    ) -> Result<BTreeMap<usize, Vec<f64>>, EngineError> {
        self.field(file, field)?
            .into_iter()
            .map(|(i, v)| {
                v.as_array()
                    .and_then(|a| a.iter().map(Value::as_f64).collect::<Option<Vec<_>>>())
                    .map(|x| (i, x))
                    .ok_or_else(|| self.invalid(file, format!("{field}.{i}: not a number list")))
            })
            .collect()
    }

    /// Per-item `R = exp(mean_j avg_perturb_j - avg_paraphrased)` of `file`, by index.
    fn ratios_by_index(&self, file: &'static str) -> Result<BTreeMap<usize, f64>, EngineError> {
        let para = self.numbers(file, "avg_paraphrased_loss")?;
        let pert = self.lists(file, "average_perturb_loss")?;
        Ok(para
            .iter()
            .filter_map(|(i, p)| {
                let options = pert.get(i)?;
                #[expect(clippy::cast_precision_loss, reason = "a handful of options")]
                let mean = options.iter().sum::<f64>() / options.len().max(1) as f64;
                Some((*i, (mean - p).exp()))
            })
            .collect())
    }

    /// Per-item `R = exp(mean_j avg_perturb_j - avg_paraphrased)` of `file`.
    pub fn ratios(&self, file: &'static str) -> Result<Vec<f64>, EngineError> {
        Ok(self.ratios_by_index(file)?.into_values().collect())
    }

    /// Per item of `file`: the truth ratio recomputed from the stored losses in the log's own
    /// convention (`1/R = P_w/P_c`), beside the stored `truth_ratio` (computed in f32).
    pub fn truth_ratio_pairs(&self, file: &'static str) -> Result<Vec<(f64, f64)>, EngineError> {
        let stored = self.numbers(file, "truth_ratio")?;
        Ok(self
            .ratios_by_index(file)?
            .into_iter()
            .filter_map(|(i, r)| Some((1.0 / r, *stored.get(&i)?)))
            .collect())
    }

    /// Every stored generation of the four files with its stored ROUGE recalls.
    pub fn generations(&self) -> Result<Vec<StoredGeneration>, EngineError> {
        let mut out = Vec::new();
        for (file, _) in FILES {
            let texts = self.field(file, "generated_text")?;
            let rouge1 = self.numbers(file, "rouge1_recall")?;
            let rouge_l = self.numbers(file, "rougeL_recall")?;
            for (index, triple) in texts {
                let parts: Option<Vec<&str>> = triple
                    .as_array()
                    .and_then(|a| a.iter().map(Value::as_str).collect());
                let Some([_, generation, ground_truth]) = parts.as_deref() else {
                    return Err(self.invalid(
                        file,
                        format!(
                            "generated_text.{index}: expected [input, generation, ground truth]"
                        ),
                    ));
                };
                let (Some(r1), Some(rl)) = (rouge1.get(&index), rouge_l.get(&index)) else {
                    return Err(self.invalid(file, format!("no stored ROUGE for item {index}")));
                };
                out.push(StoredGeneration {
                    file,
                    index,
                    generation: (*generation).to_string(),
                    ground_truth: (*ground_truth).to_string(),
                    rouge1_recall: *r1,
                    rouge_l_recall: *rl,
                });
            }
        }
        Ok(out)
    }

    /// The aggregates of `aggregate_eval_stat.py`, named as in `expected_metrics.json`
    /// (`Prob. Retain`, `ROUGE Forget`, `Truth Ratio Real World`, `Model Utility`, ...), plus
    /// `Forget Quality` and `KS statistic` against `retain` when given.
    pub fn metrics(&self, retain: Option<&Self>) -> Result<BTreeMap<String, f64>, EngineError> {
        let mut out = BTreeMap::new();
        for (file, name) in FILES {
            let correct = self.numbers(file, "avg_gt_loss")?;
            let prob = if file.starts_with("eval_log") {
                finite_mean(correct.values().map(|l| (-l).exp()))
            } else {
                let wrong = self.lists(file, "average_perturb_loss")?;
                finite_mean(correct.iter().filter_map(|(i, l)| {
                    let options: Vec<f64> = wrong.get(i)?.iter().map(|w| (-w).exp()).collect();
                    Some(normalised((-l).exp(), &options, 0.0))
                }))
            };
            let rouge = finite_mean(self.numbers(file, "rougeL_recall")?.into_values());
            let ratios = self.ratios(file)?;
            let truth = if file == "eval_log_forget.json" {
                finite_mean(ratios.iter().map(|r| r.min(1.0 / r)))
            } else {
                finite_mean(ratios.iter().map(|r| (1.0 - 1.0 / r).max(0.0)))
            };
            for (label, value) in [("Prob.", prob), ("ROUGE", rouge), ("Truth Ratio", truth)] {
                if let Some(value) = value {
                    out.insert(format!("{label} {name}"), value);
                }
            }
        }
        let utility: Vec<f64> = out
            .iter()
            .filter(|(k, _)| !k.ends_with("Forget"))
            .map(|(_, v)| *v)
            .collect();
        if let Some(mu) = harmonic_mean(&utility) {
            out.insert("Model Utility".into(), mu);
        }
        if let Some(retain) = retain
            && let Some(KsResult {
                statistic, pvalue, ..
            }) = ks_2samp(
                &self.ratios("eval_log_forget.json")?,
                &retain.ratios("eval_log_forget.json")?,
            )
        {
            out.insert("Forget Quality".into(), pvalue);
            out.insert("KS statistic".into(), statistic);
        }
        Ok(out)
    }
}
