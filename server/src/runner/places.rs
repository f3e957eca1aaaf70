//! Where the names in a [`RunSpec`] point. A spec names its model by registry id and its data,
//! I-don't-know answers, retain reference and gibberish classifier by path; [`Places`] turns
//! those into files. A server's places are *confined*: models come only from its registry and
//! paths only from under its data roots, so a request cannot reach elsewhere. The command line's
//! are open: a model may also be a directory, a `.gguf` file or a hub id, and a path is a path.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use engine::data::tofu::TofuSource;
use shared::error::FieldError;
use shared::run::{DataSource, Method, RunSpec};

use crate::models::{ModelRegistry, inside_roots, manifest};

/// Where a spec's names resolve.
#[derive(Debug, Clone, Default)]
pub struct Places {
    /// Model ids.
    pub registry: ModelRegistry,
    /// The TOFU directory of `DataSource::Default`; the hub dataset when absent.
    pub tofu_dir: Option<PathBuf>,
    /// Directories that paths in a spec must lie under (confined places only).
    pub data_roots: Vec<PathBuf>,
    /// Models only from the registry, paths only under the data roots.
    pub confined: bool,
}

/// The retain reference a run's forget quality is measured against, and how it was found.
#[derive(Debug, Clone, PartialEq)]
pub enum RetainRef {
    /// The spec's `eval.retain_ref`.
    Given(PathBuf),
    /// The demo model's own reference for this data and split.
    Demo(PathBuf),
    /// None, with the reason when there is one to tell.
    Missing(Option<String>),
}

impl RetainRef {
    /// The reference's path, if there is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Given(path) | Self::Demo(path) => Some(path),
            Self::Missing(_) => None,
        }
    }

    /// What the run's log says about it.
    pub fn log_line(&self) -> String {
        match self {
            Self::Given(path) => format!("forget quality against {}", path.display()),
            Self::Demo(path) => format!(
                "forget quality against the demo model's retain reference {}",
                path.display()
            ),
            Self::Missing(why) => {
                let why = why.as_deref().map(|w| format!(": {w}")).unwrap_or_default();
                format!(
                    "no retain reference, so no forget quality{why}. Forget quality compares \
                     this run's truth ratios with a retain model's: set eval.retain_ref to a \
                     retain model's TOFU_EVAL.json under the server's --data-root"
                )
            }
        }
    }
}

/// A spec's names as files: what the runner loads.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The model to unlearn, as [`engine::llama::ModelSource::parse`] reads it.
    pub model: String,
    /// The frozen reference, when not a copy of the model.
    pub reference: Option<String>,
    /// Forget rows.
    pub forget: PathBuf,
    /// Retain rows.
    pub retain: PathBuf,
    /// I-don't-know answers, one per line.
    pub idk: Option<PathBuf>,
    /// The TOFU data of the evaluation (none for explicit files).
    pub tofu: Option<TofuSource>,
    /// The retain reference.
    pub retain_ref: RetainRef,
    /// The gibberish classifier's directory.
    pub gibberish_model: Option<PathBuf>,
}

fn problem(field: &str, message: String) -> FieldError {
    FieldError {
        field: field.to_string(),
        message,
    }
}

impl Places {
    /// A model name as a model source; `None` when these places do not offer it. Confined
    /// places take a registry id, or the path of a model under one of the registry's roots (a
    /// spec written by `lethe unlearn --model DIR`).
    pub fn model(&self, name: &str) -> Option<String> {
        if let Some(path) = self.registry.resolve(name) {
            return Some(path.to_string_lossy().into_owned());
        }
        if !self.confined {
            return Some(name.to_string());
        }
        inside_roots(name, &self.registry.roots)
            .filter(|p| {
                p.join("config.json").is_file() || p.extension().is_some_and(|e| e == "gguf")
            })
            .map(|p| p.to_string_lossy().into_owned())
    }

    /// A path from a spec; `None` when it is outside the data roots (confined) or missing.
    pub fn path(&self, text: &str) -> Option<PathBuf> {
        if self.confined {
            inside_roots(text, &self.data_roots)
        } else {
            let path = PathBuf::from(text);
            path.exists().then_some(path)
        }
    }

