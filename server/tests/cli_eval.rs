//! `lethe eval` end to end on the tiny Llama fixture with the first 8 rows of every TOFU eval
//! split: the per-item values match the metric goldens made with open-unlearning's own metric
//! functions (`../shared/goldens/metrics`), the written TOFU_EVAL.json is read back by
//! `lethe tofu summarize` to exactly its TOFU_SUMMARY.json, and a log used as its own retain
//! reference gives forget quality 1. The gibberish classifier is the random DistilBERT fixture
//! (engine/tests/distilbert.rs checks it against transformers).
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

fn lethe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lethe"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()) + 1e-12
}

#[test]
fn eval_matches_the_metric_goldens_and_reads_back() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("tofu");
    std::fs::create_dir_all(&data).unwrap();
    for split in [
        "forget01_perturbed",
        "holdout01",
        "retain_perturbed",
        "real_authors_perturbed",
        "world_facts_perturbed",
    ] {
        let text = std::fs::read_to_string(shared.join("data/tofu").join(format!("{split}.jsonl")))
            .unwrap();
        let rows: Vec<&str> = text.lines().take(8).collect();
        std::fs::write(data.join(format!("{split}.jsonl")), rows.join("\n")).unwrap();
    }
    let model = shared.join("fixtures/tiny-llama");
    let out = dir.path().join("eval");
    let classifier =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/fixtures/tiny-distilbert");
    let summary = ok(&lethe(&[
        "eval",
        model.to_str().unwrap(),
        "--split",
        "forget01",
        "--data",
        data.to_str().unwrap(),
        "--batch-size",
        "8",
        "--max-new-tokens",
        "24",
        "--gibberish-model",
        classifier.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    let log: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("TOFU_EVAL.json")).unwrap())
            .unwrap();
    let goldens: Value = serde_json::from_str(
        &std::fs::read_to_string(shared.join("goldens/metrics/goldens.json")).unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for (split, prefix) in [
        ("forget01_perturbed", "forget"),
        ("real_authors_perturbed", "ra"),
    ] {
        let golden = &goldens["splits"][split]["metrics"];
        let truth_ratio = if prefix == "forget" {
            "forget_truth_ratio".to_string()
        } else {
            format!("{prefix}_Truth_Ratio")
        };
        let mut pairs = vec![
            (format!("{prefix}_Q_A_Prob"), "Q_A_Prob", "avg_loss"),
            (
                format!("{prefix}_Q_A_PERT_Prob"),
                "Q_A_PERT_Prob",
                "avg_loss",
            ),
            (truth_ratio, "Truth_Ratio[closer_to_1_better]", "score"),
            (format!("{prefix}_Q_A_ROUGE"), "Q_A_ROUGE", "rougeL_recall"),
        ];
        if prefix == "forget" {
            pairs.push(("forget_Q_A_PARA_Prob".into(), "Q_A_PARA_Prob", "avg_loss"));
            pairs.push(("extraction_strength".into(), "extraction_strength", "score"));
            pairs.push(("exact_memorization".into(), "exact_memorization", "score"));
        } else {
            pairs.push((
                "ra_Q_A_Prob_normalised".into(),
                "Q_A_Prob_normalised",
                "prob",
            ));
        }
        for (ours, theirs, field) in pairs {
            for index in 0..8 {
                let i = index.to_string();
                let a = &log[&ours]["value_by_index"][&i][field];
                let b = &golden[theirs]["value_by_index"][&i][field];
                let (a, b): (Vec<f64>, Vec<f64>) = match (a, b) {
                    (Value::Array(a), Value::Array(b)) => (
                        a.iter().map(|v| v.as_f64().unwrap()).collect(),
                        b.iter().map(|v| v.as_f64().unwrap()).collect(),
                    ),
                    _ => (vec![a.as_f64().unwrap()], vec![b.as_f64().unwrap()]),
                };
                assert_eq!(a.len(), b.len(), "{ours}[{i}].{field}");
                for (x, y) in a.iter().zip(&b) {
                    assert!(
                        close(*x, *y, 2e-5),
                        "{ours}[{i}].{field}: {x} vs golden {y}"
                    );
                    checked += 1;
                }
            }
        }
        for index in 0..8 {
            let i = index.to_string();
            assert_eq!(
                log[format!("{prefix}_Q_A_ROUGE")]["value_by_index"][&i]["generation"],
                golden["Q_A_ROUGE"]["value_by_index"][&i]["generation"],
                "{prefix} generation {i}"
            );
        }
    }
    eprintln!("{checked} per-item values match the goldens");
    // Both gibberish scores cover every forget generation; BALDRO's composite keys follow from
    // the aggregates (spec §5.7, §5.9).
    let mean = |name: &str| {
        let items = log[name]["value_by_index"].as_object().unwrap();
        assert_eq!(items.len(), 8, "{name}");
        let scores: Vec<f64> = items
            .values()
            .map(|v| v["score"].as_f64().unwrap())
            .collect();
        assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)), "{name}");
        scores.iter().sum::<f64>() / 8.0
    };
    let gibberish = mean("forget_Q_A_gibberish");
    assert!(close(
        summary["forget_Q_A_gibberish"].as_f64().unwrap(),
        gibberish,
        1e-12
    ));
    let heuristic = mean("forget_Q_A_gibberish_heuristic");
    assert!(close(
        summary["forget_Q_A_gibberish_heuristic"].as_f64().unwrap(),
        heuristic,
        1e-12
    ));
    let hmean = |v: &[f64]| v.len() as f64 / v.iter().map(|x| 1.0 / x).sum::<f64>();
    let mu = summary["model_utility"].as_f64().unwrap();
    assert!(close(
        summary["utility"].as_f64().unwrap(),
        hmean(&[mu, gibberish]),
        1e-12
    ));
    let success = hmean(&[
        1.0 - summary["forget_Q_A_Prob"].as_f64().unwrap(),
        1.0 - summary["forget_Q_A_ROUGE"].as_f64().unwrap(),
        summary["forget_truth_ratio"].as_f64().unwrap(),
    ]);
    assert!(close(
        summary["forget_success"].as_f64().unwrap(),
        success,
        1e-12
    ));
    // The written log reads back to its own summary, and against itself FQ is 1.
    let stored: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("TOFU_SUMMARY.json")).unwrap())
            .unwrap();
    assert_eq!(summary, stored);
    let again = ok(&lethe(&[
        "tofu",
        "summarize",
        out.to_str().unwrap(),
        "--json",
    ]));
    for (name, value) in stored.as_object().unwrap() {
        assert!(
            close(
                again[name].as_f64().unwrap(),
                value.as_f64().unwrap(),
                1e-12
            ),
            "{name}"
        );
    }
    let with_ref = ok(&lethe(&[
        "tofu",
        "summarize",
        out.to_str().unwrap(),
        "--retain-ref",
        out.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(with_ref["forget_quality"].as_f64(), Some(1.0));
    assert!(close(with_ref["privleak"].as_f64().unwrap(), 0.0, 1e-6));

    let bad = lethe(&[
        "eval",
        model.to_str().unwrap(),
        "--split",
        "forget02",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("split"));
    std::fs::write(data.join("holdout01.jsonl"), "{\"question\": \"q\"}\n").unwrap();
    let bad = lethe(&[
        "eval",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--max-new-tokens",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("holdout01.jsonl")
            && stderr.contains("line 1")
            && stderr.contains("answer"),
        "{stderr}"
    );
}
