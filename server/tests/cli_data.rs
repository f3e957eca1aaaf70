//! `lethe data generate` and `lethe data validate`: the generated dataset is byte-identical per
//! seed, passes the validator real TOFU passes, and a broken file is named with its line and
//! field.
#![expect(clippy::unwrap_used, reason = "test setup panics like the tests")]

use std::path::Path;
use std::process::{Command, Output};

fn lethe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lethe"))
        .args(args)
        .output()
        .unwrap()
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn generated_data_is_byte_identical_per_seed_and_valid_tofu() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    for (out, seed) in [(&a, "3"), (&b, "3"), (&c, "4")] {
        let output = lethe(&[
            "data",
            "generate",
            "--out",
            out.to_str().unwrap(),
            "--seed",
            seed,
        ]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let (fa, fb, fc) = (files(&a), files(&b), files(&c));
    assert_eq!(
        fa.len(),
        18,
        "{:?}",
        fa.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert_eq!(fa, fb, "same seed, same bytes");
    assert_ne!(fa, fc, "another seed, other authors");

    let output = lethe(&["data", "validate", a.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("forget01_perturbed\t40 rows\tok"),
        "{stdout}"
    );
    assert!(stdout.contains("18 files valid"), "{stdout}");

    // A perturbed answer list one short is named by file, line and field.
    let path = a.join("forget05_perturbed.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut row: serde_json::Value = serde_json::from_str(&lines[6]).unwrap();
    row["perturbed_answer"].as_array_mut().unwrap().pop();
    lines[6] = row.to_string();
    std::fs::write(&path, lines.join("\n")).unwrap();
    let output = lethe(&["data", "validate", a.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("forget05_perturbed.jsonl")
            && stderr.contains("line 7")
            && stderr.contains("`perturbed_answer` has 4 options, expected 5"),
        "{stderr}"
    );
    std::fs::remove_file(a.join("retain99.jsonl")).unwrap();
    let output = lethe(&["data", "validate", a.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("retain99"),
        "missing split named"
    );
}

#[test]
fn the_validator_accepts_the_real_tofu() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/tofu");
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    }
    let output = lethe(&["data", "validate", dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("full\t4000 rows\tok"), "{stdout}");
    assert!(
        stdout.contains("world_facts_perturbed\t117 rows\tok"),
        "{stdout}"
    );
}
