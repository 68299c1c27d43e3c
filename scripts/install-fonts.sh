#!/bin/sh
# Install the CJK TrueType font the evaluation report (server/report) embeds: Debian's
# fonts-wqy-microhei (WenQuanYi Micro Hei, Apache-2.0 or GPL-3.0 with the font exception).
# reportlab embeds TrueType outlines only, so the CFF-based Noto CJK .otf files will not do.
set -eu
FONT=fonts-wqy-microhei
FILE=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
if [ -f "$FILE" ]; then
    echo "CJK report font present: $FILE"
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "cannot install the report font: not root (run: sudo $0, or apt-get install $FONT)" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "cannot install the report font: apt-get not found; install WenQuanYi Micro Hei" \
        "($FILE) with your system's package manager" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "$FONT"
test -f "$FILE"
echo "CJK report font installed: $FILE"
