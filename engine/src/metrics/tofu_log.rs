//! open-unlearning's `TOFU_EVAL.json` (spec §5.5): a JSON object keyed by metric name, each
//! `{"agg_value", "value_by_index": {"<idx>": {...}}}` (MIA entries hold `forget`, `holdout` and
//! `auc`), and `TOFU_SUMMARY.json`, the flat map from metric name to `agg_value`.
//! [`EvalLog::recompute`] rebuilds every aggregate from the per-item values, the way OU computes
//! it, so a published log can be checked against itself and against a retain model's log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::gibberish;
use super::ks::ks_2samp;
use super::model_utility::{COMPONENTS, harmonic_mean};
use super::privleak::{privleak, roc_auc};
use super::probability::{finite_mean, normalised};
use super::truth_ratio::{Aggregator, truth_ratio};
use crate::EngineError;

/// One parsed `TOFU_EVAL.json`.
#[derive(Debug, Clone)]
pub struct EvalLog {
    /// Where it was read from (for errors).
    pub path: PathBuf,
    /// The metrics, by name.
    pub metrics: serde_json::Map<String, Value>,
}

/// A recomputed aggregate beside the one the log stores.
#[derive(Debug, Clone, PartialEq)]
pub struct Recomputed {
    /// From the per-item values; `None` when the inputs are missing (e.g. no retain log for
    /// forget quality).
    pub value: Option<f64>,
    /// The log's `agg_value`, if any.
    pub stored: Option<f64>,
}

impl Recomputed {
    /// Whether both exist and differ by more than `rel` relative (and 1e-12 absolute).
    pub fn disagrees(&self, rel: f64) -> bool {
        match (self.value, self.stored) {
            (Some(a), Some(b)) => (a - b).abs() > rel * a.abs().max(b.abs()) + 1e-12,
            (None, Some(_)) | (Some(_), None) | (None, None) => false,
        }
    }
}

fn number(value: &Value) -> Option<f64> {
    value.as_f64()
}

