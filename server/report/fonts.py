"""Locating the CJK TrueType font the report embeds.

reportlab embeds TrueType outlines only (not CFF-based OpenType such as the Noto CJK ``.otf``).
The font is WenQuanYi Micro Hei (文泉驿微米黑, Apache-2.0 or GPL-3.0 with the font exception),
from Debian's ``fonts-wqy-microhei`` (``scripts/install-fonts.sh`` installs it), or from the
PyPI wheel ``paperang-p2-fonts-cjk`` when that is installed: it ships the very same file, which
is accepted only when its SHA-256 matches Debian's, so either source yields identical PDFs.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

WQY_MICROHEI_SHA256 = "2420e8078af796b19a3f6ef13de527a1a91c1e7171eea115926c614ced1009b3"
DEBIAN_PATHS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"),  # Fedora's layout
)
_WHEEL_PACKAGE = "paperang_p2_fonts_cjk"
INSTALL_HINT = (
    "no CJK TrueType font for the evaluation report: run scripts/install-fonts.sh "
    "(as root: apt-get install fonts-wqy-microhei) or pass a .ttf/.ttc path"
)


class FontMissingError(RuntimeError):
    """No usable CJK font was found; the message names the install script."""


@dataclass(frozen=True)
class CjkFont:
    """A TrueType font file (``subfont`` is the index inside a ``.ttc`` collection)."""

    path: Path
    subfont: int
    sha256: str


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _wheel_font() -> Path | None:
    # find_spec locates the top-level package without executing its __init__.
    spec = importlib.util.find_spec(_WHEEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "fonts" / "wqy-microhei.ttc"
        if path.is_file() and _sha256(path) == WQY_MICROHEI_SHA256:
            return path
    return None


def find_cjk_font(preferred: Sequence[Path] = ()) -> CjkFont:
    """The first usable font: ``preferred`` paths, then Debian's, then the PyPI wheel's.

    Raises :class:`FontMissingError` naming ``scripts/install-fonts.sh`` when none exists.
    """
    for path in (*preferred, *DEBIAN_PATHS):
        if path.is_file():
            return CjkFont(path, 0, _sha256(path))
    wheel = _wheel_font()
    if wheel is not None:
        return CjkFont(wheel, 0, WQY_MICROHEI_SHA256)
    raise FontMissingError(INSTALL_HINT)
