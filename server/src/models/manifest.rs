//! The demo model's manifest (`lethe_demo.json`): how it was built, the learning rate it
//! recommends for unlearning, and its retain references. A reference only holds for the data it
//! was made on, and that data is recognised by content (a digest of its split files), not by
//! where it lies: `lethe serve` regenerates byte-identical data from the same seed in any data
//! dir, and a checkout can move.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The file in the demo model's directory that records how it was made.
pub const MANIFEST: &str = "lethe_demo.json";

/// The unlearning learning rate a demo model recommends (and reads as, when its manifest
/// predates the field). Measured on the default demo (NPO, forget01, spec trainer otherwise):
/// 1e-5 and 1e-4 leave forget quality at the target model's 0.266 (forget probability 0.796 and
/// 0.763), 2e-4 reaches 0.919 with model utility unchanged (0.594), 1e-3 overshoots to 0.405.
pub const DEFAULT_UNLEARN_LR: f64 = 2e-4;

fn default_unlearn_lr() -> f64 {
    DEFAULT_UNLEARN_LR
}

/// How the demo model was built, and where its retain references are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemoManifest {
    /// The TOFU directory it was trained and its references evaluated on, as it was then
    /// (absolute; informative: the data is matched by `data_digest`).
    pub data: PathBuf,
    /// [`data_digest`] of that directory; absent in manifests from before it existed, which
    /// then match by path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_digest: Option<String>,
    /// Seed of data and weights.
    pub seed: u64,
    /// Fine-tuning epochs of the target and retain models.
    pub epochs: f64,
    /// Peak learning rate the form's presets use for unlearning this model.
    #[serde(default = "default_unlearn_lr")]
    pub recommended_lr: f64,
    /// `forgetNN` → the retain model's `TOFU_EVAL.json`, relative to the model directory.
    pub retain_refs: BTreeMap<String, PathBuf>,
}

/// The SHA-256 of a TOFU directory's split files (every name in [`engine::data::generate::SPLITS`]
/// that exists, in that order, each as its name, length and bytes): equal for byte-identical
/// data wherever it lies.
pub fn data_digest(dir: &Path) -> anyhow::Result<String> {
    let mut hasher = Sha256::new();
    for split in engine::data::generate::SPLITS {
        let path = dir.join(format!("{split}.jsonl"));
        if !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        hasher.update(split.as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

impl DemoManifest {
    /// The manifest in `model_dir`, if it is a demo model.
    pub fn read(model_dir: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(model_dir.join(MANIFEST)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Whether `data` is the data this model was built on.
    fn same_data(&self, data: &Path) -> bool {
        match &self.data_digest {
            Some(digest) => data_digest(data).is_ok_and(|d| d == *digest),
            None => data.canonicalize().is_ok_and(|d| d == self.data),
        }
    }

    /// The splits whose retain reference holds for `data`.
    pub fn splits_for(&self, model_dir: &Path, data: &Path) -> Vec<String> {
        if !self.same_data(data) {
            return Vec::new();
        }
        self.retain_refs
            .iter()
            .filter(|(_, path)| model_dir.join(path).is_file())
            .map(|(split, _)| split.clone())
            .collect()
    }
}

/// The demo model's retain reference for `split` when a run reads `data`: `Ok(path)` when it
/// holds, `Err(Some(why))` when `model_dir` is a demo model whose reference does not (other
/// data, or no reference for that split), `Err(None)` when it is not a demo model.
pub fn retain_ref_for(
    model_dir: &Path,
    split: &str,
    data: &Path,
) -> Result<PathBuf, Option<String>> {
    let manifest = DemoManifest::read(model_dir).ok_or(None)?;
    let Some(relative) = manifest.retain_refs.get(split) else {
        let built: Vec<&str> = manifest.retain_refs.keys().map(String::as_str).collect();
        return Err(Some(format!(
            "the demo model has no retain reference for {split} (it has: {}); build one with \
             `lethe demo build --splits {split}`",
            built.join(", ")
        )));
    };
    if !manifest.same_data(data) {
        return Err(Some(format!(
            "the demo model's retain references were made on other data than {} (built on {}); \
             serve the data it was built on, rebuild it on this data with `lethe demo build`, \
             or set eval.retain_ref",
            data.display(),
            manifest.data.display()
        )));
    }
    let path = model_dir.join(relative);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Some(format!(
            "the demo model's retain reference {} is missing",
            path.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn data_is_recognised_by_content_wherever_it_lies() {
        let root = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (a, b, c) = (
            root.path().join("a"),
            root.path().join("b"),
            root.path().join("c"),
        );
        for dir in [&a, &b, &c] {
            write(dir, "forget01.jsonl", "{\"question\": \"q\"}\n");
            write(dir, "notes.txt", "not a split");
        }
        write(&c, "retain99.jsonl", "{}\n");
        let digest = data_digest(&a).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            data_digest(&b).ok(),
            Some(digest.clone()),
            "same bytes elsewhere"
        );
        assert_ne!(
            data_digest(&c).ok(),
            Some(digest.clone()),
            "another split file"
        );

        let model = root.path().join("model");
        write(&model.join("retain_refs/forget01"), "TOFU_EVAL.json", "{}");
        let manifest = DemoManifest {
            data: a.clone(),
            data_digest: Some(digest),
            seed: 0,
            epochs: 1.0,
            recommended_lr: DEFAULT_UNLEARN_LR,
            retain_refs: BTreeMap::from([(
                "forget01".to_string(),
                PathBuf::from("retain_refs/forget01/TOFU_EVAL.json"),
            )]),
        };
        write(
            &model,
            MANIFEST,
            &serde_json::to_string(&manifest).unwrap_or_default(),
        );
        std::fs::remove_dir_all(&a).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            retain_ref_for(&model, "forget01", &b).is_ok(),
            "the moved data still matches"
        );
        assert_eq!(manifest.splits_for(&model, &b), ["forget01"]);
        let other = retain_ref_for(&model, "forget01", &c).unwrap_err();
        assert!(other.is_some_and(|why| why.contains("other data")));
        let split = retain_ref_for(&model, "forget05", &b).unwrap_err();
        assert!(split.is_some_and(|why| why.contains("--splits forget05")));
        assert_eq!(
            retain_ref_for(&b, "forget01", &b),
            Err(None),
            "not a demo model"
        );
    }

    #[test]
    fn manifests_without_the_new_fields_still_read() {
        let old = r#"{"data": "/x", "seed": 0, "epochs": 5.0, "retain_refs": {}}"#;
        let manifest: DemoManifest = serde_json::from_str(old).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(manifest.recommended_lr, DEFAULT_UNLEARN_LR);
        assert_eq!(manifest.data_digest, None);
    }
}
