#!/usr/bin/env bash
# Side-by-side CPU throughput of Lethe and PyTorch eager on the same machine, same run:
# ../shared/bench/torch_reference.py (transformers, sdpa attention) against the criterion bench
# `engine/benches/model.rs` (same workload: batch 8 of TOFU forget01, plain template; generate:
# 64 new tokens per row; npo-step: one NPO optimizer step with 8 retain99 rows). Prints the CPU,
# tokens/s for both and the ratio Lethe / PyTorch (> 1: Lethe faster).
#
#   THREADS=2 (default): PyTorch gets `--threads`, Lethe `RAYON_NUM_THREADS`; the script stops when
#   either side reports another count.
#   BEFORE=<git rev>: also benches that revision (a worktree beside this checkout, so that its
#   `../shared` resolves; same target dir) and prints its column, for before/after tables.
#
# Setup (torch venv, SmolLM2 as a HF directory): scripts/bench/torch-env.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

SHARED=../shared
DATA="$SHARED/data/tofu/forget01.jsonl"
THREADS="${THREADS:-2}"
source scripts/bench/torch-env.sh
scripts/bench/cpu-info.sh

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

# Runs the model bench in checkout $1, logging to $2. Both checkouts share the target dir, where
# cargo names a workspace crate's artifacts by its path inside the workspace: after the other
# checkout's build, cargo would find the engine fresh and bench that build again, so its
# artifacts go first.
lethe_bench() {
  (cd "$1" && cargo clean --release --quiet -p engine -p lethe-alloc &&
    LETHE_DATA_DIR="$DATA_DIR" RAYON_NUM_THREADS="$THREADS" \
    cargo bench --workspace --bench model -- --noplot "forward|generate|npo-step") 2>&1 | tee "$2"
}
DATA_DIR="$(cd "${LETHE_DATA_DIR:-lethe-data}" && pwd)"
logs=()
if [ -n "${BEFORE:-}" ]; then
  rev=$(git rev-parse --short "$BEFORE")
  before="$(cd .. && pwd)/lethe-bench-before-$rev"
  [ -d "$before" ] || git worktree add --detach "$before" "$rev"
  lethe_bench "$before" "$OUT_DIR/lethe-bench-$rev.log"
  logs+=("before ($rev)=$OUT_DIR/lethe-bench-$rev.log")
fi
lethe_bench . "$OUT_DIR/lethe-bench.log"
logs+=("Lethe=$OUT_DIR/lethe-bench.log")

python3 - "$torch_json" "$THREADS" "${logs[@]}" <<'PY'
import json, re, sys
torch_rows = [json.loads(line) for line in open(sys.argv[1])]
threads = int(sys.argv[2])
scale = {"elem/s": 1, "Kelem/s": 1e3, "Melem/s": 1e6, "Gelem/s": 1e9}
columns = []
for arg in sys.argv[3:]:
    label, path = arg.split("=", 1)
    values, current, seen_threads = {}, None, None
    for line in open(path):
        t = re.match(r"^lethe threads: (\d+)", line)
        if t:
            seen_threads = int(t.group(1))
        m = re.match(r"^(\S+/(forward|generate|npo-step))/\S+", line)
        if m:
            current = m.group(1)
        t = re.search(r"thrpt:\s+\[\S+\s+\S+\s+(\S+)\s+(\S+)\s", line)
        if t and current:
            values.setdefault(current, float(t.group(1)) * scale[t.group(2)])
    if seen_threads not in (None, threads):
        sys.exit(f"{label}: Lethe ran on {seen_threads} threads, PyTorch on {threads}")
    columns.append((label, values))
for row in torch_rows:
    if row["threads"] != threads:
        sys.exit(f"PyTorch ran on {row['threads']} threads, not {threads}")
print(f"threads: {threads} on each side")
head = f"{'workload':<24}{'PyTorch tok/s':>15}"
for label, _ in columns:
    head += f"{label + ' tok/s':>24}{'ratio':>7}"
print(head)
for row in torch_rows:
    key = f"{row['name']}/{row['task']}"
    line = f"{key:<24}{row['tokens_per_s']:>15.0f}"
    for _, values in columns:
        ours = values.get(key)
        ratio = f"{ours / row['tokens_per_s']:.2f}" if ours else "n/a"
        line += f"{(ours or 0):>24.0f}{ratio:>7}"
    print(line)
PY
