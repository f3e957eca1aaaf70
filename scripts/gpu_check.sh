#!/usr/bin/env bash
# The GPU proof kit: one call on a lent NVIDIA machine (no Rust, no network, PyTorch installed)
# that proves Lethe's GPU path and writes $OUT/summary.json. Two halves:
#
#   scripts/gpu_check.sh pack   # here: build `lethe` with --features cuda,wgpu, strip it, xz it,
#                               # and copy what the run needs into gpu-kit/ (carried, < 60 MiB)
#   scripts/gpu_check.sh run    # there, from the repo root with gpu-kit/ carried: at most 9 min
#   scripts/gpu_check.sh dry    # here: `run` on cpu and lavapipe with the tiny fixture's shape,
#                               # to prove the plumbing and the summary (no torch, no CUDA)
#
# `run` measures, each step bounded by a timeout (a failing step does not stop the others):
#   1. logit parity of the tiny fixtures on cuda:0 and on wgpu (NVIDIA's Vulkan driver);
#   2. an NPO step (bf16, batch 8, 256 tokens) of a randomly initialised Llama-3.2-1B-shaped
#      model in Lethe (`lethe bench npo-step`) and in PyTorch eager (torch_reference.py), with
#      tokens/s and MFU for both;
#   3. peak memory against the plan for that model, and for a Llama-3.1-8B-shaped one trained
#      2 steps (batch 8 × 512) under the settings `lethe plan --auto` picks for 80 GiB.
# `pack` needs network the first time (cubecl-cuda's build fetches an LLVM bundle);
# FEATURES=wgpu packs a binary without CUDA (what `dry` uses on a machine without that bundle).
set -uo pipefail
cd "$(dirname "$0")/.."
kit=gpu-kit
mode=${1:-run}

pack() (
  set -e
  local features=${FEATURES:-cuda,wgpu}
  local target=${CARGO_TARGET_DIR:-target}
  if [ "$features" = wgpu ]; then
    # The default features: the same build the test command makes.
    cargo build --release --workspace --bins
  else
    cargo build --release -p server --features "$features"
  fi
  rm -rf "$kit" && mkdir -p "$kit/fixtures" "$kit/bench"
  strip -o "$kit/lethe" "$target/release/lethe"
  xz -T0 -6 -f "$kit/lethe"
  local fixtures=../shared/fixtures
  cp -r "$fixtures"/tiny-llama "$fixtures"/tiny-qwen3 "$fixtures"/tiny-mistral \
    "$fixtures"/reference.json "$fixtures"/reference_logits.safetensors "$kit/fixtures/"
  cp ../shared/bench/torch_reference.py "$kit/bench/"
  cp -r ../shared/bench/configs/llama-3.2-1b ../shared/bench/configs/llama-3.1-8b "$kit/bench/"
  echo "$features" > "$kit/FEATURES"
  du -sh "$kit"
  local bytes
  bytes=$(du -sb "$kit" | cut -f1)
  if [ "$bytes" -gt $((60 << 20)) ]; then
    echo "gpu-kit is $bytes bytes; at most 60 MiB travel with the tree" >&2
    exit 1
  fi
)

# One bounded step: `step NAME SECONDS COMMAND...`, its stdout in $out/NAME.json, stderr in
# $out/NAME.log, and its exit status and time in $out/steps.tsv.
step() {
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@" > "$out/$name.json" 2> "$out/$name.log"
  local rc=$?
  printf '%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - start))" | tee -a "$out/steps.tsv"
}

run() {
  local gpu=${GPU_DEVICE:-cuda:0} vulkan=${VULKAN_DEVICE:-wgpu}
  local small=${SMALL_CONFIG:-$kit/bench/llama-3.2-1b} big=${BIG_CONFIG:-$kit/bench/llama-3.1-8b}
  local dtype=${DTYPE:-bf16} torch=${TORCH:-1}
  out=${OUT:-gpu-check}
  mkdir -p "$out"
  : > "$out/steps.tsv"
  export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}
  local lethe=$kit/lethe
  [ -x "$lethe" ] || xz -dkf "$kit/lethe.xz" || python3 -c "
