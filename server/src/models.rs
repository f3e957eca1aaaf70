//! The model registry: what this host can load. Models come from the configured roots
//! (`--model-root DIR`, repeatable: each subdirectory with a `config.json`, and each `.gguf`
//! file) and from the local Hugging Face cache (`org/name`). A run names a model by registry id,
//! never by path, so requests cannot reach outside the roots.

use std::path::{Path, PathBuf};

use engine::llama::load::{ModelSource, hf_hub_cache, inspect, resolve_in_cache};
use shared::run::{ModelEntry, Split};

pub mod manifest;

pub use manifest::DemoManifest;

/// Where models are looked up.
#[derive(Debug, Clone, Default)]
pub struct ModelRegistry {
    /// Configured model directories.
    pub roots: Vec<PathBuf>,
    /// The HF hub cache, when models from it are offered.
    pub hf_cache: Option<PathBuf>,
    /// The server's default TOFU directory: a demo model built on it offers its retain
    /// references and recommended learning rate for it.
    pub default_data: Option<PathBuf>,
}

fn is_model_dir(path: &Path) -> bool {
    // `.name.partial-…` is a model still being written (the demo build, checkpoints).
    let hidden = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'));
    !hidden && path.is_dir() && path.join("config.json").is_file()
}

impl ModelRegistry {
    /// Roots plus the default HF cache.
    pub fn new(roots: Vec<PathBuf>, use_hf_cache: bool) -> Self {
        Self {
            roots,
            hf_cache: if use_hf_cache { hf_hub_cache() } else { None },
            default_data: None,
        }
    }

    /// `(id, path, source)` of every model, roots first, ids unique (first root wins).
    fn entries(&self) -> Vec<(String, PathBuf, &'static str)> {
        let mut out: Vec<(String, PathBuf, &'static str)> = Vec::new();
        for root in &self.roots {
            let Ok(dir) = std::fs::read_dir(root) else {
                continue;
            };
            let mut found: Vec<(String, PathBuf)> = dir
                .flatten()
                .map(|e| e.path())
                .filter(|p| is_model_dir(p) || p.extension().is_some_and(|e| e == "gguf"))
                .filter_map(|p| Some((p.file_name()?.to_string_lossy().into_owned(), p)))
                .collect();
            found.sort();
            for (id, path) in found {
                if !out.iter().any(|(known, _, _)| *known == id) {
                    out.push((id, path, "root"));
                }
            }
        }
        if let Some(cache) = &self.hf_cache
            && let Ok(dir) = std::fs::read_dir(cache)
        {
            let mut repos: Vec<String> = dir
                .flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_prefix("models--")
                        .map(|repo| repo.replacen("--", "/", 1))
                })
                .collect();
            repos.sort();
            for repo in repos {
                if let Some(path) = resolve_in_cache(cache, &repo)
                    && is_model_dir(&path)
                    && !out.iter().any(|(known, _, _)| *known == repo)
                {
                    out.push((repo, path, "hf-cache"));
                }
            }
        }
        out
    }

    /// Every loadable model with its family and size (read from its config, no weights).
    pub fn list(&self) -> Vec<ModelEntry> {
        self.entries()
            .into_iter()
            .map(|(id, path, source)| {
                let source_kind = if path.is_dir() {
                    ModelSource::Dir(path)
                } else {
                    ModelSource::Gguf(path)
                };
                let (family, parameters) = match inspect(&source_kind) {
                    Ok(info) => (
                        format!("{:?}", info.config.family).to_lowercase(),
                        u64::try_from(info.parameter_count).ok(),
                    ),
                    Err(error) => (format!("unreadable: {error}"), None),
                };
                // A demo model offers its learning rate, and its retain references where
                // the server's default data is the data it was built on.
                let manifest = match &source_kind {
                    ModelSource::Dir(dir) => DemoManifest::read(dir).map(|m| (dir, m)),
                    ModelSource::Gguf(_) => None,
                };
                let retain_refs = match (&manifest, &self.default_data) {
                    (Some((dir, manifest)), Some(data)) => manifest
                        .splits_for(dir, data)
                        .iter()
                        .filter_map(|s| Split::parse(s))
                        .collect(),
                    _ => Vec::new(),
                };
                ModelEntry {
                    id,
                    family,
                    parameters,
                    source: source.to_string(),
                    recommended_lr: manifest.map(|(_, m)| m.recommended_lr),
                    retain_refs,
                }
            })
            .collect()
    }

    /// The path of model `id`, if the registry has it.
    pub fn resolve(&self, id: &str) -> Option<PathBuf> {
        self.entries()
            .into_iter()
            .find(|(known, _, _)| known == id)
            .map(|(_, path, _)| path)
    }
}

/// `path` if it lies inside one of `roots` (after resolving `..` and links); the check that
/// keeps request paths (data directories, retain logs) from escaping the configured roots.
pub fn inside_roots(path: &str, roots: &[PathBuf]) -> Option<PathBuf> {
    let candidate = Path::new(path);
    for root in roots {
        let Ok(root) = root.canonicalize() else {
            continue;
        };
        let joined = if candidate.is_absolute() {
            candidate.to_path_buf()
        } else {
            root.join(candidate)
        };
        if let Ok(resolved) = joined.canonicalize()
            && resolved.starts_with(&root)
        {
            return Some(resolved);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_outside_the_roots_are_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().join("data");
        std::fs::create_dir_all(root.join("tofu")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(dir.path().join("secret")).unwrap_or_else(|e| panic!("{e}"));
        let roots = vec![root.clone()];
        assert!(inside_roots("tofu", &roots).is_some());
        assert!(inside_roots(&root.join("tofu").to_string_lossy(), &roots).is_some());
        assert!(inside_roots("../secret", &roots).is_none());
        assert!(inside_roots("tofu/../../secret", &roots).is_none());
        assert!(inside_roots(&dir.path().join("secret").to_string_lossy(), &roots).is_none());
        assert!(inside_roots("missing", &roots).is_none());
    }
}
