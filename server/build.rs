//! Records the git commit the binary is built from, for `GET /api/health`.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=LETHE_GIT_COMMIT");
    let commit = std::env::var("LETHE_GIT_COMMIT")
        .ok()
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_string());
    if let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        for moved_by_commits in ["HEAD", "refs/heads", "packed-refs"] {
            println!("cargo:rerun-if-changed={git_dir}/{moved_by_commits}");
        }
    }
    println!("cargo:rustc-env=LETHE_GIT_COMMIT={commit}");
}
