#!/usr/bin/env bash
# Measures the memory plan against the peak a real run reaches, and prints the table in
# docs/TRAINING.md ("Calibration"). For each model, batch size and switch it runs `lethe unlearn`
# (NPO, 32 forget01 + 32 retain99 rows of TOFU, two optimizer steps, no evaluation) on --device
# (default cpu) and reads the run's plan.json: the plan's peak for the run's longest row, and the
# measured peak (cpu: the resident high-water mark from loading to the last step).
#
#   docs/calibrate_plan.sh [--device cpu|wgpu] [model ...]
#
# Default models: SmolLM2-135M (scripts/fetch-smollm2.sh) and the demo model (lethe demo build),
# whichever are present.
set -euo pipefail
cd "$(dirname "$0")/.."
device=cpu
if [ "${1:-}" = "--device" ]; then device=$2; shift 2; fi
lethe="${CARGO_TARGET_DIR:-target}/release/lethe"
data="${LETHE_DATA_DIR:-lethe-data}"
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  for m in "$data/models/SmolLM2-135M-Instruct.Q4_1.gguf" "$data/models/demo"; do
    [ -e "$m" ] && models+=("$m")
  done
fi
tofu=../shared/data/tofu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -n 32 "$tofu/forget01.jsonl" > "$work/forget.jsonl"
head -n 32 "$tofu/retain99.jsonl" > "$work/retain.jsonl"

echo "| model | batch | switch | planned peak | measured peak | plan / measured |"
echo "|---|---|---|---|---|---|"
for model in "${models[@]}"; do
  for batch in 2 16; do
    for switch in "" "--gradient-checkpointing" "--reference-mode cached" "--optimizer-offload"; do
      out="$work/run"
      rm -rf "$out"
      # shellcheck disable=SC2086 # $switch is one flag or none
      "$lethe" unlearn --model "$model" --forget "$work/forget.jsonl" --retain "$work/retain.jsonl" \
        --objective npo --batch-size "$batch" --grad-accum 1 --epochs "$(python3 -c "print(2 * $batch / 32)")" \
        --device "$device" $switch --out "$out" > /dev/null 2>&1
      python3 - "$out/plan.json" "$(basename "$model")" "$batch" "${switch:-none}" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
planned, measured = plan["peak_bytes"], plan.get("measured_peak_bytes")
gib = lambda b: f"{b / 2**30:.2f} GiB"
ratio = f"{planned / measured:.2f}" if measured else "n/a"
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {gib(planned)} | {gib(measured) if measured else 'n/a'} | {ratio} |")
PY
    done
  done
done
