//! Forward and greedy generation throughput on CPU, the same workload as
//! `../shared/bench/torch_reference.py forward|generate` (batch 8 of TOFU forget01 with the plain
//! template; generation: 64 new tokens per row, no early stop). `scripts/bench-vs-torch.sh` runs
//! both and prints the ratio. Models: tiny-llama (../shared/fixtures) and SmolLM2-135M (the GGUF
//! from `scripts/fetch-smollm2.sh`); a missing one is skipped with a message.

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engine::DeviceSpec;
use engine::data::PromptTemplate;
use engine::llama::{
    GenerateOptions, LoadedModel, ModelSource, Padding, TokenBatch, WeightDtype, load,
};

const BATCH: usize = 8;
const NEW_TOKENS: usize = 64;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rows() -> Option<Vec<(String, String)>> {
    let path = root().join("../shared/data/tofu/forget01.jsonl");
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
        b.iter(|| model.forward(&batch, None).sum().into_scalar::<f32>());
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

fn benches(c: &mut Criterion) {
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
    }
}

criterion_group!(model, benches);
criterion_main!(model);
