#!/usr/bin/env bash
# Side-by-side CPU throughput of Lethe and PyTorch eager on the same machine, same run:
# ../shared/bench/torch_reference.py (transformers, sdpa attention, 2 threads) against the criterion
# bench `engine/benches/model.rs` (same workload: batch 8 of TOFU forget01, plain template; generate:
# 64 new tokens per row; npo-step: one NPO optimizer step with 8 retain99 rows). Prints tokens/s
# for both and the ratio Lethe / PyTorch (> 1: Lethe faster).
#
# Setup (torch venv, SmolLM2 as a HF directory): scripts/bench/torch-env.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"

SHARED=../shared
DATA="$SHARED/data/tofu/forget01.jsonl"
THREADS="${THREADS:-2}"
source scripts/bench/torch-env.sh

torch_json="$OUT_DIR/torch.jsonl"
: > "$torch_json"
for entry in "tiny-llama:$SHARED/fixtures/tiny-llama" "smollm2-135m:$SMOL_HF"; do
  name=${entry%%:*}
  dir=${entry#*:}
  for task in forward generate npo-step; do
    "$VENV/bin/python" "$SHARED/bench/torch_reference.py" "$task" --model "$dir" --data "$DATA" \
      --retain "$SHARED/data/tofu/retain99.jsonl" --batch 8 --new-tokens 64 --threads "$THREADS" --steps 5 |
      python3 -c "import json,sys; r=json.loads(sys.stdin.read()); r['name']='$name'; print(json.dumps(r))" >> "$torch_json"
  done
done

lethe_log="$OUT_DIR/lethe-bench.log"
RAYON_NUM_THREADS="$THREADS" cargo bench --workspace --bench model -- --noplot | tee "$lethe_log"

python3 - "$torch_json" "$lethe_log" <<'PY'
import json, re, sys
torch_rows = [json.loads(line) for line in open(sys.argv[1])]
scale = {"elem/s": 1, "Kelem/s": 1e3, "Melem/s": 1e6, "Gelem/s": 1e9}
lethe, current = {}, None
for line in open(sys.argv[2]):
    m = re.match(r"^(\S+/(forward|generate|npo-step))/\S+", line)
    if m:
        current = m.group(1)
    t = re.search(r"thrpt:\s+\[\S+\s+\S+\s+(\S+)\s+(\S+)\s", line)
    if t and current:
        lethe[current] = float(t.group(1)) * scale[t.group(2)]
print(f"{'workload':<26}{'PyTorch tok/s':>14}{'Lethe tok/s':>14}{'ratio':>8}")
for row in torch_rows:
    key = f"{row['name']}/{row['task']}"
    ours = lethe.get(key)
    ratio = f"{ours / row['tokens_per_s']:.2f}" if ours else "n/a"
    print(f"{key:<26}{row['tokens_per_s']:>14.0f}{(ours or 0):>14.0f}{ratio:>8}")
PY
