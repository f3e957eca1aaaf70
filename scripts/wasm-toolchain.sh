#!/usr/bin/env bash
# The Rust toolchain that builds the web UI to wasm32, chosen once by `setup` and used by every
# wasm build (scripts/build-frontend.sh, the wasm check of scripts/test.sh):
#
#   scripts/wasm-toolchain.sh setup        choose and install; prints `rustup` or `debian`
#   scripts/wasm-toolchain.sh cargo ARGS…  runs `cargo ARGS… --target wasm32-unknown-unknown`
#                                          with the chosen toolchain
#
# `rustup`: where rustup can fetch the wasm32 standard library (Ubuntu, macOS, any machine online),
# `rustup target add wasm32-unknown-unknown` is the whole install and the stable toolchain builds.
# `debian`: where it cannot (these machines, offline: see shared/toolchain/WASM.md), Debian's
# wasm-capable Rust (rustc-web, cargo-web, rust-web-src, lld-22) linked as `+debian-web`, building
# std from source (RUSTC_BOOTSTRAP on this command only, never in a config native builds read).
# The choice is kept in .tools/wasm-toolchain (LETHE_TOOLS_DIR moves .tools);
# LETHE_WASM_TOOLCHAIN=rustup|debian overrides it.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1m[wasm]\033[0m %s\n' "$*" >&2; }
tools="${LETHE_TOOLS_DIR:-.tools}"
state="$tools/wasm-toolchain"
DEBIAN_PACKAGES=(rustc-web cargo-web rust-web-src lld-22)

setup_debian() {
  local missing=() package
  for package in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if ((${#missing[@]})); then
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    log "apt-get install ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
  fi
  if ! rustup toolchain list | grep -q '^debian-web'; then
    log "rustup toolchain link debian-web /usr"
    rustup toolchain link debian-web /usr
  fi
}

choose() {
  mkdir -p "$tools"
  if rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
    echo rustup >"$state"
  else
    log "rustup cannot add wasm32-unknown-unknown here: Debian's wasm-capable Rust instead"
    setup_debian
    echo debian >"$state"
  fi
  cat "$state"
}

chosen() {
  if [ -n "${LETHE_WASM_TOOLCHAIN:-}" ]; then
    echo "$LETHE_WASM_TOOLCHAIN"
  elif [ -f "$state" ]; then
    cat "$state"
  else
    echo "no wasm toolchain chosen yet: run scripts/setup.sh (or scripts/wasm-toolchain.sh setup)" >&2
    exit 1
  fi
}

case "${1:-}" in
  setup) choose ;;
  cargo)
    shift
    case "$(chosen)" in
      rustup) exec cargo "$@" --target wasm32-unknown-unknown ;;
      debian) RUSTC_BOOTSTRAP=1 exec cargo +debian-web "$@" --target wasm32-unknown-unknown \
        -Zbuild-std=std,panic_abort ;;
      *) echo "unknown wasm toolchain \`$(chosen)\` in $state (rustup or debian)" >&2; exit 1 ;;
    esac ;;
  *) echo "usage: $0 setup | cargo ARGS…" >&2; exit 2 ;;
esac
