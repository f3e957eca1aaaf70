//! `scripts/wasm-toolchain.sh`, which `scripts/setup.sh` runs: both of its branches, with
//! stand-ins for `rustup`, `dpkg-query`, `apt-get` and `cargo` first on `PATH` that record how
//! they were called. Where rustup can add the wasm32 target (Ubuntu, any machine online) that is
//! the whole install and the stable toolchain builds; where it cannot (offline Debian), Debian's
//! wasm-capable Rust is installed and linked, and builds std from source.

use std::path::{Path, PathBuf};
use std::process::Command;

use lethe_e2e::repo_root;

/// A directory of stand-in commands: `rustup` succeeds at `target add` when `rustup_online`,
/// and every call of every stand-in is appended to `calls.log` (with `RUSTC_BOOTSTRAP` for cargo).
fn stand_ins(dir: &Path, rustup_online: bool) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let log = dir.join("calls.log");
    let script = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\necho \"{name} $*\" >> '{}'\n{body}\n",
                log.display()
            ),
        )
        .expect("stand-in");
        Command::new("chmod")
            .arg("+x")
            .arg(&path)
            .status()
            .expect("chmod");
    };
    let add = if rustup_online { "exit 0" } else { "exit 1" };
    script(
        "rustup",
        &format!("case \"$1 $2\" in 'target add') {add};; *) exit 0;; esac"),
    );
    script("dpkg-query", "exit 1");
    script("apt-get", "exit 0");
    script("sudo", "exec \"$@\"");
    script(
        "cargo",
        &format!(
            "echo \"RUSTC_BOOTSTRAP=$RUSTC_BOOTSTRAP\" >> '{}'",
            log.display()
        ),
    );
    bin
}

/// Runs `scripts/wasm-toolchain.sh ARGS` with the stand-ins first on `PATH`; its stdout.
fn toolchain(dir: &Path, bin: &Path, args: &[&str]) -> String {
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new(repo_root().join("scripts/wasm-toolchain.sh"))
        .args(args)
        .env("PATH", path)
        .env("LETHE_TOOLS_DIR", dir.join("tools"))
        .env_remove("LETHE_WASM_TOOLCHAIN")
        .output()
        .expect("running wasm-toolchain.sh");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn calls(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("calls.log")).unwrap_or_default()
}

#[test]
fn where_rustup_can_add_the_target_the_stable_toolchain_builds_the_ui() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = stand_ins(dir.path(), true);
    assert_eq!(toolchain(dir.path(), &bin, &["setup"]), "rustup");
    let setup = calls(dir.path());
    assert!(
        setup.contains("rustup target add wasm32-unknown-unknown"),
        "{setup}"
    );
    assert!(
        !setup.contains("apt-get") && !setup.contains("toolchain link"),
        "no Debian toolchain: {setup}"
    );
    toolchain(dir.path(), &bin, &["cargo", "check", "-p", "frontend"]);
    let build = calls(dir.path());
    assert!(
        build.contains(
            "cargo check -p frontend --target wasm32-unknown-unknown\nRUSTC_BOOTSTRAP=\n"
        ),
        "plain stable cargo: {build}"
    );
}

#[test]
fn where_rustup_cannot_debians_wasm_capable_rust_is_installed_and_builds_std() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = stand_ins(dir.path(), false);
    assert_eq!(toolchain(dir.path(), &bin, &["setup"]), "debian");
    let setup = calls(dir.path());
    assert!(
        setup.contains("apt-get install -y -qq rustc-web cargo-web rust-web-src lld-22"),
        "{setup}"
    );
    assert!(
        setup.contains("rustup toolchain link debian-web /usr"),
        "{setup}"
    );
    toolchain(dir.path(), &bin, &["cargo", "check", "-p", "frontend"]);
    let build = calls(dir.path());
    assert!(
        build.contains(
            "cargo +debian-web check -p frontend --target wasm32-unknown-unknown \
             -Zbuild-std=std,panic_abort\nRUSTC_BOOTSTRAP=1\n"
        ),
        "{build}"
    );
}
