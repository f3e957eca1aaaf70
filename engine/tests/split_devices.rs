//! One model over two devices gives what it gives on one: the decoder layers split over two wgpu
//! devices (`wgpu` and `wgpu:cpu`, both Mesa lavapipe in CI, each its own wgpu device and queue),
//! the activations crossing between them forward and the gradients backward.
//!
//! Checked on an untied model (tiny-llama: logits on the second device) and a tied one
//! (tiny-qwen3: the projection is the embedding, so the last hidden state goes back to the
//! first): NPO with an NLL retain term, NPO with a KL retain term (the reference's logits also
//! split), and BalDRO-DV over NPO; every parameter's gradient; and greedy generation through the
//! KV cache.
#![cfg(feature = "wgpu")]
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

#[path = "support/gradients.rs"]
mod gradients;
#[path = "support/bounded.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use burn::tensor::Device;
use engine::Devices;
use engine::llama::{GenerateOptions, LlamaForCausalLM, ModelSource, WeightDtype, load_split};
use engine::objectives::{
    Direction, Method, ObjectiveConfig, RetainLoss, Rows, Wrapper, compute, micro_batch,
};
use gradients::{all_gradients, relative_l2};
use support::{bounded, wgpu_fixtures};

/// Both devices run the same kernels on the same adapter, but each autotunes its own: the
/// results agree to rounding (measured: loss ≤ 7e-8, gradient ≤ 8.3e-7 relative).
const RTOL: f64 = 1e-5;

fn objectives() -> Vec<(&'static str, ObjectiveConfig)> {
    let npo = |retain, wrapper| ObjectiveConfig {
        method: Method::Npo { beta: 0.1 },
        gamma: 1.0,
        alpha: 1.0,
        retain,
        wrapper,
    };
    vec![
        ("NPO + NLL", npo(RetainLoss::Nll, Wrapper::None)),
        ("NPO + KL", npo(RetainLoss::Kl, Wrapper::None)),
        (
            "BalDRO-DV NPO",
            npo(
                RetainLoss::SummedNll,
                Wrapper::Dv {
                    tau: 1.0,
                    direction: Direction::SoftMin,
                },
            ),
        ),
    ]
}

/// Two rows of the fixture's vocabulary, answers labelled from position 3.
fn rows(seed: u32) -> Rows {
    let ids: Vec<Vec<u32>> = (0..2)
        .map(|row| {
            (0..9 + row)
                .map(|t| (seed * 131 + row * 17 + t * 29) % 997 + 1)
                .collect()
        })
        .collect();
    let labels = ids
        .iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(t, id)| if t < 3 { -100 } else { i64::from(*id) })
                .collect()
        })
        .collect();
    (ids, labels)
}

fn load(dir: &Path, devices: &[Device]) -> LlamaForCausalLM {
    load_split(
        &ModelSource::Dir(dir.to_path_buf()),
        devices,
        WeightDtype::F32,
    )
    .unwrap()
    .model
}

/// What one placement computes: each objective's loss and gradient, and a greedy generation.
type Outcome = (Vec<(f64, Vec<f32>)>, Vec<Vec<u32>>);

fn run(dir: &Path, devices: &Devices) -> Outcome {
    let plain = devices.devices().unwrap();
    let tracked: Vec<Device> = plain.iter().map(|d| d.clone().autodiff()).collect();
    let policy = load(dir, &tracked);
    let reference = load(dir, &plain);
    if devices.len() > 1 {
        let first = policy.model.layers.first().unwrap().device();
        let last = policy.model.layers.last().unwrap().device();
        assert!(first != last, "the layers were not split: {first:?}");
        assert!(policy.device() == tracked[0]);
    }
    let (forget, retain) = (rows(1), rows(2));
    let losses = objectives()
        .into_iter()
        .map(|(_, config)| {
            let batch = micro_batch(
                &config,
                &policy,
                Some(&reference),
                &forget,
                &retain,
                None,
                0,
            )
            .unwrap();
            let output = compute(&config, &batch, 7, None).unwrap();
            let grads = output.loss.backward();
            (output.loss_value, all_gradients(&policy, &grads))
        })
        .collect();
    let options = GenerateOptions {
        max_new_tokens: 6,
        stop_ids: Vec::new(),
        pad_id: 0,
        use_cache: true,
    };
    let generated = reference
        .generate(&forget.0, &options)
        .into_iter()
        .map(|g| g.new_ids)
        .collect();
    (losses, generated)
}

fn compare(fixture: PathBuf) -> Vec<String> {
    let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
    let (one, two) = bounded(
        Duration::from_secs(480),
        "one and two devices' forward and backward",
        move || {
            let one = run(&fixture, &"wgpu".parse().unwrap());
            let two = run(&fixture, &"wgpu,wgpu:cpu".parse().unwrap());
            (one, two)
        },
    );
    let mut failures = Vec::new();
    for ((label, _), ((loss_one, grad_one), (loss_two, grad_two))) in
        objectives().iter().zip(one.0.iter().zip(&two.0))
    {
        let loss_error = (loss_two - loss_one).abs() / loss_one.abs().max(1e-12);
        let grad_error = relative_l2(grad_two, grad_one);
        eprintln!(
            "{name}: {label}: loss {loss_one:.7} vs {loss_two:.7} (rel Δ {loss_error:.1e}), \
             gradient rel Δ {grad_error:.1e} over {} values",
            grad_one.len()
        );
        if grad_one.is_empty() || grad_one.len() != grad_two.len() {
            failures.push(format!(
                "{name}: {label}: {} gradient values on one device, {} on two",
                grad_one.len(),
                grad_two.len()
            ));
        } else if loss_error > RTOL || grad_error > RTOL {
            failures.push(format!(
                "{name}: {label}: loss rel Δ {loss_error:.1e}, gradient rel Δ {grad_error:.1e}"
            ));
        }
    }
    if one.1 != two.1 {
        failures.push(format!(
            "{name}: greedy generation differs: {:?} on one device, {:?} on two",
            one.1, two.1
        ));
    }
    failures
}

#[test]
fn a_model_split_over_two_devices_trains_and_generates_as_on_one() {
    let Some(fixtures) = wgpu_fixtures() else {
        return;
    };
    let mut failures = compare(fixtures.join("tiny-llama"));
    failures.extend(compare(fixtures.join("tiny-qwen3")));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
