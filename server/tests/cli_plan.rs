//! `lethe plan`: a run's memory from a directory holding only `config.json`, part by part, with
//! the switches moving the parts they should; `--auto` picks settings that fit (bf16 only on
//! CUDA); and a server refuses a run whose plan does not fit its device with a 422 naming
//! `trainer`, while `POST /api/plan` shows the plan and a run records its `plan.json`.
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use shared::run::{Created, RunState};

#[path = "support/serve.rs"]
mod support;
use support::{lethe_json, post, serve, shared_dir, small_tofu, wait_for};

fn plan(args: &[&str]) -> Value {
    lethe_json(&[&["plan"], args, &["--json"]].concat())
}

fn part(plan: &Value, place: &str, name: &str) -> u64 {
    plan["parts"][place][name].as_u64().unwrap_or(0)
}

fn study_model(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/models")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_plan_needs_only_config_json_and_follows_the_switches() {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        shared.join("fixtures/tiny-llama/config.json"),
        dir.path().join("config.json"),
    )
    .unwrap();
    let model = dir.path().to_str().unwrap();
    let expected = engine::llama::inspect(&engine::llama::ModelSource::Dir(
        shared.join("fixtures/tiny-llama"),
    ))
    .unwrap()
    .parameter_count as u64;
    let gpu = ["--device", "wgpu", "--device-memory", "1GiB"];
    let live = plan(&[&[model][..], &gpu].concat());
    let p = live["parameters"].as_u64().unwrap();
    assert_eq!(p, expected, "the parameters of the fixture's weights");
    // The resident parts (and the GPU pool's slack, half the weights), plus the larger of the
    // activations and the gradients with their sums.
    assert_eq!(part(&live, "device", "pool_slack"), 2 * p);
    let resident: u64 = [
        "weights",
        "optimizer_state",
        "master_weights",
        "reference",
        "pool_slack",
    ]
    .iter()
    .map(|name| part(&live, "device", name))
    .sum();
    let transient = part(&live, "device", "activations")
        .max(part(&live, "device", "gradients") + part(&live, "device", "gradient_sums"));
    assert_eq!(live["peak_bytes"].as_u64().unwrap(), resident + transient);
    assert_eq!(part(&live, "device", "weights"), 4 * p);
    assert_eq!(part(&live, "device", "optimizer_state"), 8 * p);
    assert_eq!(
        part(&live, "device", "reference"),
        4 * p,
        "NPO keeps a live reference"
    );
    assert_eq!(live["fits"], true);

    let lean = plan(
        &[
            &[model][..],
            &gpu,
            &[
                "--reference-mode",
                "cached",
                "--optimizer-offload",
                "--gradient-checkpointing",
            ],
        ]
        .concat(),
    );
    assert_eq!(part(&lean, "device", "reference"), 0);
    assert_eq!(part(&lean, "device", "optimizer_state"), 0);
    assert_eq!(part(&lean, "host", "optimizer_state"), 8 * p);
    assert!(part(&lean, "host", "reference_cache") > 0);
    assert!(part(&lean, "device", "activations") < part(&live, "device", "activations"));
    assert_eq!(lean["settings"]["reference_mode"], "cached");

    let kl = plan(
        &[
            &[model][..],
            &gpu,
            &["--reference-mode", "cached", "--set", "retain_loss_type=kl"],
        ]
        .concat(),
    );
    assert_eq!(
        part(&kl, "device", "reference"),
        4 * p,
        "KL keeps the model"
    );
    assert!(kl["notes"][0].as_str().unwrap().contains("KL"), "{kl}");

    let half = plan(&[&[model][..], &gpu, &["--dtype", "bf16"]].concat());
    let notes = half["notes"].to_string();
    assert!(
        notes.contains("dtype: wgpu trains in f32") && notes.contains("storage-only"),
        "{notes}"
    );

    let free = plan(&[&[model][..], &gpu, &["--objective", "grad_ascent"]].concat());
    assert_eq!(part(&free, "device", "reference"), 0, "no reference at all");
}

#[test]
fn lora_plans_state_for_the_adapters_only_and_no_reference_copy() {
    let model = study_model("llama-3.1-8b");
    let gpu = [
        "--device",
        "cuda:0",
        "--dtype",
        "bf16",
        "--device-memory",
        "80GB",
    ];
    let full = plan(&[&[model.as_str()][..], &gpu].concat());
    let lora = plan(&[&[model.as_str()][..], &gpu, &["--lora-rank", "16"]].concat());
    // Rank 16 on every projection of Llama-3.1-8B: 41,943,040 adapter parameters, AdamW's two
    // f32 moments and an f32 master copy each.
    assert_eq!(part(&lora, "device", "optimizer_state"), 41_943_040 * 8);
    assert_eq!(part(&lora, "device", "master_weights"), 41_943_040 * 4);
    assert_eq!(part(&lora, "device", "reference"), 0);
    assert_eq!(
        part(&lora, "device", "weights"),
        part(&full, "device", "weights")
    );
    let peak = |p: &Value| p["peak_bytes"].as_u64().unwrap();
    assert!(peak(&lora) * 2 < peak(&full) + peak(&full) / 10, "{lora}");
}

