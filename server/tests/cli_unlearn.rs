//! `lethe unlearn` end to end on the memorized tiny fixture: NPO for a few steps writes per-step
//! metrics, the resolved run settings and a checkpoint that `lethe model inspect` loads; the
//! checkpoint has forgotten (its forget-set NLL, scored by `lethe model score`, went up).
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
        .env("RUST_LOG", "info")
        .output()
        .unwrap()
}

fn mean_nll(model: &str, data: &str) -> f64 {
    let output = lethe(&["model", "score", model, "--data", data]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let sum: f64 = lines.iter().map(|l| l["sum_nll"].as_f64().unwrap()).sum();
    let n: f64 = lines.iter().map(|l| l["n_tokens"].as_f64().unwrap()).sum();
    sum / n
}

#[test]
fn unlearn_writes_metrics_and_a_checkpoint_that_forgot() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let rows = |name: &str| {
        let text = std::fs::read_to_string(shared.join("data/tofu").join(name)).unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text.lines().take(4).collect::<Vec<_>>().join("\n")).unwrap();
        path.to_str().unwrap().to_string()
    };
    let (forget, retain) = (rows("forget01.jsonl"), rows("retain99.jsonl"));
    let model = shared.join("goldens/memorized-tiny-llama");
    let model = model.to_str().unwrap();
    let out = dir.path().join("run");
    let output = lethe(&[
        "unlearn",
        "--model",
        model,
        "--forget",
        &forget,
        "--retain",
        &retain,
        "--objective",
        "npo",
        "--wrapper",
        "dv",
        "--set",
        "tau=1",
        "--lr",
        "2e-3",
        "--batch-size",
        "2",
        "--grad-accum",
        "2",
        "--epochs",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("unlearn step"),
        "progress is reported: {stderr}"
    );
    let metrics: Vec<serde_json::Value> = std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        metrics.len(),
        4,
        "4 items, bs 2 × GA 2, 4 epochs: one step per epoch"
    );
    assert_eq!(metrics[0]["lr"].as_f64(), Some(0.0));
    assert_eq!(metrics[3]["total_steps"].as_u64(), Some(4));
    assert_eq!(
        metrics[3]["weights"].as_array().unwrap().len(),
        2,
        "DV weights of the last micro-batch"
    );
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["objective"], "npo");
    let checkpoint = out.join("checkpoint");
    let checkpoint = checkpoint.to_str().unwrap();
    let inspect = lethe(&["model", "inspect", checkpoint]);
    assert!(
        inspect.status.success(),
        "{}",
        String::from_utf8_lossy(&inspect.stderr)
    );
    let before = mean_nll(model, &forget);
    let after = mean_nll(checkpoint, &forget);
    eprintln!("forget NLL {before:.3} -> {after:.3}");
    assert!(after > before + 0.3, "forget NLL {before} -> {after}");

    let bad = lethe(&[
        "unlearn",
        "--model",
        model,
        "--forget",
        &forget,
        "--retain",
        &retain,
        "--objective",
        "npo",
        "--epochs",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--epochs"));
}
