//! `lethe unlearn`: the engine's unlearning loop from the command line, with a progress bar on
//! stderr and `checkpoint/`, `metrics.jsonl` and `run.json` under `--out`.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use engine::train::{StepEvent, UnlearnConfig, UnlearnData, unlearn};

use super::Precision;
use super::output::RunOutput;
use crate::config::UnlearnArgs;

/// Runs `lethe unlearn`.
pub fn run(args: &UnlearnArgs) -> anyhow::Result<()> {
    let checkpoint = execute(args, &mut |_| {}, &AtomicBool::new(false))?;
    tracing::info!(checkpoint = %checkpoint.display(), "done");
    Ok(())
}

/// The whole run (what `lethe unlearn` and the server's executor do): writes `run.json`,
/// `metrics.jsonl` and `checkpoint/` under `--out`, reports each step to `on_step`, stops between
/// micro-batches once `cancel` is set. Returns the checkpoint directory.
pub fn execute(
    args: &UnlearnArgs,
    on_step: &mut dyn FnMut(&StepEvent),
    cancel: &AtomicBool,
) -> anyhow::Result<PathBuf> {
    let train = args.train.train_config()?;
    let precision = Precision {
        dtype: args.train.dtype,
        checkpointing: args.train.gradient_checkpointing,
    };
    let prepared = args.objective.prepare(&args.model, "--model", precision)?;
    let tokenizer = prepared.policy.tokenizer.clone();
    let o = &args.objective;
    let config = UnlearnConfig {
        objective: prepared.config,
        train,
    };
    let mut flags = args.train.flags_json();
    for (key, value) in [
        ("model", serde_json::json!(args.model)),
        ("reference", serde_json::json!(o.reference)),
        ("forget", serde_json::json!(o.forget)),
        ("retain", serde_json::json!(o.retain)),
        ("idk", serde_json::json!(o.idk)),
        (
            "template",
            serde_json::json!(format!("{:?}", o.template).to_lowercase()),
        ),
        ("objective", serde_json::json!(o.objective)),
        ("wrapper", serde_json::json!(o.wrapper)),
        ("set", serde_json::json!(o.set)),
        ("device", serde_json::json!(o.device.to_string())),
    ] {
        flags.insert(key.into(), value);
    }
    let resolved = serde_json::json!({
        "objective": format!("{:?}", config.objective),
        "forget_rows": prepared.forget.len(),
        "retain_rows": prepared.retain.len(),
    });
    let mut output = RunOutput::create(&args.train.out, "unlearn", flags, resolved)?;
    let pad = tokenizer.pad_or_eos();
    let data = UnlearnData {
        forget: prepared.forget,
        retain: prepared.retain,
        idk: prepared.idk_answers,
    };
    let trained = unlearn(
        prepared.policy.model,
        prepared.reference.as_ref().map(|r| &r.model),
        &data,
        &config,
        pad,
        &mut |event| {
            output.record(event);
            on_step(event);
        },
        cancel,
    )?;
    output.finish(&trained, &tokenizer, args.train.save_dtype)
}
