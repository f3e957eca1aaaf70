//! `lethe tofu summarize` and `lethe tofu rescore` on the published logs in
//! `../shared/data/reference_eval`: the open-unlearning logs of Llama-2-7b-chat (full on forget01,
//! with the retain99 model's log as the reference) reproduce their stored `TOFU_SUMMARY.json`, and
//! the original TOFU logs reproduce `expected_metrics.json` and all 3268 stored ROUGE values.
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn reference_eval() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/reference_eval");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

fn lethe_json(args: &[&str]) -> (serde_json::Value, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_lethe"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(output.status.success(), "{stderr}");
    (serde_json::from_slice(&output.stdout).unwrap(), stderr)
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()) + 1e-300
}

#[test]
fn summarize_reproduces_the_open_unlearning_summary() {
    let Some(dir) = reference_eval() else { return };
    let ou = dir.join("open-unlearning-format");
    let full = ou.join("tofu_Llama-2-7b-chat-hf_full/evals_forget01");
    let retain = ou.join("tofu_Llama-2-7b-chat-hf_retain99");
    let (values, stderr) = lethe_json(&[
        "tofu",
        "summarize",
        full.join("TOFU_EVAL.json").to_str().unwrap(),
        "--retain-ref",
        retain.to_str().unwrap(),
        "--json",
    ]);
    assert!(!stderr.contains("disagrees"), "{stderr}");
    for (log, values) in [
        (full, values),
        (
            retain.clone(),
            lethe_json(&["tofu", "summarize", retain.to_str().unwrap(), "--json"]).0,
        ),
    ] {
        let summary: BTreeMap<String, f64> =
            serde_json::from_str(&std::fs::read_to_string(log.join("TOFU_SUMMARY.json")).unwrap())
                .unwrap();
        for (name, expected) in &summary {
            let ours = values[name].as_f64().unwrap_or(f64::NAN);
            assert!(
                close(ours, *expected, 1e-9),
                "{}: {name} = {ours}, summary {expected}",
                log.display()
            );
        }
    }
    let (values, _) = lethe_json(&[
        "tofu",
        "summarize",
        ou.join("tofu_Llama-2-7b-chat-hf_full/evals_forget01")
            .to_str()
            .unwrap(),
        "--json",
    ]);
    assert!(
        values.get("forget_quality").is_none(),
        "no retain log, no forget quality"
    );
}

#[test]
fn summarize_reproduces_the_original_tofu_numbers() {
    let Some(dir) = reference_eval() else { return };
    let expected: BTreeMap<String, BTreeMap<String, f64>> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected_metrics.json")).unwrap())
            .unwrap();
    for (model, numbers) in &expected {
        let retain = model.replace("_full_", "_retain90_");
        let mut args = vec![
            "tofu".to_string(),
            "summarize".into(),
            dir.join(model).to_str().unwrap().into(),
            "--json".into(),
        ];
        if model.contains("_full_") {
            args.extend([
                "--retain-ref".into(),
                dir.join(&retain).to_str().unwrap().into(),
            ]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (values, _) = lethe_json(&args);
        for (name, expected) in numbers {
            let key = name.split(" (vs ").next().unwrap();
            let ours = values[key].as_f64().unwrap_or(f64::NAN);
            assert!(
                close(ours, *expected, 1e-9),
                "{model}: {name} = {ours}, expected {expected}"
            );
        }
    }
}

#[test]
fn rescore_finds_every_stored_rouge_and_truth_ratio_consistent() {
    let Some(dir) = reference_eval() else { return };
    let mut rouge_items = 0;
    for model in [
        "ft_epoch5_lr1e-05_llama2-7b_full_wd0.01",
        "ft_epoch5_lr1e-05_llama2-7b_retain90_wd0.01",
        "ft_epoch5_lr2e-05_phi_full_wd0.01",
        "ft_epoch5_lr2e-05_phi_retain90_wd0.01",
        "open-unlearning-format/tofu_Llama-2-7b-chat-hf_full/evals_forget01",
        "open-unlearning-format/tofu_Llama-2-7b-chat-hf_retain99",
    ] {
        let (report, _) = lethe_json(&[
            "tofu",
            "rescore",
            dir.join(model).to_str().unwrap(),
            "--json",
        ]);
        for (name, agreement) in report.as_object().unwrap() {
            assert_eq!(agreement["mismatches"], 0, "{model}: {name}: {agreement}");
            if name.ends_with("rougeL_recall") && !model.starts_with("open-") {
                rouge_items += agreement["items"].as_u64().unwrap();
            }
        }
    }
    assert_eq!(
        rouge_items, 3268,
        "every stored ROUGE-L value of the original logs"
    );
}
