//! Forward, greedy generation and NPO training-step throughput on CPU, the same workloads as
//! `../shared/bench/torch_reference.py forward|generate|npo-step` (batch 8 of TOFU forget01 with
//! the plain template; generation: 64 new tokens per row, no early stop; NPO step: policy fwd+bwd on
//! 8 forget + 8 retain99 rows, reference fwd on the forget rows, AdamW lr 1e-5 with clipping).
//! `scripts/bench-vs-torch.sh` runs both and prints the ratio. Models: tiny-llama (../shared/fixtures) and SmolLM2-135M (the GGUF
//! from `scripts/fetch-smollm2.sh`); a missing one is skipped with a message. Like `lethe`, the
//! bench links `lethe-alloc` (mimalloc as the global allocator). Each pass runs on rayon's pool,
//! as the trainer and the evaluation run theirs (`engine::device::on_pool`).

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engine::DeviceSpec;
use engine::data::PromptTemplate;
use engine::device::on_pool;
use engine::llama::{
    GenerateOptions, LoadedModel, ModelSource, Padding, TokenBatch, WeightDtype, load,
};
use engine::objectives::{Method, ObjectiveConfig, RetainLoss, Wrapper, compute, micro_batch};
use engine::train::{AdamW, AdamWConfig};

const BATCH: usize = 8;
const NEW_TOKENS: usize = 64;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rows() -> Option<Vec<(String, String)>> {
    rows_of("forget01.jsonl")
}

