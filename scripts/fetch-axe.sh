#!/bin/sh
# Fetch the pinned axe-core release (accessibility rules engine, MPL-2.0) from the npm registry,
# check the tarball's SHA-256 and extract axe.min.js and its licences into tests/e2e/vendor/axe/.
# axe is a test tool (tests/e2e/test_accessibility.py injects it into each page): it is never
# served to users, so it stays out of client_web/. The extracted files are committed; run this
# only to check them or to move to another version (change VERSION and SHA256 together).
set -eu
VERSION="4.14.1"
SHA256="e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745"
URL="https://registry.npmjs.org/axe-core/-/axe-core-${VERSION}.tgz"
DEST="$(cd "$(dirname "$0")/.." && pwd)/tests/e2e/vendor/axe"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
curl -fsSL --retry 3 -o "$tmp/axe.tgz" "$URL"
echo "$SHA256  $tmp/axe.tgz" | sha256sum -c --quiet - || {
    echo "axe-core-${VERSION}.tgz: SHA-256 differs from the pinned value, not extracted" >&2
    exit 1
}
tar -xzf "$tmp/axe.tgz" -C "$tmp" package/axe.min.js package/LICENSE package/LICENSE-3RD-PARTY.txt
mkdir -p "$DEST"
cp "$tmp/package/axe.min.js" "$DEST/axe.min.js"
cp "$tmp/package/LICENSE" "$DEST/LICENSE"
cp "$tmp/package/LICENSE-3RD-PARTY.txt" "$DEST/LICENSE-3RD-PARTY.txt"
echo "axe-core ${VERSION} -> $DEST"
