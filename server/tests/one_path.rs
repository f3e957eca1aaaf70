//! One run, one path: the same NPO + BalDRO-DV run of the tiny Llama fixture, submitted to a
//! server over HTTP, executed by `lethe run spec.json` without a server, by `lethe worker` on a
//! run directory, by `lethe unlearn … && lethe eval …`, and repeated by `lethe unlearn --config
//! spec.json` and by a worker on the spec `lethe unlearn` wrote, gives the same checkpoint bytes
//! and the same `TOFU_EVAL.json`. A worker whose run fails says so in `state.json` and its exit
//! status.
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use shared::run::{Created, RunState};

#[path = "support/serve.rs"]
mod support;
use support::{post, serve, shared_dir, small_tofu, wait_for};
#[path = "support/demo.rs"]
mod demo;
use demo::{lethe, ok};

/// Every file of a checkpoint directory, by name.
fn checkpoint(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let files: BTreeMap<String, Vec<u8>> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    assert!(files.contains_key("model.safetensors"), "{files:?}");
    files
}

fn eval_log(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("TOFU_EVAL.json")).unwrap()).unwrap()
}

#[test]
fn every_way_of_running_a_spec_gives_the_same_checkpoint_and_evaluation() {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path();
    let path = |p: &PathBuf| p.to_str().unwrap().to_string();
    let tofu = scratch.join("tofu");
    small_tofu(&shared, &tofu);
    let fixtures = shared.join("fixtures");
    let model = fixtures.join("tiny-llama");
    // The retain reference: the untouched model's evaluation, inside the TOFU data root.
    let reference = tofu.join("reference");
    let eval_flags = ["--batch-size", "4", "--max-new-tokens", "8"];
    let mut args = vec![
        "eval",
        model.to_str().unwrap(),
        "--data",
        tofu.to_str().unwrap(),
    ];
    args.extend(eval_flags);
    let reference_out = path(&reference);
    args.extend(["--out", &reference_out]);
    ok(&lethe(&args, scratch));
    let retain_ref = reference.join("TOFU_EVAL.json");

    let spec = json!({
        "model": "tiny-llama",
        "objective": {"method": "npo"},
        "wrapper": {"kind": "dv", "tau": 1.0},
        "trainer": {"batch_size": 2, "grad_accum": 1, "epochs": 2, "lr": 1e-3},
        "eval": {"batch_size": 4, "max_new_tokens": 8, "retain_ref": path(&retain_ref)}
    });
    let places = |data_dir: &Path| {
        vec![
            "--data-dir".to_string(),
            data_dir.to_str().unwrap().to_string(),
            "--model-root".into(),
            path(&fixtures),
            "--tofu-dir".into(),
            path(&tofu),
        ]
    };

    // 1. Through the API of a running server.
    let api_data = scratch.join("api");
    let server = serve(
        &api_data,
        &["--model-root", &path(&fixtures), "--tofu-dir", &path(&tofu)],
    );
    let created: Created = serde_json::from_value(post(&server.base, "/api/runs", &spec)).unwrap();
    let done = wait_for(
        &server.base,
        created.ids[0],
        RunState::is_terminal,
        Duration::from_secs(600),
    );
    assert_eq!(done.summary.state, RunState::Succeeded, "{:?}", done.error);
    drop(server);
    let api_run = api_data.join("runs").join(created.ids[0].to_string());
    let expected_checkpoint = checkpoint(&api_run.join("checkpoint"));
    let expected_eval = eval_log(&api_run.join("eval"));
    assert!(
        expected_eval["forget_quality"]["agg_value"].is_number(),
        "forget quality against the retain reference: {}",
        expected_eval["forget_quality"]
    );

    // 2. `lethe run spec.json`, no server.
    let spec_file = scratch.join("spec.json");
    std::fs::write(&spec_file, spec.to_string()).unwrap();
    let run_data = scratch.join("local");
    let mut args = vec!["run".to_string(), path(&spec_file)];
    args.extend(places(&run_data));
    ok(&lethe(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        scratch,
    ));
    let local_run = run_data.join("runs/1");
    assert_eq!(
        checkpoint(&local_run.join("checkpoint")),
        expected_checkpoint,
        "lethe run"
    );
    assert_eq!(
        eval_log(&local_run.join("eval")),
        expected_eval,
        "lethe run"
    );

    // 3. `lethe worker RUN_DIR` on a directory holding only the spec.
    let worker_dir = scratch.join("worker-run");
    std::fs::create_dir_all(&worker_dir).unwrap();
    std::fs::copy(&spec_file, worker_dir.join("spec.json")).unwrap();
    let mut args = vec!["worker".to_string(), path(&worker_dir)];
    args.extend(places(&scratch.join("worker-data")));
    ok(&lethe(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        scratch,
    ));
    let state: Value =
        serde_json::from_slice(&std::fs::read(worker_dir.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["state"], "succeeded", "{state}");
    assert!(state["metrics"]["model_utility"].is_number(), "{state}");
    assert_eq!(
        checkpoint(&worker_dir.join("checkpoint")),
        expected_checkpoint,
        "worker"
    );
    assert_eq!(eval_log(&worker_dir.join("eval")), expected_eval, "worker");
    let steps = std::fs::read_to_string(worker_dir.join("steps.jsonl")).unwrap();
    assert_eq!(steps.lines().count(), 4, "2 epochs of 2 steps");
    assert!(worker_dir.join("metrics.json").is_file());

    // 4. `lethe unlearn … && lethe eval …` with the same settings as flags.
    let unlearn_out = scratch.join("unlearn");
    let forget = path(&tofu.join("forget01.jsonl"));
    let retain = path(&tofu.join("retain99.jsonl"));
    let out = path(&unlearn_out);
    ok(&lethe(
        &[
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
            "tau=1",
            "--batch-size",
            "2",
            "--grad-accum",
            "1",
            "--epochs",
            "2",
            "--lr",
            "1e-3",
            "--out",
            &out,
        ],
        scratch,
    ));
    assert_eq!(
        checkpoint(&unlearn_out.join("checkpoint")),
        expected_checkpoint,
        "unlearn"
    );
    let eval_out = path(&scratch.join("eval"));
    let unlearned = path(&unlearn_out.join("checkpoint"));
    let mut args = vec!["eval", &unlearned, "--data", tofu.to_str().unwrap()];
    args.extend(eval_flags);
    let retain_ref_text = path(&retain_ref);
    args.extend(["--retain-ref", &retain_ref_text, "--out", &eval_out]);
    ok(&lethe(&args, scratch));
    assert_eq!(
        eval_log(&scratch.join("eval")),
        expected_eval,
        "unlearn && eval"
    );

    // 5. The spec `lethe unlearn` wrote repeats it through --config.
    let again = path(&scratch.join("again"));
    let written = path(&unlearn_out.join("spec.json"));
    ok(&lethe(
        &["unlearn", "--config", &written, "--out", &again],
        scratch,
    ));
    assert_eq!(
        checkpoint(&scratch.join("again/checkpoint")),
        expected_checkpoint,
        "unlearn --config spec.json"
    );

    // 6. So does a worker, whose roots hold the model directory and files that spec names.
    let cli_worker = scratch.join("cli-worker");
    std::fs::create_dir_all(&cli_worker).unwrap();
    std::fs::copy(unlearn_out.join("spec.json"), cli_worker.join("spec.json")).unwrap();
    let mut args = vec!["worker".to_string(), path(&cli_worker)];
    args.extend(places(&scratch.join("worker-data")));
    ok(&lethe(
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        scratch,
    ));
    assert_eq!(
        checkpoint(&cli_worker.join("checkpoint")),
        expected_checkpoint,
        "worker on lethe unlearn's spec.json"
    );
}

#[test]
fn a_worker_whose_run_fails_records_why_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(
        run.join("spec.json"),
        json!({"model": "no-such-model", "objective": {"method": "npo"}}).to_string(),
    )
    .unwrap();
    let output = lethe(
        &[
            "worker",
            run.to_str().unwrap(),
            "--data-dir",
            dir.path().join("data").to_str().unwrap(),
            "--tofu-dir",
            "hub",
        ],
        dir.path(),
    );
    assert!(!output.status.success());
    let state: Value =
        serde_json::from_slice(&std::fs::read(run.join("state.json")).unwrap()).unwrap();
    assert_eq!(state["state"], "failed");
    let error = state["error"].as_str().unwrap();
    assert!(
        error.contains("model: `no-such-model` is not in this server's model registry"),
        "{error}"
    );
    let log = std::fs::read_to_string(run.join("log.txt")).unwrap();
    assert!(
        log.trim_end().ends_with(&format!("failed: {error}")),
        "{log}"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-model"));
}
