//! `lethe unlearn` end to end on the memorized tiny fixture: NPO for a few steps writes per-step
//! metrics, the resolved run settings and a checkpoint that `lethe model inspect` loads; the
//! checkpoint has forgotten (its forget-set NLL, scored by `lethe model score`, went up); the
//! `spec.json` it wrote repeats the run through `--config`. `lethe finetune` learns its data, with flags from
//! a TOML config file.
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

/// The first 4 rows of forget01 and retain99, written into `dir`; their paths.
fn four_rows(shared: &Path, dir: &Path) -> (String, String) {
    let rows = |name: &str| {
        let text = std::fs::read_to_string(shared.join("data/tofu").join(name)).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text.lines().take(4).collect::<Vec<_>>().join("\n")).unwrap();
        path.to_str().unwrap().to_string()
    };
    (rows("forget01.jsonl"), rows("retain99.jsonl"))
}

#[test]
fn unlearn_writes_metrics_and_a_checkpoint_that_forgot() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (forget, retain) = four_rows(&shared, dir.path());
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
        stderr.contains("unlearn [") && stderr.contains("] 4/4 100%"),
        "a progress bar is drawn: {stderr}"
    );
    let metrics: Vec<serde_json::Value> = std::fs::read_to_string(out.join("steps.jsonl"))
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
    // A step reports every sample of its micro-batches: here all 4 forget items, each with its
    // DV weight within its micro-batch of 2 (so the weights sum to 1 per micro-batch).
    let weights: Vec<f64> = serde_json::from_value(metrics[3]["weights"].clone()).unwrap();
    assert_eq!(weights.len(), 4, "DV weights of both micro-batches");
    assert!(
        (weights.iter().sum::<f64>() - 2.0).abs() < 1e-4,
        "{weights:?}"
    );
    let mut samples: Vec<usize> = serde_json::from_value(metrics[3]["samples"].clone()).unwrap();
    samples.sort_unstable();
    assert_eq!(
        samples,
        [0, 1, 2, 3],
        "one step per epoch covers the forget set"
    );
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("spec.json")).unwrap()).unwrap();
    assert_eq!(spec["objective"]["method"], "npo");
    assert_eq!(
        spec["wrapper"],
        serde_json::json!({"kind": "dv", "tau": 1.0, "direction": "soft_min"})
    );
    assert_eq!(spec["trainer"]["lr"], 2e-3);
    assert_eq!(spec["eval"]["enabled"], false);
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

    // spec.json repeats the run; flags after --config override it.
    let again = dir.path().join("again");
    let rerun = lethe(&[
        "unlearn",
        "--config",
        out.join("spec.json").to_str().unwrap(),
        "--epochs",
        "1",
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let first_line = |dir: &Path| {
        let text = std::fs::read_to_string(dir.join("steps.jsonl")).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        (lines.len(), lines[0]["loss"].as_f64().unwrap())
    };
    let (steps, loss) = first_line(&again);
    assert_eq!(steps, 1);
    assert_eq!(
        loss,
        metrics[0]["loss"].as_f64().unwrap(),
        "same seed, same first step"
    );

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
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("trainer.epochs (--epochs): must be a number > 0 (got 0)"),
        "{stderr}"
    );
}

#[test]
fn finetune_learns_its_data_with_flags_from_a_toml_file() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(shared.join("data/tofu/forget01.jsonl")).unwrap();
    let data = dir.path().join("train.jsonl");
    std::fs::write(&data, text.lines().take(8).collect::<Vec<_>>().join("\n")).unwrap();
    let model = shared.join("fixtures/tiny-llama");
    let out = dir.path().join("ft");
    let config = dir.path().join("finetune.toml");
    std::fs::write(
        &config,
        format!(
            "model = {model:?}\ndata = {data:?}\nlr = 1e-3\nbatch_size = 4\ngrad_accum = 1\nepochs = 3\nwarmup_epochs = 0\ngradient_checkpointing = true\n",
            model = model.to_str().unwrap(),
            data = data.to_str().unwrap(),
        ),
    )
    .unwrap();
    let output = lethe(&[
        "finetune",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("finetune [") && stderr.contains("6/6"),
        "{stderr}"
    );
    let metrics = std::fs::read_to_string(out.join("steps.jsonl")).unwrap();
    assert_eq!(
        metrics.lines().count(),
        6,
        "2 micro-batches × 3 epochs at GA 1"
    );
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["args"]["gradient_checkpointing"], true);
    let data = data.to_str().unwrap();
    let before = mean_nll(model.to_str().unwrap(), data);
    let after = mean_nll(out.join("checkpoint").to_str().unwrap(), data);
    eprintln!("training NLL {before:.3} -> {after:.3}");
    assert!(after < before - 0.5, "{before} -> {after}");

    let missing = lethe(&[
        "finetune",
        "--config",
        dir.path().join("nope.toml").to_str().unwrap(),
    ]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.toml"));
}

#[test]
fn a_cached_reference_and_an_offloaded_optimizer_train_the_same_checkpoint() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (forget, retain) = four_rows(&shared, dir.path());
    let model = shared.join("goldens/memorized-tiny-llama");
    let run = |mode: &str, retain_loss: &str, extra: &[&str]| {
        let out = dir
            .path()
            .join(format!("{mode}-{retain_loss}{}", extra.concat()));
        let set_retain = format!("retain_loss_type={retain_loss}");
        let mut args = vec![
            "unlearn",
            "--model",
            model.to_str().unwrap(),
            "--forget",
            &forget,
            "--retain",
            &retain,
            "--objective",
            "npo",
            "--wrapper",
            "dv",
            "--set",
            &set_retain,
            "--reference-mode",
            mode,
            "--lr",
            "1e-3",
            "--batch-size",
            "2",
            "--grad-accum",
            "1",
            "--epochs",
            "2",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        (out.clone(), lethe(&args))
    };
    let (live, output) = run("live", "nll", &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (cached, output) = run("cached", "nll", &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("reference cached: 4 rows")
            && stderr.contains("the reference model is freed"),
        "{stderr}"
    );
    let weights = |out: &Path| std::fs::read(out.join("checkpoint/model.safetensors")).unwrap();
    assert!(
        weights(&live) == weights(&cached),
        "cached and live references give the same checkpoint"
    );
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cached.join("spec.json")).unwrap()).unwrap();
    assert_eq!(spec["trainer"]["reference_mode"], "cached");

    let (offloaded, output) = run("live", "nll", &["--optimizer-offload"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        weights(&live) == weights(&offloaded),
        "AdamW in host memory gives the same checkpoint"
    );
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(offloaded.join("spec.json")).unwrap())
            .unwrap();
    assert_eq!(spec["trainer"]["optimizer_offload"], true);

    let (_, refused) = run("cached", "kl", &[]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("trainer.reference_mode (--reference-mode)")
            && stderr.contains("KL retain term"),
        "{stderr}"
    );
}
