//! The compare page's logic (tested natively): the selection in the URL, and the seed study's
//! table (objective and split × model → FQ, MU, gibberish).

use shared::run::RunSummary;
use shared::tofu;

use crate::format;

/// Run ids from `runs=3,1,x,3`: numbers only, first occurrence kept, in order.
pub fn parse_ids(text: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    for id in text.split(',').filter_map(|part| part.trim().parse().ok()) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// One row of the table: an objective on a split, with the runs in each model's column.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// `BalDRO-DV + NPO`.
    pub objective: String,
    /// `forget01`.
    pub split: String,
    /// `cells[j]`: the runs of this row on model `j` (several for seeds or learning rates).
    pub cells: Vec<Vec<RunSummary>>,
}

/// Runs laid out as objective × model, in first-seen order of both.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Column models.
    pub models: Vec<String>,
    /// Rows.
    pub rows: Vec<Row>,
}

impl Table {
    /// Lays out `runs`.
    pub fn new(runs: &[RunSummary]) -> Self {
        let mut models: Vec<String> = Vec::new();
        for run in runs {
            if !models.contains(&run.model) {
                models.push(run.model.clone());
            }
        }
        let mut rows: Vec<Row> = Vec::new();
        for run in runs {
            let objective = format::objective(run.method, &run.wrapper);
            let split = run.split.as_str().to_string();
            let column = models.iter().position(|m| *m == run.model).unwrap_or(0);
            let row = match rows
                .iter()
                .position(|r| r.objective == objective && r.split == split)
            {
                Some(i) => &mut rows[i],
                None => {
                    rows.push(Row {
                        objective,
                        split,
                        cells: vec![Vec::new(); models.len()],
                    });
                    let last = rows.len() - 1;
                    &mut rows[last]
                }
            };
            row.cells[column].push(run.clone());
        }
        Self { models, rows }
    }
}

/// The robustness attacks a run went through, with the share of the forget probability that
/// unlearning removed and the attack brought back (`attack_<name>_prob_recovered`), in name
/// order: `[("quantize-4", 0.02), ("relearn", 0.41)]`.
pub fn recovered(run: &RunSummary) -> Vec<(String, f64)> {
    run.metrics
        .iter()
        .filter_map(|(key, value)| {
            let name = key
                .strip_prefix("attack_")?
                .strip_suffix("_prob_recovered")?;
            Some((name.to_string(), *value))
        })
        .collect()
}

/// [`recovered`] as a table cell reads it: `relearn 41% · quantize-4 2%`; empty without attacks.
pub fn recovered_text(run: &RunSummary) -> String {
    recovered(run)
        .iter()
        .map(|(name, share)| format!("{name} {:.0}%", (share * 100.0).round() + 0.0))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// A point of the FQ-vs-MU scatter.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Run id.
    pub id: i64,
    /// Forget quality (x, log axis).
    pub fq: f64,
    /// Model utility (y).
    pub mu: f64,
    /// Hover label.
    pub label: String,
}

/// The runs that have both forget quality and model utility.
pub fn points(runs: &[RunSummary]) -> Vec<Point> {
    runs.iter()
        .filter_map(|run| {
            Some(Point {
                id: run.id,
                fq: *run.metrics.get(tofu::FORGET_QUALITY)?,
                mu: *run.metrics.get(tofu::MODEL_UTILITY)?,
                label: format!(
                    "#{} {} · {} · {}",
                    run.id,
                    format::objective(run.method, &run.wrapper),
                    run.model,
                    run.split.as_str()
                ),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use shared::run::{Method, RunState, Split};

    fn run(id: i64, model: &str, method: Method, wrapper: &str, fq: Option<f64>) -> RunSummary {
        RunSummary {
            id,
            name: format!("run-{id}"),
            state: RunState::Succeeded,
            model: model.into(),
            method,
            wrapper: wrapper.into(),
            split: Split::Forget01,
            tags: vec![],
            created_by: "local".into(),
            created_at_ms: 0,
            started_at_ms: None,
            finished_at_ms: None,
            sweep_id: None,
            metrics: fq
                .map(|fq| {
                    BTreeMap::from([("forget_quality".into(), fq), ("model_utility".into(), 0.5)])
                })
                .unwrap_or_default(),
        }
    }

    #[test]
    fn recovered_shares_come_from_the_attack_metrics() {
        let mut attacked = run(1, "llama", Method::Npo, "none", Some(0.01));
        assert_eq!(recovered_text(&attacked), "");
        attacked.metrics.extend([
            ("attack_relearn_prob_recovered".to_string(), 0.412),
            ("attack_relearn_rouge_recovered".to_string(), 0.3),
            ("attack_quantize-4_prob_recovered".to_string(), 0.02),
            ("attack_quantize-4_forget_Q_A_Prob".to_string(), 0.001),
        ]);
        assert_eq!(
            recovered(&attacked),
            [
                ("quantize-4".to_string(), 0.02),
                ("relearn".to_string(), 0.412)
            ]
        );
        assert_eq!(recovered_text(&attacked), "quantize-4 2% · relearn 41%");
    }

    #[test]
    fn ids_come_from_the_query_in_order_without_duplicates() {
        assert_eq!(parse_ids("3,1,x,3, 7"), [3, 1, 7]);
        assert!(parse_ids("").is_empty());
    }

    #[test]
    fn runs_lay_out_as_objective_by_model() {
        let runs = [
            run(1, "llama", Method::Npo, "none", Some(0.01)),
            run(2, "qwen", Method::Npo, "none", Some(0.2)),
            run(3, "llama", Method::Npo, "dv", None),
            run(4, "llama", Method::Npo, "none", Some(0.03)),
        ];
        let table = Table::new(&runs);
        assert_eq!(table.models, ["llama", "qwen"]);
        assert_eq!(table.rows.len(), 2);
        assert_eq!(table.rows[0].objective, "NPO");
        assert_eq!(
            table.rows[0].cells[0]
                .iter()
                .map(|r| r.id)
                .collect::<Vec<_>>(),
            [1, 4],
            "two seeds share a cell"
        );
        assert_eq!(table.rows[0].cells[1][0].id, 2);
        assert_eq!(table.rows[1].objective, "BalDRO-DV + NPO");
        assert!(table.rows[1].cells[1].is_empty());
        let points = points(&runs);
        assert_eq!(points.len(), 3, "run 3 has no metrics");
        assert_eq!(points[1].label, "#2 NPO · qwen · forget01");
    }
}
