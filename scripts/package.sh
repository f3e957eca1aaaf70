#!/usr/bin/env bash
# Builds dist/lethe-<version>-x86_64-linux.tar.gz: the `lethe` binary (stripped; wgpu, the CPU
# backend and CUDA compiled in), the built web UI (public/) and INSTALL. Unpacked anywhere,
# `./lethe serve` serves the UI with no Rust toolchain; unpacked on a cluster's shared filesystem,
# it is also the binary the SLURM jobs run.
#
#   scripts/package.sh            with CUDA: cubecl's build fetches an LLVM bundle, so this needs
#                                 network access (the CUDA toolkit itself is not needed to build)
#   scripts/package.sh --no-cuda  wgpu and CPU only (offline machines such as this project's CI)
#   LETHE_BIN=path                package that binary instead of building one
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1m[package]\033[0m %s\n' "$*" >&2; }

cuda=1
[ "${1:-}" = "--no-cuda" ] && cuda=0
version=$(awk -F'"' '/^version = /{ print $2; exit }' Cargo.toml)
target="${CARGO_TARGET_DIR:-$PWD/target}"

[ -f public/pkg/manifest.json ] || scripts/build-frontend.sh
if [ -n "${LETHE_BIN:-}" ]; then
  binary="$LETHE_BIN"
elif ((cuda)); then
  log "cargo build --release -p server --features cuda (wgpu is a default feature)"
  cargo build --release -p server --features cuda
  binary="$target/release/lethe"
else
  log "cargo build --release --workspace --bins"
  cargo build --release --workspace --bins
  binary="$target/release/lethe"
fi
backends="wgpu (Vulkan, Metal, DX12), cpu"
((cuda)) && backends="cuda, $backends"

name="lethe-$version-x86_64-linux"
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/$name"
cp "$binary" "$staging/$name/lethe"
strip "$staging/$name/lethe"
mkdir -p "$staging/$name/public"
# The UI's tracked files and the built bundle.
git ls-files public | xargs -I{} cp {} "$staging/$name/public/"
cp -r public/pkg "$staging/$name/public/pkg"
cat >"$staging/$name/INSTALL" <<TEXT
Lethe $version for x86-64 Linux (glibc). Backends compiled in: $backends.

Start the server and open the address it prints:

    ./lethe serve                       # http://127.0.0.1:3000, data in ./lethe-data
    ./lethe serve --devices cuda:0,cuda:1 --addr 0.0.0.0:3000   # a team's GPU host

The UI is served from ./public (--static-dir); no Rust toolchain is needed. On first start the
server writes its generated TOFU data into --data-dir; \`./lethe demo build\` trains the small
demo model. \`./lethe --help\` lists every command.

On a SLURM cluster, unpack this directory on the filesystem the compute nodes share and run

    ./lethe serve --executor slurm --data-dir /shared/lethe-data --devices cuda \\
        --slurm-partition gpu --slurm-time 04:00:00

Each run becomes one sbatch job that runs this same binary (\`lethe worker\`) on a node.
docs/SCALING.md in the source tree has the details.
TEXT
mkdir -p dist
tar -C "$staging" -czf "dist/$name.tar.gz" "$name"
log "dist/$name.tar.gz ($(du -h "dist/$name.tar.gz" | cut -f1))"
echo "dist/$name.tar.gz"