    fn where_(&self) -> &'static str {
        if self.confined {
            " under this server's data roots (lethe serve --data-root)"
        } else {
            ""
        }
    }

    /// Every name in `spec` these places cannot resolve, each naming its field (`prefix` goes
    /// before each field, for sweeps). Cheap: nothing is read or downloaded.
    pub fn check(&self, spec: &RunSpec, prefix: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let field = |name: &str| format!("{prefix}{name}");
        let registry = "is not in this server's model registry (GET /api/models)";
        if self.model(&spec.model).is_none() {
            errors.push(problem(
                &field("model"),
                format!("`{}` {registry}", spec.model),
            ));
        }
        if let Some(reference) = &spec.reference
            && self.model(reference).is_none()
        {
            errors.push(problem(
                &field("reference"),
                format!("`{reference}` {registry}"),
            ));
        }
        let mut want = |name: &str, text: &str, kind: &str, ok: fn(&Path) -> bool| {
            if !self.path(text).is_some_and(|p| ok(&p)) {
                errors.push(problem(
                    &field(name),
                    format!("`{text}` is not {kind}{}", self.where_()),
                ));
            }
        };
        match &spec.data.source {
            DataSource::Default => {}
            DataSource::Dir { path } => want("data.source.path", path, "a directory", Path::is_dir),
            DataSource::Files { forget, retain } => {
                want("data.source.forget", forget, "a file", Path::is_file);
                want("data.source.retain", retain, "a file", Path::is_file);
            }
        }
        if let Some(idk) = &spec.data.idk {
            want("data.idk", idk, "a file", Path::is_file);
        }
        if let Some(path) = &spec.eval.retain_ref {
            want(
                "eval.retain_ref",
                path,
                "a TOFU_EVAL.json (or its directory)",
                Path::exists,
            );
        }
        if let Some(path) = &spec.eval.gibberish_model {
            want(
                "eval.gibberish_model",
                path,
                "a classifier directory",
                Path::is_dir,
            );
        }
        errors
    }

    /// Every file `spec` names (hub data is downloaded here). Errors name the spec's field.
    pub fn resolve(&self, spec: &RunSpec) -> anyhow::Result<Resolved> {
        let errors = self.check(spec, "");
        if !errors.is_empty() {
            anyhow::bail!("{}", fields_message(&errors));
        }
        let path = |text: &str| self.path(text).unwrap_or_else(|| PathBuf::from(text));
        let split = spec.data.split;
        let (tofu, forget, retain) = match &spec.data.source {
            DataSource::Files { forget, retain } => (None, path(forget), path(retain)),
            source => {
                let tofu = match source {
                    DataSource::Dir { path: dir } => TofuSource::Dir(path(dir)),
                    _ => match &self.tofu_dir {
                        Some(dir) => TofuSource::Dir(dir.clone()),
                        None => TofuSource::Hub,
                    },
                };
                let forget = tofu.file(split.as_str()).context("data")?;
                let retain = tofu.file(split.retain()).context("data")?;
                (Some(tofu), forget, retain)
            }
        };
        let idk = match (&spec.data.idk, &tofu) {
            (Some(text), _) => Some(path(text)),
            (None, Some(TofuSource::Dir(dir))) => {
                Some(dir.join("idk.jsonl")).filter(|p| p.is_file())
            }
            (None, _) => None,
        };
        if idk.is_none() && spec.objective.method == Method::IdkDpo {
            anyhow::bail!(
                "data.idk: IdkDPO needs I-don't-know answers, one per line (--idk FILE on the \
                 command line); a TOFU directory's idk.jsonl is used when it has one"
            );
        }
        let model = self
            .model(&spec.model)
            .unwrap_or_else(|| spec.model.clone());
        let retain_ref = match (&spec.eval.retain_ref, &tofu) {
            (Some(text), _) => RetainRef::Given(path(text)),
            (None, Some(TofuSource::Dir(data))) => {
                match manifest::retain_ref_for(Path::new(&model), split.as_str(), data) {
                    Ok(path) => RetainRef::Demo(path),
                    Err(why) => RetainRef::Missing(why),
                }
            }
            (None, _) => RetainRef::Missing(None),
        };
        Ok(Resolved {
            reference: spec.reference.as_deref().and_then(|r| self.model(r)),
            model,
            forget,
            retain,
            idk,
            tofu,
            retain_ref,
            gibberish_model: spec.eval.gibberish_model.as_deref().map(path),
        })
    }
}

/// `field: message` lines, one per problem.
pub fn fields_message(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("\n")
}