#[test]
fn auto_finds_settings_that_fit_and_keeps_bf16_to_cuda() {
    let model = study_model("llama-2-7b");
    let cuda = plan(&[
        &model,
        "--device",
        "cuda:0",
        "--device-memory",
        "80GiB",
        "--auto",
    ]);
    assert_eq!(cuda["fits"], true, "{cuda}");
    assert_eq!(cuda["settings"]["dtype"], "bf16");
    assert!(cuda["peak_bytes"].as_u64().unwrap() <= 80 << 30);
    let auto_note = cuda["notes"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap();
    assert!(
        auto_note.starts_with("auto: --batch-size 8 --dtype bf16"),
        "{auto_note}"
    );

    let vulkan = plan(&[
        &study_model("llama-3.1-8b"),
        "--device",
        "wgpu",
        "--device-memory",
        "80GiB",
        "--auto",
    ]);
    assert_eq!(
        vulkan["settings"]["dtype"], "f32",
        "bf16 trains on CUDA only"
    );
    assert_eq!(
        vulkan["fits"], false,
        "an 8B model in f32 does not fit 80 GiB: {vulkan}"
    );
}

/// The body of the 422 that `POST /api/runs` answers `spec` with.
fn refused(base: &str, spec: &Value) -> Value {
    let answer = ureq::post(&format!("{base}/api/runs"))
        .set("Content-Type", "application/json")
        .send_string(&spec.to_string());
    let Err(ureq::Error::Status(422, response)) = answer else {
        panic!("expected a 422 for {spec}, got {answer:?}");
    };
    serde_json::from_str(&response.into_string().unwrap()).unwrap()
}

#[test]
fn a_server_refuses_a_run_that_cannot_fit_and_records_the_plan_of_one_that_can() {
    let Some(shared) = shared_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tofu = dir.path().join("tofu");
    small_tofu(&shared, &tofu);
    let fixtures = shared.join("fixtures");
    let (fixtures, tofu_dir) = (fixtures.to_str().unwrap(), tofu.to_str().unwrap());
    let spec = json!({
        "model": "tiny-llama",
        "objective": {"method": "npo"},
        "trainer": {"batch_size": 2, "grad_accum": 1, "epochs": 1, "lr": 1e-3},
        "eval": {"enabled": false}
    });

    let small = serve(
        &dir.path().join("small"),
        &[
            "--model-root",
            fixtures,
            "--tofu-dir",
            tofu_dir,
            "--device-memory",
            "1MiB",
        ],
    );
    // bf16 trains on CUDA only: a cpu server refuses it by name, before planning memory.
    let mut half = spec.clone();
    half["trainer"]["dtype"] = json!("bf16");
    let body = refused(&small.base, &half);
    assert_eq!(body["fields"][0]["field"], "trainer.dtype", "{body}");
    assert!(
        body["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("bf16 does not train on cpu"),
        "{body}"
    );
    let shown = post(&small.base, "/api/plan", &spec);
    assert_eq!(shown["fits"], false, "{shown}");
    assert_eq!(shown["device_memory"], 1 << 20);
    // A model split over two devices needs a server that gives a run two.
    let mut split = spec.clone();
    split["trainer"]["devices"] = json!(2);
    let body = refused(&small.base, &split);
    assert_eq!(body["fields"][0]["field"], "trainer.devices", "{body}");
    let body = refused(&small.base, &spec);
    assert_eq!(body["fields"][0]["field"], "trainer", "{body}");
    let message = body["fields"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("the run needs") && message.contains("which has 1.0 MiB"),
        "{message}"
    );
    drop(small);

    let roomy = serve(
        &dir.path().join("roomy"),
        &["--model-root", fixtures, "--tofu-dir", tofu_dir],
    );
    let created: Created = serde_json::from_value(post(&roomy.base, "/api/runs", &spec)).unwrap();
    let done = wait_for(
        &roomy.base,
        created.ids[0],
        RunState::is_terminal,
        Duration::from_secs(300),
    );
    assert_eq!(done.summary.state, RunState::Succeeded, "{:?}", done.error);
    let recorded: Value = serde_json::from_slice(
        &std::fs::read(
            dir.path()
                .join("roomy/runs")
                .join(created.ids[0].to_string())
                .join("plan.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(recorded["settings"]["device"], "cpu");
    assert!(
        recorded["peak_bytes"].as_u64().unwrap()
            > recorded["parts"]["device"]["weights"].as_u64().unwrap()
    );
}
