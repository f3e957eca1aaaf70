//! What `--optimizer-offload` costs: one AdamW step (clip + update of every parameter, from
//! accumulated gradients) on the device and offloaded to host memory, for a randomly initialised
//! Llama-shaped model of about 170 M parameters, with f32 weights and with bf16 weights plus f32
//! master weights. On the `cpu` device the "device" is host memory too, so the difference is the
//! offload's own work: the copies down and up, and the update loop (and `tensor-ops` is the update
//! as burn tensor ops, which the `cpu` device no longer runs by default); `LETHE_BENCH_DEVICE=wgpu` or
//! `cuda:0` measures a real transfer. docs/TRAINING.md reports it per billion parameters.

use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use engine::DeviceSpec;
use engine::llama::init::write_random_checkpoint;
use engine::llama::{ModelSource, WeightDtype, inspect, load};
use engine::objectives::token_nll_of;
use engine::train::{AdamW, AdamWConfig, GradStore};

fn benches(c: &mut Criterion) {
    let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/tiny-llama");
    let Ok(info) = inspect(&ModelSource::Dir(tiny.clone())) else {
        eprintln!("skipped: {} is absent", tiny.display());
        return;
    };
    let spec: DeviceSpec = std::env::var("LETHE_BENCH_DEVICE")
        .unwrap_or_else(|_| "cpu".into())
        .parse()
        .unwrap_or(DeviceSpec::Cpu);
    let Ok(device) = spec.device() else {
        eprintln!("skipped: device {spec} is not available");
        return;
    };
    let Ok(dir) = tempfile::tempdir() else { return };
    let mut config: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tiny.join("config.json")).unwrap_or_default(),
    )
    .unwrap_or_default();
    for (key, value) in [
        ("hidden_size", 1024),
        ("intermediate_size", 2816),
        ("num_hidden_layers", 8),
        ("num_attention_heads", 16),
        ("num_key_value_heads", 16),
        ("head_dim", 64),
        ("vocab_size", 32000),
    ] {
        config[key] = value.into();
    }
    config["tie_word_embeddings"] = false.into();
    if let Err(error) = write_random_checkpoint(&config, &info.tokenizer, 0, dir.path()) {
        eprintln!("skipped: {error}");
        return;
    }
    let source = ModelSource::Dir(dir.path().to_path_buf());
    let autodiff = device.autodiff();
    for (label, dtype) in [
        ("f32", WeightDtype::F32),
        ("bf16+master", WeightDtype::Bf16),
    ] {
        let Ok(loaded) = load(&source, &autodiff, dtype) else {
            eprintln!("skipped {label}: the model did not load");
            continue;
        };
        let model = loaded.model;
        let parameters = model.parameter_count();
        let ids = vec![(1..65).collect::<Vec<u32>>(); 2];
        let labels = vec![(1..65).map(i64::from).collect::<Vec<i64>>(); 2];
        let nll = token_nll_of(&model, &ids, &labels, 0);
        let grads = nll.token_mean().backward();
        let mut store = GradStore::default();
        store.accumulate(&model, &grads, 1.0);
        drop(grads);
        eprintln!("{label}: {parameters} parameters on {spec}");
        let mut group = c.benchmark_group(format!("adamw-step/{label}"));
        group.sample_size(10);
        // Tensor ops (a GPU's path), the device default (on `cpu`: the fused loop in place),
        // offloaded.
        for (name, offload, tensor_update) in [
            ("tensor-ops", false, true),
            ("on-device", false, false),
            ("offloaded", true, false),
        ] {
            let mut optimizer = AdamW::new(AdamWConfig {
                offload,
                tensor_update,
                ..AdamWConfig::default()
            });
            let mut slot = Some(model.clone());
            group.bench_function(name, |b| {
                b.iter(|| {
                    let Some(current) = slot.take() else { return };
                    let (updated, _) = optimizer.step_accumulated(current, &store, 1e-5);
                    slot = Some(updated);
                });
            });
        }
        group.finish();
    }
}

criterion_group!(optimizer, benches);
criterion_main!(optimizer);
