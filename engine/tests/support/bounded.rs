//! Runs wgpu work on a thread with a deadline: a cold wgpu start compiles WGSL kernels through
//! the driver, which on lavapipe takes seconds per kernel, and a hung driver must fail the test
//! instead of stalling CI.
#![allow(dead_code, reason = "each test crate uses part of it")]

use std::sync::mpsc;
use std::time::Duration;

/// Whether the wgpu tests should run: not when `LETHE_SKIP_WGPU` is set (a machine without any
/// Vulkan driver), and says so.
pub fn wgpu_wanted() -> bool {
    if std::env::var_os("LETHE_SKIP_WGPU").is_some() {
        eprintln!("skipped: LETHE_SKIP_WGPU is set");
        false
    } else {
        true
    }
}

/// `../shared/fixtures` when the wgpu tests should run and it is there; says why not otherwise.
pub fn wgpu_fixtures() -> Option<std::path::PathBuf> {
    if !wgpu_wanted() {
        return None;
    }
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures");
    if fixtures.is_dir() {
        Some(fixtures)
    } else {
        eprintln!("skipped: {} is absent", fixtures.display());
        None
    }
}

/// Runs `work` on a thread and fails the test if it takes longer than `limit`.
pub fn bounded<T: Send + 'static>(
    limit: Duration,
    what: &str,
    work: impl FnOnce() -> T + Send + std::panic::UnwindSafe + 'static,
) -> T {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        sender
            .send(std::panic::catch_unwind(work))
            .expect("the test thread waits for this result");
    });
    match receiver.recv_timeout(limit) {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("wgpu did not finish {what} within {limit:?}"),
    }
}