impl EvalLog {
    /// Reads `path` (a `TOFU_EVAL.json`).
    pub fn read(path: &Path) -> Result<Self, EngineError> {
        let text = std::fs::read_to_string(path).map_err(|source| EngineError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses the text of a log read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, EngineError> {
        let invalid = |reason: String| EngineError::InvalidFile {
            path: path.to_path_buf(),
            reason,
        };
        let value: Value =
            serde_json::from_str(text).map_err(|e| invalid(format!("not JSON: {e}")))?;
        let Value::Object(metrics) = value else {
            return Err(invalid("expected an object keyed by metric name".into()));
        };
        Ok(Self {
            path: path.to_path_buf(),
            metrics,
        })
    }

    fn invalid(&self, reason: String) -> EngineError {
        EngineError::InvalidFile {
            path: self.path.clone(),
            reason,
        }
    }

    /// The stored `agg_value` of `metric`.
    pub fn stored(&self, metric: &str) -> Option<f64> {
        self.metrics.get(metric)?.get("agg_value").and_then(number)
    }

    /// `metric`'s per-item objects by integer index, or `None` if the log lacks it.
    pub fn items(&self, metric: &str) -> Result<Option<BTreeMap<usize, &Value>>, EngineError> {
        let Some(entry) = self.metrics.get(metric) else {
            return Ok(None);
        };
        let Some(Value::Object(by_index)) = entry.get("value_by_index") else {
            return Ok(None);
        };
        by_index
            .iter()
            .map(|(index, item)| {
                index.parse::<usize>().map(|i| (i, item)).map_err(|_| {
                    self.invalid(format!(
                        "{metric}.value_by_index: key `{index}` is not an index"
                    ))
                })
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// One numeric field of every item of `metric`, or `None` if the log lacks the metric.
    pub fn field(
        &self,
        metric: &str,
        field: &str,
    ) -> Result<Option<BTreeMap<usize, f64>>, EngineError> {
        let Some(items) = self.items(metric)? else {
            return Ok(None);
        };
        items
            .into_iter()
            .map(|(i, item)| {
                item.get(field)
                    .and_then(number)
                    .map(|v| (i, v))
                    .ok_or_else(|| {
                        self.invalid(format!("{metric}.value_by_index.{i}: no number `{field}`"))
                    })
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// A list field (the perturbed options) of every item of `metric`.
    pub fn list_field(
        &self,
        metric: &str,
        field: &str,
    ) -> Result<Option<BTreeMap<usize, Vec<f64>>>, EngineError> {
        let Some(items) = self.items(metric)? else {
            return Ok(None);
        };
        items
            .into_iter()
            .map(|(i, item)| {
                let list = match item.get(field) {
                    Some(Value::Array(values)) => {
                        values.iter().map(number).collect::<Option<Vec<_>>>()
                    }
                    Some(other) => number(other).map(|v| vec![v]),
                    None => None,
                };
                list.map(|v| (i, v)).ok_or_else(|| {
                    self.invalid(format!(
                        "{metric}.value_by_index.{i}: no number list `{field}`"
                    ))
                })
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// Per-item truth ratios of the split with `prefix` (`forget`, `retain`, `ra`, `wf`): the
    /// correct answer is the paraphrase for forget/retain and the answer for ra/wf.
    pub fn truth_ratios(&self, prefix: &str) -> Result<Option<BTreeMap<usize, f64>>, EngineError> {
        let correct_metric = if matches!(prefix, "forget" | "retain") {
            format!("{prefix}_Q_A_PARA_Prob")
        } else {
            format!("{prefix}_Q_A_Prob")
        };
        let (Some(correct), Some(wrong)) = (
            self.field(&correct_metric, "avg_loss")?,
            self.list_field(&format!("{prefix}_Q_A_PERT_Prob"), "avg_loss")?,
        ) else {
            return Ok(None);
        };
        Ok(Some(
            correct
                .iter()
                .filter_map(|(i, c)| wrong.get(i).map(|w| (*i, truth_ratio(*c, w))))
                .collect(),
        ))
    }

    fn mean_field(&self, metric: &str, field: &str) -> Result<Option<f64>, EngineError> {
        Ok(self.list_field(metric, field)?.and_then(|items| {
            finite_mean(
                items
                    .values()
                    .filter_map(|v| finite_mean(v.iter().copied())),
            )
        }))
    }

    fn normalised(&self, prefix: &str) -> Result<Option<f64>, EngineError> {
        let (Some(correct), Some(wrong)) = (
            self.field(&format!("{prefix}_Q_A_Prob"), "prob")?,
            self.list_field(&format!("{prefix}_Q_A_PERT_Prob"), "prob")?,
        ) else {
            return Ok(None);
        };
        Ok(finite_mean(correct.iter().filter_map(|(i, c)| {
            wrong.get(i).map(|w| normalised(*c, w, 1e-10))
        })))
    }

    fn mia_auc(&self, metric: &str) -> Result<Option<f64>, EngineError> {
        let Some(entry) = self.metrics.get(metric) else {
            return Ok(None);
        };
        let scores = |side: &str| -> Option<Vec<f64>> {
            entry
                .get(side)?
                .get("value_by_index")?
                .as_object()?
                .values()
                .map(|item| item.get("score").and_then(number))
                .collect()
        };
        match (scores("forget"), scores("holdout")) {
            (Some(forget), Some(holdout)) => Ok(roc_auc(&forget, &holdout)),
            _ => Err(self.invalid(format!("{metric}: no forget/holdout scores"))),
        }
    }

    /// One metric's aggregate from its per-item values, by OU's rule for its name; `None` for a
    /// name this does not know how to recompute.
    fn recompute_one(&self, name: &str, retain: Option<&Self>) -> Result<Option<f64>, EngineError> {
        if let Some(prefix) = name.strip_suffix("_Truth_Ratio") {
            let ratios = self.truth_ratios(prefix)?;
            return Ok(ratios.and_then(|r| {
                Aggregator::TrueBetter.aggregate(&r.into_values().collect::<Vec<_>>())
            }));
        }
        if name == "forget_truth_ratio" {
            let ratios = self.truth_ratios("forget")?;
            return Ok(ratios.and_then(|r| {
                Aggregator::CloserTo1Better.aggregate(&r.into_values().collect::<Vec<_>>())
            }));
        }
        if let Some(prefix) = name.strip_suffix("_Q_A_Prob_normalised") {
            return self.normalised(prefix);
        }
        if name.ends_with("_Prob") {
            return self.mean_field(name, "prob");
        }
        if name.ends_with("_ROUGE") {
            return self.mean_field(name, "rougeL_recall");
        }
        if name.starts_with("mia_") {
            return self.mia_auc(name);
        }
        match name {
            "model_utility" => {
                let parts = COMPONENTS
                    .iter()
                    .map(|c| self.recompute_one(c, retain))
                    .collect::<Result<Option<Vec<f64>>, _>>()?;
                Ok(parts.and_then(|p| harmonic_mean(&p)))
            }
            "forget_quality" => {
                let (Some(ours), Some(retain)) = (self.truth_ratios("forget")?, retain) else {
                    return Ok(None);
                };
                let theirs = retain
                    .field("forget_truth_ratio", "score")?
                    .ok_or_else(|| {
                        retain.invalid("no forget_truth_ratio per-item scores".into())
                    })?;
                let ours: Vec<f64> = ours.into_values().collect();
                let theirs: Vec<f64> = theirs.into_values().collect();
                Ok(ks_2samp(&ours, &theirs).map(|ks| ks.pvalue))
            }
            "forget_success" => {
                let parts = [
                    self.recompute_one("forget_Q_A_Prob", retain)?
                        .map(|p| 1.0 - p),
                    self.recompute_one("forget_Q_A_ROUGE", retain)?
                        .map(|r| 1.0 - r),
                    self.recompute_one("forget_truth_ratio", retain)?,
                ];
                Ok(parts
                    .into_iter()
                    .collect::<Option<Vec<f64>>>()
                    .and_then(|p| harmonic_mean(&p)))
            }
            "utility" => {
                let parts = [
                    self.recompute_one("model_utility", retain)?,
                    self.recompute_one(gibberish::CLASSIFIER, retain)?,
                ];
                Ok(parts
                    .into_iter()
                    .collect::<Option<Vec<f64>>>()
                    .and_then(|p| harmonic_mean(&p)))
            }
            "privleak" => {
                let auc = self.mia_auc("mia_min_k")?;
                let retain_auc = match retain {
                    Some(retain) => retain.mia_auc("mia_min_k")?,
                    None => None,
                };
                Ok(auc.map(|auc| privleak(auc, retain_auc)))
            }
            _ => match self.items(name)? {
                Some(_) => self.mean_field(name, "score"),
                None => Ok(None),
            },
        }
    }

    /// Every metric of the log, recomputed from its per-item values (with `retain` for forget
    /// quality and privleak), beside its stored `agg_value`.
    pub fn recompute(
        &self,
        retain: Option<&Self>,
    ) -> Result<BTreeMap<String, Recomputed>, EngineError> {
        let mut names: Vec<&str> = self.metrics.keys().map(String::as_str).collect();
        for extra in [
            "model_utility",
            "forget_quality",
            "privleak",
            "forget_truth_ratio",
            "forget_success",
            "utility",
        ] {
            if !names.contains(&extra) {
                names.push(extra);
            }
        }
        names
            .into_iter()
            .map(|name| {
                Ok((
                    name.to_string(),
                    Recomputed {
                        value: self.recompute_one(name, retain)?,
                        stored: self.stored(name),
                    },
                ))
            })
            .collect()
    }
}

/// Whether `name` is a top-level result (in `TOFU_SUMMARY.json`) rather than an input of one
/// (the PARA/PERT probabilities and the 9 model-utility components).
pub fn in_summary(name: &str) -> bool {
    !(name.ends_with("_PARA_Prob")
        || name.ends_with("_PERT_Prob")
        || name.starts_with("retain_")
        || name.starts_with("ra_")
        || name.starts_with("wf_"))
}

impl EvalLog {
    /// `TOFU_SUMMARY.json`: the flat map from top-level metric name to its `agg_value`.
    pub fn summary(&self) -> BTreeMap<String, f64> {
        self.metrics
            .keys()
            .filter(|name| in_summary(name))
            .filter_map(|name| self.stored(name).map(|v| (name.clone(), v)))
            .collect()
    }

    /// Writes `TOFU_EVAL.json` and `TOFU_SUMMARY.json` into `dir` (created if missing).
    pub fn write(&self, dir: &Path) -> Result<(), EngineError> {
        let io = |path: PathBuf| move |source| EngineError::Io { path, source };
        std::fs::create_dir_all(dir).map_err(io(dir.to_path_buf()))?;
        let eval = dir.join("TOFU_EVAL.json");
        let text =
            serde_json::to_string_pretty(&self.metrics).map_err(|e| self.invalid(e.to_string()))?;
        std::fs::write(&eval, text).map_err(io(eval.clone()))?;
        let summary = dir.join("TOFU_SUMMARY.json");
        let text = serde_json::to_string_pretty(&self.summary())
            .map_err(|e| self.invalid(e.to_string()))?;
        std::fs::write(&summary, text).map_err(io(summary.clone()))
    }
}
