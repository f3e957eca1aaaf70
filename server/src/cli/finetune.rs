//! `lethe finetune`: TOFU's first step (the target model on `full`, a retain model on
//! `retainNN`) with the same schedule, trainer settings, progress and run-directory files as an
//! unlearning run: `steps.jsonl`, `checkpoint/` and `run.json` (its flags, so `--config run.json`
//! repeats it) under `--out`.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::{Context as _, bail};
use engine::train::finetune;
use shared::run::TrainerSpec;

use super::progress::Progress;
use crate::config::FinetuneArgs;
use crate::runner::prepare::{encode_pairs, load_policy, read_rows};
use crate::runner::{RunFiles, engine_config, files, write_atomic};

/// Runs `lethe finetune`.
pub fn run(args: &FinetuneArgs) -> anyhow::Result<()> {
    let mut trainer = TrainerSpec::default();
    args.train.apply(&mut trainer);
    trainer.devices = args.device.len();
    let problems = trainer.validate();
    if !problems.is_empty() {
        return Err(super::spec_args::invalid("the command line", &problems));
    }
    let rows = read_rows(&args.data).context("--data")?;
    if rows.is_empty() {
        bail!("--data {}: no rows", args.data.display());
    }
    let policy = load_policy(
        &args.model,
        "--model",
        &args.device.devices()?,
        engine_config::dtype(trainer.dtype),
        trainer.gradient_checkpointing,
    )?;
    let template = engine_config::template(args.template.into(), &policy, &args.model)?;
    let data = encode_pairs(
        &template,
        &policy.tokenizer,
        rows.iter()
            .map(|r| (r.question.as_str(), r.answer.as_str())),
    )?;
    let out = &args.train.out;
    let mut run_files = RunFiles::create(out, None)?;
    let run_json = serde_json::json!({
        "command": "finetune",
        "lethe_version": env!("CARGO_PKG_VERSION"),
        "args": {
            "model": args.model, "data": args.data, "template": format!("{:?}", args.template).to_lowercase(),
            "lr": trainer.lr, "batch_size": trainer.batch_size, "grad_accum": trainer.grad_accum,
            "epochs": trainer.epochs, "warmup_epochs": trainer.warmup_epochs,
            "weight_decay": trainer.weight_decay, "max_grad_norm": trainer.max_grad_norm,
            "seed": trainer.seed, "dtype": trainer.dtype.as_str(),
            "no_master_weights": !trainer.master_weights,
            "gradient_checkpointing": trainer.gradient_checkpointing,
            "optimizer_offload": trainer.optimizer_offload,
            "device": args.device.to_string(),
        },
        "resolved": { "rows": data.len(), "template": format!("{template:?}") },
    });
    write_atomic(
        &out.join("run.json"),
        &serde_json::to_vec_pretty(&run_json)?,
    )?;
    let tokenizer = policy.tokenizer;
    let pad = tokenizer.pad_or_eos();
    let started = Instant::now();
    let mut bar: Option<Progress> = None;
    let mut last_loss = f64::NAN;
    let trained = finetune(
        policy.model,
        &data,
        &engine_config::train(&trainer),
        pad,
        &mut |event| {
            last_loss = event.loss;
            run_files.step(&files::step_point(event, started.elapsed().as_secs_f64()));
            let bar = bar.get_or_insert_with(|| Progress::new("finetune", event.total_steps));
            bar.update(
                event.step,
                &format!("loss {:.4} lr {:.2e}", event.loss, event.lr),
            );
        },
        &AtomicBool::new(false),
    )?;
    if let Some(bar) = &bar {
        bar.finish();
    }
    let checkpoint = out.join(shared::paths::ARTIFACT_CHECKPOINT);
    let staging = files::staging_dir(&checkpoint)?;
    engine::train::save(
        &trained,
        &tokenizer,
        &staging,
        engine_config::save_dtype(&trainer),
    )?;
    files::promote_dir(&staging, &checkpoint)?;
    run_files.finish(&std::collections::BTreeMap::from([(
        "train_loss".to_string(),
        last_loss,
    )]))?;
    tracing::info!(checkpoint = %checkpoint.display(), "done");
    Ok(())
}
