"""The CJK font, and the sample report rendered once per module."""

from __future__ import annotations

import os

import pytest

from server.report.fonts import CjkFont, FontMissingError, find_cjk_font


@pytest.fixture(scope="session")
def cjk_font() -> CjkFont:
    """The report font; missing, the PDF tests skip locally and fail in CI."""
    try:
        return find_cjk_font()
    except FontMissingError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
