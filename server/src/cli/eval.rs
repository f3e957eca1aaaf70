//! `lethe eval`: the TOFU evaluation of one model on one forget split, with progress bars,
//! written as open-unlearning's `TOFU_EVAL.json` and `TOFU_SUMMARY.json`.

use std::io::Write;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use engine::data::tofu::{SplitPreset, TofuSource};
use engine::eval::{EvalConfig, evaluate};
use engine::llama::{ModelSource, load};
use engine::metrics::tofu_log::EvalLog;

use super::progress::Progress;
use super::template_for;
use crate::config::EvalArgs;

/// Runs `lethe eval`; prints the summary as one JSON object.
pub fn run(args: &EvalArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let preset = SplitPreset::parse(&args.split)?;
    let data = match &args.data {
        Some(dir) => TofuSource::Dir(dir.clone()),
        None => TofuSource::Hub,
    };
    let retain = args
        .retain_ref
        .as_deref()
        .map(|path| {
            let file = if path.is_dir() {
                path.join("TOFU_EVAL.json")
            } else {
                path.to_path_buf()
            };
            EvalLog::read(&file).context("--retain-ref")
        })
        .transpose()?;
    let model = load(
        &ModelSource::parse(&args.model)?,
        &args.device.device()?,
        args.dtype,
    )
    .with_context(|| format!("model {}", args.model))?;
    let config = EvalConfig {
        template: template_for(args.template, &model, &args.model)?,
        batch_size: args.batch_size,
        max_new_tokens: args.max_new_tokens,
        max_length: 512,
    };
    let mut bar: Option<(String, Progress)> = None;
    let log = evaluate(
        &model,
        &data,
        preset,
        &config,
        retain.as_ref(),
        &mut |progress| {
            if bar
                .as_ref()
                .is_none_or(|(stage, _)| *stage != progress.stage)
            {
                if let Some((_, old)) = &bar {
                    old.finish();
                }
                bar = Some((
                    progress.stage.clone(),
                    Progress::new("eval", progress.total),
                ));
            }
            if let Some((stage, bar)) = &bar {
                bar.update(progress.done, stage);
            }
        },
        &AtomicBool::new(false),
    )?;
    if let Some((_, bar)) = &bar {
        bar.finish();
    }
    log.write(&args.out)?;
    writeln!(out, "{}", serde_json::to_string(&log.summary())?)?;
    Ok(())
}
