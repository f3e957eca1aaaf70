//! `lethe attack relearn|quantize RUN_DIR`: a robustness attack on a finished run, the same
//! code a run's `attacks` go through ([`crate::runner::attacks`]); prints the report as JSON.

use std::io::Write;
use std::sync::atomic::AtomicBool;

use shared::run::AttackSpec;

use super::progress::RunProgress;
use super::worker::read_spec;
use crate::config::{AttackCommand, AttackTarget};
use crate::runner::attacks::AttackRun;
use crate::runner::fields_message;

/// Runs one `lethe attack` command.
pub fn run(command: AttackCommand, out: &mut impl Write) -> anyhow::Result<()> {
    let (target, attack) = match command {
        AttackCommand::Relearn {
            target,
            steps,
            lr,
            fraction,
        } => (
            target,
            AttackSpec::Relearn {
                steps,
                lr,
                fraction,
            },
        ),
        AttackCommand::Quantize { target, bits } => (target, AttackSpec::Quantize { bits }),
    };
    let problems = attack.validate(0);
    if !problems.is_empty() {
        anyhow::bail!("{}", fields_message(&problems).replace("attacks.0.", "--"));
    }
    let AttackTarget {
        run_dir,
        places,
        device,
    } = target;
    let spec = read_spec(&run_dir)?;
    let places = crate::places(&places, false)?;
    let resolved = places.resolve(&spec)?;
    let mut progress = RunProgress::default();
    let report = AttackRun {
        spec: &spec,
        resolved: &resolved,
        run_dir: &run_dir,
        devices: &device,
    }
    .run(
        &attack,
        &mut |event| progress.show(&event),
        &AtomicBool::new(false),
    )?;
    progress.finish();
    writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    Ok(())
}
