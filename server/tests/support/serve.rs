//! A real `lethe serve` process for tests: started on a free port with an empty Hugging Face
//! cache, killed when dropped; and the small HTTP calls tests make to it.
#![allow(dead_code, reason = "each test crate uses part of it")]
#![expect(
    clippy::unwrap_used,
    reason = "fixture helpers panic on setup failure, like the tests"
)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use shared::run::{RunDetail, RunState};

/// ../shared, or `None` (with a note) where it is absent.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

/// `dir/models` holding `tiny`, a model with an empty config: enough for the fake executor.
pub fn tiny_model_root(dir: &Path) -> PathBuf {
    let root = dir.join("models");
    std::fs::create_dir_all(root.join("tiny")).unwrap();
    std::fs::write(root.join("tiny/config.json"), "{}").unwrap();
    root
}

/// A running server.
pub struct Serve {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// See the module.
pub fn serve(data_dir: &Path, extra: &[&str]) -> Serve {
    serve_env(data_dir, extra, &[])
}

/// [`serve`] with more environment variables.
pub fn serve_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Serve {
    serve_in(None, data_dir, extra, env)
}

/// [`serve_env`] in working directory `cwd` (a relative `data_dir` is relative to it).
pub fn serve_in(
    cwd: Option<&Path>,
    data_dir: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Serve {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lethe"));
    if let Some(cwd) = cwd {
        command.current_dir(cwd);
    }
    let mut child = command
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .envs(env.iter().copied())
        .env("HF_HUB_OFFLINE", "1")
        .env(
            "HF_HUB_CACHE",
            cwd.map_or_else(|| data_dir.to_path_buf(), |c| c.join(data_dir))
                .join("no-hf-cache"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("Lethe is listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .trim_end_matches('/')
        .to_string();
    Serve { child, base }
}

/// `lethe ARGS`, which must succeed; its stdout as JSON.
pub fn lethe_json(args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_lethe"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "lethe {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// See the module.
pub fn post(base: &str, path: &str, body: &Value) -> Value {
    let response = ureq::post(&format!("{base}{path}"))
        .set("Content-Type", "application/json")
        .send_string(&body.to_string())
        .unwrap_or_else(|e| match e {
            ureq::Error::Status(code, r) => panic!("{code}: {}", r.into_string().unwrap()),
            other => panic!("{other}"),
        });
    serde_json::from_str(&response.into_string().unwrap()).unwrap()
}

/// See the module.
pub fn run(base: &str, id: i64) -> RunDetail {
    let text = ureq::get(&format!("{base}/api/runs/{id}"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// See the module.
pub fn wait_for(
    base: &str,
    id: i64,
    done: impl Fn(RunState) -> bool,
    limit: Duration,
) -> RunDetail {
    let start = Instant::now();
    loop {
        let detail = run(base, id);
        if done(detail.summary.state) {
            return detail;
        }
        assert!(
            start.elapsed() < limit,
            "run {id} stuck in {:?}",
            detail.summary.state
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Four rows of each TOFU split an evaluation reads.
pub fn small_tofu(shared: &Path, tofu: &Path) {
    std::fs::create_dir_all(tofu).unwrap();
    for split in [
        "forget01",
        "retain99",
        "forget01_perturbed",
        "holdout01",
        "retain_perturbed",
        "real_authors_perturbed",
        "world_facts_perturbed",
    ] {
        let text = std::fs::read_to_string(shared.join("data/tofu").join(format!("{split}.jsonl")))
            .unwrap();
        let rows: Vec<&str> = text.lines().take(4).collect();
        std::fs::write(tofu.join(format!("{split}.jsonl")), rows.join("\n")).unwrap();
    }
}
