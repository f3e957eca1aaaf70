//! Lethe's SLURM client against a real one-node cluster (`scripts/slurm-dev.sh start`, which the
//! README's test command runs around the tests): submit, follow in `squeue --json`, cancel, and
//! read how jobs ended from `scontrol` and the completion log. Skipped, saying so, where no
//! cluster answers.
#![expect(clippy::unwrap_used, reason = "tests panic on setup failure")]

use std::path::Path;
use std::time::{Duration, Instant};

use server::slurm::{self, JobState, JobStatus};

#[path = "support/slurm.rs"]
mod cluster_support;
#[path = "support/serve.rs"]
mod support;
use cluster_support::cluster;

fn script(dir: &Path, name: &str, body: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    path
}

fn args(dir: &Path) -> Vec<String> {
    vec![
        "--chdir".into(),
        dir.display().to_string(),
        "--output".into(),
        dir.join("slurm-%j.out").display().to_string(),
        "--mem".into(),
        "64M".into(),
    ]
}

/// Polls `status` until `done` holds; the status that satisfied it.
fn wait(job: &str, done: impl Fn(&JobStatus) -> bool) -> JobStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = slurm::status(job).unwrap()
            && done(&status)
        {
            return status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "job {job}: {:?}",
            slurm::status(job)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn jobs_are_submitted_followed_cancelled_and_their_ends_read() {
    if !cluster() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A job that runs until cancelled: squeue sees it, scancel ends it as CANCELLED.
    let long = slurm::sbatch(
        &script(dir.path(), "long.sh", "sleep 120"),
        &args(dir.path()),
    )
    .unwrap();
    let running = wait(&long, |s| s.state == JobState::Running);
    assert_eq!(running.state, JobState::Running);
    assert_eq!(slurm::squeue().unwrap()[&long].state, JobState::Running);
    slurm::scancel(&long).unwrap();
    let cancelled = wait(&long, |s| s.state.is_final());
    assert_eq!(cancelled.state, JobState::Cancelled, "{cancelled:?}");
    // A job that fails: its exit code and SLURM's reason.
    let failing =
        slurm::sbatch(&script(dir.path(), "fail.sh", "exit 3"), &args(dir.path())).unwrap();
    let failed = wait(&failing, |s| s.state.is_final());
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.exit_code, "3:0");
    // One that succeeds, and wrote where it was told to.
    let ok = slurm::sbatch(
        &script(dir.path(), "ok.sh", "echo done > ok.txt"),
        &args(dir.path()),
    )
    .unwrap();
    assert_eq!(wait(&ok, |s| s.state.is_final()).state, JobState::Completed);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ok.txt")).unwrap(),
        "done\n"
    );
    // A job SLURM never had.
    assert_eq!(slurm::status("999999").unwrap(), None);
    // Bad input is named.
    let error = slurm::sbatch(&dir.path().join("absent.sh"), &[]).unwrap_err();
    assert!(error.to_string().contains("sbatch failed"), "{error}");
}
