//! The CPU kernels are chosen at run time: gemm takes its AVX-512 microkernels only where the
//! processor has AVX-512 (`is_x86_feature_detected!`), so the binary built with burn's `x86-v4`
//! feature also runs on an AVX2-only machine, with the same results. This test runs the
//! `llama_parity` test binary under QEMU's user-mode emulator as a Haswell (AVX2 and FMA, no
//! AVX-512; QEMU does not emulate AVX-512 at all, so an AVX-512 instruction would be SIGILL) and
//! requires every parity test to pass there, plus `llama_parity`'s check that it indeed saw no
//! AVX-512. Skips with a message where `qemu-x86_64` (Debian's `qemu-user`, installed by
//! scripts/setup.sh) or the `llama_parity` binary of this build is absent.

use std::path::PathBuf;
use std::process::Command;

/// The newest `llama_parity` test executable beside this one (cargo builds every test target of
/// the package before it runs any).
fn parity_binary() -> Option<PathBuf> {
    let deps = std::env::current_exe().ok()?.parent()?.to_path_buf();
    std::fs::read_dir(deps)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with("llama_parity-") && !name.contains('.')
        })
        .max_by_key(|entry| entry.metadata().and_then(|m| m.modified()).ok())
        .map(|entry| entry.path())
}

#[test]
fn parity_holds_on_an_avx2_only_processor() {
    if !cfg!(target_arch = "x86_64") {
        eprintln!("skipped: not an x86-64 build");
        return;
    }
    let Some(binary) = parity_binary() else {
        eprintln!("skipped: the llama_parity test binary of this build is absent");
        return;
    };
    let qemu = Command::new("qemu-x86_64")
        .args(["-cpu", "Haswell"])
        .arg(&binary)
        // Emulation is slow: the logits, the generations and NLLs, and the processor check.
        .args([
            "logits_match_transformers_on_every_case",
            "greedy_generation_and_answer_only_nll_match",
            "the_processor_is_what_the_run_expects",
            "--test-threads=1",
        ])
        .env("LETHE_EXPECT_AVX2_ONLY", "1")
        .env("RAYON_NUM_THREADS", "1")
        .output();
    let output = match qemu {
        Ok(output) => output,
        Err(error) => {
            eprintln!("skipped: qemu-x86_64 (Debian's qemu-user) cannot start: {error}");
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} under qemu-x86_64 -cpu Haswell: {}\n{stdout}\n{stderr}",
        binary.display(),
        output.status
    );
    assert!(
        stdout.contains("test the_processor_is_what_the_run_expects ... ok"),
        "the emulated run did not check its processor:\n{stdout}"
    );
    assert!(
        stdout.contains("test logits_match_transformers_on_every_case ... ok")
            && stdout.contains("test greedy_generation_and_answer_only_nll_match ... ok"),
        "{stdout}"
    );
}
