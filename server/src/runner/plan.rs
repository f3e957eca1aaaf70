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
        devices: t.devices,
        lora: t.lora.as_ref().map(|l| plan::LoraPlan {
            rank: l.rank,
            targets: plan::LoraPlan::targets_of(&l.targets),
            base_reference: spec.reference.is_none(),
        }),
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

/// The peak memory of one run, measured the way each backend allows: on `cpu`, the process's
/// resident high-water mark (Linux `VmHWM`, reset with `clear_refs` when the run starts; a
/// server running several runs at once measures them together); on `wgpu` and `cuda`, the bytes
/// burn's memory pool holds on each device (`memory_pool_usage().bytes_reserved`), sampled after
/// every optimizer step and at the end, the largest device's largest sample. The pool keeps the
/// pages it reserved for reuse, so a sample after a step covers the step's transient peak; the
/// pool is cleaned when the run starts so an earlier run's pages do not count.
pub struct PeakMeter {
    gpus: Vec<engine::Device>,
    peak: u64,
}

impl PeakMeter {
    /// Starts measuring on `devices`.
    pub fn start(devices: &engine::Devices) -> Self {
        if devices.first() == DeviceSpec::Cpu {
            // Best effort: without it the mark covers the process's whole life.
            let _ = std::fs::write("/proc/self/clear_refs", "5");
            return Self {
                gpus: Vec::new(),
                peak: 0,
            };
        }
        let gpus = devices.devices().unwrap_or_default();
        for device in &gpus {
            device.memory_cleanup();
        }
        Self { gpus, peak: 0 }
    }

    /// Takes one sample of the GPU pools (nothing to do on `cpu`, whose mark the kernel keeps).
    pub fn sample(&mut self) {
        for device in &self.gpus {
            if let Some(usage) = device.memory_pool_usage() {
                self.peak = self.peak.max(usage.bytes_reserved);
            }
        }
    }

    /// The peak so far, or `None` where the backend reports nothing.
    pub fn peak(&mut self) -> Option<u64> {
        if self.gpus.is_empty() {
            let text = std::fs::read_to_string("/proc/self/status").ok()?;
            let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            return Some(kib * 1024);
        }
        self.sample();
        (self.peak > 0).then_some(self.peak)
    }
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
        .map(|(name, bytes)| format!("{name} {}", shared::plan::human_bytes(**bytes)))
        .collect();
    format!(
        "the run needs {} on {} ({}), which has {}; `lethe plan --auto` finds settings that fit \
         (gradient_checkpointing, reference_mode cached, optimizer_offload, a smaller batch_size)",
        shared::plan::human_bytes(report.peak_bytes),
        report.settings.device,
        largest.join(", "),
        report
            .device_memory
            .map_or_else(|| "unknown memory".into(), shared::plan::human_bytes),
    )
}
