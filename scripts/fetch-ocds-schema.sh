#!/bin/sh
# Fetch the published OCDS 1.1.4 release schema (Open Contracting Data Standard, Apache-2.0) for
# tests/report/test_ocds.py. No package carries the standard's schema files as data; the sdist
# of ocdsmerge 0.5.11 on PyPI ships them as test fixtures, byte for byte as published at
# https://standard.open-contracting.org/schema/1__1__4/release-schema.json. The sdist's SHA-256
# is pinned; the one file is extracted into .venv/ocds/ (not committed). `make test` runs this.
set -eu
VERSION="0.5.11"
SHA256="8cb5211dd644fe545a468334235dd0b52a74d3e5bb283e126855ee5e82993bae"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/.venv/ocds"
FILE="release-schema-1__1__4.json"
[ -s "$DEST/$FILE" ] && exit 0

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$ROOT/.venv/bin/python" -m pip download -q --no-deps --no-binary :all: --no-build-isolation \
    "ocdsmerge==${VERSION}" -d "$tmp" >/dev/null 2>&1 ||
    "$ROOT/.venv/bin/python" -m pip download -q --no-deps --no-binary :all: "ocdsmerge==${VERSION}" -d "$tmp"
echo "$SHA256  $tmp/ocdsmerge-${VERSION}.tar.gz" | sha256sum -c --quiet - || {
    echo "ocdsmerge-${VERSION}.tar.gz: SHA-256 differs from the pinned value, not extracted" >&2
    exit 1
}
mkdir -p "$DEST"
tar -xzf "$tmp/ocdsmerge-${VERSION}.tar.gz" -O "ocdsmerge-${VERSION}/tests/fixtures/$FILE" > "$DEST/$FILE.part"
mv "$DEST/$FILE.part" "$DEST/$FILE"
echo "OCDS $FILE -> $DEST"