fn rows_of(file: &str) -> Option<Vec<(String, String)>> {
    let path = root().join("../shared/data/tofu").join(file);
    let text = std::fs::read_to_string(&path).ok()?;
    Some(
        text.lines()
            .take(BATCH)
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .map(|row| {
                (
                    row["question"].as_str().unwrap_or_default().to_string(),
                    row["answer"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect(),
    )
}

fn models() -> Vec<(&'static str, PathBuf)> {
    let data =
        std::env::var_os("LETHE_DATA_DIR").map_or_else(|| root().join("lethe-data"), PathBuf::from);
    vec![
        ("tiny-llama", root().join("../shared/fixtures/tiny-llama")),
        (
            "smollm2-135m",
            data.join("models/SmolLM2-135M-Instruct.Q4_1.gguf"),
        ),
    ]
}

fn bench_model(c: &mut Criterion, name: &str, loaded: &LoadedModel, rows: &[(String, String)]) {
    let (model, tokenizer) = (&loaded.model, &loaded.tokenizer);
    let device = model.device();
    let template = PromptTemplate::QuestionAnswer;
    let pad = tokenizer.pad_id.unwrap_or(0);
    let encoded: Vec<Vec<u32>> = rows
        .iter()
        .map(|(q, a)| template.encode(tokenizer, q, a, 512).map(|e| e.input_ids))
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    let batch = TokenBatch::padded(&encoded, pad, Padding::Right);
    let tokens = batch.mask.iter().filter(|real| **real).count() as u64;
    let mut group = c.benchmark_group(format!("{name}/forward"));
    group.throughput(Throughput::Elements(tokens));
    group.sample_size(10);
    group.bench_function(format!("batch{BATCH}"), |b| {
        // On rayon's pool, as `token_stats` runs an evaluation batch.
        b.iter(|| {
            on_pool(&device, || {
                model.forward(&batch, None).sum().into_scalar::<f32>()
            })
        });
    });
    group.finish();

    let prompts: Vec<Vec<u32>> = rows
        .iter()
        .map(|(q, _)| tokenizer.encode(&template.prompt(q), true))
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    let options = GenerateOptions {
        max_new_tokens: NEW_TOKENS,
        stop_ids: Vec::new(),
        pad_id: pad,
        use_cache: true,
    };
    let mut group = c.benchmark_group(format!("{name}/generate"));
    group.throughput(Throughput::Elements((BATCH * NEW_TOKENS) as u64));
    group.sample_size(10);
    group.bench_function(format!("batch{BATCH}x{NEW_TOKENS}"), |b| {
        b.iter(|| model.generate(&prompts, &options));
    });
    group.finish();
}

fn encode_rows(loaded: &LoadedModel, rows: &[(String, String)]) -> (Vec<Vec<u32>>, Vec<Vec<i64>>) {
    rows.iter()
        .take(BATCH)
        .filter_map(|(q, a)| {
            PromptTemplate::QuestionAnswer
                .encode(&loaded.tokenizer, q, a, 512)
                .ok()
        })
        .map(|e| (e.input_ids, e.labels))
        .unzip()
}

/// One NPO optimizer step as OU runs it (β 0.1, retain NLL, AdamW lr 1e-5, wd 0.01, clip 1.0).
fn bench_npo_step(
    c: &mut Criterion,
    name: &str,
    reference: LoadedModel,
    policy: LoadedModel,
    forget: &[(String, String)],
    retain: &[(String, String)],
) {
    let pad = policy.tokenizer.pad_id.unwrap_or(0);
    let forget = encode_rows(&policy, forget);
    let retain = encode_rows(&policy, retain);
    let tokens = 2 * forget.0.iter().map(Vec::len).sum::<usize>()
        + retain.0.iter().map(Vec::len).sum::<usize>();
    let config = ObjectiveConfig {
        method: Method::Npo { beta: 0.1 },
        gamma: 1.0,
        alpha: 1.0,
        retain: RetainLoss::Nll,
        wrapper: Wrapper::None,
    };
    let mut optimizer = AdamW::new(AdamWConfig::default());
    let device = policy.model.device();
    let mut slot = Some(policy.model);
    let mut group = c.benchmark_group(format!("{name}/npo-step"));
    group.throughput(Throughput::Elements(tokens as u64));
    group.sample_size(10);
    group.bench_function(format!("batch{BATCH}"), |b| {
        b.iter(|| {
            let Some(model) = slot.take() else { return };
            // On rayon's pool, as the trainer runs a micro-batch and the optimizer step.
            slot = on_pool(&device, || {
                let batch = micro_batch(
                    &config,
                    &model,
                    Some(&reference.model),
                    &forget,
                    &retain,
                    None,
                    pad,
                )
                .ok()?;
                let output = compute(&config, &batch, 0, None).ok()?;
                let grads = output.loss.backward();
                Some(optimizer.step(model, &grads, 1e-5).0)
            });
        });
    });
    group.finish();
}

fn benches(c: &mut Criterion) {
    // The `lethe` binary's allocator (mimalloc, lazy purge), so both measure the same thing.
    lethe_alloc::install();
    let Some(rows) = rows() else {
        eprintln!("skipped: ../shared/data/tofu/forget01.jsonl is absent");
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
    // The side-by-side script reads this line to check that both sides got the same threads.
    eprintln!("lethe threads: {}", rayon::current_num_threads());
    for (name, path) in models() {
        if !path.exists() {
            eprintln!("skipped {name}: {} is absent", path.display());
            continue;
        }
        let Ok(source) = ModelSource::parse(&path.to_string_lossy()) else {
            continue;
        };
        match load(&source, &device, WeightDtype::F32) {
            Ok(loaded) => bench_model(c, name, &loaded, &rows),
            Err(error) => eprintln!("skipped {name}: {error}"),
        }
        let retain = rows_of("retain99.jsonl").unwrap_or_default();
        match (
            load(&source, &device, WeightDtype::F32),
            load(&source, &device.clone().autodiff(), WeightDtype::F32),
        ) {
            (Ok(reference), Ok(policy)) => {
                bench_npo_step(c, name, reference, policy, &rows, &retain)
            }
            _ => eprintln!("skipped {name}: npo-step"),
        }
    }
}

criterion_group!(model, benches);
criterion_main!(model);
