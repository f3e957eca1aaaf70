//! `lethe eval`: the TOFU evaluation of one model on one forget split, with progress bars,
//! written as open-unlearning's `TOFU_EVAL.json` and `TOFU_SUMMARY.json`, plus `eval_timing.json`
//! (seconds per stage; a stage runs from the end of the previous one to its last batch).

use std::io::Write;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use engine::data::tofu::{SplitPreset, TofuSource};
use engine::eval::{EvalConfig, EvalProgress, evaluate};
use engine::llama::{ModelSource, load};
use engine::metrics::tofu_log::EvalLog;

use super::progress::Progress;
use super::template_for;
use crate::config::EvalArgs;

/// Runs `lethe eval`; prints the summary as one JSON object.
pub fn run(args: &EvalArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let log = execute(args, &mut |_| {}, &AtomicBool::new(false))?;
    writeln!(out, "{}", serde_json::to_string(&log.summary())?)?;
    Ok(())
}

/// The evaluation (what `lethe eval` and the server's executor do): progress bars on stderr and
/// to `on_progress`, files under `--out`, stops between batches once `cancel` is set.
pub fn execute(
    args: &EvalArgs,
    on_progress: &mut dyn FnMut(&EvalProgress),
    cancel: &AtomicBool,
) -> anyhow::Result<EvalLog> {
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
        gibberish_classifier: args.gibberish_model.clone(),
        classifier_max_length: args.classifier_max_length,
    };
    let mut bar: Option<(String, Progress)> = None;
    // Seconds per stage, in order, for eval_timing.json (what the eval benchmark reads).
    let mut timing: Vec<(String, Instant, f64)> = Vec::new();
    let started = Instant::now();
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
            on_progress(progress);
            match timing.last_mut() {
                Some((stage, since, seconds)) if *stage == progress.stage => {
                    *seconds = since.elapsed().as_secs_f64();
                }
                _ => {
                    let since = timing.last().map_or(started, |(_, since, seconds)| {
                        *since + Duration::from_secs_f64(*seconds)
                    });
                    timing.push((progress.stage.clone(), since, since.elapsed().as_secs_f64()));
                }
            }
        },
        cancel,
    )?;
    if let Some((_, bar)) = &bar {
        bar.finish();
    }
    log.write(&args.out)?;
    let timing = serde_json::json!({
        "total_seconds": started.elapsed().as_secs_f64(),
        "stages": timing
            .iter()
            .map(|(stage, _, seconds)| serde_json::json!({"stage": stage, "seconds": seconds}))
            .collect::<Vec<_>>(),
    });
    let path = args.out.join("eval_timing.json");
    std::fs::write(&path, serde_json::to_string_pretty(&timing)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(log)
}
