//! The DistilBERT classifier behind `forget_Q_A_gibberish` against transformers: a random
//! `DistilBertForSequenceClassification` with the gibberish detector's labels, made by
//! `scripts/reference/tiny_distilbert.py` (engine/tests/fixtures/tiny-distilbert/reference.json
//! holds the token ids and class probabilities transformers computes with open-unlearning's
//! settings: padding to the batch's longest, truncation to 32 tokens, batch 4).
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::path::{Path, PathBuf};

use engine::distilbert::Classifier;
use engine::metrics::gibberish::clean_index;
use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-distilbert")
}

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture().join("reference.json")).unwrap())
        .unwrap()
}

fn device() -> engine::Device {
    engine::DeviceSpec::Cpu.device().unwrap()
}

fn check(classifier: &Classifier, reference: &Value) {
    let texts: Vec<&str> = reference["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let ids = classifier.token_ids(&texts, 32).unwrap();
    for (i, (ours, theirs)) in ids
        .iter()
        .zip(reference["input_ids"].as_array().unwrap())
        .enumerate()
    {
        let theirs: Vec<u32> = theirs
            .as_array()
            .unwrap()
            .iter()
            .map(|v| u32::try_from(v.as_u64().unwrap()).unwrap())
            .collect();
        assert_eq!(ours, &theirs, "token ids of text {i}");
    }
    let probabilities = classifier.probabilities(&texts, 32, 4).unwrap();
    let mut worst = 0.0_f64;
    for (i, (ours, theirs)) in probabilities
        .iter()
        .zip(reference["probabilities"].as_array().unwrap())
        .enumerate()
    {
        let theirs = theirs.as_array().unwrap();
        assert_eq!(ours.len(), theirs.len(), "classes of text {i}");
        for (a, b) in ours.iter().zip(theirs) {
            let diff = (f64::from(*a) - b.as_f64().unwrap()).abs();
            worst = worst.max(diff);
            assert!(diff < 2e-6, "text {i}: {ours:?} vs {theirs:?}");
        }
    }
    eprintln!("max |Δp| against transformers: {worst:e}");
}

#[test]
fn probabilities_match_transformers() {
    let classifier = Classifier::load(&fixture(), &device()).unwrap();
    assert_eq!(
        classifier.labels,
        ["clean", "mild gibberish", "noise", "word salad"]
    );
    assert_eq!(clean_index(&classifier.labels), 0);
    check(&classifier, &reference());
    // One text at a time (no padding) gives the same probabilities as the padded batches.
    let texts = ["The author was born in Paris and wrote mystery novels.", ""];
    let alone: Vec<Vec<f32>> = texts
        .iter()
        .flat_map(|t| classifier.probabilities(&[t], 32, 1).unwrap())
        .collect();
    let batched = classifier.probabilities(&texts, 32, 2).unwrap();
    for (a, b) in alone.iter().flatten().zip(batched.iter().flatten()) {
        assert!((a - b).abs() < 1e-6);
    }
}

#[test]
fn a_bert_vocab_txt_stands_in_for_tokenizer_json() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["config.json", "model.safetensors", "vocab.txt"] {
        std::fs::copy(fixture().join(file), dir.path().join(file)).unwrap();
    }
    let classifier = Classifier::load(dir.path(), &device()).unwrap();
    check(&classifier, &reference());
}

#[test]
fn unusable_directories_say_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture().join("config.json"),
        dir.path().join("config.json"),
    )
    .unwrap();
    std::fs::write(dir.path().join("pytorch_model.bin"), b"not read").unwrap();
    let error = Classifier::load(dir.path(), &device())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("pytorch_model.bin") && error.contains("model.safetensors"),
        "{error}"
    );
    std::fs::remove_file(dir.path().join("pytorch_model.bin")).unwrap();
    std::fs::copy(
        fixture().join("model.safetensors"),
        dir.path().join("model.safetensors"),
    )
    .unwrap();
    let error = Classifier::load(dir.path(), &device())
        .unwrap_err()
        .to_string();
    assert!(error.contains("tokenizer.json or vocab.txt"), "{error}");
    std::fs::write(dir.path().join("config.json"), "{\"dim\": 32}").unwrap();
    let error = Classifier::load(dir.path(), &device())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("config.json") && error.contains("vocab_size"),
        "{error}"
    );
}
