//! `lethe unlearn`: one run from the command line. The flags (and `--config`) build a
//! [`RunSpec`](shared::run::RunSpec), which the [runner](mod@crate::runner) executes into `--out`
//! exactly as the server executes a submitted spec: `spec.json`, `steps.jsonl`, `checkpoint/`,
//! `metrics.json` (and `eval/` when the spec evaluates). Progress bars go to stderr.

use std::sync::atomic::AtomicBool;

use super::progress::RunProgress;
use super::spec_args::read_spec;
use crate::config::UnlearnArgs;
use crate::runner::{self, Places};

/// Runs `lethe unlearn`.
pub fn run(args: &UnlearnArgs) -> anyhow::Result<()> {
    let base = args.spec.as_deref().map(read_spec).transpose()?;
    let spec = args
        .objective
        .spec(base, args.model.as_deref(), Some(&args.train))?;
    let mut progress = RunProgress::default();
    runner::execute(
        &spec,
        &Places::default(),
        &args.train.out,
        &args.objective.device,
        &mut |event| progress.show(&event),
        &AtomicBool::new(false),
    )?;
    progress.finish();
    tracing::info!(out = %args.train.out.display(), "done");
    Ok(())
}
