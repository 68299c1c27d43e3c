"""SQLite's writer: one connection on one thread that writes a whole batch in one hop.

Why: through aiosqlite every statement is a round trip to its thread, and each return waits for
a turn of the busy event loop. A batch is five or six statements, so under load a transaction
took several loop turns and every command behind it waited for them. Here the committer hands
the gathered rows over once; the thread runs ``BEGIN IMMEDIATE``, the head check, one
``executemany`` per kind of row and ``COMMIT`` (``synchronous=FULL``: durable on return), and the
loop is woken once. Reads stay on the async engine; WAL lets them run beside this writer, and
SQLite's own lock (with a busy timeout) orders this connection against any other writer.

The SQL text is made from the SQLAlchemy tables, so the schema has one definition.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.store.batch import BatchWrites
from server.store.engine import is_memory_sqlite, is_sqlite, sqlite_pragmas
from server.store.log import StaleHead
from server.store.tables import sessions

MOVE_HEAD = f"UPDATE {sessions.name} SET head_seq = :new WHERE id = :sid AND head_seq = :old"  # noqa: S608


@functools.cache
def _insert_sql(table: Table) -> str:
    names = [column.name for column in table.columns]
    return (
        f"INSERT INTO {table.name} ({', '.join(names)}) "  # noqa: S608 (names from our schema)
        f"VALUES ({', '.join(':' + n for n in names)})"
    )


def sqlite_file(engine: AsyncEngine) -> str | None:
    """The database file of a file-backed SQLite engine (None: PostgreSQL or in-memory)."""
    if not is_sqlite(engine) or is_memory_sqlite(engine.url):
        return None
    database = engine.url.database
    if database is None or database.startswith("file:"):
        return None
    return database


class SqliteWriter:
    """Writes a :class:`BatchWrites` in one transaction on its own thread and connection."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._conn: sqlite3.Connection | None = None  # opened on, and used only by, the thread
        self._closed = False

    async def write(self, writes: BatchWrites) -> None:
        """Commit every row of ``writes``; raise :class:`StaleHead` or ``IntegrityError``."""
        if self._closed:
            raise RuntimeError("the SQLite writer is closed")
        rows = writes.rows()  # built here, on the loop: the projection may change after return
        heads = writes.head_moves()
        if not heads and not rows:
            return  # every command refused, or no checkpoint due: no transaction, no fsync
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._write, heads, rows)

    async def close(self) -> None:
        """Close the connection and stop the thread (a second call does nothing)."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            # isolation_level=None: this code issues BEGIN and COMMIT itself.
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=True)
            sqlite_pragmas(conn)  # the same settings as the async engine's connections
            self._conn = conn
        return self._conn

    def _write(self, heads: list[dict[str, Any]], rows: list[tuple[Table, list[Any]]]) -> None:
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")  # busy: raises here, with no transaction open
        try:
            if conn.executemany(MOVE_HEAD, heads).rowcount != len(heads):
                raise StaleHead(", ".join(head["sid"] for head in heads))
            for table, values in rows:
                conn.executemany(_insert_sql(table), values)
            conn.execute("COMMIT")
        except sqlite3.IntegrityError as error:
            self._roll_back(conn)
            raise IntegrityError("batch insert", None, error) from error
        except BaseException:
            self._roll_back(conn)
            raise

    def _roll_back(self, conn: sqlite3.Connection) -> None:
        """Roll back; a connection that cannot is dropped (the next write opens a new one)."""
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            conn.close()  # closing discards the open transaction
            self._conn = None
