//! `lethe serve` as a real process with a real SQLite file: killed mid-run and restarted, the run
//! is `interrupted`, the database passes its integrity check and earlier results are intact; and
//! the real engine on the tiny Llama fixture end to end: submit over HTTP, watch the websocket,
//! read the metrics back; tokens made by `lethe token` gate a team server, and
//! `--requeue-interrupted` runs a killed run again.

use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::{Value, json};
use shared::live::ServerEvent;
use shared::run::{Created, RunDetail, RunState};

#[path = "support/serve.rs"]
mod support;
use support::{post, run, serve, shared_dir, small_tofu, tiny_model_root, wait_for};

#[test]
fn a_killed_server_restarts_with_the_run_interrupted_and_the_database_intact() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models/tiny");
    std::fs::create_dir_all(&models).unwrap();
    std::fs::write(models.join("config.json"), "{}").unwrap();
    let data = dir.path().join("data");
    let root = dir.path().join("models");
    let args = ["--fake-executor", "--model-root", root.to_str().unwrap()];
    let spec = json!({"model": "tiny", "objective": {"method": "npo"}});
    let mut server = serve(&data, &args);
    let first: Created = serde_json::from_value(post(&server.base, "/api/runs", &spec)).unwrap();
    let finished = wait_for(
        &server.base,
        first.ids[0],
        |s| s == RunState::Succeeded,
        Duration::from_secs(60),
    );
    let second: Created = serde_json::from_value(post(&server.base, "/api/runs", &spec)).unwrap();
    wait_for(
        &server.base,
        second.ids[0],
        |s| s == RunState::Running,
        Duration::from_secs(60),
    );
    std::thread::sleep(Duration::from_millis(300));
    // SIGKILL: no shutdown handler runs.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);
    let check = server::db::Db::open(&data.join("lethe.db"))
        .unwrap()
        .call_blocking(|conn| server::db::integrity_check(conn))
        .unwrap();
    assert_eq!(check, "ok");
    let server = serve(&data, &args);
    let interrupted = run(&server.base, second.ids[0]);
    assert_eq!(interrupted.summary.state, RunState::Interrupted);
    assert!(interrupted.error.unwrap().contains("server stopped"));
    let again = run(&server.base, first.ids[0]);
    assert_eq!(again.summary.state, RunState::Succeeded);
    assert_eq!(again.summary.metrics, finished.summary.metrics);
    assert_eq!(again.artifacts, finished.artifacts);
    // The restarted server still runs new work.
    let third: Created = serde_json::from_value(post(&server.base, "/api/runs", &spec)).unwrap();
    wait_for(
        &server.base,
        third.ids[0],
        |s| s == RunState::Succeeded,
        Duration::from_secs(60),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_runs_a_submitted_spec_end_to_end() {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tofu = dir.path().join("tofu");
    small_tofu(&shared, &tofu);
    let root = shared.join("fixtures");
    let data = dir.path().join("data");
    let server = serve(
        &data,
        &[
            "--model-root",
            root.to_str().unwrap(),
            "--tofu-dir",
            tofu.to_str().unwrap(),
        ],
    );
    let base = server.base.clone();
    let models: Value = serde_json::from_str(
        &ureq::get(&format!("{base}/api/models"))
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
    )
    .unwrap();
    let tiny = models
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "tiny-llama")
        .unwrap_or_else(|| panic!("{models}"));
    assert_eq!(tiny["family"], "llama");
    let spec = json!({
        "model": "tiny-llama",
        "objective": {"method": "npo"},
        "wrapper": {"kind": "dv", "tau": 1.0},
        "trainer": {"batch_size": 2, "grad_accum": 1, "epochs": 2, "lr": 1e-3},
        "eval": {"batch_size": 4, "max_new_tokens": 8}
    });
    let created: Created = serde_json::from_value(tokio::task::block_in_place(|| {
        post(&base, "/api/runs", &spec)
    }))
    .unwrap();
    let id = created.ids[0];
    let ws = base.replace("http://", "ws://");
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("{ws}/api/runs/{id}/live"))
        .await
        .unwrap();
    let mut steps = 0;
    let mut stages = std::collections::BTreeSet::new();
    let mut last = None;
    while let Some(message) = tokio::time::timeout(Duration::from_secs(600), socket.next())
        .await
        .unwrap()
    {
        let text = match message.unwrap() {
            tokio_tungstenite::tungstenite::Message::Text(text) => text,
            tokio_tungstenite::tungstenite::Message::Close(_) => break,
            _ => continue,
        };
        let event: ServerEvent = serde_json::from_str(&text).unwrap();
        match &event {
            ServerEvent::Snapshot { snapshot, .. } => steps += snapshot.steps.len(),
            ServerEvent::Step { point, .. } => {
                steps += 1;
                assert_eq!(point.total_steps, 4);
                assert_eq!(
                    point.weights.len(),
                    2,
                    "BalDRO-DV weights of the micro-batch"
                );
                let sum: f64 = point.weights.iter().sum();
                assert!((sum - 1.0).abs() < 1e-4, "DV weights sum to 1: {sum}");
                assert_eq!(point.samples.len(), 2, "the forget items of the step");
            }
            ServerEvent::Eval { point, .. } => {
                stages.insert(point.stage.clone());
            }
            _ => {}
        }
        last = Some(event);
    }
    match last {
        Some(ServerEvent::State { state, error, .. }) => {
            assert_eq!(state, RunState::Succeeded, "{error:?}");
        }
        other => panic!("ended with {other:?}"),
    }
    assert_eq!(steps, 4);
    assert!(stages.contains("forget generation"), "{stages:?}");
    let done = tokio::task::block_in_place(|| run(&base, id));
    let metrics = &done.summary.metrics;
    for key in [
        "model_utility",
        "forget_truth_ratio",
        "forget_Q_A_Prob",
        "train_loss",
    ] {
        assert!(
            metrics.get(key).is_some_and(|v| v.is_finite()),
            "{key}: {metrics:?}"
        );
    }
    assert!(
        done.artifacts.iter().any(|a| a == "eval/TOFU_EVAL.json"),
        "{:?}",
        done.artifacts
    );
    assert!(
        done.artifacts
            .iter()
            .any(|a| a == "checkpoint/model.safetensors"),
        "{:?}",
        done.artifacts
    );
    let summary: Value = serde_json::from_str(
        &ureq::get(&format!(
            "{base}/api/runs/{id}/artifacts/eval/TOFU_SUMMARY.json"
        ))
        .call()
        .unwrap()
        .into_string()
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        summary["model_utility"].as_f64(),
        metrics.get("model_utility").copied()
    );
}

