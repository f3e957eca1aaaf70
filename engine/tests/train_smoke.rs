//! The unlearning loop on tiny models: NPO raises the forget NLL of the memorized fixture while the
//! retain NLL stays bounded; the step accounting of a forget01 run (bs 8 × GA 4 × 10 epochs) gives
//! the reference's 10 optimizer steps with a zero first learning rate; cancellation stops the run.
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

#[path = "support/training.rs"]
mod support;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use engine::DeviceSpec;
use engine::data::{Encoded, PromptTemplate};
use engine::llama::{LoadedModel, ModelSource, WeightDtype, load};
use engine::objectives::{Method, ObjectiveConfig, RetainLoss, Wrapper};
use engine::train::{StepEvent, TrainConfig, UnlearnConfig, UnlearnData, finetune, unlearn};
use support::{encode, shared};

fn mean_nll(model: &LoadedModel, examples: &[Encoded]) -> f64 {
    let scores = model.model.sequence_nll(examples, 0);
    scores.iter().map(|s| s.sum_nll).sum::<f64>()
        / scores.iter().map(|s| s.n_tokens as f64).sum::<f64>()
}

fn config(
    method: Method,
    retain: RetainLoss,
    lr: f64,
    batch_size: usize,
    grad_accum: usize,
    epochs: f64,
) -> UnlearnConfig {
    UnlearnConfig {
        objective: ObjectiveConfig {
            method,
            gamma: 1.0,
            alpha: if retain == RetainLoss::None { 0.0 } else { 1.0 },
            retain,
            wrapper: Wrapper::None,
        },
        train: TrainConfig {
            lr,
            batch_size,
            grad_accum,
            epochs,
            ..TrainConfig::default()
        },
    }
}

#[test]
fn npo_forgets_while_retain_stays_bounded() {
    let Some(shared) = shared() else { return };
    let policy_dir = ModelSource::Dir(shared.join("goldens/memorized-tiny-llama"));
    let plain = DeviceSpec::Cpu.device().unwrap();
    let reference = load(&policy_dir, &plain, WeightDtype::F32).unwrap();
    let policy = load(&policy_dir, &plain.clone().autodiff(), WeightDtype::F32).unwrap();
    let data = UnlearnData {
        forget: encode(&reference, &shared.join("data/tofu/forget01.jsonl"), 4),
        retain: encode(&reference, &shared.join("data/tofu/retain99.jsonl"), 4),
        idk: None,
    };
    let forget_before = mean_nll(&reference, &data.forget);
    let retain_before = mean_nll(&reference, &data.retain);
    let mut events: Vec<StepEvent> = Vec::new();
    let trained = unlearn(
        policy.model,
        Some(&reference.model),
        &data,
        &config(Method::Npo { beta: 0.1 }, RetainLoss::Nll, 2e-3, 2, 2, 6.0),
        0,
        &mut |event| events.push(event.clone()),
        &AtomicBool::new(false),
    )
    .unwrap();
    let after = LoadedModel {
        model: trained,
        tokenizer: reference.tokenizer.clone(),
        source: policy_dir,
    };
    let (forget_after, retain_after) = (
        mean_nll(&after, &data.forget),
        mean_nll(&after, &data.retain),
    );
    eprintln!(
        "forget NLL {forget_before:.3} -> {forget_after:.3}; retain NLL {retain_before:.3} -> {retain_after:.3}"
    );
    for event in &events {
        eprintln!(
            "step {}/{} lr {:.2e} loss {:.4} grad_norm {:.3}",
            event.step, event.total_steps, event.lr, event.loss, event.grad_norm
        );
    }
    assert_eq!(events.len(), 6);
    assert_eq!(events[0].lr, 0.0, "the first update runs at lr·0 (warm-up)");
    assert!(
        events
            .iter()
            .all(|e| e.loss.is_finite() && e.grad_norm > 0.0)
    );
    assert!(
        forget_after > forget_before + 0.5,
        "forget NLL {forget_before} -> {forget_after}"
    );
    assert!(
        retain_after < retain_before + 1.0,
        "retain NLL {retain_before} -> {retain_after}"
    );
}

