#!/usr/bin/env bash
# One-shot GPU proof for a short lease on an NVIDIA machine: builds the engine with wgpu + CUDA,
# runs the model parity tests on both GPU backends (the same assertions as on CPU), then the model
# benchmark on each, and writes everything to ${OUT:-gpu-check}/.
#
#   scripts/gpu_check.sh            # needs ../shared beside the checkout, and network-free is fine
#
# Everything is bounded: each step has a timeout, and a failing step does not stop the others.
set -uo pipefail
cd "$(dirname "$0")/.."

OUT_DIR="${OUT:-gpu-check}"
mkdir -p "$OUT_DIR"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
summary="$OUT_DIR/summary.txt"
: > "$summary"

step() {
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@" > "$OUT_DIR/$name.log" 2>&1
  local rc=$?
  printf '%-28s rc=%-3s %4ss\n' "$name" "$rc" "$((SECONDS - start))" | tee -a "$summary"
}

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; nproc; } > "$OUT_DIR/machine.txt" 2>&1
[ -f lethe-data/models/SmolLM2-135M-Instruct.Q4_1.gguf ] || step fetch-smollm2 300 scripts/fetch-smollm2.sh

FEATURES="engine/wgpu,engine/cuda"
step build 1500 cargo build --release -p engine --features "$FEATURES" --tests --benches
for device in wgpu cuda:0; do
  tag=${device%%:*}
  step "parity-$tag" 600 env LETHE_TEST_DEVICE="$device" \
    cargo test --release -p engine --features "$FEATURES" --test llama_parity --test smollm2_gguf
  step "bench-$tag" 600 env LETHE_BENCH_DEVICE="$device" \
    cargo bench -p engine --features "$FEATURES" --bench model -- --noplot
  grep -E "^(tiny|smollm2)|thrpt" "$OUT_DIR/bench-$tag.log" >> "$summary" 2>/dev/null
done
cat "$summary"
