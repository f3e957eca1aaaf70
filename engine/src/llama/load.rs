//! From what a user types (`path/to/model-dir`, `file.gguf`, `meta-llama/Llama-3.2-1B-Instruct`)
//! to a config, a tokenizer and weights.
//!
//! Hub ids are resolved in the local Hugging Face cache (`$HF_HUB_CACHE`, else `$HF_HOME/hub`,
//! else `~/.cache/huggingface/hub`; layout `models--{org}--{name}/snapshots/{revision}`), which is
//! where `huggingface-cli download` and transformers put them. With the `hub` feature, an id that is
//! not cached is downloaded there (config, tokenizer and safetensors files only) unless
//! `HF_HUB_OFFLINE=1`; `HF_TOKEN` authorises gated repositories such as meta-llama's.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use super::config::{HfLlamaConfig, LlamaConfig};
use super::gguf::GgufFile;
use super::model::{LlamaForCausalLM, WeightDtype, expected_tensors};
use super::weights::{Checkpoint, SafetensorsFiles};
use crate::EngineError;
use crate::tokenizer::Tokenizer;

/// Where a model comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A directory with `config.json`, `tokenizer.json` and safetensors.
    Dir(PathBuf),
    /// A llama.cpp GGUF file (tokenizer from its metadata, or a `tokenizer.json` beside it).
    Gguf(PathBuf),
}

