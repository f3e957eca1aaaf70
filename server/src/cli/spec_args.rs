//! The command line's flags as a [`RunSpec`]: `lethe unlearn` and `lethe loss` describe their run
//! with the same typed spec the API takes. A `--config` spec file is the starting point, every
//! flag given overrides its field, `--set KEY=VALUE` pairs are parsed into the spec once
//! ([`RunSpec::set`]), and [`RunSpec::validate`] checks the result with the API's rules. Errors
//! name the spec field and the flag that sets it.

use std::path::Path;

use anyhow::Context as _;
use shared::error::FieldError;
use shared::run::{DataSource, Direction, Method, RunSpec, Split, TrainerSpec, Wrapper};

use crate::config::{ObjectiveArgs, TrainArgs};

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The flag that sets `field`, for errors on the command line.
fn flag_for(field: &str) -> Option<String> {
    let flag = |name: &str| format!("--{}", name.replace('_', "-"));
    if let Some(name) = field.strip_prefix("trainer.") {
        return Some(flag(name));
    }
    if let Some(name) = field.strip_prefix("objective.params.") {
        return Some(format!("--set {name}"));
    }
    Some(match field {
        "model" => "--model".into(),
        "reference" => "--reference".into(),
        "objective.retain_loss" => "--set retain_loss_type".into(),
        "wrapper.tau" => "--set tau".into(),
        "wrapper.direction" => "--set direction".into(),
        "wrapper.ratio" => "--set ratio".into(),
        "data.idk" => "--idk".into(),
        "data.source.forget" => "--forget".into(),
        "data.source.retain" => "--retain".into(),
        "data.source.path" => "--data".into(),
        _ => return None,
    })
}

/// `what` is not a valid run: one line per problem, naming the field and its flag.
pub fn invalid(what: &str, errors: &[FieldError]) -> anyhow::Error {
    let lines: String = errors
        .iter()
        .map(|e| match flag_for(&e.field) {
            Some(flag) => format!("\n  {} ({flag}): {}", e.field, e.message),
            None => format!("\n  {}: {}", e.field, e.message),
        })
        .collect();
    anyhow::anyhow!("{what} is not a valid run:{lines}")
}

