//! `lethe model inspect` and `lethe model score`, run as the real binary on the tiny fixtures.
//! The expected NLL is rebuilt from transformers' per-position log-probabilities in
//! ../shared/fixtures/reference.json, not from our own forward pass.
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use engine::tokenizer::Tokenizer;
use serde_json::Value;

fn fixtures() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

fn lethe(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_lethe"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn inspect_describes_the_checkpoint() {
    let Some(dir) = fixtures() else { return };
    let model = dir.join("tiny-qwen3");
    let (ok, out, err) = lethe(&["model", "inspect", model.to_str().unwrap()]);
    assert!(ok, "{err}");
    for expected in [
        "Qwen3 (2 layers, hidden 64, mlp 176)",
        "4 heads, 2 kv heads, head_dim 16, q/k norm",
        "parameters:      156544",
        "tied embeddings",
        "F32 x",
        "1000 tokens, bos <s> (1), eos </s> (2), pad <pad> (0)",
        "qwen3-no-think",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    let (ok, _, err) = lethe(&["model", "inspect", "/definitely/not/here"]);
    assert!(!ok);
    assert!(err.contains("neither a model directory"), "{err}");
}

#[test]
fn score_prints_answer_only_nll_per_row() {
    let Some(dir) = fixtures() else { return };
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap())
            .unwrap();
    let full0: Value = serde_json::from_str(
        std::fs::read_to_string(dir.join("../data/tofu/full.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let (question, answer) = (
        full0["question"].as_str().unwrap(),
        full0["answer"].as_str().unwrap(),
    );
    let data = tempfile::NamedTempFile::new().unwrap();
    let rows = [
        serde_json::json!({"question": question, "answer": answer}),
        serde_json::json!({"question": "Who?", "answer": "Nobody at all."}),
    ];
    let text: String = rows.iter().map(|row| format!("{row}\n")).collect();
    std::fs::write(data.path(), text).unwrap();
    let model = dir.join("tiny-llama");
    let (ok, out, err) = lethe(&[
        "model",
        "score",
        model.to_str().unwrap(),
        "--data",
        data.path().to_str().unwrap(),
        "--template",
        "plain",
        "--batch-size",
        "2",
    ]);
    assert!(ok, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0]["index"].as_u64(), lines[1]["index"].as_u64()),
        (Some(0), Some(1))
    );

    // Expected: answer tokens after the separately tokenised prompt, plus the appended EOS.
    let tokenizer = Tokenizer::from_model_dir(&model).unwrap();
    let prompt_len = tokenizer
        .encode(&format!("Question: {question}\nAnswer: "), true)
        .unwrap()
        .len();
    let case = &reference["models"]["tiny-llama"]["cases"]["qa_full0"];
    let next_lp: Vec<f64> = case["next_token_logprob"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let last: Vec<f64> = case["last_position_logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let max = last.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_z = max + last.iter().map(|x| (x - max).exp()).sum::<f64>().ln();
    let eos_nll = log_z - last[2];
    let seq = next_lp.len() + 1;
    let expected_sum: f64 = next_lp[prompt_len - 1..].iter().map(|lp| -lp).sum::<f64>() + eos_nll;
    let expected_n = seq - prompt_len + 1;
    assert_eq!(lines[0]["n_tokens"].as_u64().unwrap() as usize, expected_n);
    let sum = lines[0]["sum_nll"].as_f64().unwrap();
    assert!((sum - expected_sum).abs() < 1e-3, "{sum} vs {expected_sum}");
    let avg = lines[0]["avg_nll"].as_f64().unwrap();
    assert!((avg - sum / expected_n as f64).abs() < 1e-9);

    // A model without a known chat format is refused for --template chat, by name.
    let (ok, _, err) = lethe(&[
        "model",
        "score",
        model.to_str().unwrap(),
        "--data",
        data.path().to_str().unwrap(),
        "--template",
        "chat",
    ]);
    assert!(!ok);
    assert!(err.contains("no chat template"), "{err}");
    // Bad input names the file and line.
    std::fs::write(data.path(), "{\"question\": \"q\"}\n").unwrap();
    let (ok, _, err) = lethe(&[
        "model",
        "score",
        model.to_str().unwrap(),
        "--data",
        data.path().to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(err.contains("line 1"), "{err}");
}
