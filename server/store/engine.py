"""Opening the database: SQLite (WAL) in the data directory by default, PostgreSQL by URL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"

# Connections kept open, and none opened beyond them: a connection opened past the pool's size
# is closed again when it is returned, and through aiosqlite every connection is a thread of its
# own. Under bursts of reads (bench/fuzz.py, a catch-up flood) the default pool (5, overflow 10)
# opened and closed 2,266 connections and threads in one fuzz run. Sixteen is one more than the
# default's most at once; a seventeenth reader waits for one (``pool_timeout``, 30 s).
POOL_SIZE = 16


def default_url(data_dir: Path) -> str:
    """The embedded default: one SQLite file in the data directory."""
    return f"sqlite+aiosqlite:///{data_dir / 'evalroom.db'}"


def private_sqlite_file(path: Path) -> None:
    """Create the SQLite file 0600 (its folder 0700) before SQLite opens it.

    SQLite creates a database 0644 and gives its ``-wal`` and ``-shm`` files the database
    file's mode, so one exclusive create here makes all three private. A file made by an older
    version is tightened to 0600 (with its ``-wal`` and ``-shm``).
    """
    if str(path) in ("", ":memory:"):
        return
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.chmod(0o700)  # mkdir's mode goes through the umask
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        for existing in (
            path,
            path.with_name(path.name + "-wal"),
            path.with_name(path.name + "-shm"),
        ):
            if existing.exists():
                existing.chmod(0o600)
    else:
        path.chmod(0o600)  # os.open's mode goes through the umask too


def sqlite_pragmas(dbapi_connection: Any, _record: Any = None) -> None:
    """Set WAL, full fsync and a busy timeout on a new SQLite connection (every connection)."""
    # WAL lets readers run beside the single writer; synchronous=FULL makes every commit
    # durable across power loss, and group commit keeps that affordable.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def is_memory_sqlite(url: URL) -> bool:
    """Whether ``url`` is an in-memory SQLite database (no file)."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def is_sqlite(engine: AsyncEngine) -> bool:
    """Whether the engine is the embedded SQLite default."""
    return engine.dialect.name == "sqlite"


def _set_role(role: str) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f'SET ROLE "{role}"')
        cursor.close()

    return on_connect


def open_engine(url: str, role: str | None = None) -> AsyncEngine:
    """Create the async engine; SQLite connections get WAL and full fsync.

    ``role`` (PostgreSQL only): every connection switches to that role, e.g. ``evalroom_writer``,
    which may INSERT into the log but not UPDATE or DELETE it (migration 0003).
    """
    if role is not None and not role.replace("_", "").isalnum():
        raise ValueError(f"database role {role!r} must be letters, digits and '_'")
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite+aiosqlite:///"):
        private_sqlite_file(Path(url.removeprefix("sqlite+aiosqlite:///")))
    # An in-memory SQLite database is one connection (SQLAlchemy's StaticPool): nothing to size.
    in_memory = is_memory_sqlite(make_url(url))
    sizing: dict[str, Any] = {} if in_memory else {"pool_size": POOL_SIZE, "max_overflow": 0}
    engine = create_async_engine(url, pool_pre_ping=False, **sizing)
    if is_sqlite(engine):
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
    elif role is not None:
        event.listen(engine.sync_engine, "connect", _set_role(role))
    return engine


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest Alembic revision."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
