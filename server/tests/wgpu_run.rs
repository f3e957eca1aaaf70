//! One run end to end on `--device wgpu` (Mesa's lavapipe on CI): the tiny Llama fixture is
//! unlearned with NPO + BalDRO-DV and evaluated, and every step's losses and gradient norm, and
//! every number of its `TOFU_EVAL.json`, equal the same run on `cpu` within 1e-4; and the same
//! unlearning with the model split over two wgpu devices (`--device wgpu,wgpu:cpu`) equals it on
//! one. Set `LETHE_SKIP_WGPU=1` to skip on a machine without any Vulkan driver.
#![cfg(feature = "wgpu")]
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

#[path = "support/serve.rs"]
mod support;
use support::{shared_dir, small_tofu};

const TOLERANCE: f64 = 1e-4;

/// Runs `spec` with `lethe run` on `device`; the run directory.
fn run_on(device: &str, spec: &Path, fixtures: &Path, tofu: &Path, scratch: &Path) -> PathBuf {
    let data = scratch.join(device);
    let output = Command::new(env!("CARGO_BIN_EXE_lethe"))
        .arg("run")
        .arg(spec)
        .args(["--device", device, "--data-dir"])
        .arg(&data)
        .arg("--model-root")
        .arg(fixtures)
        .arg("--tofu-dir")
        .arg(tofu)
        .env("HF_HUB_OFFLINE", "1")
        .env("HF_HUB_CACHE", scratch.join("no-hf-cache"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{device}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    data.join("runs/1")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE * b.abs().max(1.0)
}

/// Every number of `a` and `b` at the same place, with its path, where they differ by more than
/// the tolerance or where their shapes differ.
fn differences(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if !close(x, y) {
                out.push(format!("{path}: wgpu {x} vs cpu {y}"));
            }
        }
        (Value::Array(xs), Value::Array(ys)) if xs.len() == ys.len() => {
            for (i, (x, y)) in xs.iter().zip(ys).enumerate() {
                differences(&format!("{path}[{i}]"), x, y, out);
            }
        }
        (Value::Object(xs), Value::Object(ys)) if xs.len() == ys.len() => {
            for (key, x) in xs {
                match ys.get(key) {
                    Some(y) => differences(&format!("{path}.{key}"), x, y, out),
                    None => out.push(format!("{path}.{key}: missing on cpu")),
                }
            }
        }
        (x, y) if x == y => {}
        (x, y) => out.push(format!("{path}: wgpu {x} vs cpu {y}")),
    }
}

