//! A reduced `demo` for the tests that need a model with real utility and its own retain
//! reference: 20 authors of 4 questions, the target and retain models trained for 8 epochs from
//! random weights (`lethe demo build`, seconds), `lethe run spec.json` on it, and `lethe` run
//! offline for any test.
#![allow(dead_code, reason = "each test crate uses part of it")]
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The evaluation flags the tests use (short generations).
pub const EVAL_FLAGS: [&str; 4] = ["--batch-size", "8", "--max-new-tokens", "16"];

/// `lethe ARGS` offline, in `scratch`.
pub fn lethe(args: &[&str], scratch: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lethe"))
        .args(args)
        .env("HF_HUB_OFFLINE", "1")
        .env("HF_HUB_CACHE", scratch.join("no-hf-cache"))
        .output()
        .unwrap()
}

/// Asserts that `output` succeeded; its stdout.
pub fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A JSON file.
pub fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The reduced demo in a scratch directory.
pub struct Setup {
    _dir: tempfile::TempDir,
    /// The scratch directory.
    pub scratch: PathBuf,
    /// The generated TOFU data.
    pub tofu: PathBuf,
    /// The model root holding `demo`.
    pub models: PathBuf,
}

/// Builds the reduced demo.
pub fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().to_path_buf();
    let data = scratch.join("demo");
    ok(&lethe(
        &[
            "demo",
            "build",
            "--authors",
            "20",
            "--questions",
            "4",
            "--epochs",
            "8",
            "--splits",
            "forget01",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &scratch,
    ));
    Setup {
        _dir: dir,
        tofu: data.join("tofu-generated-20x4"),
        models: data.join("models"),
        scratch,
    }
}

impl Setup {
    /// The flags that point `lethe` at the demo's models and data.
    pub fn places(&self) -> Vec<String> {
        vec![
            "--model-root".into(),
            self.models.to_str().unwrap().into(),
            "--tofu-dir".into(),
            self.tofu.to_str().unwrap().into(),
        ]
    }

    /// Runs `spec` with `lethe run` into `name`; the run's directory.
    pub fn run(&self, name: &str, spec: &Value) -> PathBuf {
        let spec_file = self.scratch.join(format!("{name}.json"));
        std::fs::write(&spec_file, spec.to_string()).unwrap();
        let data = self.scratch.join(name);
        let mut args = vec![
            "run".to_string(),
            spec_file.to_str().unwrap().into(),
            "--data-dir".into(),
            data.to_str().unwrap().into(),
        ];
        args.extend(self.places());
        ok(&lethe(
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            &self.scratch,
        ));
        data.join("runs/1")
    }
}
