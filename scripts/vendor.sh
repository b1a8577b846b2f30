#!/usr/bin/env bash
# Vendor the web app's third-party front-end files into src/digitlab/serve/static/vendor/, with their licences.
# The pages must work offline and load nothing from a CDN, so the files are committed; run this only to change a
# version:  scripts/vendor.sh uplot|swagger|ort [version]   (needs npm and the npm registry)
#   uplot:   uPlot (MIT), the charts of the Runs area
#   swagger: swagger-ui-dist (Apache-2.0), the API page at /docs
#   ort:     onnxruntime-web (MIT), recognition on the device: the WebAssembly build only (no WebGL/WebGPU), single file
#            ES module + its Emscripten loader + the SIMD wasm binary, fetched by the page only when it recognises
set -euo pipefail
WHAT="${1:?usage: scripts/vendor.sh uplot|swagger|ort [version]}"
VENDOR="$(cd "$(dirname "$0")/.." && pwd)/src/digitlab/serve/static/vendor"
case "$WHAT" in
  uplot)   PKG=uplot; VERSION="${2:-1.6.32}"; DEST="$VENDOR"; PREFIX=uPlot.; URL=https://github.com/leeoniya/uPlot; LICENCE=MIT
           FILES=(dist/uPlot.iife.min.js dist/uPlot.min.css) ;;
  swagger) PKG=swagger-ui-dist; VERSION="${2:-5.35.0}"; DEST="$VENDOR/swagger"; PREFIX=; URL=https://github.com/swagger-api/swagger-ui
           LICENCE=Apache-2.0; FILES=(swagger-ui-bundle.js swagger-ui.css) ;;
  ort)     PKG=onnxruntime-web; VERSION="${2:-1.31.1}"; DEST="$VENDOR/ort"; PREFIX=; URL=https://github.com/microsoft/onnxruntime
           LICENCE=MIT; FILES=(dist/ort.wasm.min.mjs dist/ort-wasm-simd-threaded.mjs dist/ort-wasm-simd-threaded.wasm) ;;
  *) echo "unknown package '$WHAT': use uplot, swagger or ort" >&2; exit 2 ;;
esac
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack --silent "${PKG}@${VERSION}" > /dev/null && tar -xzf "${PKG}-${VERSION}.tgz")
mkdir -p "$DEST"
NAMES=()
for f in "${FILES[@]}"; do cp "$TMP/package/$f" "$DEST/"; NAMES+=("$(basename "$f")"); done
if [ -f "$TMP/package/LICENSE" ]; then cp "$TMP/package/LICENSE" "$DEST/${PREFIX}LICENSE"
else  # onnxruntime-web's package names its licence (MIT) in package.json but ships no LICENSE file: the project's text
  printf 'MIT License\n\nCopyright (c) Microsoft Corporation\n\n%s\n' "$(cat "$(dirname "$0")/mit-permission.txt")" > "$DEST/${PREFIX}LICENSE"
fi
printf '%s %s (%s), %s: see %sLICENSE\nfetched with: npm pack %s@%s\nsha256:\n' \
  "$PKG" "$VERSION" "$URL" "$LICENCE" "$PREFIX" "$PKG" "$VERSION" > "$DEST/${PREFIX}VERSION"
(cd "$DEST" && sha256sum "${NAMES[@]}" >> "${PREFIX}VERSION")
echo "vendored ${PKG} ${VERSION} into ${DEST}"
