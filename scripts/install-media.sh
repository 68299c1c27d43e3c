#!/bin/sh
# Install Debian's media packages for the Janus backend (signaling/janus) and its tests:
# janus (VideoRoom SFU), janus-tools (janus-pp-rec, .mjr -> .opus/.webm without re-encoding),
# coturn (TURN) and ffmpeg. Idempotent: exits 0 at once when all are installed. Debian's policy
# keeps the services from starting on install; evalroom runs janus and turnserver as children.
set -eu
PACKAGES="janus janus-tools coturn ffmpeg"
missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "media packages already installed: $PACKAGES"
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "cannot install$missing: not root (run: sudo $0, or apt-get install$missing)" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "cannot install$missing: apt-get not found (not a Debian-like system)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $missing
janus --version 2>/dev/null | head -n 1 || true