import lzma, shutil, sys
with lzma.open('$kit/lethe.xz') as src, open('$lethe', 'wb') as dst: shutil.copyfileobj(src, dst)"
  chmod +x "$lethe"
  { nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
    nproc; cat "$kit/FEATURES" 2>/dev/null; } > "$out/machine.txt"

  step parity-cuda 90 "$lethe" bench parity --fixtures "$kit/fixtures" --device "$gpu"
  step parity-wgpu 150 "$lethe" bench parity --fixtures "$kit/fixtures" --device "$vulkan"
  step npo-lethe 150 "$lethe" bench npo-step --model-config "$small" --synthetic 256 --batch-size 8 \
    --steps 6 --device "$gpu" --dtype "$dtype"
  if [ "$torch" = 1 ]; then
    step npo-torch 120 python3 "$kit/bench/torch_reference.py" npo-step \
      --config "$small/config.json" --synthetic 256 --device cuda --dtype "$dtype"
  fi
  step npo-8b 240 "$lethe" bench npo-step --model-config "$big" --synthetic 512 --batch-size 8 \
    --steps 2 --device "$gpu" --dtype "$dtype" --auto --device-memory 80GiB

  python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
def line(name):
    try:
        with open(os.path.join(out, name + ".json")) as f:
            text = f.read().strip().splitlines()
        return json.loads(text[-1]) if text else None
    except (OSError, ValueError):
        return None
machine = open(os.path.join(out, "machine.txt")).read().split("\n")
steps = {}
for row in open(os.path.join(out, "steps.tsv")):
    name, rc, secs = row.rstrip("\n").split("\t")
    steps[name] = {"rc": int(rc), "seconds": int(secs)}
# Dense bf16 tensor-core peak (the MFU denominator), by GPU name.
PEAKS = {"H200": 989.4e12, "H100": 989.4e12, "A100": 312e12, "L40S": 362.05e12}
gpu = machine[0]
peak = next((v for k, v in PEAKS.items() if k in gpu), None)
def mfu(result):
    # Per step: policy forward + backward on the forget and retain rows (6·P per token) and the
    # reference forward on the forget rows (2·P); the `tokens` both tools report count the
    # forget rows twice and the retain rows once, so FLOPs = tokens · 14·P / 3.
    if not result or not peak or not result.get("tokens_per_s"):
        return None
    return result["tokens_per_s"] * 14 * result["parameters"] / 3 / peak
lethe, torch, big = line("npo-lethe"), line("npo-torch"), line("npo-8b")
def memory(result):
    if not result:
        return None
    planned, measured = result.get("planned_peak_bytes"), result.get("peak_bytes")
    return {"planned_peak_bytes": planned, "measured_peak_bytes": measured,
            "plan_over_measured": planned / measured if planned and measured else None,
            "settings": result.get("settings"), "fits": result.get("fits")}
summary = {
    "machine": {"gpu": gpu, "cores": machine[1] if len(machine) > 1 else None,
                "features": machine[2] if len(machine) > 2 else None, "bf16_peak_flops": peak},
    "steps": steps,
    "parity": {"cuda": line("parity-cuda"), "wgpu": line("parity-wgpu")},
    "npo_step": {
        "lethe": lethe, "torch": torch,
        "lethe_mfu": mfu(lethe), "torch_mfu": mfu(torch),
        "lethe_over_torch": lethe["tokens_per_s"] / torch["tokens_per_s"]
            if lethe and torch and torch.get("tokens_per_s") else None,
    },
    "memory": {"llama-3.2-1b": memory(lethe), "llama-3.1-8b": memory(big),
               "torch_llama-3.2-1b_peak_bytes": torch.get("peak_bytes") if torch else None},
}
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2)
print(json.dumps(summary, indent=2))
PY
}

case "$mode" in
  pack) pack ;;
  run) run ;;
  dry)
    # The same `run`, on this machine: cpu for the CUDA device, lavapipe for Vulkan, the tiny
    # fixture's shape for both models, f32, no torch. Packs a wgpu-only kit first if none.
    [ -f "$kit/lethe.xz" ] || FEATURES=${FEATURES:-wgpu} pack || exit 1
    GPU_DEVICE=cpu VULKAN_DEVICE=wgpu SMALL_CONFIG=$kit/fixtures/tiny-llama \
      BIG_CONFIG=$kit/fixtures/tiny-llama DTYPE=f32 TORCH=0 OUT=${OUT:-gpu-check-dry} run
    ;;
  *) echo "usage: scripts/gpu_check.sh pack|run|dry" >&2; exit 2 ;;
esac
