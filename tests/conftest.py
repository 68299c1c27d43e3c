"""Shared fixtures: the sample lot and a real PostgreSQL database when one is reachable."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO_LOT = REPO / "server" / "app" / "demo-lot.json"
PG_ADMIN_DSN = os.environ.get("EVALROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def lot_json() -> dict[str, Any]:
    """The sample lot (7 experts, 5 bidders)."""
    data: dict[str, Any] = json.loads(DEMO_LOT.read_text("utf-8"))
    return data


def _run_pg(dsn: str, statement: str) -> None:
    # A sync fixture cannot await; run the admin statement on a private loop in a thread so it
    # never collides with the test's own event loop.
    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, go()).result()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards.

    Without a server: fails under CI=true, skips elsewhere with how to start one.
    """
    try:
        _run_pg(PG_ADMIN_DSN, "SELECT 1")
    except Exception as exc:  # asyncpg raises its own errors for refused, auth and db
        message = (
            f"PostgreSQL not reachable at {PG_ADMIN_DSN} ({exc!r}); start one with "
            "`pg_ctlcluster 15 main start` or set EVALROOM_TEST_PG"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    name = f"evalroom_t_{secrets.token_hex(4)}"
    _run_pg(PG_ADMIN_DSN, f'CREATE DATABASE "{name}"')
    try:
        base = PG_ADMIN_DSN.rsplit("/", 1)[0]
        yield f"postgresql+asyncpg://{base.removeprefix('postgresql://')}/{name}"
    finally:
        _run_pg(PG_ADMIN_DSN, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
