"""The fuzz tests' server: the real in-process server of tests/app."""

from __future__ import annotations

from tests.app.conftest import server

__all__ = ["server"]
