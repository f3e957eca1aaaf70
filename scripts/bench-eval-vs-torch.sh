#!/usr/bin/env bash
# The TOFU evaluation, Lethe against PyTorch eager, on the same CPU in the same run: `lethe eval`
# and scripts/bench/torch_eval.py (transformers, sdpa attention) do the same work on SmolLM2-135M:
# forget01 (+ holdout01 for MIA), retain_perturbed, real_authors_perturbed and world_facts_perturbed,
# the first $ROWS rows of each (default 16; ROWS=all for the full sets), teacher-forced losses of
# every answer, paraphrase and perturbed option, and greedy generation of up to 200 new tokens in
# batches of 32. Prints wall time, generation tokens/s, peak resident memory and the ratio
# PyTorch / Lethe (> 1: Lethe faster or smaller), and whether both produced the same generations.
#
# Setup (torch venv, SmolLM2 as a HF directory): scripts/bench/torch-env.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

SHARED=../shared
ROWS="${ROWS:-16}"
THREADS="${THREADS:-2}"
source scripts/bench/torch-env.sh
scripts/bench/cpu-info.sh
echo "threads: $THREADS on each side (torch --threads, RAYON_NUM_THREADS)"

data="$OUT_DIR/eval-data-$ROWS"
mkdir -p "$data"
for split in forget01_perturbed holdout01 retain_perturbed real_authors_perturbed world_facts_perturbed; do
  if [ "$ROWS" = all ]; then
    cp "$SHARED/data/tofu/$split.jsonl" "$data/"
  else
    head -n "$ROWS" "$SHARED/data/tofu/$split.jsonl" > "$data/$split.jsonl"
  fi
done

cargo build --release --workspace --all-targets
"$VENV/bin/python" scripts/bench/torch_eval.py --model "$SMOL_HF" --data "$data" --threads "$THREADS" \
  > "$OUT_DIR/torch_eval.json"
# Wall time and peak resident memory of the `lethe eval` process (the child's ru_maxrss).
RAYON_NUM_THREADS="$THREADS" python3 - "$OUT_DIR/lethe_run.json" "$CARGO_TARGET_DIR/release/lethe" \
  eval "$SMOL_HF" --data "$data" --split forget01 --batch-size 32 --max-new-tokens 200 \
  --out "$OUT_DIR/lethe-eval" <<'PY'
import json, resource, subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[2:], check=True, stdout=subprocess.DEVNULL)
json.dump({"wall_seconds": time.perf_counter() - start,
           "max_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}, open(sys.argv[1], "w"))
PY

python3 - "$OUT_DIR/torch_eval.json" "$OUT_DIR/lethe-eval" "$OUT_DIR/lethe_run.json" <<'PY'
import json, sys
torch = json.load(open(sys.argv[1]))
log = json.load(open(f"{sys.argv[2]}/TOFU_EVAL.json"))
timing = json.load(open(f"{sys.argv[2]}/eval_timing.json"))
run = json.load(open(sys.argv[3]))
wall = run["wall_seconds"]
gen_s = sum(s["seconds"] for s in timing["stages"] if "generation" in s["stage"])
fwd_s = sum(s["seconds"] for s in timing["stages"] if "generation" not in s["stage"])
same = total = 0
for prefix, texts in torch["generations"].items():
    items = log[f"{prefix}_Q_A_ROUGE"]["value_by_index"]
    for i, text in enumerate(texts):
        total += 1
        same += items[str(i)]["generation"] == text
tokens = torch["generated_tokens"]
print(f"{'':<28}{'PyTorch':>10}{'Lethe':>10}{'ratio':>8}")
print(f"{'wall time, s (incl. load)':<28}{torch['total_seconds']:>10.1f}{wall:>10.1f}{torch['total_seconds'] / wall:>8.2f}")
print(f"{'teacher-forced passes, s':<28}{torch['forward_seconds']:>10.1f}{fwd_s:>10.1f}{torch['forward_seconds'] / fwd_s:>8.2f}")
print(f"{'generation, s':<28}{torch['generation_seconds']:>10.1f}{gen_s:>10.1f}{torch['generation_seconds'] / gen_s:>8.2f}")
print(f"{'generation, tokens/s':<28}{tokens / torch['generation_seconds']:>10.1f}{tokens / gen_s:>10.1f}{torch['generation_seconds'] / gen_s:>8.2f}")
print(f"{'peak resident memory, MiB':<28}{torch['max_rss_kib'] / 1024:>10.0f}{run['max_rss_kib'] / 1024:>10.0f}{torch['max_rss_kib'] / run['max_rss_kib']:>8.2f}")
print(f"generated tokens (PyTorch count): {tokens}; identical generations: {same}/{total}")
PY
