//! LoRA against peft on the tiny Llama fixture, pinned by `scripts/reference/lora_peft.py make`
//! (`tests/fixtures/lora/`: a seeded peft adapter with non-zero B, the adapted logits, one NPO
//! loss and its adapter gradients): the same adapter loaded into Lethe gives the same logits and,
//! after one NPO micro-batch whose reference is the model with its adapters disabled, the same
//! adapter gradients; Lethe's export of it is the peft file; only the adapters train; and the
//! merged checkpoint computes what the adapted model does.
#![expect(clippy::unwrap_used, reason = "fixture helpers panic on setup failure")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::module::{Module as _, ModuleVisitor, Param};
use burn::tensor::{Gradients, Tensor};
use engine::DeviceSpec;
use engine::llama::{
    LlamaForCausalLM, ModelSource, SafetensorsFiles, TokenBatch, WeightDtype, load,
};
use engine::lora::{self, LoraConfig, TARGETS};
use engine::objectives::{
    Method, ObjectiveBatch, ObjectiveConfig, RetainLoss, Wrapper, compute, token_nll_of,
};
use serde_json::Value;

/// Largest logit difference from peft's, relative to the largest logit, in f32 on both sides
/// (Lethe adds `s·(a @ b)` to the weight, peft adds `s·B(A x)` to the output: the roundings
/// differ; the base model alone is about 9e-6 from transformers on a row like this).
const LOGIT_RTOL: f32 = 1e-5;
/// `‖ours − peft's‖ / ‖peft's‖` of each adapter gradient.
const GRAD_RTOL: f64 = 1e-5;

fn paths() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = root.join("../../shared");
    if !shared.is_dir() {
        eprintln!("skipped: {} is absent", shared.display());
        return None;
    }
    Some((
        shared.join("fixtures/tiny-llama"),
        shared.join("goldens/objectives/batch.json"),
        root.join("tests/fixtures/lora"),
    ))
}

fn config() -> LoraConfig {
    LoraConfig {
        rank: 4,
        alpha: 8.0,
        targets: TARGETS.iter().map(|t| (*t).to_string()).collect(),
    }
}

fn rows(batch: &Value, key: &str) -> (Vec<Vec<u32>>, Vec<Vec<i64>>) {
    let list = |name: &str| -> Vec<Vec<i64>> {
        batch["batches"][key][name]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap())
                    .collect()
            })
            .collect()
    };
    let ids = list("input_ids_unpadded")
        .into_iter()
        .map(|r| r.into_iter().map(|v| u32::try_from(v).unwrap()).collect())
        .collect();
    (ids, list("labels_unpadded"))
}

/// The fixture with the pinned peft adapter, on `device`.
fn adapted(model_dir: &Path, fixtures: &Path, device: &burn::tensor::Device) -> LlamaForCausalLM {
    let base = load(
        &ModelSource::Dir(model_dir.to_path_buf()),
        device,
        WeightDtype::F32,
    )
    .unwrap();
    let (settings, adapters) = lora::load_peft(&fixtures.join("adapter")).unwrap();
    assert_eq!((settings.rank, settings.alpha), (4, 8.0));
    let model = lora::apply(base.model, &settings).unwrap();
    lora::set_adapters(model, &adapters).unwrap()
}

fn logits(model: &LlamaForCausalLM, ids: &[u32]) -> Vec<f32> {
    model
        .forward(&TokenBatch::single(ids), None)
        .into_data()
        .iter::<f32>()
        .collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

#[test]
fn the_adapted_forward_matches_peft() {
    let Some((model_dir, batch, fixtures)) = paths() else {
        return;
    };
    let batch: Value = serde_json::from_str(&std::fs::read_to_string(batch).unwrap()).unwrap();
    let device = DeviceSpec::Cpu.device().unwrap();
    let model = adapted(&model_dir, &fixtures, &device);
    let reference = SafetensorsFiles::open_file(&fixtures.join("reference.safetensors")).unwrap();
    let (ids, _) = rows(&batch, "forget");
    let theirs = reference.read("logits").unwrap().data;
    let scale = theirs.iter().fold(0.0_f32, |m, x| m.max(x.abs()));
    let diff = max_diff(&logits(&model, &ids[0]), &theirs);
    eprintln!(
        "LoRA logits vs peft: max |Δ| = {diff:.2e}, {:.2e} of the largest logit",
        diff / scale
    );
    assert!(diff < LOGIT_RTOL * scale, "max |Δlogit| {diff} of {scale}");

    // With every B zeroed (the objectives' reference), it is the base model again.
    let base = load(&ModelSource::Dir(model_dir), &device, WeightDtype::F32).unwrap();
    let plain = lora::without_adapters(&model);
    assert!(max_diff(&logits(&plain, &ids[0]), &logits(&base.model, &ids[0])) < 1e-6);
}

struct AdapterGrads<'a> {
    path: Vec<String>,
    grads: &'a Gradients,
    found: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

impl ModuleVisitor for AdapterGrads<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let n = self.path.len();
        if n > 3 && self.path[n - 2] == "lora" {
            if let Some(grad) = param.val().grad(self.grads) {
                let peft = if self.path[n - 1] == "a" {
                    "lora_A"
                } else {
                    "lora_B"
                };
                let name = format!(
                    "grad|base_model.model.{}.{peft}.default.weight",
                    self.path[..n - 3].join(".")
                );
                self.found.insert(
                    name,
                    (
                        grad.dims().to_vec(),
                        grad.into_data().iter::<f32>().collect(),
                    ),
                );
            }
        } else {
            assert!(
                param.val().grad(self.grads).is_none(),
                "{} has a gradient: only the adapters train",
                self.path.join(".")
            );
        }
    }
}

