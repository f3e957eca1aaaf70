//! `lethe plan`: a run's memory before it starts ([`crate::runner::plan`]), as a table or JSON,
//! and with `--auto` the fastest settings that fit.

use std::io::Write;

use anyhow::Context as _;
use engine::DeviceSpec;
use engine::plan;
use shared::plan::human_bytes;
use shared::plan::{PlanReport, PlannedSettings};
use shared::run::{Dtype, Method, ReferenceMode, RunSpec, Wrapper};

use crate::config::PlanArgs;
use crate::runner::fields_message;
use crate::runner::plan::{model_config, report, settings};

/// The spec the flags describe (only what memory depends on matters).
fn spec(args: &PlanArgs) -> anyhow::Result<RunSpec> {
    let method = Method::parse(&args.objective)
        .with_context(|| format!("--objective {}: not a method", args.objective))?;
    let mut spec = RunSpec::new(args.model.clone(), method);
    spec.wrapper = match args.wrapper.as_str() {
        "none" => Wrapper::None,
        "dv" => Wrapper::Dv {
            tau: 1.0,
            direction: shared::run::Direction::default(),
        },
        "g" => Wrapper::G { ratio: 0.5 },
        other => anyhow::bail!("--wrapper {other}: expected none, dv or g"),
    };
    let t = &mut spec.trainer;
    t.batch_size = args.batch_size;
    args.switches.apply(t);
    #[expect(clippy::cast_precision_loss, reason = "a small rank")]
    if let Some(rank) = args.lora_rank {
        t.lora = Some(shared::run::LoraSpec {
            rank,
            alpha: 2.0 * rank as f64,
            ..shared::run::LoraSpec::default()
        });
    }
    // A cached reference with a KL retain term is planned as live, with a note, not refused.
    let errors: Vec<_> = spec
        .set_all(args.set.iter().map(String::as_str))
        .into_iter()
        .filter(|error| error.field != "trainer.reference_mode")
        .collect();
    if !errors.is_empty() {
        anyhow::bail!("{}", fields_message(&errors));
    }
    Ok(spec)
}

/// The flags that give `settings` on `lethe unlearn`.
pub fn flags(settings: &PlannedSettings) -> Vec<String> {
    let mut flags = vec![
        format!("--batch-size {}", settings.batch_size),
        format!("--dtype {}", settings.dtype.as_str()),
    ];
    if settings.dtype != Dtype::F32 && !settings.master_weights {
        flags.push("--no-master-weights".into());
    }
    if settings.reference_mode == ReferenceMode::Cached {
        flags.push("--reference-mode cached".into());
    }
    if settings.optimizer_offload {
        flags.push("--optimizer-offload".into());
    }
    if settings.gradient_checkpointing {
        flags.push("--gradient-checkpointing".into());
    }
    flags
}

/// Runs `lethe plan`.
pub fn run(args: &PlanArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let spec = spec(args)?;
    let config = model_config(&args.model)?;
    let memory = args
        .device_memory
        .or_else(|| crate::runner::plan::device_memory(args.device));
    let mut wanted = settings(&spec, args.max_length);
    wanted.devices = args.devices.max(1);
    let (chosen, auto_note) = if args.auto {
        let memory = memory.with_context(|| {
            format!(
                "--auto: {} reports no memory size; give --device-memory (e.g. 80GiB)",
                args.device
            )
        })?;
        let start = engine::plan::PlanSettings {
            devices: 1,
            ..wanted
        };
        let half_ok = matches!(args.device, DeviceSpec::Cuda(_));
        let (chosen, _) = plan::auto(&config, start, memory, half_ok, wanted.devices);
        (chosen, true)
    } else {
        (wanted, false)
    };
    let mut report = report(&config, &chosen, args.device, memory);
    if auto_note {
        report.notes.push(format!(
            "auto: {}{}",
            flags(&report.settings).join(" "),
            if report.fits == Some(true) {
                ""
            } else {
                " (nothing fits)"
            }
        ));
    }
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        table(&args.model, &report, out)?;
    }
    Ok(())
}

fn table(model: &str, report: &PlanReport, out: &mut impl Write) -> anyhow::Result<()> {
    #[expect(clippy::cast_precision_loss, reason = "for display")]
    let billions = report.parameters as f64 / 1e9;
    writeln!(out, "model:       {model} ({billions:.2} B parameters)")?;
    writeln!(out, "settings:    {}", flags(&report.settings).join(" "))?;
    writeln!(
        out,
        "device:      {} (per device, {} device{})",
        report.settings.device,
        report.settings.devices,
        if report.settings.devices == 1 {
            ""
        } else {
            "s"
        }
    )?;
    for (part, bytes) in &report.parts.device {
        writeln!(out, "  {part:<18} {:>12}", human_bytes(*bytes))?;
    }
    let verdict = match (report.device_memory, report.fits) {
        (Some(memory), Some(fits)) => format!(
            " of {}: {}",
            human_bytes(memory),
            if fits { "fits" } else { "does NOT fit" }
        ),
        _ => " (device memory unknown: give --device-memory)".into(),
    };
    writeln!(
        out,
        "  {:<18} {:>12}{verdict}",
        "peak",
        human_bytes(report.peak_bytes)
    )?;
    writeln!(out, "host:")?;
    for (part, bytes) in &report.parts.host {
        writeln!(out, "  {part:<18} {:>12}", human_bytes(*bytes))?;
    }
    writeln!(
        out,
        "  {:<18} {:>12}",
        "total",
        human_bytes(report.host_bytes)
    )?;
    for note in &report.notes {
        writeln!(out, "note: {note}")?;
    }
    Ok(())
}
