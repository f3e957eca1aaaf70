//! Every TOFU split in `../shared/data/tofu` reads and validates, with the row counts of its
//! MANIFEST.json, and the split presets name files that exist.
use std::path::Path;

use engine::data::tofu::{SplitPreset, TofuSource};

#[test]
fn every_split_validates_with_its_manifest_count() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/tofu");
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("MANIFEST.json")).unwrap()).unwrap();
    let source = TofuSource::Dir(dir.clone());
    for (split, entry) in manifest.as_object().unwrap() {
        if split == "real_authors" || split == "world_facts" {
            continue; // option1–option4 multiple choice; no OU metric reads them
        }
        let rows = source.read(split).unwrap();
        assert_eq!(
            rows.len() as u64,
            entry["rows"].as_u64().unwrap(),
            "{split}"
        );
        if split.ends_with("_perturbed") {
            assert!(
                rows.iter().all(|r| !r.perturbed_answer.is_empty()),
                "{split}"
            );
        }
    }
    for name in ["forget01", "forget05", "forget10"] {
        let preset = SplitPreset::parse(name).unwrap();
        for split in [
            preset.forget(),
            preset.retain(),
            preset.holdout(),
            preset.forget_perturbed(),
        ] {
            assert!(source.file(&split).is_ok(), "{split}");
        }
    }
    let error = source.read("forget02").unwrap_err().to_string();
    assert!(error.contains("forget02"), "{error}");
}
