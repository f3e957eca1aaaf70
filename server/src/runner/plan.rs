//! The memory plan of a [`RunSpec`]: the spec's settings mapped onto the engine's
//! [`PlanSettings`], the model's shape read from its `config.json` (or GGUF header) alone, and
//! the plan as the wire's [`PlanReport`]. `lethe plan`, `POST /api/plan`, the submission check
//! and every run's `plan.json` use it.

use std::path::Path;

use anyhow::Context as _;
use engine::DeviceSpec;
use engine::llama::{LlamaConfig, ModelSource, inspect};
use engine::plan::{self, MemoryPlan, PlanSettings, ReferenceUse};
use shared::plan::{PlanParts, PlanReport, PlannedSettings};
use shared::run::{Dtype, ReferenceMode, RunSpec};

use super::engine_config;

/// TOFU's truncation: the longest row a run can see.
pub const MAX_LENGTH: usize = 512;

/// The shape of `model` (anything [`ModelSource::parse`] reads): from `config.json` alone for a
/// directory, which may hold nothing else, or from a GGUF header.
pub fn model_config(model: &str) -> anyhow::Result<LlamaConfig> {
    let dir = Path::new(model);
    if dir.join("config.json").is_file() {
        return LlamaConfig::from_model_dir(dir).with_context(|| format!("{model}/config.json"));
    }
    let source = ModelSource::parse(model)?;
    Ok(inspect(&source)?.config)
}

/// The engine's plan settings for `spec`, with rows of `max_length` tokens.
pub fn settings(spec: &RunSpec, max_length: usize) -> PlanSettings {
    let objective = engine_config::objective(spec);
    let t = &spec.trainer;
    PlanSettings {
        batch_size: t.batch_size,
        max_length,
        passes: plan::passes(&objective),
        dtype: engine_config::dtype(t.dtype),
        master_weights: t.master_weights,
        reference: ReferenceUse::of(&objective),
        reference_cached: t.reference_mode == ReferenceMode::Cached,
        optimizer_offload: t.optimizer_offload,
        gradient_checkpointing: t.gradient_checkpointing,
        devices: 1,
    }
}

/// The plan of `settings` for a model of `config` on `device`, weighed against `device_memory`.
pub fn report(
    config: &LlamaConfig,
    settings: &PlanSettings,
    device: DeviceSpec,
    device_memory: Option<u64>,
) -> PlanReport {
    let mut planned = if device == DeviceSpec::Cpu {
        plan::plan_on_cpu(config, settings)
    } else {
        plan::plan(config, settings)
    };
    if !device.training_dtypes().contains(&settings.dtype) {
        planned.notes.push(format!(
            "dtype: {device} trains in {}; {}",
            device
                .training_dtypes()
                .iter()
                .map(|d| engine_config::dtype_name(*d))
                .collect::<Vec<_>>()
                .join(", "),
            device.half_precision_reason()
        ));
    }
    wire(&planned, settings, device, device_memory)
}

fn wire(
    planned: &MemoryPlan,
    settings: &PlanSettings,
    device: DeviceSpec,
    device_memory: Option<u64>,
) -> PlanReport {
    let parts = |map: &std::collections::BTreeMap<&'static str, u64>| {
        map.iter().map(|(k, v)| ((*k).to_string(), *v)).collect()
    };
    PlanReport {
        parameters: planned.parameters,
        peak_bytes: planned.peak_bytes,
        host_bytes: planned.host_bytes,
        device_memory,
        fits: device_memory.map(|memory| planned.fits(memory)),
        parts: PlanParts {
            device: parts(&planned.device_parts),
            host: parts(&planned.host_parts),
        },
        settings: PlannedSettings {
            device: device.to_string(),
            batch_size: settings.batch_size,
            max_length: settings.max_length,
            dtype: match settings.dtype {
                engine::llama::WeightDtype::F32 => Dtype::F32,
                engine::llama::WeightDtype::Bf16 => Dtype::Bf16,
                engine::llama::WeightDtype::F16 => Dtype::F16,
            },
            master_weights: settings.master_weights,
            reference_mode: if settings.reference_cached {
                ReferenceMode::Cached
            } else {
                ReferenceMode::Live
            },
            optimizer_offload: settings.optimizer_offload,
            gradient_checkpointing: settings.gradient_checkpointing,
            devices: settings.devices,
        },
        notes: planned.notes.clone(),
        measured_peak_bytes: None,
    }
}

/// Starts measuring the peak of this run on `device`: on `cpu`, resets the process's resident
/// high-water mark (Linux `clear_refs`; a server running several runs at once measures them
/// together).
pub fn reset_peak(device: DeviceSpec) {
    if device == DeviceSpec::Cpu {
        // Best effort: without it the mark covers the process's whole life.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
    }
}

/// The peak since [`reset_peak`]: on `cpu`, `VmHWM` of `/proc/self/status`; GPU backends do
/// not report their memory pools through burn yet.
pub fn measured_peak(device: DeviceSpec) -> Option<u64> {
    if device != DeviceSpec::Cpu {
        return None;
    }
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The memory `device` reports: total RAM for `cpu` (`/proc/meminfo`); nothing for GPU backends,
/// whose runtimes do not report it through burn (give `--device-memory`).
pub fn device_memory(device: DeviceSpec) -> Option<u64> {
    match device {
        DeviceSpec::Cpu => {
            let text = std::fs::read_to_string("/proc/meminfo").ok()?;
            let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        }
        _ => None,
    }
}

/// The sentence a refused submission carries: the peak, its largest parts, and the memory.
pub fn refusal(report: &PlanReport) -> String {
    let mut parts: Vec<(&String, &u64)> = report.parts.device.iter().collect();
    parts.sort_by(|a, b| b.1.cmp(a.1));
    let largest: Vec<String> = parts
        .iter()
        .take(4)
        .filter(|(_, bytes)| **bytes > 0)
        .map(|(name, bytes)| format!("{name} {}", plan::human(**bytes)))
        .collect();
    format!(
        "the run needs {} on {} ({}), which has {}; `lethe plan --auto` finds settings that fit \
         (gradient_checkpointing, reference_mode cached, optimizer_offload, a smaller batch_size)",
        plan::human(report.peak_bytes),
        report.settings.device,
        largest.join(", "),
        report
            .device_memory
            .map_or_else(|| "unknown memory".into(), plan::human),
    )
}
