#!/usr/bin/env bash
# Vendor Swagger UI (swagger-ui-dist, Apache-2.0) for the API page at /docs, so it renders offline like the app.
# Run only to change the version:  scripts/vendor_swagger.sh [version]   (needs npm and the npm registry)
set -euo pipefail
VERSION="${1:-5.35.0}"
DEST="$(cd "$(dirname "$0")/.." && pwd)/src/digitlab/serve/static/vendor/swagger"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
npm pack --silent "swagger-ui-dist@${VERSION}" > /dev/null
tar -xzf "swagger-ui-dist-${VERSION}.tgz"
mkdir -p "$DEST"
cp package/swagger-ui-bundle.js package/swagger-ui.css "$DEST/"
cp package/LICENSE "$DEST/LICENSE"
printf 'swagger-ui-dist %s (https://github.com/swagger-api/swagger-ui), Apache-2.0: see LICENSE\nfetched with: npm pack swagger-ui-dist@%s\nsha256:\n' "$VERSION" "$VERSION" > "$DEST/VERSION"
(cd "$DEST" && sha256sum swagger-ui-bundle.js swagger-ui.css >> VERSION)
echo "vendored swagger-ui-dist ${VERSION} into ${DEST}"
