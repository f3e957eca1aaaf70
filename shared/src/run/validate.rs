//! [`RunSpec::validate`]: the one set of rules the server enforces on a submission and the UI
//! checks as the user types, each problem naming its dotted field path.

use super::{
    DataSource, MAX_DEVICES, MAX_TEXT, ReferenceMode, RetainLoss, RunSpec, TrainerSpec, Wrapper,
};
use crate::error::FieldError;

fn push(errors: &mut Vec<FieldError>, field: impl Into<String>, message: impl Into<String>) {
    errors.push(FieldError {
        field: field.into(),
        message: message.into(),
    });
}

fn check_positive(errors: &mut Vec<FieldError>, field: &str, value: f64) {
    if !(value.is_finite() && value > 0.0) {
        push(errors, field, format!("must be a number > 0 (got {value})"));
    }
}

impl RunSpec {
    /// Every problem with the spec, each naming its dotted field path; empty when valid.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.model.trim().is_empty() {
            push(&mut errors, "model", "choose a model");
        }
        if self.model.len() > MAX_TEXT {
            push(
                &mut errors,
                "model",
                format!("at most {MAX_TEXT} characters"),
            );
        }
        if let Some(name) = &self.name
            && (name.trim().is_empty() || name.len() > MAX_TEXT)
        {
            push(
                &mut errors,
                "name",
                format!("1 to {MAX_TEXT} characters, or leave it out"),
            );
        }
        if self.tags.len() > 20 {
            push(&mut errors, "tags", "at most 20 tags");
        }
        for (i, tag) in self.tags.iter().enumerate() {
            if tag.trim().is_empty() || tag.len() > 64 || tag.contains(',') {
                push(
                    &mut errors,
                    format!("tags.{i}"),
                    "1 to 64 characters, no commas",
                );
            }
        }
        let bad_path = |path: &str| path.trim().is_empty() || path.len() > MAX_TEXT;
        match &self.data.source {
            DataSource::Default => {}
            DataSource::Dir { path } => {
                if bad_path(path) {
                    push(&mut errors, "data.source.path", "give a directory");
                }
            }
            DataSource::Files { forget, retain } => {
                for (field, path) in [("forget", forget), ("retain", retain)] {
                    if bad_path(path) {
                        push(
                            &mut errors,
                            format!("data.source.{field}"),
                            "give a JSONL file",
                        );
                    }
                }
                if self.eval.enabled {
                    push(
                        &mut errors,
                        "data.source",
                        "forget and retain files carry no TOFU evaluation sets; evaluate with a \
                         TOFU directory (kind `dir` or `default`) or set eval.enabled to false",
                    );
                }
            }
        }
        if self.data.idk.as_deref().is_some_and(bad_path) {
            push(
                &mut errors,
                "data.idk",
                "give a file of I-don't-know answers",
            );
        }
        if self
            .reference
            .as_deref()
            .is_some_and(|r| r.trim().is_empty() || r.len() > MAX_TEXT)
        {
            push(
                &mut errors,
                "reference",
                "give a model, or leave it out to use a copy of `model`",
            );
        }
        let method = self.objective.method;
        let known: Vec<&str> = method.params().iter().map(|p| p.name).collect();
        for (name, value) in &self.objective.params {
            let field = format!("objective.params.{name}");
            if !known.contains(&name.as_str()) {
                push(
                    &mut errors,
                    field,
                    format!(
                        "{} has no parameter `{name}`; it takes {}",
                        method.label(),
                        known.join(", ")
                    ),
                );
            } else if !value.is_finite() {
                push(&mut errors, field, "must be a finite number");
            } else if matches!(name.as_str(), "gamma" | "alpha") && *value < 0.0 {
                push(&mut errors, field, "must be ≥ 0");
            } else if name.starts_with("beta") && *value <= 0.0 {
                push(&mut errors, field, "must be > 0");
            }
        }
        match self.wrapper {
            Wrapper::None => {}
            Wrapper::Dv { tau, .. } => check_positive(&mut errors, "wrapper.tau", tau),
            Wrapper::G { ratio } => {
                if !(ratio > 0.0 && ratio <= 1.0) {
                    push(
                        &mut errors,
                        "wrapper.ratio",
                        format!("must be in (0, 1] (got {ratio})"),
                    );
                }
            }
        }
        errors.extend(self.trainer.validate());
        if self.trainer.reference_mode == ReferenceMode::Cached
            && self.objective.retain() == RetainLoss::Kl
        {
            push(
                &mut errors,
                "trainer.reference_mode",
                "a KL retain term needs the reference's whole distribution on the retain rows, \
                 which the cache does not hold: use `live`",
            );
        }
        let e = &self.eval;
        if e.batch_size == 0 || e.batch_size > 1024 {
            push(&mut errors, "eval.batch_size", "1 to 1024");
        }
        if e.max_new_tokens == 0 || e.max_new_tokens > 4096 {
            push(&mut errors, "eval.max_new_tokens", "1 to 4096");
        }
        if let Some(path) = &e.retain_ref
            && (path.trim().is_empty() || path.len() > MAX_TEXT)
        {
            push(&mut errors, "eval.retain_ref", "give a TOFU_EVAL.json path");
        }
        if e.gibberish_model.as_deref().is_some_and(bad_path) {
            push(
                &mut errors,
                "eval.gibberish_model",
                "give the classifier's directory",
            );
        }
        if e.classifier_max_length == 0 || e.classifier_max_length > 4096 {
            push(&mut errors, "eval.classifier_max_length", "1 to 4096");
        }
        if !self.attacks.is_empty() && !e.enabled {
            push(
                &mut errors,
                "attacks",
                "an attack is judged by the evaluation: set eval.enabled",
            );
        }
        for (index, attack) in self.attacks.iter().enumerate() {
            errors.extend(attack.validate(index));
        }
        errors.extend(super::during::validate(
            e.during.as_ref(),
            e.select,
            self.trainer.stop_when.as_ref(),
            e.enabled,
        ));
        errors
    }
}

