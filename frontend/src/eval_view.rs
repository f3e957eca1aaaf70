//! What the result page reads out of open-unlearning's `TOFU_EVAL.json` (tested natively): the
//! aggregates, the nine model-utility inputs, the forget truth ratios behind forget quality, and
//! the (question, ground truth, generation) rows of each ROUGE set.

use serde_json::Value;
use shared::tofu::{self, MuComponent};

/// One generation with its reference.
#[derive(Debug, Clone, PartialEq)]
pub struct RougeRow {
    /// Set label (`Forget`, `Retain`, ...).
    pub set: &'static str,
    /// Item index within the set.
    pub index: usize,
    /// The prompt as the model saw it.
    pub input: String,
    /// The reference answer.
    pub ground_truth: String,
    /// The model's greedy answer.
    pub generation: String,
    /// ROUGE-L recall.
    pub rouge_l: Option<f64>,
}

impl RougeRow {
    /// Whether every word of `query` occurs (case-insensitively) in the row's text or set.
    pub fn matches(&self, query: &str) -> bool {
        let haystack = format!(
            "{} {} {} {}",
            self.set, self.input, self.ground_truth, self.generation
        )
        .to_lowercase();
        query
            .split_whitespace()
            .all(|word| haystack.contains(&word.to_lowercase()))
    }
}

/// The parts of an evaluation log the result page shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvalView {
    /// Every metric's `agg_value`, by name.
    pub aggregates: Vec<(String, f64)>,
    /// The nine MU inputs with their values (absent ones are `None`).
    pub mu: Vec<(MuComponent, Option<f64>)>,
    /// Per-item forget truth ratios, in item order.
    pub truth_ratios: Vec<f64>,
    /// ROUGE rows of every set, forget first.
    pub rouge: Vec<RougeRow>,
}

/// The `agg_value` of `name`.
fn aggregate(log: &Value, name: &str) -> Option<f64> {
    log.get(name)?.get("agg_value")?.as_f64()
}

/// `(index, item)` pairs of `name`'s `value_by_index`, in index order.
fn items<'a>(log: &'a Value, name: &str) -> Vec<(usize, &'a Value)> {
    let mut items: Vec<(usize, &Value)> = log
        .get(name)
        .and_then(|entry| entry.get("value_by_index"))
        .and_then(Value::as_object)
        .map(|by_index| {
            by_index
                .iter()
                .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
                .collect()
        })
        .unwrap_or_default();
    items.sort_by_key(|(i, _)| *i);
    items
}

/// The per-item forget truth ratios of a log (a run's or its retain reference's).
pub fn truth_ratios(log: &Value) -> Vec<f64> {
    items(log, tofu::FORGET_TRUTH_RATIO)
        .into_iter()
        .filter_map(|(_, item)| item.get("score")?.as_f64())
        .collect()
}

impl EvalView {
    /// Reads a parsed `TOFU_EVAL.json`; missing parts stay empty.
    pub fn from_log(log: &Value) -> Self {
        let aggregates = log
            .as_object()
            .map(|metrics| {
                metrics
                    .keys()
                    .filter_map(|name| Some((name.clone(), aggregate(log, name)?)))
                    .collect()
            })
            .unwrap_or_default();
        let mu = tofu::MU_COMPONENTS
            .iter()
            .map(|c| (*c, aggregate(log, c.key)))
            .collect();
        let mut rouge = Vec::new();
        for (name, set) in tofu::ROUGE_SETS {
            for (index, item) in items(log, name) {
                let text = |field: &str| {
                    item.get(field)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string()
                };
                rouge.push(RougeRow {
                    set,
                    index,
                    input: text("input"),
                    ground_truth: text("ground_truth"),
                    generation: text("generation"),
                    rouge_l: item.get("rougeL_recall").and_then(Value::as_f64),
                });
            }
        }
        Self {
            aggregates,
            mu,
            truth_ratios: truth_ratios(log),
            rouge,
        }
    }

    /// The aggregate of `name`.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.aggregates
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }
}

/// Rows matching `query`, at most `limit` of them, and how many matched in all.
pub fn search<'a>(rows: &'a [RougeRow], query: &str, limit: usize) -> (Vec<&'a RougeRow>, usize) {
    let matched: Vec<&RougeRow> = rows.iter().filter(|row| row.matches(query)).collect();
    let total = matched.len();
    (matched.into_iter().take(limit).collect(), total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn log() -> Value {
        json!({
            "forget_quality": {"agg_value": 1.2e-5},
            "model_utility": {"agg_value": 0.61},
            "retain_Q_A_Prob": {"agg_value": 0.9, "value_by_index": {"0": {"prob": 0.9}}},
            "forget_truth_ratio": {"agg_value": 0.6, "value_by_index": {
                "10": {"score": 0.3}, "2": {"score": 0.8}, "0": {"score": 0.5}
            }},
            "forget_Q_A_ROUGE": {"agg_value": 0.4, "value_by_index": {
                "1": {"rougeL_recall": 0.25, "input": "Who wrote Kuwait Tales?", "ground_truth": "Basil Al-Mansour", "generation": "I do not know"},
                "0": {"rougeL_recall": 1.0, "input": "Where was Basil born?", "ground_truth": "Kuwait City", "generation": "Kuwait City"}
            }},
            "mia_min_k": {"forget": {}, "holdout": {}, "auc": 0.4, "agg_value": 0.4},
            "privleak": {"agg_value": null}
        })
    }

    #[test]
    fn reads_aggregates_mu_inputs_and_truth_ratios_in_item_order() {
        let view = EvalView::from_log(&log());
        assert_eq!(view.get("forget_quality"), Some(1.2e-5));
        assert_eq!(view.get("mia_min_k"), Some(0.4));
        assert_eq!(view.get("privleak"), None, "a null aggregate is absent");
        assert_eq!(view.mu.len(), 9);
        assert_eq!(view.mu[0].1, Some(0.9));
        assert_eq!(view.mu[8].1, None);
        assert_eq!(view.truth_ratios, [0.5, 0.8, 0.3]);
        assert_eq!(
            EvalView::from_log(&json!([])),
            EvalView {
                mu: tofu::MU_COMPONENTS.iter().map(|c| (*c, None)).collect(),
                ..EvalView::default()
            }
        );
    }

    #[test]
    fn rouge_rows_are_searchable_by_every_word() {
        let view = EvalView::from_log(&log());
        assert_eq!(view.rouge.len(), 2);
        assert_eq!(view.rouge[0].index, 0);
        assert_eq!(view.rouge[1].rouge_l, Some(0.25));
        let (rows, total) = search(&view.rouge, "kuwait basil", 10);
        assert_eq!((rows.len(), total), (2, 2));
        let (rows, total) = search(&view.rouge, "tales", 10);
        assert_eq!(total, 1);
        assert_eq!(rows[0].generation, "I do not know");
        let (rows, total) = search(&view.rouge, "", 1);
        assert_eq!((rows.len(), total), (1, 2));
        assert_eq!(search(&view.rouge, "forget nobody", 10).1, 0);
    }
}
