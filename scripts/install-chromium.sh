#!/bin/sh
# Install Debian's chromium for the browser end-to-end tests (tests/e2e).
# Never runs `playwright install`: the tests drive the system /usr/bin/chromium.
set -eu
# A small CJK font so screenshots of the Chinese labels are legible (not needed by the tests).
FONT=fonts-wqy-microhei
# certutil (libnss3-tools): the HTTPS test trusts a venue CA in a fresh Chromium profile's NSS db.
NSS=libnss3-tools
if [ -x /usr/bin/chromium ] && dpkg -s "$FONT" >/dev/null 2>&1 && dpkg -s "$NSS" >/dev/null 2>&1; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi
if [ "$(id -u)" != "0" ] && [ -x /usr/bin/chromium ]; then
    echo "chromium is installed; not root, so the optional CJK font $FONT is not installed"
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "cannot install chromium: not root (run: sudo $0, or apt-get install chromium)" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "cannot install chromium: apt-get not found (not a Debian-like system)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium "$FONT" "$NSS"
/usr/bin/chromium --version || true
