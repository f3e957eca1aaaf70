//! `lethe unlearn`: the engine's unlearning loop from the command line, with progress on stderr,
//! and `checkpoint/` (HF layout), `metrics.jsonl` (one line per optimizer step) and `run.json`
//! (the resolved settings) under `--out`.

use std::io::Write as _;
use std::sync::atomic::AtomicBool;

use anyhow::{Context as _, bail};
use engine::train::{AdamWConfig, StepEvent, UnlearnConfig, UnlearnData, save, unlearn};

use crate::config::UnlearnArgs;

fn event_json(event: &StepEvent) -> serde_json::Value {
    serde_json::json!({
        "step": event.step,
        "total_steps": event.total_steps,
        "lr": event.lr,
        "loss": event.loss,
        "forget_loss": event.forget_loss,
        "retain_loss": event.retain_loss,
        "grad_norm": event.grad_norm,
        "per_sample": event.per_sample,
        "weights": event.weights,
        "tokens_per_s": event.tokens_per_s,
    })
}

/// Runs `lethe unlearn`.
pub fn run(args: &UnlearnArgs) -> anyhow::Result<()> {
    if !(args.lr.is_finite() && args.lr >= 0.0) {
        bail!("--lr {}: must be a non-negative number", args.lr);
    }
    if args.batch_size == 0 || args.grad_accum == 0 {
        bail!("--batch-size and --grad-accum must be at least 1");
    }
    if !(args.epochs.is_finite() && args.epochs > 0.0) {
        bail!("--epochs {}: must be > 0", args.epochs);
    }
    let prepared = args.objective.prepare(&args.model, "--model")?;
    let tokenizer = prepared.policy.tokenizer.clone();
    let o = &args.objective;
    let config = UnlearnConfig {
        objective: prepared.config,
        lr: args.lr,
        batch_size: args.batch_size,
        grad_accum: args.grad_accum,
        epochs: args.epochs,
        warmup_epochs: args.warmup_epochs,
        seed: args.seed,
        adamw: AdamWConfig {
            weight_decay: args.weight_decay,
            ..AdamWConfig::default()
        },
    };
    std::fs::create_dir_all(&args.out).with_context(|| format!("--out {}", args.out.display()))?;
    let run_json = serde_json::json!({
        "model": args.model, "reference": o.reference, "forget": o.forget, "retain": o.retain,
        "objective": o.objective, "wrapper": o.wrapper, "set": o.set, "resolved_objective": format!("{:?}", config.objective),
        "lr": args.lr, "batch_size": args.batch_size, "grad_accum": args.grad_accum, "epochs": args.epochs,
        "warmup_epochs": args.warmup_epochs, "weight_decay": args.weight_decay, "seed": args.seed,
        "forget_rows": prepared.forget.len(), "retain_rows": prepared.retain.len(), "device": o.device.to_string(),
    });
    std::fs::write(
        args.out.join("run.json"),
        serde_json::to_string_pretty(&run_json)?,
    )?;
    let metrics_path = args.out.join("metrics.jsonl");
    let mut metrics =
        std::fs::File::create(&metrics_path).with_context(|| metrics_path.display().to_string())?;
    let mut write_error = None;
    let pad = tokenizer.pad_id.or(tokenizer.eos_id).unwrap_or(0);
    let data = UnlearnData {
        forget: prepared.forget,
        retain: prepared.retain,
        idk: prepared.idk,
    };
    let trained = unlearn(
        prepared.policy.model,
        prepared.reference.as_ref().map(|r| &r.model),
        &data,
        &config,
        pad,
        &mut |event| {
            tracing::info!(
                step = event.step,
                total = event.total_steps,
                lr = event.lr,
                loss = event.loss,
                grad_norm = event.grad_norm,
                tokens_per_s = event.tokens_per_s as u64,
                "unlearn step"
            );
            if let Err(error) = writeln!(metrics, "{}", event_json(event)) {
                write_error.get_or_insert(error);
            }
        },
        &AtomicBool::new(false),
    )?;
    if let Some(error) = write_error {
        return Err(error).with_context(|| metrics_path.display().to_string());
    }
    let checkpoint = args.out.join("checkpoint");
    save(&trained, &tokenizer, &checkpoint, args.save_dtype)?;
    tracing::info!(checkpoint = %checkpoint.display(), "done");
    Ok(())
}
