//! The wgpu backend computes correctly on whatever Vulkan adapter this machine has: Mesa's
//! lavapipe (software Vulkan) on CI, a real GPU elsewhere.
//!
//! The second test runs the model parity of `llama_parity.rs` (logits of the three tiny fixtures
//! against transformers, 1e-4) on wgpu, so the GPU code path is proven on CI without a GPU.
//!
//! Kept tiny and bounded: a cold wgpu start compiles WGSL kernels through the driver, which on
//! lavapipe takes seconds per kernel (shared/toolchain/BURN.md). Set `LETHE_SKIP_WGPU=1` to skip on
//! a machine without any Vulkan driver.
#![cfg(feature = "wgpu")]

#[path = "support/bounded.rs"]
mod support;

use std::time::Duration;

use burn::tensor::{Tensor, TensorData, Tolerance};
use engine::DeviceSpec;
use engine::llama::{ModelSource, SafetensorsFiles, TokenBatch, WeightDtype, load};
use support::{bounded, wgpu_fixtures, wgpu_wanted};

/// Upper bound for the whole test, cold kernel compilation included.
const LIMIT: Duration = Duration::from_secs(300);

#[test]
fn wgpu_matmul_and_reduction_match_cpu() {
    if !wgpu_wanted() {
        return;
    }
    let (info, product, row_sums) = bounded(LIMIT, "a 2x3 matmul", || {
        let info = DeviceSpec::WGPU.describe().unwrap();
        let device = DeviceSpec::WGPU.device().unwrap();
        let a = Tensor::<2>::from_floats([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], &device);
        let b = Tensor::<2>::from_floats([[1.0, 0.5], [-1.0, 2.0], [0.25, -0.5]], &device);
        let product = a.clone().matmul(b).into_data();
        let row_sums = a.sum_dim(1).into_data();
        (info, product, row_sums)
    });
    eprintln!("wgpu adapter: {}", info.adapter);
    assert_eq!(info.backend, "wgpu");
    product.assert_approx_eq::<f32>(
        &TensorData::from([[-0.25, 3.0], [0.5, 9.0]]),
        Tolerance::absolute(1e-5),
    );
    row_sums.assert_approx_eq::<f32>(
        &TensorData::from([[6.0], [15.0]]),
        Tolerance::absolute(1e-5),
    );
}

#[test]
fn tiny_models_match_transformers_on_wgpu() {
    let Some(fixtures) = wgpu_fixtures() else {
        return;
    };
    let diffs = bounded(
        Duration::from_secs(480),
        "the tiny-model forward passes",
        move || {
            let reference: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(fixtures.join("reference.json")).unwrap(),
            )
            .unwrap();
            let logits =
                SafetensorsFiles::open_file(&fixtures.join("reference_logits.safetensors"))
                    .unwrap();
            let device = DeviceSpec::WGPU.device().unwrap();
            let mut diffs = Vec::new();
            for name in ["tiny-llama", "tiny-qwen3", "tiny-mistral"] {
                let model = load(
                    &ModelSource::Dir(fixtures.join(name)),
                    &device,
                    WeightDtype::F32,
                )
                .unwrap()
                .model;
                let ids: Vec<u32> = reference["models"][name]["cases"]["qa_full0"]["input_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|id| u32::try_from(id.as_u64().unwrap()).unwrap())
                    .collect();
                let ours: Vec<f32> = model
                    .forward(&TokenBatch::single(&ids), None)
                    .into_data()
                    .iter::<f32>()
                    .collect();
                let theirs = logits.read(&format!("{name}.qa_full0")).unwrap();
                let diff = ours
                    .iter()
                    .zip(&theirs.data)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f32::max);
                diffs.push((name, ours.len() == theirs.data.len(), diff));
            }
            diffs
        },
    );
    for (name, same_len, diff) in diffs {
        eprintln!("wgpu {name}.qa_full0: max |Δlogit| = {diff:.2e}");
        assert!(same_len && diff < 1e-4, "{name}: max |Δlogit| = {diff}");
    }
}
