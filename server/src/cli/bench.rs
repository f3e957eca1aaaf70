//! `lethe bench`: the measurements a lent GPU takes (`scripts/gpu_check.sh`), each one JSON line.
//!
//! - `parity`: the tiny fixtures' logits against transformers' (`reference_logits.safetensors`).
//! - `npo-step`: NPO on a randomly initialised model of a `config.json` and synthetic rows, the
//!   same work as `../shared/bench/torch_reference.py npo-step --config ... --synthetic N`
//!   (forget and retain rows of N tokens, labels on the second half; the policy's forward and
//!   backward on both, the reference's forward on the forget rows; AdamW). It trains through the
//!   engine's `unlearn`, with the plan's switches, and reports the median step after a warm-up,
//!   the measured peak ([`PeakMeter`]) and the plan.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use anyhow::Context as _;
use engine::data::Encoded;
use engine::llama::{LlamaForCausalLM, ModelSource, SafetensorsFiles, TokenBatch, load};
use engine::train::{Reference, ReferenceCache, UnlearnConfig, UnlearnData, unlearn};
use serde_json::{Value, json};
use shared::run::{Method, ReferenceMode, RunSpec};

use crate::config::{NpoStepArgs, ParityArgs};
use crate::runner::engine_config;
use crate::runner::plan::{PeakMeter, model_config, report, settings};

/// The largest |Δlogit| the parity tests accept (f32).
const LOGIT_TOLERANCE: f64 = 1e-4;

/// HF's `initializer_range` of every study model.
const INIT_STD: f64 = 0.02;

/// Runs `lethe bench parity`.
pub fn parity(args: &ParityArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let dir = &args.fixtures;
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("reference.json"))
            .with_context(|| format!("--fixtures: {}/reference.json", dir.display()))?,
    )?;
    let logits = SafetensorsFiles::open_file(&dir.join("reference_logits.safetensors"))?;
    let device = args.device.device()?;
    let models = reference["models"]
        .as_object()
        .context("reference.json: no `models`")?;
    let mut worst = BTreeMapF64::default();
    for (name, model) in models {
        let sub = model["dir"].as_str().unwrap_or(name);
        let loaded = load(
            &ModelSource::Dir(dir.join(sub)),
            &device,
            engine::llama::WeightDtype::F32,
        )?;
        let cases = model["cases"]
            .as_object()
            .with_context(|| format!("reference.json: {name} has no cases"))?;
        for (case, expected) in cases {
            let input: Vec<u32> = expected["input_ids"]
                .as_array()
                .context("input_ids")?
                .iter()
                .filter_map(|id| id.as_u64().and_then(|id| u32::try_from(id).ok()))
                .collect();
            let ours: Vec<f32> = loaded
                .model
                .forward(&TokenBatch::single(&input), None)
                .into_data()
                .iter::<f32>()
                .collect();
            let theirs = logits.read(&format!("{name}.{case}"))?;
            anyhow::ensure!(
                theirs.data.len() == ours.len(),
                "{name}.{case}: {} logits, the reference has {}",
                ours.len(),
                theirs.data.len()
            );
            let diff = ours
                .iter()
                .zip(&theirs.data)
                .map(|(a, b)| f64::from((a - b).abs()))
                .fold(0.0, f64::max);
            worst.raise(name, diff);
        }
    }
    let max = worst.0.values().copied().fold(0.0, f64::max);
    let line = json!({
        "task": "parity",
        "device": args.device.to_string(),
        "max_abs_diff": worst.0,
        "max": max,
        "tolerance": LOGIT_TOLERANCE,
        "pass": max < LOGIT_TOLERANCE,
    });
    writeln!(out, "{line}")?;
    Ok(())
}

/// The largest value seen per name.
#[derive(Default)]
struct BTreeMapF64(std::collections::BTreeMap<String, f64>);

impl BTreeMapF64 {
    fn raise(&mut self, name: &str, value: f64) {
        let entry = self.0.entry(name.to_string()).or_insert(0.0);
        *entry = entry.max(value);
    }
}

/// `rows` synthetic rows of `length` random ids below `vocab`, labels on the second half.
fn synthetic(rows: usize, length: usize, vocab: usize, seed: u64) -> Vec<Encoded> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        // xorshift64*: ids only need to be spread over the vocabulary.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let vocab = u64::try_from(vocab.max(1)).unwrap_or(u64::MAX);
    (0..rows)
        .map(|_| {
            let input_ids: Vec<u32> = (0..length)
                .map(|_| u32::try_from(next() % vocab).unwrap_or(0))
                .collect();
            let labels = input_ids
                .iter()
                .enumerate()
                .map(|(t, id)| {
                    if t < length / 2 {
                        engine::data::IGNORE_INDEX
                    } else {
                        i64::from(*id)
                    }
                })
                .collect();
            Encoded {
                input_ids,
                labels,
                prompt_ids: Vec::new(),
            }
        })
        .collect()
}

/// The run spec the flags describe: NPO, one epoch of `steps` micro-batches, no accumulation.
fn spec(args: &NpoStepArgs) -> RunSpec {
    let mut spec = RunSpec::new("random", Method::Npo);
    let t = &mut spec.trainer;
    t.batch_size = args.batch_size;
    t.grad_accum = 1;
    t.epochs = 1.0;
    t.warmup_epochs = 0.0;
    args.switches.apply(t);
    t.devices = args.device.len();
    spec
}

