//! `reference_mode: cached` trains to the same weights as the live reference: for every objective
//! whose reference enters only through log-probabilities of the forget and I-don't-know rows
//! (NPO, TNPO, the fork's TNPO, IdkDPO), plain and under both BalDRO wrappers, three optimizer
//! steps from the memorized tiny fixture give weights within 1e-6 (per parameter, the largest
//! difference relative to the parameter's largest magnitude). A KL retain term refuses the cache.
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

#[path = "support/training.rs"]
mod support;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use engine::DeviceSpec;
use engine::data::{Encoded, PromptTemplate};
use engine::llama::{LoadedModel, ModelSource, WeightDtype, load};
use engine::objectives::{Direction, Method, ObjectiveConfig, RetainLoss, Wrapper};
use engine::train::{
    IdkAnswers, Reference, ReferenceCache, TrainConfig, UnlearnConfig, UnlearnData, unlearn,
};
use support::{largest_relative_difference, shared, weights};

fn questions_and_answers(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .take(4)
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                row["question"].as_str().unwrap().to_string(),
                row["answer"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn data(model: &LoadedModel, shared: &Path) -> UnlearnData {
    let encode = |rows: &[(String, String)]| -> Vec<Encoded> {
        rows.iter()
            .map(|(q, a)| {
                PromptTemplate::QuestionAnswer
                    .encode(&model.tokenizer, q, a, 512)
                    .unwrap()
            })
            .collect()
    };
    let forget = questions_and_answers(&shared.join("data/tofu/forget01.jsonl"));
    let retain = questions_and_answers(&shared.join("data/tofu/retain99.jsonl"));
    UnlearnData {
        forget: encode(&forget),
        retain: encode(&retain),
        idk: Some(IdkAnswers {
            answers: [
                "I don't know.",
                "No idea, sorry.",
                "That is not something I know.",
            ]
            .map(String::from)
            .to_vec(),
            questions: forget.into_iter().map(|(q, _)| q).collect(),
            template: PromptTemplate::QuestionAnswer,
            tokenizer: model.tokenizer.clone(),
            max_length: 512,
        }),
    }
}

fn config(method: Method, retain: RetainLoss, wrapper: Wrapper) -> UnlearnConfig {
    UnlearnConfig {
        objective: ObjectiveConfig {
            method,
            gamma: 1.0,
            alpha: 1.0,
            retain,
            wrapper,
        },
        // 4 forget rows, bs 2, GA 1: two steps per epoch, 1.5 epochs = 3 steps, no warm-up.
        train: TrainConfig {
            lr: 1e-3,
            batch_size: 2,
            grad_accum: 1,
            epochs: 1.5,
            warmup_epochs: 0.0,
            ..TrainConfig::default()
        },
    }
}

#[test]
fn cached_and_live_references_train_to_the_same_weights() {
    let Some(shared) = shared() else { return };
    let source = ModelSource::Dir(shared.join("goldens/memorized-tiny-llama"));
    let plain = DeviceSpec::Cpu.device().unwrap();
    let reference = load(&source, &plain, WeightDtype::F32).unwrap();
    let data = data(&reference, &shared);
    let cancel = AtomicBool::new(false);
    let train = |config: &UnlearnConfig, frozen: Reference<'_>| {
        let policy = load(&source, &plain.clone().autodiff(), WeightDtype::F32).unwrap();
        let mut steps = 0;
        let trained = unlearn(
            policy.model,
            frozen,
            &data,
            config,
            0,
            &mut |_| steps += 1,
            &cancel,
        )
        .unwrap();
        assert_eq!(steps, 3);
        weights(&trained)
    };
    let wrappers = [
        Wrapper::None,
        Wrapper::Dv {
            tau: 1.0,
            direction: Direction::SoftMin,
        },
        Wrapper::Group { ratio: 0.5 },
    ];
    let methods = [
        Method::Npo { beta: 0.1 },
        Method::Tnpo { beta: 4.0 },
        Method::TnpoFork { beta: 0.1 },
        Method::IdkDpo { beta: 0.1 },
    ];
    let mut failures = Vec::new();
    for method in &methods {
        for wrapper in wrappers {
            let config = config(method.clone(), RetainLoss::Nll, wrapper);
            let live = train(&config, Reference::Live(&reference.model));
            let cache =
                ReferenceCache::compute(&reference.model, &data, &config, 0, &cancel).unwrap();
            assert!(!cache.is_empty());
            let cached = train(&config, Reference::Cached(&cache));
            let start = weights(&reference.model);
            let moved = largest_relative_difference(&live, &start);
            let diff = largest_relative_difference(&cached, &live);
            eprintln!(
                "{method:?} {wrapper:?}: {} cached rows ({} bytes); weights moved {moved:.1e}, cached vs live {diff:.1e}",
                cache.len(),
                cache.bytes()
            );
            assert!(moved > 1e-4, "{method:?} {wrapper:?} did not train");
            if diff > 1e-6 {
                failures.push(format!("{method:?} {wrapper:?}: {diff:.2e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let kl = config(Method::Npo { beta: 0.1 }, RetainLoss::Kl, Wrapper::None);
    let refused = ReferenceCache::compute(&reference.model, &data, &kl, 0, &cancel).unwrap_err();
    assert!(refused.to_string().contains("reference_mode"), "{refused}");
}
