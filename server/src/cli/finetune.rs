//! `lethe finetune`: TOFU's first step (the target model on `full`, a retain model on
//! `retainNN`) with the same schedule, outputs and progress as `lethe unlearn`.

use std::sync::atomic::AtomicBool;

use anyhow::{Context as _, bail};
use engine::train::finetune;

use super::output::RunOutput;
use super::{Precision, encode_pairs, template_for};
use crate::cli::model::read_rows;
use crate::config::FinetuneArgs;

/// Runs `lethe finetune`.
pub fn run(args: &FinetuneArgs) -> anyhow::Result<()> {
    let train = args.train.train_config()?;
    let rows = read_rows(&args.data).context("--data")?;
    if rows.is_empty() {
        bail!("--data {}: no rows", args.data.display());
    }
    let precision = Precision {
        dtype: args.train.dtype,
        checkpointing: args.train.gradient_checkpointing,
    };
    let policy = precision.load_policy(&args.model, "--model", &args.device.device()?)?;
    let template = template_for(args.template, &policy, &args.model)?;
    let data = encode_pairs(
        &template,
        &policy.tokenizer,
        rows.iter()
            .map(|r| (r.question.as_str(), r.answer.as_str())),
    )?;
    let mut flags = args.train.flags_json();
    for (key, value) in [
        ("model", serde_json::json!(args.model)),
        ("data", serde_json::json!(args.data)),
        (
            "template",
            serde_json::json!(format!("{:?}", args.template).to_lowercase()),
        ),
        ("device", serde_json::json!(args.device.to_string())),
    ] {
        flags.insert(key.into(), value);
    }
    let resolved = serde_json::json!({ "rows": data.len(), "template": format!("{template:?}") });
    let mut output = RunOutput::create(&args.train.out, "finetune", flags, resolved)?;
    let tokenizer = policy.tokenizer;
    let pad = tokenizer.pad_or_eos();
    let trained = finetune(
        policy.model,
        &data,
        &train,
        pad,
        &mut |event| output.record(event),
        &AtomicBool::new(false),
    )?;
    let checkpoint = output.finish(&trained, &tokenizer, args.train.save_dtype)?;
    tracing::info!(checkpoint = %checkpoint.display(), "done");
    Ok(())
}
