"""The engine's pool keeps its connections: a burst of readers does not open and close more."""

from __future__ import annotations

import asyncio

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.store.engine import POOL_SIZE


async def test_a_burst_of_readers_reuses_the_pools_connections(engine: AsyncEngine) -> None:
    opened = 0

    def count(_dbapi_connection: object, _record: object) -> None:
        nonlocal opened
        opened += 1

    event.listen(engine.sync_engine, "connect", count)
    busy = 0
    most = 0

    async def read() -> int:
        nonlocal busy, most
        async with engine.connect() as connection:
            busy += 1
            most = max(most, busy)
            await asyncio.sleep(0.01)  # held, as a slow catch-up page holds it
            busy -= 1
            return int((await connection.execute(text("SELECT 1"))).scalar_one())

    for _ in range(3):  # three bursts of twice the pool's size
        assert await asyncio.gather(*(read() for _ in range(2 * POOL_SIZE))) == [1] * (
            2 * POOL_SIZE
        )
    assert most == POOL_SIZE  # the rest waited for a connection
    assert opened <= POOL_SIZE  # and none was opened to be closed again
    assert engine.pool.checkedin() == POOL_SIZE  # type: ignore[attr-defined]