#[test]
fn lethe_run_submits_to_a_server_or_runs_locally() {
    let dir = tempfile::tempdir().unwrap();
    let root = tiny_model_root(dir.path());
    let spec = dir.path().join("spec.json");
    std::fs::write(
        &spec,
        r#"{"model": "tiny", "objective": {"method": "wga"}}"#,
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = serve(
        &data,
        &["--fake-executor", "--model-root", root.to_str().unwrap()],
    );
    let lethe = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lethe"))
            .args(args)
            .env("HF_HUB_OFFLINE", "1")
            .output()
            .unwrap()
    };
    let remote = lethe(&["run", spec.to_str().unwrap(), "--server", &server.base]);
    assert!(
        remote.status.success(),
        "{}",
        String::from_utf8_lossy(&remote.stderr)
    );
    let line: Value = serde_json::from_slice(&remote.stdout).unwrap();
    assert_eq!(line["state"], "succeeded");
    assert!(line["metrics"]["forget_quality"].is_number());
    // A spec the server refuses: the field is named, nothing runs.
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"model": "tiny", "objective": {"method": "wga"}, "trainer": {"lr": 0}}"#,
    )
    .unwrap();
    let refused = lethe(&["run", bad.to_str().unwrap(), "--server", &server.base]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("trainer.lr"));
    drop(server);
    // Locally, into the same data directory: the server's earlier run is still there.
    let local_dir = data.to_str().unwrap();
    let local = lethe(&[
        "run",
        spec.to_str().unwrap(),
        "--data-dir",
        local_dir,
        "--fake-executor",
        "--model-root",
        root.to_str().unwrap(),
    ]);
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );
    let line: Value = serde_json::from_slice(&local.stdout).unwrap();
    assert_eq!(line["state"], "succeeded");
    assert_eq!(line["id"], 2);
}

