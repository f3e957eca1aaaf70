//! `lethe eval`: the TOFU evaluation of one model on one forget split: the runner's evaluation
//! stage ([`crate::runner::evaluate()`]) with progress bars, writing open-unlearning's
//! `TOFU_EVAL.json` and `TOFU_SUMMARY.json` and `eval_timing.json` into `--out`.

use std::io::Write;
use std::sync::atomic::AtomicBool;

use anyhow::Context as _;
use engine::data::tofu::TofuSource;
use shared::run::{EvalSpec, Split};

use super::progress::RunProgress;
use crate::config::EvalArgs;
use crate::runner::{EvalJob, evaluate};

/// Runs `lethe eval`; prints the summary as one JSON object.
pub fn run(args: &EvalArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let split = Split::parse(&args.split).with_context(|| {
        format!(
            "--split {}: expected forget01, forget05 or forget10",
            args.split
        )
    })?;
    let job = EvalJob {
        model: args.model.clone(),
        data: match &args.data {
            Some(dir) => TofuSource::Dir(dir.clone()),
            None => TofuSource::Hub,
        },
        split,
        template: args.template.into(),
        dtype: args.dtype,
        eval: EvalSpec {
            enabled: true,
            batch_size: args.batch_size,
            max_new_tokens: args.max_new_tokens,
            retain_ref: None,
            gibberish_model: None,
            classifier_max_length: args.classifier_max_length,
            ..EvalSpec::default()
        },
        retain_ref: args.retain_ref.clone(),
        gibberish_model: args.gibberish_model.clone(),
    };
    let mut progress = RunProgress::default();
    let log = evaluate(
        &job,
        &args.out,
        args.device,
        &mut |event| progress.show(&event),
        &AtomicBool::new(false),
    )?;
    progress.finish();
    writeln!(out, "{}", serde_json::to_string(&log.summary())?)?;
    Ok(())
}
