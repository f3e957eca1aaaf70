//! Robustness attacks end to end on a reduced `demo`: a run's `attacks` (relearning, 8- and
//! 4-bit quantization) after gradient ascent, each writing its `TOFU_EVAL.json` next to the main
//! one in the same format, and `lethe attack` on the finished run's directory.
#![expect(clippy::unwrap_used, reason = "test setup")]

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::json;
use shared::run::{AttackReport, AttackSpec};

#[path = "support/demo.rs"]
mod demo;
use demo::{json_file, lethe, ok, setup};

fn report(run: &Path, name: &str) -> AttackReport {
    serde_json::from_value(json_file(
        &run.join("attacks").join(name).join("ATTACK.json"),
    ))
    .unwrap()
}

fn metric_names(log: &Path) -> BTreeSet<String> {
    json_file(log)
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[test]
fn relearning_brings_forgotten_answers_back_and_every_attack_logs_like_the_main_evaluation() {
    let setup = setup();
    let spec = json!({
        "model": "demo",
        "objective": {"method": "grad_ascent"},
        "trainer": {"batch_size": 2, "grad_accum": 1, "epochs": 2, "lr": 0.01,
            "warmup_epochs": 0},
        "eval": {"batch_size": 8, "max_new_tokens": 16},
        "attacks": [
            {"kind": "relearn", "steps": 20, "lr": 0.01},
            {"kind": "quantize", "bits": 8},
            {"kind": "quantize", "bits": 4}
        ]
    });
    let run = setup.run("attacked", &spec);
    let main = metric_names(&run.join("eval/TOFU_EVAL.json"));
    for name in ["relearn", "quantize-8", "quantize-4"] {
        let log = run.join("attacks").join(name).join("TOFU_EVAL.json");
        assert_eq!(
            metric_names(&log),
            main,
            "{name} logs what the main evaluation logs"
        );
        assert!(
            run.join("attacks")
                .join(name)
                .join("TOFU_SUMMARY.json")
                .is_file()
        );
    }
    assert!(
        !std::fs::read_dir(run.join("attacks")).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with('.')),
        "the attacked weights are not kept"
    );

    let relearn = report(&run, "relearn");
    assert!(
        relearn.unlearned.prob < 0.5 * relearn.target.prob,
        "gradient ascent forgot: {relearn:?}"
    );
    assert!(
        relearn.attacked.prob > relearn.unlearned.prob && relearn.recovered.prob > 0.1,
        "relearning restores forget probability towards the target's: {relearn:?}"
    );
    assert_eq!(relearn.relearned.len(), 2, "half of 4 forget items");
    let [before, after] = relearn.held_out.unwrap();
    assert!(after.prob >= before.prob, "{relearn:?}");
    let eight = report(&run, "quantize-8");
    assert_eq!(eight.attack, AttackSpec::Quantize { bits: 8 });
    assert!(eight.relearned.is_empty() && eight.held_out.is_none());
    assert_eq!(eight.target, relearn.target, "one target evaluation");
    let metrics = json_file(&run.join("metrics.json"));
    assert_eq!(
        metrics["attack_relearn_prob_recovered"].as_f64(),
        Some(relearn.recovered.prob)
    );
    assert!(metrics["attack_quantize-4_forget_Q_A_Prob"].is_number());

    // `lethe attack` on the finished run's directory: the same attack through the CLI.
    let mut args = vec![
        "attack".to_string(),
        "quantize".into(),
        run.to_str().unwrap().into(),
        "--bits".into(),
        "4".into(),
    ];
    args.extend(setup.places());
    let out = ok(&lethe(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &setup.scratch,
    ));
    let cli: AttackReport = serde_json::from_str(&out).unwrap();
    let four = report(&run, "quantize-4");
    assert_eq!(
        (cli.attacked, cli.unlearned),
        (four.attacked, four.unlearned)
    );
    let bad = lethe(
        &["attack", "quantize", run.to_str().unwrap(), "--bits", "3"],
        &setup.scratch,
    );
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("--bits: 8 or 4 (got 3)"), "{stderr}");
}
