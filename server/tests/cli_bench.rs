//! `lethe bench`, the measurements of `scripts/gpu_check.sh`, on the CPU: the tiny fixtures'
//! logits agree with transformers, and NPO steps of a random model of a `config.json` report
//! their speed, measured peak and plan, with `--auto` choosing the plan's settings.

use serde_json::Value;

#[path = "support/serve.rs"]
mod support;
use support::{lethe_json, shared_dir};

fn bench(args: &[&str]) -> Value {
    lethe_json(&[&["bench"], args].concat())
}

#[test]
fn parity_and_npo_steps_report_what_the_gpu_kit_reads() {
    let Some(shared) = shared_dir() else { return };
    let fixtures = shared.join("fixtures");
    let parity = bench(&["parity", "--fixtures", fixtures.to_str().unwrap()]);
    assert_eq!(parity["pass"], true, "{parity}");
    assert_eq!(parity["max_abs_diff"].as_object().unwrap().len(), 3);
    assert!(parity["max"].as_f64().unwrap() < 1e-4, "{parity}");

    let tiny = fixtures.join("tiny-llama");
    let step = bench(&[
        "npo-step",
        "--model-config",
        tiny.join("config.json").to_str().unwrap(),
        "--synthetic",
        "16",
        "--batch-size",
        "2",
        "--steps",
        "3",
    ]);
    assert_eq!(step["parameters"], 220_480, "{step}");
    assert_eq!(step["tokens"], 3 * 2 * 16, "forget twice, retain once");
    assert_eq!(step["step_seconds"].as_array().unwrap().len(), 3);
    assert!(step["tokens_per_s"].as_f64().unwrap() > 0.0, "{step}");
    assert!(step["loss"].as_f64().unwrap().is_finite(), "{step}");
    assert!(step["peak_bytes"].as_u64().unwrap() > 0, "{step}");
    assert!(step["planned_peak_bytes"].as_u64().unwrap() > 0, "{step}");
    assert_eq!(step["settings"]["reference_mode"], "live");

    // With no room at all, --auto gives up everything the CPU allows (bf16 is CUDA's) and the
    // run still trains under those settings.
    let auto = bench(&[
        "npo-step",
        "--model-config",
        tiny.to_str().unwrap(),
        "--synthetic",
        "16",
        "--batch-size",
        "2",
        "--steps",
        "2",
        "--auto",
        "--device-memory",
        "1MiB",
    ]);
    let settings = &auto["settings"];
    assert_eq!(settings["gradient_checkpointing"], true, "{auto}");
    assert_eq!(settings["reference_mode"], "cached", "{auto}");
    assert_eq!(settings["optimizer_offload"], true, "{auto}");
    assert_eq!(settings["dtype"], "f32", "{auto}");
    assert_eq!(auto["fits"], false, "{auto}");
    assert!(auto["loss"].as_f64().unwrap().is_finite(), "{auto}");
}
