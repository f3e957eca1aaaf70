#!/usr/bin/env bash
# Builds the leptos UI to wasm and writes it into public/pkg/ under content-hashed names, with
# public/pkg/manifest.json telling the server which names index.html should load.
#
# The wasm build uses the toolchain scripts/setup.sh chose (scripts/wasm-toolchain.sh: rustup's
# wasm32 target, or Debian's rustc-web with build-std).
set -euo pipefail
cd "$(dirname "$0")/.."

front_target="${CARGO_TARGET_DIR:-$PWD/target}/front"
wasm_opt=.tools/node_modules/.bin/wasm-opt
log() { printf '\033[1m[frontend]\033[0m %s\n' "$*" >&2; }

log "cargo build -p frontend (wasm32, profile wasm-release)"
scripts/wasm-toolchain.sh cargo build -p frontend --profile wasm-release --target-dir "$front_target"

staging=$(mktemp -d public/.pkg-XXXXXX)
trap 'rm -rf "$staging"' EXIT
wasm-bindgen --target web --no-typescript --out-name frontend --out-dir "$staging" \
  "$front_target/wasm32-unknown-unknown/wasm-release/frontend.wasm"
raw_size=$(stat -c %s "$staging/frontend_bg.wasm")
"$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$staging/frontend_bg.wasm" -o "$staging/frontend_bg.wasm"

hash() { sha256sum "$1" | cut -c1-16; }
wasm_name="frontend-$(hash "$staging/frontend_bg.wasm")_bg.wasm"
js_name="frontend-$(hash "$staging/frontend.js").js"
css_name="style-$(hash public/style.css).css"
mv "$staging/frontend_bg.wasm" "$staging/$wasm_name"
mv "$staging/frontend.js" "$staging/$js_name"
cp public/style.css "$staging/$css_name"
cat >"$staging/manifest.json" <<JSON
{"js": "/pkg/$js_name", "wasm": "/pkg/$wasm_name", "css": "/pkg/$css_name"}
JSON
chmod 755 "$staging"

rm -rf public/pkg.old
[ -d public/pkg ] && mv public/pkg public/pkg.old
mv "$staging" public/pkg
rm -rf public/pkg.old
trap - EXIT

# Precompressed copies, served as they are (ServeDir's precompressed_br/gzip): brotli at its
# highest quality takes seconds, too slow for every response but free at build time.
for file in "$wasm_name" "$js_name" "$css_name"; do
  gzip -9 -n -k -f "public/pkg/$file"
  node -e '
    const fs = require("fs"), zlib = require("zlib");
    const input = fs.readFileSync(process.argv[1]);
    fs.writeFileSync(process.argv[1] + ".br", zlib.brotliCompressSync(input, { params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: input.length } }));' "public/pkg/$file"
done

size=$(stat -c %s "public/pkg/$wasm_name")
gz=$(stat -c %s "public/pkg/$wasm_name.gz")
br=$(stat -c %s "public/pkg/$wasm_name.br")
log "public/pkg/$wasm_name: $size bytes after wasm-opt ($raw_size after wasm-bindgen), $gz gzip -9, $br brotli -q 11"
