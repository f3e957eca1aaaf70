//! `scripts/package.sh`: the release tarball, unpacked into a temporary directory, serves the UI
//! with its own binary and files and no toolchain (no `PATH` at all), and headless Chromium
//! paints the page it serves.

use std::process::Command;

use lethe_e2e::browser::Browser;
use lethe_e2e::repo_root;
use lethe_e2e::server::{LetheServer, lethe_binary};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unpacked_tarball_serves_the_ui_without_a_toolchain() -> anyhow::Result<()> {
    let out = tempfile::tempdir()?;
    // The binary cargo built for these tests (CUDA cannot be built offline, hence --no-cuda).
    let packaged = Command::new(repo_root().join("scripts/package.sh"))
        .arg("--no-cuda")
        .env("LETHE_BIN", lethe_binary()?)
        .current_dir(repo_root())
        .output()?;
    anyhow::ensure!(
        packaged.status.success(),
        "package.sh: {}",
        String::from_utf8_lossy(&packaged.stderr)
    );
    let tarball = repo_root().join(String::from_utf8_lossy(&packaged.stdout).trim());
    let name = tarball
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".tar.gz"))
        .unwrap_or_default()
        .to_string();
    assert!(
        name.starts_with("lethe-") && name.ends_with("-x86_64-linux"),
        "{name}"
    );
    let unpacked = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(out.path())
        .status()?;
    assert!(unpacked.success());
    let dir = out.path().join(&name);
    for file in [
        "lethe",
        "INSTALL",
        "public/index.html",
        "public/pkg/manifest.json",
    ] {
        assert!(dir.join(file).is_file(), "{file} is in the tarball");
    }
    let install = std::fs::read_to_string(dir.join("INSTALL"))?;
    assert!(
        install.contains("./lethe serve") && install.contains("--executor slurm"),
        "{install}"
    );

    let server = LetheServer::start_unpacked(&dir).await?;
    let browser = Browser::start().await?;
    browser.open(&server.base_url, "/").await?;
    let heading = browser.wait_for_text("h1", |t| !t.is_empty()).await?;
    let painted = browser.painted("nav a").await?;
    assert!(
        !painted.is_empty() && painted.iter().all(|p| p.visible()),
        "the unpacked UI paints its navigation: {painted:?} ({heading})"
    );
    browser.screenshot("package-unpacked-home").await?;
    browser.close().await
}