/// Runs `lethe bench npo-step`.
pub fn npo_step(args: &NpoStepArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let dir = if args.model_config.is_file() {
        args.model_config.parent().unwrap_or(Path::new("."))
    } else {
        args.model_config.as_path()
    };
    let config = model_config(&dir.to_string_lossy())?;
    let mut spec = spec(args);
    let first = args.device.first();
    let memory = args
        .device_memory
        .or_else(|| crate::runner::plan::device_memory(first));
    let mut planned = settings(&spec, args.synthetic);
    if args.auto {
        let memory = memory.context("--auto needs --device-memory")?;
        let start = engine::plan::PlanSettings {
            devices: 1,
            ..planned
        };
        let half_ok = matches!(first, engine::DeviceSpec::Cuda(_));
        (planned, _) = engine::plan::auto(&config, start, memory, half_ok, args.device.len());
        let t = &mut spec.trainer;
        t.batch_size = planned.batch_size;
        t.dtype = match planned.dtype {
            engine::llama::WeightDtype::F32 => shared::run::Dtype::F32,
            engine::llama::WeightDtype::F16 => shared::run::Dtype::F16,
            engine::llama::WeightDtype::Bf16 => shared::run::Dtype::Bf16,
        };
        t.master_weights = planned.master_weights;
        t.reference_mode = if planned.reference_cached {
            ReferenceMode::Cached
        } else {
            ReferenceMode::Live
        };
        t.optimizer_offload = planned.optimizer_offload;
        t.gradient_checkpointing = planned.gradient_checkpointing;
        t.devices = planned.devices;
    }
    let t = &spec.trainer;
    if let Some(problem) = engine_config::precision_problem(t, first) {
        anyhow::bail!("--dtype: {problem}");
    }
    let plan = report(&config, &planned, first, memory);
    let devices = args.device.take(t.devices, "--device")?;
    let plain = devices.devices()?;
    let mut meter = PeakMeter::start(&devices);
    let dtype = engine_config::dtype(t.dtype);
    let tracked: Vec<_> = plain
        .iter()
        .map(|device| engine::training_device(device, t.gradient_checkpointing))
        .collect();
    let policy = LlamaForCausalLM::random(&config, &tracked, dtype, INIT_STD, args.seed)?;
    let reference = LlamaForCausalLM::random(&config, &plain, dtype, INIT_STD, args.seed)?;
    let rows = args.steps.max(1) * t.batch_size;
    let data = UnlearnData {
        forget: synthetic(rows, args.synthetic, config.vocab_size, args.seed),
        retain: synthetic(rows, args.synthetic, config.vocab_size, args.seed + 1),
        idk: None,
    };
    let unlearn_config = UnlearnConfig {
        objective: engine_config::objective(&spec),
        train: engine_config::train(t),
    };
    let cancel = AtomicBool::new(false);
    let (reference, cache) = if t.reference_mode == ReferenceMode::Cached {
        let cache = ReferenceCache::compute(&reference, &data, &unlearn_config, 0, &cancel)?;
        (None, Some(cache))
    } else {
        (Some(reference), None)
    };
    let frozen = match &cache {
        Some(cache) => Reference::Cached(cache),
        None => reference.as_ref().into(),
    };
    let mut times = Vec::new();
    let mut last_loss = f64::NAN;
    let mut mark = Instant::now();
    let trained = unlearn(
        policy,
        frozen,
        &data,
        &unlearn_config,
        0,
        &mut |event| {
            times.push(mark.elapsed().as_secs_f64());
            mark = Instant::now();
            last_loss = event.loss;
            meter.sample();
        },
        &cancel,
    )?;
    drop(trained);
    let timed = if times.len() > 1 {
        &times[1..]
    } else {
        &times[..]
    };
    let mut sorted = timed.to_vec();
    sorted.sort_by(f64::total_cmp);
    let seconds = sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN);
    // torch_reference.py's count: the forget tokens twice (policy and reference), the retain
    // tokens once.
    let tokens = 3 * t.batch_size * args.synthetic;
    #[expect(clippy::cast_precision_loss, reason = "a rate")]
    let tokens_per_s = tokens as f64 / seconds;
    let line = json!({
        "task": "npo-step",
        "model": args.model_config.display().to_string(),
        "device": devices.to_string(),
        "dtype": t.dtype.as_str(),
        "parameters": plan.parameters,
        "tokens": tokens,
        "seconds": seconds,
        "step_seconds": times,
        "tokens_per_s": tokens_per_s,
        "loss": last_loss,
        "peak_bytes": meter.peak(),
        "planned_peak_bytes": plan.peak_bytes,
        "device_memory": plan.device_memory,
        "fits": plan.fits,
        "settings": plan.settings,
    });
    writeln!(out, "{line}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::synthetic;

    #[test]
    fn synthetic_rows_label_their_second_half_within_the_vocabulary() {
        let rows = synthetic(3, 10, 50, 7);
        assert_eq!(rows.len(), 3);
        for row in &rows {
            assert_eq!(row.input_ids.len(), 10);
            assert!(row.input_ids.iter().all(|id| *id < 50));
            assert!(row.labels[..5].iter().all(|l| *l == -100));
            assert!(
                row.labels[5..]
                    .iter()
                    .zip(&row.input_ids[5..])
                    .all(|(l, id)| *l == i64::from(*id))
            );
        }
        assert_ne!(rows[0].input_ids, rows[1].input_ids);
        assert_eq!(synthetic(3, 10, 50, 7)[2].input_ids, rows[2].input_ids);
    }
}
