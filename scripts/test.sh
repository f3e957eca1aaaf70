#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this script).
#
# Runs setup first (installs what is missing, builds the UI bundle and the release binary), then:
# formatting, clippy with warnings denied, the dependency rule, docs, the wasm32 check of
# shared + frontend, and every test of the workspace in release mode (numeric code is too slow in
# debug). The end-to-end tests in tests/ start the real `lethe` binary and headless Chromium; the
# SLURM tests submit to a one-node cluster that this script starts and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1m[test]\033[0m %s\n' "$*" >&2; }

# The demo model is the main command's; the tests build a reduced one themselves.
LETHE_SKIP_DEMO=1 scripts/setup.sh

log "cargo fmt --check"
cargo fmt --all --check

log "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

log "dependency rule: the wasm UI never depends on burn or axum"
if cargo tree -p frontend -e normal --prefix none | grep -E '^(burn|axum|engine|server)[ -]' ; then
  echo "frontend depends on a native-only crate (above)" >&2
  exit 1
fi
if cargo tree -p engine -e normal --prefix none | grep -E '^(shared|server) ' ; then
  echo "engine depends on another workspace crate (above)" >&2
  exit 1
fi

log "cargo check -p shared -p frontend --target wasm32-unknown-unknown"
scripts/wasm-toolchain.sh cargo check -p shared -p frontend \
  --target-dir "${CARGO_TARGET_DIR:-$PWD/target}/front"

log "cargo check -p server --features cuda"
# No CUDA toolkit is needed: CUDARC_CUDA_VERSION pins the driver API cudarc binds, and DOCS_RS
# makes the build script of cubecl's LLVM bundler skip its download (nothing links in a check).
DOCS_RS=1 CUDARC_CUDA_VERSION=12080 cargo check -p server --features cuda --quiet

log "cargo doc --workspace --no-deps"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

log "a one-node SLURM cluster for the tests that submit to one (scripts/slurm-dev.sh)"
export LETHE_SLURM_DIR="${LETHE_SLURM_DIR:-/tmp/lethe-slurm}"
scripts/slurm-dev.sh start
trap 'scripts/slurm-dev.sh stop' EXIT
export SLURM_CONF="$LETHE_SLURM_DIR/slurm.conf"

log "cargo test --workspace --release"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo test --workspace --release
