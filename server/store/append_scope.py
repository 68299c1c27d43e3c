"""One append transaction as the committer sees it: reads when it needs them, then one write.

Two shapes behind one interface:

- PostgreSQL (and in-memory SQLite): one ``engine.begin()`` transaction; reads lock the session
  rows (``FOR UPDATE``) and the writes go through the same connection.
- File-backed SQLite: reads, when the cache cannot answer, use a lazily opened connection of the
  async engine; the writes go to :class:`SqliteWriter` in one thread hop. The reads and the write
  are not one transaction, which is safe because the write moves each head only from the value
  the batch was decided on (optimistic check, :class:`~server.store.log.StaleHead`), and because
  what the reads return (committed events, acks, checkpoints) never changes once written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.store.batch import BatchWrites
from server.store.engine import is_sqlite
from server.store.log import lock_heads_txn
from server.store.sqlite_writer import SqliteWriter


class AppendScope:
    """Hand out the read connection on demand and write a batch once."""

    def __init__(
        self,
        engine: AsyncEngine,
        writer: SqliteWriter | None,
        stack: AsyncExitStack,
        sessions: Sequence[str],
    ) -> None:
        self._engine = engine
        self._writer = writer
        self._stack = stack
        self._sessions = sessions
        self._conn: AsyncConnection | None = None
        self._heads: dict[str, int] | None = None
        self.locks_rows = not is_sqlite(engine)  # PostgreSQL: reads lock the head rows

    async def head(self, session: str) -> int | None:
        """The stored head of a session of this transaction (None: no such session).

        The first call reads (and on PostgreSQL locks, in id order) every session the scope was
        opened for, in one statement.
        """
        if self._heads is None:
            conn = await self.conn()
            self._heads = await lock_heads_txn(conn, self._sessions, self.locks_rows)
        return self._heads.get(session)

    async def conn(self) -> AsyncConnection:
        """The connection for this transaction's reads (opened on first use)."""
        if self._conn is None:
            opener = self._engine.connect() if self._writer else self._engine.begin()
            self._conn = await self._stack.enter_async_context(opener)
        return self._conn

    async def write(self, writes: BatchWrites) -> None:
        """Write the batch: in the transaction, or on SQLite's writer thread (then committed)."""
        if self._writer is not None:
            # Give the read connection back first: it is not held through the fsync, and a
            # failure to release it cannot turn a committed batch into a refused one.
            await self._stack.aclose()
            self._conn = None
            await self._writer.write(writes)
        else:
            await writes.write_txn(await self.conn(), self.locks_rows)


@asynccontextmanager
async def append_scope(
    engine: AsyncEngine, writer: SqliteWriter | None, sessions: Sequence[str]
) -> AsyncIterator[AppendScope]:
    """An :class:`AppendScope` for a batch over ``sessions``; leaving it commits (or, on an
    exception, rolls back)."""
    async with AsyncExitStack() as stack:
        yield AppendScope(engine, writer, stack, sessions)