#[test]
fn forget01_step_accounting_and_cancellation() {
    let Some(shared) = shared() else { return };
    let source = ModelSource::Dir(shared.join("fixtures/tiny-llama"));
    let device = DeviceSpec::Cpu.device().unwrap().autodiff();
    let loaded = load(&source, &device, WeightDtype::F32).unwrap();
    let data = UnlearnData {
        forget: encode(&loaded, &shared.join("data/tofu/forget01.jsonl"), 40),
        retain: encode(&loaded, &shared.join("data/tofu/retain99.jsonl"), 40),
        idk: None,
    };
    let ga = config(Method::GradAscent, RetainLoss::None, 1e-5, 8, 4, 10.0);
    let mut events = Vec::new();
    unlearn(
        loaded.model,
        None,
        &data,
        &ga,
        0,
        &mut |event| events.push(event.clone()),
        &AtomicBool::new(false),
    )
    .unwrap();
    let lrs: Vec<f64> = events.iter().map(|e| e.lr).collect();
    assert_eq!(lrs.len(), 10, "{lrs:?}");
    // HF's 10 epochs are 10 steps of 32 draws: 8 whole passes over the 40 items, and steps
    // straddle passes. Each entry names the pass it was drawn in, so every pass holds every
    // item exactly once.
    let mut passes = vec![Vec::new(); 8];
    for event in &events {
        assert_eq!(event.sample_epochs.len(), event.samples.len());
        for (item, pass) in event.samples.iter().zip(&event.sample_epochs) {
            passes[*pass].push(*item);
        }
    }
    for (pass, items) in passes.iter_mut().enumerate() {
        items.sort_unstable();
        assert_eq!(*items, (0..40).collect::<Vec<_>>(), "pass {pass}");
    }
    assert!(
        events
            .iter()
            .any(|e| e.sample_epochs.first() != e.sample_epochs.last()),
        "some step straddles two passes"
    );
    assert_eq!(lrs[0], 0.0);
    assert!((lrs[1] - 1e-5).abs() < 1e-12 && lrs[9] > 0.0 && lrs[9] < lrs[1]);

    let loaded = load(&source, &device, WeightDtype::F32).unwrap();
    let error = unlearn(
        loaded.model,
        None,
        &data,
        &ga,
        0,
        &mut |_| {},
        &AtomicBool::new(true),
    )
    .unwrap_err();
    assert!(matches!(error, engine::EngineError::Cancelled), "{error}");
    let loaded = load(&source, &device, WeightDtype::F32).unwrap();
    let npo = config(Method::Npo { beta: 0.1 }, RetainLoss::Nll, 1e-5, 8, 4, 1.0);
    let error = unlearn(
        loaded.model,
        None,
        &data,
        &npo,
        0,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap_err();
    assert!(error.to_string().contains("reference"), "{error}");
}

#[test]
fn checkpoints_reload_to_the_same_logits() {
    let Some(shared) = shared() else { return };
    let plain = DeviceSpec::Cpu.device().unwrap();
    for name in ["tiny-llama", "tiny-qwen3", "tiny-mistral"] {
        let loaded = load(
            &ModelSource::Dir(shared.join("fixtures").join(name)),
            &plain,
            WeightDtype::F32,
        )
        .unwrap();
        let out = tempfile::tempdir().unwrap();
        let dir = out.path().join("checkpoint");
        engine::train::save(&loaded.model, &loaded.tokenizer, &dir, WeightDtype::F32).unwrap();
        // Saving again over it replaces it (atomic rename), leaving no staging directory behind.
        engine::train::save(&loaded.model, &loaded.tokenizer, &dir, WeightDtype::F32).unwrap();
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 1);
        let again = load(&ModelSource::Dir(dir.clone()), &plain, WeightDtype::F32).unwrap();
        let ids = loaded
            .tokenizer
            .encode("Question: Who wrote it?\nAnswer: She did.", true)
            .unwrap();
        assert_eq!(
            again
                .tokenizer
                .encode("Question: Who wrote it?\nAnswer: She did.", true)
                .unwrap(),
            ids
        );
        let batch = engine::llama::TokenBatch::single(&ids);
        let a: Vec<f32> = loaded
            .model
            .forward(&batch, None)
            .into_data()
            .iter::<f32>()
            .collect();
        let b: Vec<f32> = again
            .model
            .forward(&batch, None)
            .into_data()
            .iter::<f32>()
            .collect();
        assert_eq!(a, b, "{name}: f32 checkpoints round-trip exactly");
        assert_eq!(again.model.config, loaded.model.config, "{name}");
    }
}

