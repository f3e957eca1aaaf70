//! `lethe unlearn`: the engine's unlearning loop from the command line, with progress on stderr,
//! and `checkpoint/` (HF layout), `metrics.jsonl` (one line per optimizer step) and `run.json`
//! (the resolved settings) under `--out`.

use std::io::Write as _;
use std::sync::atomic::AtomicBool;

use anyhow::{Context as _, bail};
use engine::data::{Encoded, PromptTemplate};
use engine::llama::{ModelSource, WeightDtype, load};
use engine::objectives::RetainLoss;
use engine::train::{AdamWConfig, StepEvent, UnlearnConfig, UnlearnData, save, unlearn};

use super::loss::{Settings, objective_config};
use super::model::read_rows;
use crate::config::{TemplateChoice, UnlearnArgs};

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
    let settings = Settings::parse(&args.set)?;
    let objective = objective_config(&args.objective, &args.wrapper, &settings)?;
    if !(args.lr.is_finite() && args.lr >= 0.0) {
        bail!("--lr {}: must be a non-negative number", args.lr);
    }
    if args.batch_size == 0 || args.grad_accum == 0 {
        bail!("--batch-size and --grad-accum must be at least 1");
    }
    if !(args.epochs.is_finite() && args.epochs > 0.0) {
        bail!("--epochs {}: must be > 0", args.epochs);
    }
    let forget_rows = read_rows(&args.forget).context("--forget")?;
    let retain_rows = read_rows(&args.retain).context("--retain")?;
    let plain = args.device.device()?;
    let policy = load(
        &ModelSource::parse(&args.model)?,
        &plain.clone().autodiff(),
        WeightDtype::F32,
    )
    .context("--model")?;
    let needs_reference = objective.method.needs_reference() || objective.retain == RetainLoss::Kl;
    let reference = if needs_reference {
        let source = args.reference.as_deref().unwrap_or(&args.model);
        Some(load(&ModelSource::parse(source)?, &plain, WeightDtype::F32).context("--reference")?)
    } else {
        None
    };
    let template = match args.template {
        TemplateChoice::Plain => PromptTemplate::QuestionAnswer,
        TemplateChoice::Chat => {
            PromptTemplate::chat_for(policy.model.config.family, &policy.tokenizer).with_context(
                || {
                    format!(
                        "--template chat: {} has no chat template Lethe knows",
                        args.model
                    )
                },
            )?
        }
    };
    let tokenizer = policy.tokenizer.clone();
    let encode = |q: &str, a: &str| template.encode(&tokenizer, q, a, 512);
    let forget: Vec<Encoded> = forget_rows
        .iter()
        .map(|r| encode(&r.question, &r.answer))
        .collect::<Result<_, _>>()?;
    let retain: Vec<Encoded> = retain_rows
        .iter()
        .map(|r| encode(&r.question, &r.answer))
        .collect::<Result<_, _>>()?;
    let idk = match &args.idk {
        Some(path) => {
            let answers: Vec<String> = std::fs::read_to_string(path)
                .with_context(|| format!("--idk {}", path.display()))?
                .lines()
                .filter(|line| !line.trim().is_empty())
                .map(str::to_string)
                .collect();
            if answers.is_empty() {
                bail!("--idk {}: no answers", path.display());
            }
            Some(
                forget_rows
                    .iter()
                    .enumerate()
                    .map(|(i, row)| encode(&row.question, &answers[i % answers.len()]))
                    .collect::<Result<Vec<_>, _>>()?,
            )
        }
        None if matches!(objective.method, engine::objectives::Method::IdkDpo { .. }) => {
            bail!("--objective idk_dpo needs --idk FILE (one I-don't-know answer per line)")
        }
        None => None,
    };
    let config = UnlearnConfig {
        objective,
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
        "model": args.model, "reference": args.reference, "forget": args.forget, "retain": args.retain,
        "objective": args.objective, "wrapper": args.wrapper, "set": args.set, "resolved_objective": format!("{:?}", config.objective),
        "lr": args.lr, "batch_size": args.batch_size, "grad_accum": args.grad_accum, "epochs": args.epochs,
        "warmup_epochs": args.warmup_epochs, "weight_decay": args.weight_decay, "seed": args.seed,
        "forget_rows": forget.len(), "retain_rows": retain.len(), "device": args.device.to_string(),
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
        forget,
        retain,
        idk,
    };
    let trained = unlearn(
        policy.model,
        reference.as_ref().map(|r| &r.model),
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
