#!/usr/bin/env bash
# Vendor the web app's one third-party library (uPlot, MIT) into src/digitlab/serve/static/vendor/.
# The page must work offline and load nothing from a CDN, so the minified files are committed;
# run this only to change the version:  scripts/vendor_js.sh [version]   (needs npm and the npm registry)
set -euo pipefail
VERSION="${1:-1.6.32}"
DEST="$(cd "$(dirname "$0")/.." && pwd)/src/digitlab/serve/static/vendor"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
npm pack --silent "uplot@${VERSION}" > /dev/null
tar -xzf "uplot-${VERSION}.tgz"
mkdir -p "$DEST"
cp package/dist/uPlot.iife.min.js "$DEST/uPlot.iife.min.js"
cp package/dist/uPlot.min.css "$DEST/uPlot.min.css"
cp package/LICENSE "$DEST/uPlot.LICENSE"
printf 'uplot %s (https://github.com/leeoniya/uPlot), MIT licence: see uPlot.LICENSE\nfetched with: npm pack uplot@%s\nsha256:\n' "$VERSION" "$VERSION" > "$DEST/uPlot.VERSION"
(cd "$DEST" && sha256sum uPlot.iife.min.js uPlot.min.css >> uPlot.VERSION)
echo "vendored uplot ${VERSION} into ${DEST}"
