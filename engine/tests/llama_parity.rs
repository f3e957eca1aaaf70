//! Parity of the Llama-family transformer with Hugging Face transformers, on the tiny random
//! checkpoints in ../shared/fixtures (made by `make_fixtures.py` beside them, transformers 5.24,
//! eager attention, f32): logits, greedy generations, answer-only NLL and tokenizer encodings.
//! Also: KV-cache decoding equals recomputation, a left-padded batch equals single rows, and a
//! checkpoint that does not fit its config is refused with the keys named.
//!
//! The device comes from `LETHE_TEST_DEVICE` (`cpu` by default; `scripts/gpu_check.sh` sets
//! `wgpu` / `cuda:0`), so the same assertions prove every backend.
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::path::{Path, PathBuf};

use engine::DeviceSpec;
use engine::llama::{
    GenerateOptions, LlamaForCausalLM, ModelSource, SafetensorsFiles, TokenBatch, WeightDtype, load,
};
use engine::tokenizer::Tokenizer;
use serde_json::Value;

const MODELS: [&str; 3] = ["tiny-llama", "tiny-qwen3", "tiny-mistral"];
const LOGIT_TOLERANCE: f32 = 1e-4;

fn fixtures() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: {} is absent (the read-only ../shared checkout)",
            dir.display()
        );
        None
    }
}

fn device() -> burn::tensor::Device {
    let spec: DeviceSpec = std::env::var("LETHE_TEST_DEVICE")
        .unwrap_or_else(|_| "cpu".into())
        .parse()
        .unwrap();
    spec.device().unwrap()
}

fn reference(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap()
}

fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|id| u32::try_from(id.as_u64().unwrap()).unwrap())
        .collect()
}

