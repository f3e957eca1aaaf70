//! The real `lethe serve`, started on a free port with a fresh data dir.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::repo_root;

/// A running server process, killed on drop.
pub struct LetheServer {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub base_url: String,
    /// The server's `--data-dir`.
    pub data_dir: PathBuf,
    _data_dir_guard: tempfile::TempDir,
    _child: Child,
}

/// The `lethe` binary cargo built beside this test executable (same target dir and profile).
pub fn lethe_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the test executable")?;
    // <target>/<profile>/deps/<test>-<hash>  ->  <target>/<profile>/lethe
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .context("the test executable sits in <target>/<profile>/deps")?;
    let binary = profile_dir.join(format!("lethe{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        bail!(
            "{} is missing: run the tests with `cargo test --workspace` so cargo builds the server binary too",
            binary.display()
        );
    }
    Ok(binary)
}

/// Runs `lethe ARGS…` (`&[&"token", &"create", &data_dir]`) to completion and returns its
/// stdout; a failure is an error carrying its stderr.
pub async fn lethe(args: &[&dyn AsRef<std::ffi::OsStr>]) -> anyhow::Result<String> {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| (*a).as_ref()).collect();
    let output = Command::new(lethe_binary()?)
        .args(&args)
        .output()
        .await
        .context("running lethe")?;
    if !output.status.success() {
        bail!(
            "lethe {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

impl LetheServer {
    /// Starts `lethe serve --addr 127.0.0.1:0` on the repository's `public/` and waits until it
    /// prints the address it listens on.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(&[]).await
    }

    /// [`Self::start`] with extra `lethe serve` flags (`--fake-executor`, `--model-root DIR`).
    pub async fn start_with(extra: &[&std::ffi::OsStr]) -> anyhow::Result<Self> {
        let mut command = Command::new(lethe_binary()?);
        command
            .arg("serve")
            .arg("--static-dir")
            .arg(repo_root().join("public"));
        Self::launch(command, extra).await
    }

    /// `./lethe serve` of an unpacked release (`scripts/package.sh`) in `dir`: its own binary
    /// and `public/`, with no `PATH` at all (no toolchain, no other program).
    pub async fn start_unpacked(dir: &std::path::Path) -> anyhow::Result<Self> {
        let mut command = Command::new(dir.join("lethe"));
        command.arg("serve").current_dir(dir).env("PATH", "");
        Self::launch(command, &[]).await
    }

    /// Runs `command --addr 127.0.0.1:0 --device cpu --data-dir <fresh> EXTRA…`, where `command`
    /// is `lethe serve` (with a static dir or not); the extra flags come last, so they win.
    async fn launch(mut command: Command, extra: &[&std::ffi::OsStr]) -> anyhow::Result<Self> {
        let data_dir_guard = tempfile::Builder::new()
            .prefix("lethe-e2e-data")
            .tempdir()
            .context("creating a data dir")?;
        let data_dir = data_dir_guard.path().to_path_buf();
        let mut child = command
            .args(["--addr", "127.0.0.1:0", "--device", "cpu"])
            .arg("--data-dir")
            .arg(&data_dir)
            .args(extra)
            .env("HF_HUB_OFFLINE", "1")
            .env("HF_HUB_CACHE", data_dir.join("no-hf-cache"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("starting lethe serve")?;
        let stdout = child.stdout.take().context("capturing lethe's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let base_url = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line
                    .split_whitespace()
                    .find(|word| word.starts_with("http://"))
                {
                    return Ok(url.trim_end_matches('/').to_string());
                }
            }
            bail!("lethe serve exited before printing its address")
        })
        .await
        .context("lethe serve did not print its address within 60 s")??;
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            base_url,
            data_dir,
            _data_dir_guard: data_dir_guard,
            _child: child,
        })
    }

    /// `host:port` of the server.
    pub fn authority(&self) -> &str {
        self.base_url.trim_start_matches("http://")
    }
}
