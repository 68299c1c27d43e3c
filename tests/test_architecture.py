"""Architecture invariants from ARCHITECTURE.md, checked on every run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IO_MODULES = {
    "asyncio",
    "aiohttp",
    "socketio",
    "engineio",
    "sqlalchemy",
    "redis",
    "alembic",
    "aiosqlite",
    "asyncpg",
    "socket",
    "time",
    "datetime",
    "random",
    "secrets",
    "os",
}
PURE = ["server/domain", "server/auditlog"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("folder", PURE)
def test_pure_core_does_no_io_and_reads_no_clock(folder: str) -> None:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files
    offenders = {str(f.relative_to(ROOT)): _imports(f) & IO_MODULES for f in files}
    assert {f: bad for f, bad in offenders.items() if bad} == {}


def test_only_store_talks_sql() -> None:
    for path in sorted((ROOT / "server").rglob("*.py")):
        if "server/store" in str(path) or path.name == "committer.py":
            continue  # the committer holds the transaction the store's *_txn functions run in
        # The service layers only open transactions (engine.connect/begin) for the store's calls.
        allowed = {
            "service.py",
            "reading.py",  # server/app/handlers: the engine the handlers read through
            "audit_service.py",
            "witness.py",
            "archive_export.py",
            "sealer.py",  # lists the unsealed sessions at start
        }
        assert "sqlalchemy" not in _imports(path) or path.name in allowed, path
