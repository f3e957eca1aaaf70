//! The evaluation during training, end to end through `lethe run spec.json` on a reduced `demo`
//! (its own retain reference gives forget quality): the trajectory's step axis, checkpoint
//! selection (the kept checkpoint is the selected step's model, and its final evaluation is what
//! `lethe eval` of it gives) and the early-stop guard on a destructive learning rate.
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::path::Path;

use serde_json::json;
use shared::run::{RunOutcome, Select, StopReason, TrajectoryPoint};

#[path = "support/demo.rs"]
mod demo;
use demo::{EVAL_FLAGS, json_file, lethe, ok, setup};

fn trajectory(run: &Path) -> Vec<TrajectoryPoint> {
    std::fs::read_to_string(run.join("evals.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn outcome(run: &Path) -> RunOutcome {
    serde_json::from_slice(&std::fs::read(run.join("outcome.json")).unwrap()).unwrap()
}

#[test]
fn an_evaluation_every_epoch_gives_a_monotone_trajectory_and_the_best_forget_quality_is_kept() {
    let setup = setup();
    // Gradient ascent at a learning rate that overshoots: forget quality peaks after the first
    // epoch and falls after it. 4 forget rows in micro-batches of 2: 2 steps per epoch.
    let spec = json!({
        "model": "demo",
        "objective": {"method": "grad_ascent"},
        "trainer": {"batch_size": 2, "grad_accum": 1, "epochs": 3, "lr": 0.05,
            "warmup_epochs": 0},
        "eval": {"batch_size": 8, "max_new_tokens": 16,
            "during": {"every": {"epochs": 1}, "items": 24},
            "select": "best_forget_quality"}
    });
    let run = setup.run("best-fq", &spec);
    let points = trajectory(&run);
    let steps: Vec<usize> = points.iter().map(|p| p.step).collect();
    assert_eq!(steps, [0, 2, 4, 6], "step 0, then every epoch");
    let epochs: Vec<f64> = points.iter().map(|p| p.epoch).collect();
    assert_eq!(epochs, [0.0, 1.0, 2.0, 3.0]);
    for p in &points {
        for name in [
            "forget_quality",
            "model_utility",
            "forget_Q_A_Prob",
            "forget_truth_ratio",
            "forget_Q_A_ROUGE",
            "forget_Q_A_gibberish_heuristic",
        ] {
            assert!(p.metrics.contains_key(name), "{name} at step {}", p.step);
        }
        assert!(
            !p.metrics.contains_key("privleak") && !p.metrics.contains_key("extraction_strength"),
            "the evaluation during training leaves out MIA and memorization: {:?}",
            p.metrics.keys()
        );
    }
    assert!(
        points[0].model_utility().unwrap() > 0.05,
        "the demo target has utility: {points:?}"
    );

    let outcome = outcome(&run);
    let selected = outcome.selected.expect("a selected checkpoint");
    assert_eq!(selected.rule, Select::BestForgetQuality);
    let best = points
        .iter()
        .map(|p| p.forget_quality().unwrap())
        .fold(f64::MIN, f64::max);
    let kept = points.iter().find(|p| p.step == selected.step).unwrap();
    assert_eq!(kept.forget_quality(), Some(best), "{points:?}");
    assert!(
        selected.reason.contains("highest forget quality"),
        "{}",
        selected.reason
    );
    assert_eq!(outcome.stopped, None);
    let metrics = json_file(&run.join("metrics.json"));
    assert_eq!(metrics["selected_step"], json!(selected.step as f64));

    // The final evaluation is of the selected step's model: the forget split is evaluated in
    // full both times, so its probability is the trajectory point's.
    let final_log = json_file(&run.join("eval/TOFU_EVAL.json"));
    let final_prob = final_log["forget_Q_A_Prob"]["agg_value"].as_f64().unwrap();
    let during_prob = kept.metrics["forget_Q_A_Prob"];
    assert!(
        (final_prob - during_prob).abs() <= 1e-6 * final_prob.abs(),
        "final {final_prob} vs step {} {during_prob}",
        selected.step
    );
    assert!(
        selected.step < 6,
        "forget quality peaked before the last step: {points:?}"
    );
    let last_prob = points[3].metrics["forget_Q_A_Prob"];
    assert_ne!(final_prob, last_prob, "not the last step's model");
    assert!(!run.join("selected").exists(), "moved into checkpoint/");

    // … and equals a separate `lethe eval` of the kept checkpoint.
    let separate = setup.scratch.join("separate");
    let mut args = vec![
        "eval".to_string(),
        run.join("checkpoint").to_str().unwrap().into(),
        "--data".into(),
        setup.tofu.to_str().unwrap().into(),
    ];
    args.extend(EVAL_FLAGS.iter().map(|s| s.to_string()));
    let retain_ref = setup
        .models
        .join("demo/retain_refs/forget01/TOFU_EVAL.json");
    args.extend([
        "--retain-ref".into(),
        retain_ref.to_str().unwrap().into(),
        "--out".into(),
        separate.to_str().unwrap().into(),
    ]);
    ok(&lethe(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &setup.scratch,
    ));
    assert_eq!(json_file(&separate.join("TOFU_EVAL.json")), final_log);
}

#[test]
fn a_destructive_learning_rate_stops_on_the_utility_guard_and_the_run_succeeds() {
    let setup = setup();
    let spec = json!({
        "model": "demo",
        "objective": {"method": "grad_ascent"},
        "trainer": {"batch_size": 2, "grad_accum": 1, "epochs": 20, "lr": 0.05,
            "warmup_epochs": 0, "stop_when": {"mu_below": 0.5}},
        "eval": {"batch_size": 8, "max_new_tokens": 16,
            "during": {"every": {"steps": 1}, "items": 24}}
    });
    let run = setup.run("destructive", &spec);
    let outcome = outcome(&run);
    let stopped = outcome.stopped.expect("stopped early");
    assert_eq!(stopped.reason, StopReason::CollapsedUtility, "{stopped:?}");
    let points = trajectory(&run);
    let last = points.last().unwrap();
    assert_eq!(stopped.step, last.step);
    assert!(
        last.model_utility().unwrap() < 0.5 * points[0].model_utility().unwrap(),
        "{points:?}"
    );
    assert!(
        points[..points.len() - 1]
            .iter()
            .all(|p| p.model_utility().unwrap() >= 0.5 * points[0].model_utility().unwrap()),
        "it stopped at the first point below the guard: {points:?}"
    );
    let steps = std::fs::read_to_string(run.join("steps.jsonl")).unwrap();
    assert_eq!(
        steps.lines().count(),
        stopped.step,
        "no step after the stop"
    );
    assert!(stopped.step < 40, "20 epochs of 2 steps were planned");
    let log = std::fs::read_to_string(run.join("log.txt")).unwrap();
    assert!(log.contains("stopping early (collapsed utility)"), "{log}");
    let metrics = json_file(&run.join("metrics.json"));
    assert_eq!(metrics["stopped_step"], json!(stopped.step as f64));
    assert!(
        metrics["model_utility"].is_number(),
        "the final evaluation ran"
    );
}