impl TrainerSpec {
    /// Every problem with the trainer settings, each naming its `trainer.` field.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let t = self;
        check_positive(&mut errors, "trainer.lr", t.lr);
        if t.lr.is_finite() && t.lr > 1.0 {
            push(&mut errors, "trainer.lr", "must be ≤ 1");
        }
        check_positive(&mut errors, "trainer.epochs", t.epochs);
        if t.epochs > 1000.0 {
            push(&mut errors, "trainer.epochs", "at most 1000");
        }
        if t.batch_size == 0 || t.batch_size > 1024 {
            push(&mut errors, "trainer.batch_size", "1 to 1024");
        }
        if t.devices == 0 || t.devices > MAX_DEVICES {
            push(
                &mut errors,
                "trainer.devices",
                format!("1 to {MAX_DEVICES} (the decoder layers split over that many GPUs)"),
            );
        }
        if t.grad_accum == 0 || t.grad_accum > 1024 {
            push(&mut errors, "trainer.grad_accum", "1 to 1024");
        }
        if !(t.warmup_epochs.is_finite() && t.warmup_epochs >= 0.0) {
            push(&mut errors, "trainer.warmup_epochs", "must be ≥ 0");
        }
        if !(t.weight_decay.is_finite() && t.weight_decay >= 0.0) {
            push(&mut errors, "trainer.weight_decay", "must be ≥ 0");
        }
        if let Some(lora) = &t.lora {
            errors.extend(lora.validate());
        }
        if !(t.max_grad_norm.is_finite() && t.max_grad_norm >= 0.0) {
            push(
                &mut errors,
                "trainer.max_grad_norm",
                "must be ≥ 0 (0 turns clipping off)",
            );
        }
        errors
    }
}