#[test]
fn tokens_made_by_the_cli_open_a_team_server_and_requeue_brings_back_interrupted_runs() {
    let dir = tempfile::tempdir().unwrap();
    let root = tiny_model_root(dir.path());
    let data = dir.path().join("data");
    let lethe = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_lethe"))
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap()
    };
    let created = lethe(&["token", "create", "--name", "bob"]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token = String::from_utf8(created.stdout)
        .unwrap()
        .trim()
        .to_string();
    assert!(token.starts_with("lethe_"));
    let listed = String::from_utf8(lethe(&["token", "list"]).stdout).unwrap();
    assert!(
        listed.contains("bob") && !listed.contains(&token),
        "{listed}"
    );
    let args = [
        "--fake-executor",
        "--auth",
        "tokens",
        "--requeue-interrupted",
        "--model-root",
        root.to_str().unwrap(),
    ];
    let mut server = serve(&data, &args);
    let spec = json!({"model": "tiny", "objective": {"method": "npo"}}).to_string();
    let url = format!("{}/api/runs", server.base);
    match ureq::post(&url).send_string(&spec) {
        Err(ureq::Error::Status(401, _)) => {}
        other => panic!("expected 401, got {other:?}"),
    }
    let response = ureq::post(&url)
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "application/json")
        .send_string(&spec)
        .unwrap();
    let created: Created = serde_json::from_str(&response.into_string().unwrap()).unwrap();
    let id = created.ids[0];
    let get = |base: &str| -> RunDetail {
        let text = ureq::get(&format!("{base}/api/runs/{id}"))
            .set("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let start = Instant::now();
    while get(&server.base).summary.state != RunState::Running {
        assert!(start.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(get(&server.base).summary.created_by, "bob");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);
    // With --requeue-interrupted the killed run runs again, to the end.
    let server = serve(&data, &args);
    let start = Instant::now();
    loop {
        let run = get(&server.base);
        if run.summary.state == RunState::Succeeded {
            break;
        }
        assert!(
            matches!(run.summary.state, RunState::Queued | RunState::Running),
            "{:?}",
            run.summary.state
        );
        assert!(start.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(100));
    }
    let revoked = lethe(&["token", "revoke", "--name", "bob"]);
    assert!(revoked.status.success());
    match ureq::get(&format!("{}/api/runs", server.base))
        .set("Authorization", &format!("Bearer {token}"))
        .call()
    {
        Err(ureq::Error::Status(401, _)) => {}
        other => panic!("expected 401 after revoking, got {other:?}"),
    }
}

/// The embedded default, the whole TOFU protocol on a reduced generated dataset: `lethe demo
/// build` generates the data, trains the target and a retain model from random weights and
/// evaluates the retain model; `lethe serve` then offers `demo`, and an NPO run on forget01 is
/// scored against the demo's own retain reference without the spec naming one.
#[test]
fn the_demo_protocol_runs_from_generated_data_to_forget_quality() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let build = Command::new(env!("CARGO_BIN_EXE_lethe"))
        .args([
            "demo",
            "build",
            "--authors",
            "20",
            "--questions",
            "4",
            "--epochs",
            "2",
        ])
        .args(["--splits", "forget01", "--data-dir"])
        .arg(&data_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&build.stdout);
    assert!(
        build.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&build.stderr)
    );
    assert!(stdout.contains("retain reference for forget01"), "{stdout}");
    let data = data_dir.join("tofu-generated-20x4");
    let model = data_dir.join("models/demo");
    assert!(model.join("retain_refs/forget01/TOFU_EVAL.json").is_file());
    assert!(
        !data_dir
            .join("models")
            .read_dir()
            .unwrap()
            .any(|e| { e.unwrap().file_name().to_string_lossy().starts_with('.') }),
        "no half-written model is left behind"
    );

    let server = serve(&data_dir, &["--tofu-dir", data.to_str().unwrap()]);
    let models: Value = serde_json::from_str(
        &ureq::get(&format!("{}/api/models", server.base))
            .call()
            .unwrap()
            .into_string()
            .unwrap(),
    )
    .unwrap();
    assert!(
        models.as_array().unwrap().iter().any(|m| m["id"] == "demo"),
        "{models}"
    );
    let spec = json!({
        "model": "demo",
        "objective": {"method": "npo"},
        "trainer": {"batch_size": 4, "grad_accum": 1, "epochs": 2, "lr": 1e-3},
        "eval": {"batch_size": 16, "max_new_tokens": 32}
    });
    let created: Created = serde_json::from_value(post(&server.base, "/api/runs", &spec)).unwrap();
    let done = wait_for(
        &server.base,
        created.ids[0],
        RunState::is_terminal,
        Duration::from_secs(600),
    );
    assert_eq!(done.summary.state, RunState::Succeeded, "{:?}", done.error);
    let metrics = &done.summary.metrics;
    let fq = metrics.get("forget_quality").copied().unwrap_or(f64::NAN);
    assert!(
        (0.0..=1.0).contains(&fq),
        "forget quality from the demo's reference: {metrics:?}"
    );
    assert!(metrics.contains_key("model_utility"), "{metrics:?}");
    assert!(
        done.artifacts
            .iter()
            .any(|a| a == shared::paths::ARTIFACT_RETAIN_REF),
        "{:?}",
        done.artifacts
    );
}