fn load_tiny(dir: &Path, name: &str) -> LlamaForCausalLM {
    load(
        &ModelSource::Dir(dir.join(name)),
        &device(),
        WeightDtype::F32,
    )
    .unwrap()
    .model
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn to_vec<const D: usize>(tensor: burn::tensor::Tensor<D>) -> Vec<f32> {
    tensor.into_data().iter::<f32>().collect()
}

#[test]
fn logits_match_transformers_on_every_case() {
    let Some(dir) = fixtures() else { return };
    let reference = reference(&dir);
    let logits = SafetensorsFiles::open_file(&dir.join("reference_logits.safetensors")).unwrap();
    for name in MODELS {
        let model = load_tiny(&dir, name);
        let cases = reference["models"][name]["cases"].as_object().unwrap();
        assert_eq!(cases.len(), 3);
        for (case, expected) in cases {
            let input = ids(&expected["input_ids"]);
            let ours = to_vec(model.forward(&TokenBatch::single(&input), None));
            let theirs = logits.read(&format!("{name}.{case}")).unwrap();
            assert_eq!(theirs.shape, [input.len(), 1000]);
            let diff = max_abs_diff(&ours, &theirs.data);
            eprintln!("{name}.{case}: max |Δlogit| = {diff:.2e}");
            assert!(
                diff < LOGIT_TOLERANCE,
                "{name}.{case}: max |Δlogit| = {diff}"
            );
        }
    }
}

#[test]
fn greedy_generation_and_answer_only_nll_match() {
    let Some(dir) = fixtures() else { return };
    let reference = reference(&dir);
    for name in MODELS {
        let model = load_tiny(&dir, name);
        let greedy = &reference["models"][name]["greedy"];
        let options = GenerateOptions {
            max_new_tokens: 12,
            stop_ids: Vec::new(),
            pad_id: 0,
            use_cache: true,
        };
        let out = model.generate(&[ids(&greedy["prompt_ids"])], &options);
        assert_eq!(out[0].new_ids, ids(&greedy["new_ids"]), "{name}");

        let loss = &reference["models"][name]["answer_only_loss_full0"];
        let example = engine::data::Encoded {
            input_ids: ids(&loss["input_ids"]),
            labels: loss["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect(),
            prompt_ids: Vec::new(),
        };
        let nll = model.sequence_nll(&[example], 0)[0];
        assert_eq!(
            nll.n_tokens as u64,
            loss["num_answer_tokens"].as_u64().unwrap()
        );
        let expected = loss["mean_nll"].as_f64().unwrap();
        assert!(
            (nll.avg_nll() - expected).abs() < 1e-5,
            "{name}: {} vs {expected}",
            nll.avg_nll()
        );
    }
}

#[test]
fn tokenizer_encodings_match() {
    let Some(dir) = fixtures() else { return };
    let reference = reference(&dir);
    let tokenizer = Tokenizer::from_model_dir(&dir.join("tokenizer")).unwrap();
    assert_eq!(
        (tokenizer.bos_id, tokenizer.eos_id, tokenizer.pad_id),
        (Some(1), Some(2), Some(0))
    );
    for case in reference["tokenizer"]["encodings"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let plain = tokenizer.encode(text, false).unwrap();
        assert_eq!(
            tokenizer.encode(text, true).unwrap(),
            ids(&case["ids_add_special_tokens"]),
            "{text:?}"
        );
        assert_eq!(plain, ids(&case["ids_no_special_tokens"]), "{text:?}");
        let tokens: Vec<String> = case["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect();
        assert_eq!(tokenizer.tokens(&plain), tokens);
        assert_eq!(
            tokenizer.decode(&plain, false).unwrap(),
            case["decoded"].as_str().unwrap()
        );
    }
    // The QA cases were tokenised from the TOFU text with BOS: our tokenizer reproduces them.
    let full0: Value = serde_json::from_str(
        std::fs::read_to_string(dir.join("../data/tofu/full.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let text = format!(
        "Question: {}\nAnswer: {}",
        full0["question"].as_str().unwrap(),
        full0["answer"].as_str().unwrap()
    );
    let expected = ids(&reference["models"]["tiny-llama"]["cases"]["qa_full0"]["input_ids"]);
    assert_eq!(tokenizer.encode(&text, true).unwrap(), expected);
}

#[test]
fn kv_cache_decoding_equals_recomputation() {
    let Some(dir) = fixtures() else { return };
    let reference = reference(&dir);
    let prompt = ids(&reference["models"]["tiny-mistral"]["greedy"]["prompt_ids"]);
    for name in MODELS {
        let model = load_tiny(&dir, name);
        // Logits: prefix then one token at a time through the cache, vs one full forward.
        let full = to_vec(model.forward(&TokenBatch::single(&prompt), None));
        let mut cache = model.new_cache(1);
        let split = prompt.len() - 4;
        let mut pieces =
            to_vec(model.forward(&TokenBatch::single(&prompt[..split]), Some(&mut cache)));
        for id in &prompt[split..] {
            pieces.extend(to_vec(
                model.forward(&TokenBatch::single(&[*id]), Some(&mut cache)),
            ));
        }
        let diff = max_abs_diff(&full, &pieces);
        assert!(
            diff < LOGIT_TOLERANCE,
            "{name}: cached logits differ by {diff}"
        );
        // Generation: cached == uncached, past the Mistral window (16).
        let options = GenerateOptions {
            max_new_tokens: 20,
            stop_ids: Vec::new(),
            pad_id: 0,
            use_cache: true,
        };
        let cached = model.generate(&[prompt[..10].to_vec()], &options);
        let uncached = model.generate(
            &[prompt[..10].to_vec()],
            &GenerateOptions {
                use_cache: false,
                ..options.clone()
            },
        );
        assert_eq!(cached, uncached, "{name}");
        assert_eq!(cached[0].new_ids.len(), 20);
    }
}

#[test]
fn left_padded_batches_equal_single_rows() {
    let Some(dir) = fixtures() else { return };
    let reference = reference(&dir);
    let long = ids(&reference["models"]["tiny-llama"]["greedy"]["prompt_ids"]);
    let short = ids(&reference["models"]["tiny-llama"]["cases"]["short"]["input_ids"]);
    let prompts = vec![long[..30].to_vec(), short, long[..12].to_vec()];
    let options = GenerateOptions {
        max_new_tokens: 8,
        stop_ids: Vec::new(),
        pad_id: 0,
        use_cache: true,
    };
    for name in MODELS {
        let model = load_tiny(&dir, name);
        let batched = model.generate(&prompts, &options);
        for (prompt, together) in prompts.iter().zip(&batched) {
            let alone = model.generate(std::slice::from_ref(prompt), &options);
            assert_eq!(&alone[0], together, "{name}");
        }
        // Stop ids end a row early and are not returned; the other rows go on.
        let stop = batched[1].new_ids[2];
        let stopped = model.generate(
            &prompts,
            &GenerateOptions {
                stop_ids: vec![stop],
                ..options.clone()
            },
        );
        assert!(
            stopped[1].stopped && stopped[1].new_ids.len() == 2,
            "{name}: {stopped:?}"
        );
    }
}

#[test]
fn mismatched_checkpoints_name_the_keys() {
    let Some(dir) = fixtures() else { return };
    let source = dir.join("tiny-llama");
    let copy = tempfile::tempdir().unwrap();
    for file in [
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ] {
        std::fs::copy(source.join(file), copy.path().join(file)).unwrap();
    }
    let config = std::fs::read_to_string(source.join("config.json")).unwrap();
    let write = |text: String| std::fs::write(copy.path().join("config.json"), text).unwrap();
    let error = |text: String| {
        write(text);
        load(
            &ModelSource::Dir(copy.path().to_path_buf()),
            &device(),
            WeightDtype::F32,
        )
        .unwrap_err()
        .to_string()
    };
    let message = error(config.replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1"));
    assert!(message.contains("unexpected `model.layers.1."), "{message}");
    let message = error(config.replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 3"));
    assert!(message.contains("missing `model.layers.2."), "{message}");
    let message = error(config.replace("\"intermediate_size\": 176", "\"intermediate_size\": 160"));
    assert!(
        message.contains("gate_proj.weight` has shape [176, 64]"),
        "{message}"
    );
}

#[test]
fn half_precision_weights_stay_close() {
    let Some(dir) = fixtures() else { return };
    let reference = reference(&dir);
    let input = ids(&reference["models"]["tiny-llama"]["cases"]["qa_full0"]["input_ids"]);
    let f32_logits =
        to_vec(load_tiny(&dir, "tiny-llama").forward(&TokenBatch::single(&input), None));
    let model = load(
        &ModelSource::Dir(dir.join("tiny-llama")),
        &device(),
        WeightDtype::Bf16,
    )
    .unwrap()
    .model;
    let logits = model.forward(&TokenBatch::single(&input), None);
    assert_eq!(logits.dtype(), burn::tensor::DType::BF16);
    let bf16 = to_vec(logits.cast(burn::tensor::FloatDType::F32));
    let diff = max_abs_diff(&f32_logits, &bf16);
    // bf16 keeps 8 mantissa bits; logits of magnitude ~7 after two layers drift by a few 0.1.
    assert!(diff < 0.5, "bf16 drifted by {diff}");
}

/// Which kernels the tests above ran: gemm takes AVX-512 exactly where run-time detection finds
/// it. Natively, detection must agree with what the kernel reports in /proc/cpuinfo. Under
/// `LETHE_EXPECT_AVX2_ONLY` (set by `avx2_only.rs`, which runs this binary on an emulated
/// Haswell), the processor must have AVX2 and FMA and no AVX-512, so every test here ran the AVX2
/// kernels.
#[test]
#[cfg(target_arch = "x86_64")]
fn the_processor_is_what_the_run_expects() {
    let avx512 = std::arch::is_x86_feature_detected!("avx512f");
    if std::env::var_os("LETHE_EXPECT_AVX2_ONLY").is_some() {
        assert!(std::arch::is_x86_feature_detected!("avx2"));
        assert!(std::arch::is_x86_feature_detected!("fma"));
        assert!(!avx512, "an AVX2-only run saw AVX-512");
    } else if let Ok(cpuinfo) = std::fs::read_to_string("/proc/cpuinfo") {
        let flags = cpuinfo
            .lines()
            .find(|line| line.starts_with("flags"))
            .unwrap_or_default();
        assert_eq!(
            avx512,
            flags.split_whitespace().any(|flag| flag == "avx512f"),
            "run-time detection disagrees with /proc/cpuinfo"
        );
    }
}