fn steps(run: &Path) -> Vec<Value> {
    std::fs::read_to_string(run.join("steps.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Where the losses and gradient norms of run `a` differ from run `b`'s (the reference) at each
/// of their four steps, beyond the tolerance.
fn compare_steps(a: (&str, &Path), b: (&str, &Path)) -> Vec<String> {
    let (a_name, b_name) = (a.0, b.0);
    let (a_steps, b_steps) = (steps(a.1), steps(b.1));
    assert_eq!(b_steps.len(), 4, "2 epochs of 2 steps");
    assert_eq!(a_steps.len(), b_steps.len());
    let mut failures = Vec::new();
    for (i, (x, y)) in a_steps.iter().zip(&b_steps).enumerate() {
        for key in ["loss", "forget_loss", "retain_loss", "grad_norm"] {
            let (Some(x), Some(y)) = (x[key].as_f64(), y[key].as_f64()) else {
                failures.push(format!(
                    "step {i}: {key} missing: {a_name} {x}, {b_name} {y}"
                ));
                continue;
            };
            eprintln!("step {i} {key}: {b_name} {y:.7}, {a_name} {x:.7}");
            if !close(x, y) {
                failures.push(format!("step {i}: {key}: {a_name} {x} vs {b_name} {y}"));
            }
        }
    }
    failures
}

#[test]
fn unlearning_and_evaluation_on_wgpu_equal_the_cpu_run() {
    if std::env::var_os("LETHE_SKIP_WGPU").is_some() {
        eprintln!("skipped: LETHE_SKIP_WGPU is set");
        return;
    }
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path();
    let tofu = scratch.join("tofu");
    small_tofu(&shared, &tofu);
    let fixtures = shared.join("fixtures");
    let spec = json!({
        "model": "tiny-llama",
        "objective": {"method": "npo"},
        "wrapper": {"kind": "dv", "tau": 1.0},
        "trainer": {"batch_size": 2, "grad_accum": 1, "epochs": 2, "lr": 1e-3},
        "eval": {"batch_size": 4, "max_new_tokens": 8}
    });
    let spec_file = scratch.join("spec.json");
    std::fs::write(&spec_file, spec.to_string()).unwrap();
    let cpu = run_on("cpu", &spec_file, &fixtures, &tofu, scratch);
    let wgpu = run_on("wgpu", &spec_file, &fixtures, &tofu, scratch);

    let mut failures = compare_steps(("wgpu", &wgpu), ("cpu", &cpu));
    let eval = |run: &Path| -> Value {
        serde_json::from_slice(&std::fs::read(run.join("eval/TOFU_EVAL.json")).unwrap()).unwrap()
    };
    let (cpu_eval, wgpu_eval) = (eval(&cpu), eval(&wgpu));
    assert!(
        cpu_eval["model_utility"]["agg_value"].is_number(),
        "{cpu_eval}"
    );
    differences("TOFU_EVAL", &wgpu_eval, &cpu_eval, &mut failures);
    // The peak on wgpu comes from burn's memory pool, on cpu from the resident high-water mark.
    for run in [&cpu, &wgpu] {
        let plan: Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("plan.json")).unwrap()).unwrap();
        let peak = plan["measured_peak_bytes"].as_u64().unwrap_or(0);
        eprintln!(
            "{}: planned {}, measured {peak}",
            plan["settings"]["device"], plan["peak_bytes"]
        );
        assert!(peak > 0, "no measured peak: {plan}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `lethe unlearn` of the tiny Llama on `device` (one device or a list) into `out`.
fn unlearn_on(device: &str, tofu: &Path, model: &Path, out: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_lethe"))
        .arg("unlearn")
        .arg("--model")
        .arg(model)
        .arg("--data")
        .arg(tofu)
        .args(["--split", "forget01", "--objective", "npo", "--lr", "1e-3"])
        .args(["--batch-size", "2", "--grad-accum", "1", "--epochs", "2"])
        .args(["--device", device, "--out"])
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn a_model_split_over_two_wgpu_devices_unlearns_as_on_one() {
    if std::env::var_os("LETHE_SKIP_WGPU").is_some() {
        eprintln!("skipped: LETHE_SKIP_WGPU is set");
        return;
    }
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tofu = dir.path().join("tofu");
    small_tofu(&shared, &tofu);
    let model = shared.join("fixtures/tiny-llama");
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    for (device, out) in [("wgpu", &one), ("wgpu,wgpu:cpu", &two)] {
        let output = unlearn_on(device, &tofu, &model, out);
        assert!(
            output.status.success(),
            "{device}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(two.join("spec.json")).unwrap()).unwrap();
    assert_eq!(spec["trainer"]["devices"], 2, "{spec}");
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(two.join("plan.json")).unwrap()).unwrap();
    assert_eq!(plan["settings"]["devices"], 2, "{plan}");

    let failures = compare_steps(("two devices", &two), ("one device", &one));
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // A spec that asks for two devices, given one, is refused by name.
    let output = Command::new(env!("CARGO_BIN_EXE_lethe"))
        .arg("unlearn")
        .arg("--config")
        .arg(two.join("spec.json"))
        .args(["--device", "cpu", "--out"])
        .arg(dir.path().join("refused"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("trainer.devices") && stderr.contains("asks for 2 devices"),
        "{stderr}"
    );
}