/// `lethe study spec` is the 27-run grid per model and the server expands it so; `lethe study
/// report` lays the stored results of a sweep out as the seed table, each cell the run's own
/// metrics, and draws one point per finished run.
#[test]
fn the_study_expands_to_its_grid_and_the_report_matches_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let root = tiny_model_root(dir.path());
    let data = dir.path().join("data");
    let server = serve(
        &data,
        &["--fake-executor", "--model-root", root.to_str().unwrap()],
    );
    let study = Command::new(env!("CARGO_BIN_EXE_lethe"))
        .args(["study", "spec", "--model", "tiny", "--lr", "2e-5"])
        .output()
        .unwrap();
    assert!(
        study.status.success(),
        "{}",
        String::from_utf8_lossy(&study.stderr)
    );
    let sweep: shared::sweep::SweepSpec = serde_json::from_slice(&study.stdout).unwrap();
    assert_eq!(sweep.count(), 27);
    assert!(sweep.base.attacks.is_empty());
    // `--attacks` attacks every run of the grid: relearning and both quantizations.
    let attacked = Command::new(env!("CARGO_BIN_EXE_lethe"))
        .args(["study", "spec", "--model", "tiny", "--attacks"])
        .output()
        .unwrap();
    let attacked: shared::sweep::SweepSpec = serde_json::from_slice(&attacked.stdout).unwrap();
    let runs = attacked.expand();
    assert_eq!(runs.len(), 27);
    assert!(
        runs.iter()
            .all(|r| r.attacks.len() == 3 && r.validate().is_empty()),
        "{:?}",
        runs[0].attacks
    );

    // A smaller grid to report on: NPO and WGA, plain and DV, two learning rates.
    let mut small = sweep.clone();
    small.name = "small".into();
    small.grid.objectives.truncate(2);
    small.grid.wrappers.truncate(2);
    small.grid.splits.truncate(1);
    small.grid.lrs = vec![1e-5, 4e-5];
    let created: Created = serde_json::from_value(post(
        &server.base,
        "/api/sweeps",
        &serde_json::to_value(&small).unwrap(),
    ))
    .unwrap();
    assert_eq!(created.ids.len(), 8);
    let runs: Vec<RunDetail> = created
        .ids
        .iter()
        .map(|id| {
            wait_for(
                &server.base,
                *id,
                RunState::is_terminal,
                Duration::from_secs(120),
            )
        })
        .collect();
    let out = dir.path().join("report");
    let report = Command::new(env!("CARGO_BIN_EXE_lethe"))
        .args(["study", "report", "--sweep"])
        .arg(created.sweep_id.unwrap().to_string())
        .arg("--data-dir")
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let table = std::fs::read_to_string(out.join("study.md")).unwrap();
    for run in &runs {
        let objective = match run.summary.wrapper.as_str() {
            "dv" => format!("BalDRO-DV + {}", run.summary.method.label()),
            _ => run.summary.method.label().to_string(),
        };
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("| {objective} | forget01 |")))
            .unwrap_or_else(|| panic!("no row for {objective}:\n{table}"));
        let fq = run.summary.metrics["forget_quality"];
        assert!(
            row.contains(&format!("{fq:.3} · 0.500")),
            "{row} lacks run {}'s FQ {fq}",
            run.summary.id
        );
    }
    let svg = std::fs::read_to_string(out.join("study.svg")).unwrap();
    assert_eq!(
        svg.matches("<circle").count(),
        8 + 3,
        "one point per run, three legend dots"
    );
}
