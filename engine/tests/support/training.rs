//! What the training tests share: ../shared, TOFU rows encoded with the plain template, and a
//! model's weights compared parameter by parameter.
#![allow(dead_code, reason = "each test crate uses part of it")]
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::path::{Path, PathBuf};

use burn::module::{Module as _, ModuleVisitor, Param};
use burn::tensor::Tensor;
use engine::data::{Encoded, PromptTemplate};
use engine::llama::{LlamaForCausalLM, LoadedModel};

/// ../shared, or `None` (with a note) where it is absent.
pub fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

/// The first `take` rows of a TOFU JSONL file, encoded for `model` with the plain template.
pub fn encode(model: &LoadedModel, path: &Path, take: usize) -> Vec<Encoded> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .take(take)
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            PromptTemplate::QuestionAnswer
                .encode(
                    &model.tokenizer,
                    row["question"].as_str().unwrap(),
                    row["answer"].as_str().unwrap(),
                    512,
                )
                .unwrap()
        })
        .collect()
}

/// Every parameter as f32, flattened, in visiting order.
pub fn weights(model: &LlamaForCausalLM) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(param.val().into_data().iter::<f32>().collect());
        }
    }
    let mut visitor = Collect(Vec::new());
    model.visit(&mut visitor);
    visitor.0
}

/// Per parameter, the largest difference relative to the parameter's largest magnitude in `b`;
/// the largest of those.
pub fn largest_relative_difference(a: &[Vec<f32>], b: &[Vec<f32>]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(a, b)| {
            let scale = b.iter().fold(0.0_f32, |m, x| m.max(x.abs())).max(1e-12);
            let diff = a
                .iter()
                .zip(b)
                .fold(0.0_f32, |m, (x, y)| m.max((x - y).abs()));
            f64::from(diff / scale)
        })
        .fold(0.0, f64::max)
}
