//! Support for Lethe's end-to-end tests: the real `lethe` binary on a free port, a real headless
//! Chromium driven over WebDriver (Debian's `chromium-driver`), and a minimal HTTP client.
//!
//! Every wait is on a condition with a deadline, never a fixed sleep.

pub mod browser;
pub mod http;
pub mod pages;
pub mod server;

use std::path::PathBuf;

/// The repository root (this crate lives in `<root>/tests`).
pub fn repo_root() -> PathBuf {
    // `cargo test` sets CARGO_MANIFEST_DIR at run time too; prefer it to the compile-time value,
    // which goes stale when a build cache is shared between checkouts at different paths.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .parent()
        .expect("the tests crate sits inside the repository")
        .to_path_buf()
}

/// Where tests leave screenshots and logs for people to look at (git-ignored).
pub fn artifacts_dir() -> PathBuf {
    let dir = repo_root().join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("the repository is writable");
    dir
}