#[test]
fn one_npo_micro_batch_gives_peft_s_adapter_gradients() {
    let Some((model_dir, batch, fixtures)) = paths() else {
        return;
    };
    let batch: Value = serde_json::from_str(&std::fs::read_to_string(batch).unwrap()).unwrap();
    let device = DeviceSpec::Cpu.device().unwrap().autodiff();
    let policy = adapted(&model_dir, &fixtures, &device);
    let reference = lora::without_adapters(&policy);
    let (forget_ids, forget_labels) = rows(&batch, "forget");
    let (retain_ids, retain_labels) = rows(&batch, "retain");
    let objective_batch = ObjectiveBatch {
        forget: token_nll_of(&policy, &forget_ids, &forget_labels, 0),
        forget_ref: Some(
            token_nll_of(&reference, &forget_ids, &forget_labels, 0).detached_on(&device),
        ),
        retain: token_nll_of(&policy, &retain_ids, &retain_labels, 0),
        win: None,
        win_ref: None,
        retain_logits: None,
    };
    let config = ObjectiveConfig {
        method: Method::Npo { beta: 0.1 },
        gamma: 1.0,
        alpha: 1.0,
        retain: RetainLoss::Nll,
        wrapper: Wrapper::None,
    };
    let out = compute(&config, &objective_batch, 0, None).unwrap();
    let pinned = SafetensorsFiles::open_file(&fixtures.join("reference.safetensors")).unwrap();
    let loss = f64::from(pinned.read("loss").unwrap().data[0]);
    assert!(
        (out.loss_value - loss).abs() < 1e-5 * loss.abs(),
        "NPO loss {} vs peft's {loss}",
        out.loss_value
    );
    let grads = out.loss.backward();
    let mut visitor = AdapterGrads {
        path: Vec::new(),
        grads: &grads,
        found: BTreeMap::new(),
    };
    policy.visit(&mut visitor);
    assert_eq!(
        visitor.found.len(),
        28,
        "2 layers × 7 projections × A and B"
    );
    let mut worst: f64 = 0.0;
    for (name, (shape, ours)) in &visitor.found {
        let theirs = pinned.read(name).unwrap();
        // Ours is burn's [in, rank] / [rank, out]; peft's is the transpose.
        assert_eq!(
            shape.iter().rev().copied().collect::<Vec<_>>(),
            theirs.shape,
            "{name}"
        );
        let (rows_, cols) = (shape[0], shape[1]);
        let (mut num, mut den) = (0.0_f64, 0.0_f64);
        for r in 0..rows_ {
            for c in 0..cols {
                let a = f64::from(ours[r * cols + c]);
                let b = f64::from(theirs.data[c * rows_ + r]);
                num += (a - b).powi(2);
                den += b.powi(2);
            }
        }
        let rel = (num / den.max(1e-30)).sqrt();
        worst = worst.max(rel);
        assert!(rel < GRAD_RTOL, "{name}: relative error {rel:.2e}");
    }
    eprintln!("LoRA adapter gradients vs peft: worst relative L2 error {worst:.2e}");
}

#[test]
fn the_export_is_peft_s_file_and_the_merged_checkpoint_computes_the_same() {
    let Some((model_dir, batch, fixtures)) = paths() else {
        return;
    };
    let batch: Value = serde_json::from_str(&std::fs::read_to_string(batch).unwrap()).unwrap();
    let device = DeviceSpec::Cpu.device().unwrap();
    let model = adapted(&model_dir, &fixtures, &device);
    let out = tempfile::tempdir().unwrap();
    // `LETHE_LORA_EXPORT=DIR` keeps the export for `scripts/reference/lora_peft.py check DIR`,
    // which loads it in peft.
    let exported = std::env::var_os("LETHE_LORA_EXPORT")
        .map_or_else(|| out.path().join("adapter"), PathBuf::from);
    lora::save_peft(&model, &config(), "tiny-llama", &exported).unwrap();
    let ours = SafetensorsFiles::open_file(&exported.join("adapter_model.safetensors")).unwrap();
    let theirs =
        SafetensorsFiles::open_file(&fixtures.join("adapter/adapter_model.safetensors")).unwrap();
    assert_eq!(ours.names(), theirs.names());
    for name in theirs.names() {
        let (a, b) = (ours.read(&name).unwrap(), theirs.read(&name).unwrap());
        assert_eq!((&a.shape, &a.data), (&b.shape, &b.data), "{name}");
    }
    let settings: Value = serde_json::from_str(
        &std::fs::read_to_string(exported.join("adapter_config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (
            &settings["peft_type"],
            &settings["r"],
            &settings["lora_alpha"]
        ),
        (&Value::from("LORA"), &Value::from(4), &Value::from(8.0))
    );
    let (again, adapters) = lora::load_peft(&exported).unwrap();
    assert_eq!(again, config());
    assert_eq!(adapters, lora::adapters(&model));

    // Merged weights: a plain checkpoint that computes what the adapted model does.
    let (ids, _) = rows(&batch, "forget");
    let merged = out.path().join("merged");
    let tokenizer = engine::tokenizer::Tokenizer::from_model_dir(&model_dir).unwrap();
    engine::train::save(&model, &tokenizer, &merged, WeightDtype::F32).unwrap();
    let reloaded = load(&ModelSource::Dir(merged), &device, WeightDtype::F32).unwrap();
    let diff = max_diff(&logits(&reloaded.model, &ids[0]), &logits(&model, &ids[0]));
    assert!(diff < 1e-5, "merged checkpoint: max |Δlogit| {diff}");
}