fn tiny(device: &engine::Device, dtype: WeightDtype) -> Option<(PathBuf, LoadedModel)> {
    let shared = shared()?;
    let source = ModelSource::Dir(shared.join("fixtures/tiny-llama"));
    Some((shared, load(&source, device, dtype).unwrap()))
}

fn finetune_config(epochs: f64) -> TrainConfig {
    TrainConfig {
        lr: 1e-3,
        batch_size: 4,
        grad_accum: 1,
        epochs,
        warmup_epochs: 0.0,
        ..TrainConfig::default()
    }
}

#[test]
fn finetuning_lowers_the_training_nll() {
    let plain = DeviceSpec::Cpu.device().unwrap();
    let Some((shared, loaded)) = tiny(&plain.clone().autodiff(), WeightDtype::F32) else {
        return;
    };
    let data = encode(&loaded, &shared.join("data/tofu/forget01.jsonl"), 8);
    let before = mean_nll(&loaded, &data);
    let mut events = Vec::new();
    let tokenizer = loaded.tokenizer.clone();
    let trained = finetune(
        loaded.model,
        &data,
        &finetune_config(5.0),
        0,
        &mut |event| events.push(event.clone()),
        &AtomicBool::new(false),
    )
    .unwrap();
    let after = mean_nll(
        &LoadedModel {
            model: trained,
            tokenizer,
            source: ModelSource::Dir(shared.clone()),
        },
        &data,
    );
    eprintln!("training NLL {before:.3} -> {after:.3}");
    assert_eq!(events.len(), 10, "2 micro-batches × 5 epochs at GA 1");
    assert!(
        events
            .iter()
            .all(|e| e.retain_loss.is_none() && e.per_sample.len() == 4)
    );
    // The two steps of an epoch name every training row once.
    let mut epoch0: Vec<usize> = events[..2].iter().flat_map(|e| e.samples.clone()).collect();
    epoch0.sort_unstable();
    assert_eq!(epoch0, (0..8).collect::<Vec<_>>());
    assert!(after < before - 0.5, "{before} -> {after}");
    assert!(events[9].loss < events[0].loss);
}