/// Reads a RunSpec file (a run's `spec.json`).
pub fn read_spec(path: &Path) -> anyhow::Result<RunSpec> {
    let bytes = std::fs::read(path).with_context(|| format!("--config {}", path.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("--config {}: not a RunSpec", path.display()))
}

impl TrainArgs {
    /// Sets the trainer fields these flags give.
    pub fn apply(&self, t: &mut TrainerSpec) {
        macro_rules! set {
            ($($field:ident),*) => {$(
                if let Some(value) = self.$field {
                    t.$field = value;
                }
            )*};
        }
        set!(
            lr,
            batch_size,
            grad_accum,
            epochs,
            warmup_epochs,
            weight_decay,
            max_grad_norm
        );
        set!(seed, dtype, reference_mode);
        if self.no_master_weights {
            t.master_weights = false;
        }
        if self.gradient_checkpointing {
            t.gradient_checkpointing = true;
        }
        if self.optimizer_offload {
            t.optimizer_offload = true;
        }
        if self.save_dtype.is_some() {
            t.save_dtype = self.save_dtype;
        }
    }
}

impl ObjectiveArgs {
    /// `base` (or, without one, a spec for `model`) with these flags applied: the run `lethe
    /// unlearn` and `lethe loss` describe. Evaluation stays as `base` has it (off without one).
    pub fn spec(
        &self,
        base: Option<RunSpec>,
        model: Option<&str>,
        train: Option<&TrainArgs>,
    ) -> anyhow::Result<RunSpec> {
        let method = match self.objective.as_deref() {
            Some(name) => Some(Method::parse(name).with_context(|| {
                format!(
                    "--objective {name}: expected {}",
                    Method::ALL.map(Method::as_str).join(", ")
                )
            })?),
            None => None,
        };
        let mut spec = match base {
            Some(base) => base,
            None => {
                let model = model.context("--model: give the model to unlearn")?;
                let method = method.context(
                    "--objective: give the objective (npo, wga, tnpo, simnpo, grad_ascent, ...)",
                )?;
                let mut spec = RunSpec::new(model, method);
                spec.eval.enabled = false;
                spec
            }
        };
        if let Some(model) = model {
            spec.model = model.to_string();
        }
        if let Some(method) = method
            && method != spec.objective.method
        {
            spec.objective.method = method;
            spec.objective.params.clear();
        }
        if let Some(reference) = &self.reference {
            spec.reference = Some(reference.clone());
        }
        match (&self.forget, &self.retain, &self.data) {
            (Some(forget), Some(retain), _) => {
                spec.data.source = DataSource::Files {
                    forget: text(forget),
                    retain: text(retain),
                };
            }
            (_, _, Some(dir)) => spec.data.source = DataSource::Dir { path: text(dir) },
            _ => {}
        }
        if let Some(split) = &self.split {
            spec.data.split = Split::parse(split).with_context(|| {
                format!("--split {split}: expected forget01, forget05 or forget10")
            })?;
        }
        if let Some(idk) = &self.idk {
            spec.data.idk = Some(text(idk));
        }
        if let Some(template) = self.template {
            spec.template = template.into();
        }
        if let Some(wrapper) = &self.wrapper
            && wrapper != spec.wrapper.as_str()
        {
            spec.wrapper = match wrapper.as_str() {
                "none" => Wrapper::None,
                "dv" => Wrapper::Dv {
                    tau: 1.0,
                    direction: Direction::SoftMin,
                },
                "g" => Wrapper::G { ratio: 0.5 },
                other => anyhow::bail!("--wrapper {other}: expected none, dv or g"),
            };
        }
        if let Some(train) = train {
            train.apply(&mut spec.trainer);
        }
        if self.device.len() > 1 {
            spec.trainer.devices = self.device.len();
        }
        let errors = spec.set_all(self.set.iter().map(String::as_str));
        if !errors.is_empty() {
            return Err(invalid("the command line", &errors));
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn unlearn(args: &[&str]) -> crate::config::UnlearnArgs {
        let cli = crate::config::Cli::parse_from(["lethe", "unlearn"].iter().chain(args).copied());
        match cli.command {
            crate::config::Command::Unlearn(args) => args,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flags_override_a_spec_file_and_sets_are_checked_like_the_api() {
        let args = unlearn(&[
            "--model",
            "m",
            "--forget",
            "f.jsonl",
            "--retain",
            "r.jsonl",
            "--objective",
            "npo",
            "--wrapper",
            "dv",
            "--set",
            "tau=2",
            "--set",
            "beta=0.3",
            "--lr",
            "2e-3",
            "--max-grad-norm",
            "0",
            "--out",
            "o",
        ]);
        let spec = args
            .objective
            .spec(None, args.model.as_deref(), Some(&args.train))
            .unwrap();
        assert_eq!(spec.objective.param("beta"), Some(0.3));
        assert_eq!(
            spec.wrapper,
            Wrapper::Dv {
                tau: 2.0,
                direction: Direction::SoftMin
            }
        );
        assert_eq!((spec.trainer.lr, spec.trainer.max_grad_norm), (2e-3, 0.0));
        assert_eq!(spec.trainer.batch_size, 8, "the spec's default");
        assert!(!spec.eval.enabled);
        assert_eq!(
            spec.data.source,
            DataSource::Files {
                forget: "f.jsonl".into(),
                retain: "r.jsonl".into()
            }
        );

        // The spec is the base; only the flags given change it.
        let again = unlearn(&["--epochs", "1", "--out", "o2"]);
        let rerun = again
            .objective
            .spec(Some(spec.clone()), None, Some(&again.train))
            .unwrap();
        assert_eq!(rerun.trainer.epochs, 1.0);
        assert_eq!(
            RunSpec {
                trainer: spec.trainer.clone(),
                ..rerun
            },
            spec
        );

        let bad = unlearn(&[
            "--model",
            "m",
            "--objective",
            "npo",
            "--set",
            "beta=-1",
            "--epochs",
            "0",
            "--out",
            "o",
        ]);
        let error = bad
            .objective
            .spec(None, bad.model.as_deref(), Some(&bad.train))
            .unwrap_err();
        let error = error.to_string();
        assert!(
            error.contains("objective.params.beta (--set beta): must be > 0"),
            "{error}"
        );
        assert!(
            error.contains("trainer.epochs (--epochs): must be a number > 0"),
            "{error}"
        );
    }
}
