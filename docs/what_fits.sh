#!/usr/bin/env bash
# Prints docs/TRAINING.md "What fits": for each study model (docs/models) and GPU size, the
# settings `lethe plan --auto` chooses for NPO at batch 8 × 512 tokens on CUDA (bf16 allowed),
# on one GPU and with the layers split over two, and the planned peak per GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
lethe="${CARGO_TARGET_DIR:-target}/release/lethe"
echo "| model | parameters | GPU | one GPU: settings | peak | two GPUs: settings | peak per GPU |"
echo "|---|---|---|---|---|---|---|"
for model in llama-3.2-1b llama-2-7b mistral-7b-v0.3 llama-3.1-8b qwen3-8b; do
  for gpu in 24 48 80 141; do
    one=$("$lethe" plan "docs/models/$model" --device cuda:0 --device-memory "${gpu}GiB" --auto --json)
    two=$("$lethe" plan "docs/models/$model" --device cuda:0 --device-memory "${gpu}GiB" --auto --devices 2 --json)
    python3 - "$model" "$gpu" "$one" "$two" <<'PY'
import json, sys
model, gpu, one, two = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
def cell(plan):
    s = plan["settings"]
    flags = [s["dtype"]]
    if s["dtype"] != "f32" and not s["master_weights"]:
        flags.append("no master")
    if s["gradient_checkpointing"]:
        flags.append("checkpointing")
    if s["reference_mode"] == "cached":
        flags.append("cached reference")
    if s["optimizer_offload"]:
        flags.append("offload")
    if s["devices"] > 1:
        flags.append(f"{s['devices']} GPUs")
    verdict = "" if plan["fits"] else " **does not fit**"
    return ", ".join(flags) + verdict, f"{plan['peak_bytes'] / 2**30:.1f} GiB"
a, b = cell(one), cell(two)
print(f"| {model} | {one['parameters'] / 1e9:.2f} B | {gpu} GiB | {a[0]} | {a[1]} | {b[0]} | {b[1]} |")
PY
  done
done
