//! Everything an objective needs before it runs: the data read and tokenised, the models loaded
//! (the policy on the autodiff device, the frozen reference on the plain one), the template
//! chosen, the objective mapped. `lethe unlearn`, the server and `lethe loss` all start here.

use std::io::BufRead as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use engine::Devices;
use engine::data::{Encoded, PromptTemplate};
use engine::llama::{LoadedModel, ModelSource, WeightDtype, load_split};
use engine::objectives::ObjectiveConfig;
use engine::tokenizer::Tokenizer;
use engine::train::IdkAnswers;
use serde::Deserialize;
use shared::run::RunSpec;

use super::engine_config;
use super::places::Resolved;

/// OU's maximum sequence length on the string path.
pub const MAX_LENGTH: usize = 512;

/// One question/answer row of a JSONL file.
#[derive(Debug, Deserialize)]
pub struct QaRow {
    /// The question.
    pub question: String,
    /// The answer.
    pub answer: String,
}

/// Every non-empty line of `path` as a [`QaRow`]; errors name the file and line.
pub fn read_rows(path: &Path) -> anyhow::Result<Vec<QaRow>> {
    let file = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut rows = Vec::new();
    for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let row: QaRow = serde_json::from_str(&line).with_context(|| {
            format!(
                "{} line {}: expected {{\"question\": ..., \"answer\": ...}}",
                path.display(),
                number + 1
            )
        })?;
        rows.push(row);
    }
    Ok(rows)
}

/// Tokenises question/answer pairs with `template`.
pub fn encode_pairs<'a>(
    template: &PromptTemplate,
    tokenizer: &Tokenizer,
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
) -> anyhow::Result<Vec<Encoded>> {
    Ok(pairs
        .map(|(question, answer)| template.encode(tokenizer, question, answer, MAX_LENGTH))
        .collect::<Result<_, _>>()?)
}

/// Loads `model` (named by `field` in errors) for training on the autodiff devices of `plain`
/// (its decoder layers split over them when there are several), with balanced gradient
/// checkpointing when `checkpointing`.
pub fn load_policy(
    model: &str,
    field: &str,
    plain: &[engine::Device],
    dtype: WeightDtype,
    checkpointing: bool,
) -> anyhow::Result<LoadedModel> {
    let devices: Vec<engine::Device> = plain
        .iter()
        .map(|device| engine::training_device(device, checkpointing))
        .collect();
    load_split(&ModelSource::parse(model)?, &devices, dtype)
        .with_context(|| format!("{field}: {model}"))
}

/// A run, ready to train.
pub struct Prepared {
    /// The objective with the spec's values.
    pub config: ObjectiveConfig,
    /// Tokenised forget rows.
    pub forget: Vec<Encoded>,
    /// Tokenised retain rows.
    pub retain: Vec<Encoded>,
    /// Forget row i with I-don't-know answer i mod n (`lethe loss`).
    pub idk: Option<Vec<Encoded>>,
    /// The answers themselves, for the loop's per-epoch random draw.
    pub idk_answers: Option<IdkAnswers>,
    /// The model being unlearned, on the autodiff device.
    pub policy: LoadedModel,
    /// The frozen reference on the plain device, when the objective needs one.
    pub reference: Option<LoadedModel>,
}

fn read_answers(path: &Path) -> anyhow::Result<Vec<String>> {
    let answers: Vec<String> = std::fs::read_to_string(path)
        .with_context(|| format!("data.idk: {}", path.display()))?
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    if answers.is_empty() {
        bail!("data.idk: {} has no answers", path.display());
    }
    Ok(answers)
}

/// Reads, tokenises and loads what `spec` names (as `resolved`) on the first `trainer.devices`
/// of `devices`.
pub fn prepare(spec: &RunSpec, resolved: &Resolved, devices: &Devices) -> anyhow::Result<Prepared> {
    let config = engine_config::objective(spec);
    let forget_rows = read_rows(&resolved.forget).context("forget rows")?;
    let retain_rows = read_rows(&resolved.retain).context("retain rows")?;
    if forget_rows.is_empty() || retain_rows.is_empty() {
        bail!(
            "data: the forget ({}) and retain ({}) rows need at least one row each",
            resolved.forget.display(),
            resolved.retain.display()
        );
    }
    let answers = resolved.idk.as_deref().map(read_answers).transpose()?;
    let t = &spec.trainer;
    let dtype = engine_config::dtype(t.dtype);
    let plain = devices
        .take(t.devices, "trainer.devices (--devices)")?
        .devices()?;
    let mut policy = load_policy(
        &resolved.model,
        "model",
        &plain,
        dtype,
        t.gradient_checkpointing,
    )?;
    if let Some(lora) = &t.lora {
        policy.model = engine::lora::apply(policy.model, &engine_config::lora(lora))?;
    }
    let reference = if config.needs_reference() && t.lora.is_some() && resolved.reference.is_none()
    {
        // The frozen base is the reference: the same weights with the adapters off.
        Some(LoadedModel {
            model: engine::lora::without_adapters(&policy.model),
            tokenizer: policy.tokenizer.clone(),
            source: policy.source.clone(),
        })
    } else if config.needs_reference() {
        let source = resolved.reference.as_deref().unwrap_or(&resolved.model);
        Some(
            load_split(&ModelSource::parse(source)?, &plain, dtype)
                .with_context(|| format!("reference: {source}"))?,
        )
    } else {
        None
    };
    let template = engine_config::template(spec.template, &policy, &resolved.model)?;
    let tokenizer = &policy.tokenizer;
    let pairs = |rows: &'_ [QaRow]| -> anyhow::Result<Vec<Encoded>> {
        encode_pairs(
            &template,
            tokenizer,
            rows.iter()
                .map(|r| (r.question.as_str(), r.answer.as_str())),
        )
    };
    let forget = pairs(&forget_rows)?;
    let retain = pairs(&retain_rows)?;
    let idk_answers = answers.as_ref().map(|answers| IdkAnswers {
        answers: answers.clone(),
        questions: forget_rows.iter().map(|row| row.question.clone()).collect(),
        template: template.clone(),
        tokenizer: tokenizer.clone(),
        max_length: MAX_LENGTH,
    });
    let idk = answers
        .map(|answers| {
            let rows = forget_rows
                .iter()
                .enumerate()
                .map(|(i, row)| (row.question.as_str(), answers[i % answers.len()].as_str()));
            encode_pairs(&template, tokenizer, rows)
        })
        .transpose()?;
    Ok(Prepared {
        config,
        forget,
        retain,
        idk,
        idk_answers,
        policy,
        reference,
    })
}
