//! [`RunSpec::validate`]: the one set of rules the server enforces on a submission and the UI
//! checks as the user types, each problem naming its dotted field path.

use super::{DataSource, MAX_TEXT, RunSpec, Wrapper};
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
        if let DataSource::Dir { path } = &self.data.source
            && (path.trim().is_empty() || path.len() > MAX_TEXT)
        {
            push(&mut errors, "data.source.path", "give a directory");
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
        let t = &self.trainer;
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
        if t.grad_accum == 0 || t.grad_accum > 1024 {
            push(&mut errors, "trainer.grad_accum", "1 to 1024");
        }
        if !(t.warmup_epochs.is_finite() && t.warmup_epochs >= 0.0) {
            push(&mut errors, "trainer.warmup_epochs", "must be ≥ 0");
        }
        if !(t.weight_decay.is_finite() && t.weight_decay >= 0.0) {
            push(&mut errors, "trainer.weight_decay", "must be ≥ 0");
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
        errors
    }
}
