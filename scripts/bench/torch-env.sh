# Sourced by the side-by-side benchmarks: installs torch + transformers into .venv-bench/ on first
# use (about 3 GB: PyPI's default torch wheel), fetches the SmolLM2 GGUF and converts it to a HF
# directory for the PyTorch side. Sets VENV, OUT_DIR and SMOL_HF.
VENV=.venv-bench
OUT_DIR="${LETHE_DATA_DIR:-lethe-data}/bench"
mkdir -p "$OUT_DIR"
if ! "$VENV/bin/python" -c "import torch, transformers, gguf, accelerate" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet torch transformers safetensors gguf accelerate
fi
scripts/fetch-smollm2.sh
SMOL_GGUF="${LETHE_DATA_DIR:-lethe-data}/models/SmolLM2-135M-Instruct.Q4_1.gguf"
SMOL_HF="$OUT_DIR/smollm2-135m-hf"
[ -f "$SMOL_HF/model.safetensors" ] || "$VENV/bin/python" scripts/bench/gguf_to_hf.py "$SMOL_GGUF" "$SMOL_HF"