fn logits_of(model: &engine::llama::LlamaForCausalLM, ids: &[u32]) -> Vec<f32> {
    model
        .forward(&engine::llama::TokenBatch::single(ids), None)
        .cast(burn::tensor::FloatDType::F32)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

/// Trains two steps; returns the logits of the first training row before and after.
fn logits_after_training(
    device: &engine::Device,
    dtype: WeightDtype,
) -> Option<(Vec<f32>, Vec<f32>)> {
    let (shared, loaded) = tiny(device, dtype)?;
    let data = encode(&loaded, &shared.join("data/tofu/forget01.jsonl"), 8);
    let before = logits_of(&loaded.model, &data[0].input_ids);
    let trained = finetune(
        loaded.model,
        &data,
        &finetune_config(1.0),
        0,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap();
    Some((before, logits_of(&trained, &data[0].input_ids)))
}

#[test]
fn gradient_checkpointing_trains_to_the_same_weights() {
    let plain = DeviceSpec::Cpu.device().unwrap();
    let Some((_, reference)) = logits_after_training(&plain.clone().autodiff(), WeightDtype::F32)
    else {
        return;
    };
    let (_, checkpointed) =
        logits_after_training(&engine::training_device(&plain, true), WeightDtype::F32).unwrap();
    let worst = reference
        .iter()
        .zip(&checkpointed)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0_f32, f32::max);
    eprintln!("max |Δlogit| with gradient checkpointing: {worst:.3e}");
    assert!(worst <= 1e-5, "{worst}");
}

#[test]
fn half_precision_weights_train_with_f32_optimizer_state() {
    let plain = DeviceSpec::Cpu.device().unwrap();
    let Some((f32_before, f32_after)) =
        logits_after_training(&plain.clone().autodiff(), WeightDtype::F32)
    else {
        return;
    };
    let (bf16_before, bf16_after) =
        logits_after_training(&plain.clone().autodiff(), WeightDtype::Bf16).unwrap();
    // Two steps move the bf16 model's logits the way they move the f32 model's.
    let delta = |after: &[f32], before: &[f32]| -> Vec<f64> {
        after
            .iter()
            .zip(before)
            .map(|(a, b)| f64::from(a - b))
            .collect()
    };
    let (full, half) = (
        delta(&f32_after, &f32_before),
        delta(&bf16_after, &bf16_before),
    );
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let cosine = dot(&full, &half) / (dot(&full, &full) * dot(&half, &half)).sqrt();
    let ratio = (dot(&half, &half) / dot(&full, &full)).sqrt();
    eprintln!(
        "bf16 vs f32 training: cosine of the logit updates {cosine:.4}, norm ratio {ratio:.3}"
    );
    assert!(bf16_after.iter().all(|x| x.is_finite()));
    assert!(
        cosine > 0.95 && (0.8..1.25).contains(&ratio),
        "{cosine} {ratio}"
    );
}

#[test]
fn a_diverging_run_stops_with_a_clear_error() {
    let plain = DeviceSpec::Cpu.device().unwrap();
    let Some((shared, loaded)) = tiny(&plain.clone().autodiff(), WeightDtype::F32) else {
        return;
    };
    let data = encode(&loaded, &shared.join("data/tofu/forget01.jsonl"), 8);
    let config = TrainConfig {
        lr: 1e30,
        adamw: engine::train::AdamWConfig {
            weight_decay: 0.0,
            ..engine::train::AdamWConfig::default()
        },
        ..finetune_config(5.0)
    };
    let error = finetune(
        loaded.model,
        &data,
        &config,
        0,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, engine::EngineError::NonFinite { .. }),
        "{message}"
    );
    assert!(message.contains("at optimizer step"), "{message}");
}

#[test]
fn idk_dpo_trains_towards_freshly_drawn_idk_answers() {
    let plain = DeviceSpec::Cpu.device().unwrap();
    let Some(shared) = shared() else { return };
    let source = ModelSource::Dir(shared.join("fixtures/tiny-llama"));
    let reference = load(&source, &plain, WeightDtype::F32).unwrap();
    let policy = load(&source, &plain.clone().autodiff(), WeightDtype::F32).unwrap();
    let questions: Vec<String> = std::fs::read_to_string(shared.join("data/tofu/forget01.jsonl"))
        .unwrap()
        .lines()
        .take(4)
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            row["question"].as_str().unwrap().to_string()
        })
        .collect();
    let answers: Vec<String> = [
        "I don't know.",
        "No idea, sorry.",
        "That is not something I know.",
    ]
    .map(String::from)
    .to_vec();
    let idk = engine::train::IdkAnswers {
        answers: answers.clone(),
        questions,
        template: PromptTemplate::QuestionAnswer,
        tokenizer: policy.tokenizer.clone(),
        max_length: 512,
    };
    let data = UnlearnData {
        forget: encode(&reference, &shared.join("data/tofu/forget01.jsonl"), 4),
        retain: encode(&reference, &shared.join("data/tofu/retain99.jsonl"), 4),
        idk: Some(idk.clone()),
    };
    let mut events = Vec::new();
    let dpo = config(
        Method::IdkDpo { beta: 0.1 },
        RetainLoss::Nll,
        1e-3,
        2,
        1,
        3.0,
    );
    unlearn(
        policy.model,
        Some(&reference.model),
        &data,
        &dpo,
        0,
        &mut |event| events.push(event.clone()),
        &AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(events.len(), 6);
    assert!(events.iter().all(|e| e.loss.is_finite()));
    let wrong = UnlearnData {
        idk: Some(engine::train::IdkAnswers {
            questions: Vec::new(),
            ..idk
        }),
        ..data
    };
    let policy = load(&source, &plain.clone().autodiff(), WeightDtype::F32).unwrap();
    let error = unlearn(
        policy.model,
        Some(&reference.model),
        &wrong,
        &dpo,
        0,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .unwrap_err();
    assert!(error.to_string().contains("idk"), "{error}");
}
