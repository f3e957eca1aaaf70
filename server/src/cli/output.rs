//! What `lethe unlearn` and `lethe finetune` write under `--out`: `run.json` (the flags, so
//! `--config run.json` repeats the run, plus what they resolved to), `metrics.jsonl` (one line per
//! optimizer step), and `checkpoint/` (HF layout) at the end; progress goes to stderr.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use engine::llama::LlamaForCausalLM;
use engine::tokenizer::Tokenizer;
use engine::train::{AdamWConfig, StepEvent, TrainConfig};

use super::progress::Progress;
use crate::config::TrainArgs;

impl TrainArgs {
    /// The engine's schedule and optimizer settings, checked.
    pub(crate) fn train_config(&self) -> anyhow::Result<TrainConfig> {
        if !(self.lr.is_finite() && self.lr >= 0.0) {
            anyhow::bail!("--lr {}: must be a non-negative number", self.lr);
        }
        if self.batch_size == 0 || self.grad_accum == 0 {
            anyhow::bail!("--batch-size and --grad-accum must be at least 1");
        }
        if !(self.epochs.is_finite() && self.epochs > 0.0) {
            anyhow::bail!("--epochs {}: must be > 0", self.epochs);
        }
        if !(self.warmup_epochs.is_finite() && self.warmup_epochs >= 0.0) {
            anyhow::bail!("--warmup-epochs {}: must be >= 0", self.warmup_epochs);
        }
        if !(self.max_grad_norm.is_finite() && self.max_grad_norm >= 0.0) {
            anyhow::bail!("--max-grad-norm {}: must be >= 0", self.max_grad_norm);
        }
        Ok(TrainConfig {
            lr: self.lr,
            batch_size: self.batch_size,
            grad_accum: self.grad_accum,
            epochs: self.epochs,
            warmup_epochs: self.warmup_epochs,
            seed: self.seed,
            adamw: AdamWConfig {
                weight_decay: self.weight_decay,
                max_grad_norm: (self.max_grad_norm > 0.0).then_some(self.max_grad_norm),
                master_weights: !self.no_master_weights,
                ..AdamWConfig::default()
            },
        })
    }

    /// These flags as `run.json` records them.
    pub(crate) fn flags_json(&self) -> serde_json::Map<String, serde_json::Value> {
        let serde_json::Value::Object(map) = serde_json::json!({
            "lr": self.lr, "batch_size": self.batch_size, "grad_accum": self.grad_accum,
            "epochs": self.epochs, "warmup_epochs": self.warmup_epochs,
            "weight_decay": self.weight_decay, "max_grad_norm": self.max_grad_norm,
            "seed": self.seed, "dtype": self.dtype.to_string(),
            "no_master_weights": self.no_master_weights,
            "gradient_checkpointing": self.gradient_checkpointing,
            "out": self.out, "save_dtype": self.save_dtype.to_string(),
        }) else {
            unreachable!("a JSON object literal")
        };
        map
    }
}

/// One run's output directory, open for writing.
pub(crate) struct RunOutput {
    out: PathBuf,
    metrics_path: PathBuf,
    metrics: std::fs::File,
    write_error: Option<std::io::Error>,
    progress: Option<Progress>,
    label: &'static str,
}

impl RunOutput {
    /// Creates `out`, writes `run.json` for `command` with its `flags` and `resolved` values, and
    /// opens `metrics.jsonl`.
    pub(crate) fn create(
        out: &std::path::Path,
        command: &'static str,
        flags: serde_json::Map<String, serde_json::Value>,
        resolved: serde_json::Value,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(out).with_context(|| format!("--out {}", out.display()))?;
        let run_json = serde_json::json!({
            "command": command,
            "lethe_version": env!("CARGO_PKG_VERSION"),
            "args": flags,
            "resolved": resolved,
        });
        let run_path = out.join("run.json");
        std::fs::write(&run_path, serde_json::to_string_pretty(&run_json)?)
            .with_context(|| run_path.display().to_string())?;
        let metrics_path = out.join("metrics.jsonl");
        let metrics = std::fs::File::create(&metrics_path)
            .with_context(|| metrics_path.display().to_string())?;
        Ok(Self {
            out: out.to_path_buf(),
            metrics_path,
            metrics,
            write_error: None,
            progress: None,
            label: command,
        })
    }

    /// Records one optimizer step: a metrics line and the progress bar.
    pub(crate) fn record(&mut self, event: &StepEvent) {
        let line = serde_json::json!({
            "step": event.step,
            "total_steps": event.total_steps,
            "epoch": event.epoch,
            "lr": event.lr,
            "loss": event.loss,
            "forget_loss": event.forget_loss,
            "retain_loss": event.retain_loss,
            "grad_norm": event.grad_norm,
            "per_sample": event.per_sample,
            "samples": event.samples,
            "sample_epochs": event.sample_epochs,
            "weights": event.weights,
            "tokens_per_s": event.tokens_per_s,
        });
        if let Err(error) = writeln!(self.metrics, "{line}") {
            self.write_error.get_or_insert(error);
        }
        let progress = self
            .progress
            .get_or_insert_with(|| Progress::new(self.label, event.total_steps));
        progress.update(
            event.step,
            &format!(
                "loss {:.4} lr {:.2e} |g| {:.3} {:.0} tok/s",
                event.loss, event.lr, event.grad_norm, event.tokens_per_s
            ),
        );
    }

    /// Saves the trained model under `checkpoint/` and reports any metrics write failure.
    pub(crate) fn finish(
        self,
        model: &LlamaForCausalLM,
        tokenizer: &Tokenizer,
        save_dtype: engine::llama::WeightDtype,
    ) -> anyhow::Result<PathBuf> {
        if let Some(progress) = &self.progress {
            progress.finish();
        }
        if let Some(error) = self.write_error {
            return Err(error).with_context(|| self.metrics_path.display().to_string());
        }
        let checkpoint = self.out.join("checkpoint");
        engine::train::save(model, tokenizer, &checkpoint, save_dtype)?;
        Ok(checkpoint)
    }
}