/// The Hugging Face hub cache directory.
pub fn hf_hub_cache() -> Option<PathBuf> {
    if let Some(cache) = std::env::var_os("HF_HUB_CACHE") {
        return Some(PathBuf::from(cache));
    }
    if let Some(home) = std::env::var_os("HF_HOME") {
        return Some(PathBuf::from(home).join("hub"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/huggingface/hub"))
}

/// The snapshot directory of `repo_id` (`org/name`) in `cache`, at `refs/main` (or the only one).
pub fn resolve_in_cache(cache: &Path, repo_id: &str) -> Option<PathBuf> {
    let repo = cache.join(format!("models--{}", repo_id.replace('/', "--")));
    let snapshots = repo.join("snapshots");
    if let Ok(revision) = std::fs::read_to_string(repo.join("refs/main")) {
        let dir = snapshots.join(revision.trim());
        if dir.is_dir() {
            return Some(dir);
        }
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&snapshots)
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    (dirs.len() == 1).then(|| dirs.remove(0))
}

/// Downloads the files a model needs from the Hugging Face hub into the cache; returns the snapshot
/// directory, or why it could not.
#[cfg(feature = "hub")]
fn download(repo_id: &str) -> Result<PathBuf, String> {
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(false)
        .build()
        .map_err(|error| format!("the hub client failed to start: {error}"))?;
    let repo = api.model(repo_id.to_string());
    let info = repo
        .info()
        .map_err(|error| format!("downloading it failed: {error}"))?;
    let wanted = |name: &str| {
        !name.contains('/')
            && (name.ends_with(".json")
                || name.ends_with(".safetensors")
                || name.ends_with(".jinja"))
    };
    let mut snapshot = None;
    for file in info.siblings.iter().filter(|file| wanted(&file.rfilename)) {
        tracing::info!(repo = repo_id, file = %file.rfilename, "downloading");
        let path = repo
            .get(&file.rfilename)
            .map_err(|error| format!("downloading {} failed: {error}", file.rfilename))?;
        snapshot = path.parent().map(Path::to_path_buf);
    }
    snapshot.ok_or_else(|| format!("the hub lists no config or safetensors files for {repo_id}"))
}

#[cfg(not(feature = "hub"))]
fn download(_repo_id: &str) -> Result<PathBuf, String> {
    Err("download it with `huggingface-cli download`, or build with the `hub` feature".into())
}

impl ModelSource {
    /// Interprets `text`: an existing `.gguf` file, an existing directory, or a hub id found in the
    /// local cache (or downloaded into it). The error says which of these was tried.
    pub fn parse(text: &str) -> Result<Self, EngineError> {
        let offline = std::env::var_os("HF_HUB_OFFLINE").is_some_and(|value| value != "0");
        Self::resolve(text, hf_hub_cache().as_deref(), !offline)
    }

    /// [`Self::parse`] with the cache directory and the permission to download made explicit.
    pub fn resolve(
        text: &str,
        cache: Option<&Path>,
        allow_download: bool,
    ) -> Result<Self, EngineError> {
        let path = PathBuf::from(text);
        if path.is_file() {
            return if path.extension().is_some_and(|ext| ext == "gguf") {
                Ok(Self::Gguf(path))
            } else {
                Err(EngineError::InvalidFile {
                    path,
                    reason: "a model file must be .gguf; for safetensors pass the model directory"
                        .into(),
                })
            };
        }
        if path.is_dir() {
            return Ok(Self::Dir(path));
        }
        let looks_like_id =
            text.split('/').count() == 2 && !text.starts_with('.') && !text.starts_with('/');
        if looks_like_id {
            if let Some(dir) = cache.and_then(|cache| resolve_in_cache(cache, text)) {
                return Ok(Self::Dir(dir));
            }
            let cache_text = cache.map_or_else(
                || "no cache directory".into(),
                |cache| cache.display().to_string(),
            );
            let fetched = if allow_download {
                download(text)
            } else {
                Err("downloads are off (HF_HUB_OFFLINE)".into())
            };
            return match fetched {
                Ok(dir) => Ok(Self::Dir(dir)),
                Err(why) => Err(EngineError::InvalidConfig {
                    field: "model".into(),
                    reason: format!(
                        "`{text}` is not a local path and is not in the Hugging Face cache ({cache_text}); {why}"
                    ),
                }),
            };
        }
        Err(EngineError::InvalidConfig {
            field: "model".into(),
            reason: format!(
                "`{text}` is neither a model directory, a .gguf file nor a hub id (org/name)"
            ),
        })
    }

    fn open(&self) -> Result<(HfLlamaConfig, Tokenizer, Checkpoint), EngineError> {
        match self {
            Self::Dir(dir) => Ok((
                HfLlamaConfig::from_file(&dir.join("config.json"))?,
                Tokenizer::from_model_dir(dir)?,
                Checkpoint::Safetensors(SafetensorsFiles::open_dir(dir)?),
            )),
            Self::Gguf(file) => {
                let gguf = GgufFile::open(file)?;
                let side = file.with_file_name("tokenizer.json");
                let tokenizer = if side.is_file() {
                    Tokenizer::from_model_dir(file.parent().unwrap_or(Path::new(".")))?
                } else {
                    Tokenizer::from_gguf(&gguf)?
                };
                Ok((
                    gguf.hf_config()?,
                    tokenizer,
                    Checkpoint::Gguf(Box::new(gguf)),
                ))
            }
        }
    }
}

/// A model ready to run, with its tokenizer.
#[derive(Debug)]
pub struct LoadedModel {
    /// The network.
    pub model: LlamaForCausalLM,
    /// Its tokenizer.
    pub tokenizer: Tokenizer,
    /// Where it came from.
    pub source: ModelSource,
}

/// What `lethe model inspect` prints: read from headers only, no weights are loaded.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    /// Where it came from.
    pub source: ModelSource,
    /// The resolved configuration.
    pub config: LlamaConfig,
    /// Parameters the config implies (tied embeddings once).
    pub parameter_count: usize,
    /// On-disk dtypes and how many tensors have each.
    pub dtypes: Vec<(String, usize)>,
    /// The tokenizer.
    pub tokenizer: Tokenizer,
}

/// Reads config, tokenizer and the tensor directory of `source` without loading weights.
pub fn inspect(source: &ModelSource) -> Result<ModelInfo, EngineError> {
    let (hf, tokenizer, checkpoint) = source.open()?;
    let config = LlamaConfig::try_from(&hf)?;
    let mut dtypes = std::collections::BTreeMap::<String, usize>::new();
    for name in checkpoint.names() {
        *dtypes
            .entry(checkpoint.dtype(&name).unwrap_or_default())
            .or_default() += 1;
    }
    Ok(ModelInfo {
        source: source.clone(),
        parameter_count: expected_tensors(&config)
            .iter()
            .map(|(_, shape)| shape.iter().product::<usize>())
            .sum(),
        dtypes: dtypes.into_iter().collect(),
        config,
        tokenizer,
    })
}

/// Loads `source` onto `device` with weights in `dtype`.
pub fn load(
    source: &ModelSource,
    device: &Device,
    dtype: WeightDtype,
) -> Result<LoadedModel, EngineError> {
    load_split(source, std::slice::from_ref(device), dtype)
}

/// Loads `source` with its decoder layers split over `devices` ([`super::layer_split`]).
pub fn load_split(
    source: &ModelSource,
    devices: &[Device],
    dtype: WeightDtype,
) -> Result<LoadedModel, EngineError> {
    let (hf, tokenizer, mut checkpoint) = source.open()?;
    let config = LlamaConfig::try_from(&hf)?;
    let model = LlamaForCausalLM::load_split(&config, &mut checkpoint, devices, dtype)?;
    Ok(LoadedModel {
        model,
        tokenizer,
        source: source.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_ids_resolve_through_refs_main() {
        let cache = tempfile::tempdir().unwrap();
        let repo = cache.path().join("models--org--tiny");
        std::fs::create_dir_all(repo.join("snapshots/abc123")).unwrap();
        std::fs::create_dir_all(repo.join("snapshots/old")).unwrap();
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), "abc123\n").unwrap();
        assert_eq!(
            resolve_in_cache(cache.path(), "org/tiny"),
            Some(repo.join("snapshots/abc123"))
        );
        assert_eq!(resolve_in_cache(cache.path(), "org/other"), None);
    }

    #[test]
    fn unknown_sources_say_what_was_tried() {
        let cache = tempfile::tempdir().unwrap();
        let message = ModelSource::resolve("no/such-model-anywhere", Some(cache.path()), false)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("not in the Hugging Face cache"),
            "{message}"
        );
        assert!(message.contains("downloads are off"), "{message}");
        let message = ModelSource::parse("./nothing").unwrap_err().to_string();
        assert!(message.contains("neither a model directory"), "{message}");
    }
}
