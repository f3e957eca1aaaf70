//! `lethe loss`, run as the real binary, against the objective goldens of
//! ../shared/goldens/objectives/memorized (the original OU/BalDRO code on the same four forget and
//! retain rows of TOFU, same `Question: ...\nAnswer: ` template).
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

struct Setup {
    _dir: tempfile::TempDir,
    policy: PathBuf,
    reference: PathBuf,
    forget: PathBuf,
    retain: PathBuf,
    goldens: Value,
}

fn setup() -> Option<Setup> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    if !shared.is_dir() {
        eprintln!("skipped: {} is absent", shared.display());
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    // The goldens' frozen reference is a perturbed copy of the fixture, shipped as bare weights:
    // give it the fixture's config and tokenizer.
    let reference = dir.path().join("reference");
    std::fs::create_dir(&reference).unwrap();
    for file in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(
            shared.join("fixtures/tiny-llama").join(file),
            reference.join(file),
        )
        .unwrap();
    }
    let goldens_dir = shared.join("goldens/objectives/memorized");
    std::fs::copy(
        goldens_dir.join("reference_model.safetensors"),
        reference.join("model.safetensors"),
    )
    .unwrap();
    let first_rows = |name: &str| {
        let text = std::fs::read_to_string(shared.join("data/tofu").join(name)).unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text.lines().take(4).collect::<Vec<_>>().join("\n")).unwrap();
        path
    };
    Some(Setup {
        policy: shared.join("goldens/memorized-tiny-llama"),
        reference,
        forget: first_rows("forget01.jsonl"),
        retain: first_rows("retain99.jsonl"),
        goldens: serde_json::from_str(
            &std::fs::read_to_string(goldens_dir.join("goldens.json")).unwrap(),
        )
        .unwrap(),
        _dir: dir,
    })
}

fn lethe_loss(setup: &Setup, extra: &[&str]) -> Result<Value, String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lethe"));
    command
        .args(["loss", "--json", "--template", "plain"])
        .arg("--policy")
        .arg(&setup.policy)
        .arg("--reference")
        .arg(&setup.reference)
        .arg("--forget")
        .arg(&setup.forget)
        .arg("--retain")
        .arg(&setup.retain)
        .args(extra)
        .env("RUST_LOG", "warn");
    let output = command.output().unwrap();
    if output.status.success() {
        Ok(serde_json::from_slice(&output.stdout).unwrap())
    } else {
        Err(String::from_utf8(output.stderr).unwrap())
    }
}

fn assert_close(ours: f64, theirs: f64, rtol: f64, what: &str) {
    assert!(
        (ours - theirs).abs() <= rtol * theirs.abs() + 1e-7,
        "{what}: {ours} vs {theirs}"
    );
}

#[test]
fn loss_reports_match_the_reference_code() {
    let Some(setup) = setup() else { return };
    let methods = &setup.goldens["methods"];

    let npo = lethe_loss(&setup, &["--objective", "npo"]).unwrap();
    let golden = &methods["OU.NPO"];
    assert_close(
        npo["loss"].as_f64().unwrap(),
        golden["loss"].as_f64().unwrap(),
        2e-5,
        "OU.NPO loss",
    );
    assert_close(
        npo["grad_norm"].as_f64().unwrap(),
        golden["grad_global_l2_norm"].as_f64().unwrap(),
        2e-4,
        "OU.NPO grad norm",
    );
    assert_close(
        npo["components"]["retain_loss"].as_f64().unwrap(),
        golden["components"]["retain_loss"].as_f64().unwrap(),
        2e-5,
        "OU.NPO retain",
    );
    assert_eq!(npo["per_sample"].as_array().unwrap().len(), 4);

    let dr = lethe_loss(
        &setup,
        &[
            "--objective",
            "npo",
            "--wrapper",
            "dv",
            "--set",
            "tau=0.5",
            "--set",
            "retain_loss_type=summed_nll",
        ],
    )
    .unwrap();
    let golden = &methods["BALDRO.DrNPO.tau0.5"];
    assert_close(
        dr["loss"].as_f64().unwrap(),
        golden["loss"].as_f64().unwrap(),
        2e-5,
        "DrNPO loss",
    );
    let weights = golden["per_sample"]["dv_weights softmax(-l/tau)"]
        .as_array()
        .unwrap();
    for (ours, theirs) in dr["weights"].as_array().unwrap().iter().zip(weights) {
        assert_close(
            ours.as_f64().unwrap(),
            theirs.as_f64().unwrap(),
            1e-4,
            "DrNPO weight",
        );
    }

    let kl = lethe_loss(
        &setup,
        &["--objective", "grad_diff", "--set", "retain_loss_type=kl"],
    )
    .unwrap();
    let golden = &methods["OU.GradDiff.KL"];
    assert_close(
        kl["loss"].as_f64().unwrap(),
        golden["loss"].as_f64().unwrap(),
        2e-5,
        "GradDiff.KL loss",
    );
    assert_close(
        kl["grad_norm"].as_f64().unwrap(),
        golden["grad_global_l2_norm"].as_f64().unwrap(),
        2e-4,
        "GradDiff.KL grad norm",
    );

    let group = lethe_loss(&setup, &["--objective", "simnpo", "--wrapper", "g"]).unwrap();
    let selected: Vec<u64> = group["selected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let expected: Vec<u64> =
        methods["BALDRO.GroupSimNPO"]["group"]["selected_forget_indices (torch.topk order)"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
    assert_eq!(selected, expected);
}

#[test]
fn bad_flags_are_named() {
    let Some(setup) = setup() else { return };
    for (args, expected) in [
        (
            vec!["--objective", "npo", "--set", "bogus=1"],
            "objective.params.bogus (--set bogus): NPO has no parameter `bogus`",
        ),
        (
            vec!["--objective", "npo", "--set", "beta=abc"],
            "objective.params.beta (--set beta): beta=abc: `abc` is not a number",
        ),
        (vec!["--objective", "nope"], "--objective nope"),
        (
            vec!["--objective", "npo", "--wrapper", "dv", "--set", "tau=0"],
            "wrapper.tau (--set tau): must be a number > 0",
        ),
        (vec!["--objective", "idk_dpo"], "data.idk: IdkDPO needs"),
    ] {
        let error = lethe_loss(&setup, &args).unwrap_err();
        assert!(error.contains(expected), "{args:?}: {error}");
    }
}
