"""The report model, codec and signatures stay pure: no IO, no clock, no PDF library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPORT = Path(__file__).resolve().parents[2] / "server" / "report"
FORBIDDEN = {"asyncio", "aiohttp", "sqlalchemy", "time", "datetime", "random", "os", "reportlab"}


@pytest.mark.parametrize("name", ["model.py", "codec.py", "signatures.py"])
def test_model_modules_import_no_io_and_no_clock(name: str) -> None:
    tree = ast.parse((REPORT / name).read_text("utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported & FORBIDDEN == set()
