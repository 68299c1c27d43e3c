"""SQLite's writer thread: a whole batch in one transaction, all or nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.events import Draft, seal
from server.store import log
from server.store.batch import BatchWrites
from server.store.engine import migrate, open_engine
from server.store.sqlite_writer import SqliteWriter, sqlite_file

SESSION = "s-writer"


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = open_engine(f"sqlite+aiosqlite:///{tmp_path / 'evalroom.db'}")
    await migrate(engine)
    first = seal(Draft("session.created", "admin", {"n": 0}), SESSION, 1, 1)
    async with engine.begin() as conn:
        await log.create_session_txn(conn, first, {})
    yield engine
    await engine.dispose()


@pytest.fixture
async def writer(sqlite_engine: AsyncEngine) -> AsyncIterator[SqliteWriter]:
    path = sqlite_file(sqlite_engine)
    assert path is not None
    writer = SqliteWriter(path)
    yield writer
    await writer.close()


def _batch(old_head: int, count: int, ack_ids: list[str]) -> BatchWrites:
    events = [
        seal(Draft("note", "sup-1", {"n": n}), SESSION, old_head + 1 + n, 2 + n)
        for n in range(count)
    ]
    acks = [
        log.ack_row(SESSION, "sup-1", cid, log.StoredAck({"ok": True}, bytes(32)))
        for cid in ack_ids
    ]
    return BatchWrites(heads=[(SESSION, old_head, old_head + count)], events=events, acks=acks)


async def _stored(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        head = await log.head_txn(conn, SESSION)
        events = (await conn.execute(text("SELECT count(*) FROM events"))).scalar_one()
        acks = (await conn.execute(text("SELECT count(*) FROM command_acks"))).scalar_one()
    return {"head": head, "events": events, "acks": acks}


async def test_a_batch_is_committed_and_readable_through_the_engine(
    writer: SqliteWriter, sqlite_engine: AsyncEngine
) -> None:
    await writer.write(_batch(1, 3, ["a", "b"]))
    assert await _stored(sqlite_engine) == {"head": 4, "events": 4, "acks": 2}
    async with sqlite_engine.connect() as conn:
        page = await log.read_after_txn(conn, SESSION, 1, 10)
    assert [e.data for e in page.events] == [{"n": 0}, {"n": 1}, {"n": 2}]


async def test_a_moved_head_refuses_the_whole_batch(
    writer: SqliteWriter, sqlite_engine: AsyncEngine
) -> None:
    await writer.write(_batch(1, 2, ["a"]))
    with pytest.raises(log.StaleHead):
        await writer.write(_batch(1, 2, ["b"]))  # decided on head 1, but the head is 3
    assert await _stored(sqlite_engine) == {"head": 3, "events": 3, "acks": 1}


async def test_a_duplicate_ack_rolls_back_every_row_of_the_batch(
    writer: SqliteWriter, sqlite_engine: AsyncEngine
) -> None:
    await writer.write(_batch(1, 1, ["a"]))
    with pytest.raises(IntegrityError):
        await writer.write(_batch(2, 2, ["b", "a"]))  # "a" was committed before: a resend
    assert await _stored(sqlite_engine) == {"head": 2, "events": 2, "acks": 1}
    await writer.write(_batch(2, 1, ["c"]))  # the connection is usable after the rollback
    assert await _stored(sqlite_engine) == {"head": 3, "events": 3, "acks": 2}


async def test_close_twice_is_harmless(sqlite_engine: AsyncEngine) -> None:
    path = sqlite_file(sqlite_engine)
    assert path is not None
    writer = SqliteWriter(path)
    await writer.write(_batch(1, 1, []))
    await writer.close()
    await writer.close()
    assert (await _stored(sqlite_engine))["head"] == 2


def test_only_file_backed_sqlite_gets_a_writer_thread(tmp_path: Path) -> None:
    assert sqlite_file(open_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")) == str(
        tmp_path / "x.db"
    )
    assert sqlite_file(open_engine("sqlite+aiosqlite://")) is None
    assert sqlite_file(open_engine("sqlite+aiosqlite:///:memory:")) is None
    assert sqlite_file(open_engine("postgresql://localhost/test")) is None


async def test_an_empty_batch_opens_no_transaction(
    writer: SqliteWriter, sqlite_engine: AsyncEngine
) -> None:
    await writer.write(BatchWrites())  # every command of a batch refused
    assert writer._conn is None  # the writer never even connected
    assert await _stored(sqlite_engine) == {"head": 1, "events": 1, "acks": 0}


async def test_stopping_lets_the_transaction_in_progress_finish_and_answer(
    tmp_path: Path, lot_json: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch already on the writer thread commits: its caller gets the ack, not silence."""
    from tests.store.harness import SESSION as HARNESS_SESSION
    from tests.store.harness import Harness

    engine = open_engine(f"sqlite+aiosqlite:///{tmp_path / 'stop.db'}")
    await migrate(engine)
    harness = Harness(engine)
    await harness.committer.start()
    seats = await harness.scoring_session(lot_json)
    slow = SqliteWriter._write

    def slow_write(self: SqliteWriter, *args: Any) -> None:
        time.sleep(0.3)  # on the writer thread: the transaction is in progress meanwhile
        slow(self, *args)

    monkeypatch.setattr(SqliteWriter, "_write", slow_write)
    score = asyncio.ensure_future(harness.score(seats[0], "during-stop"))
    await asyncio.sleep(0.1)
    await harness.committer.stop()
    ack = await asyncio.wait_for(score, 1)
    async with engine.connect() as conn:
        head = await log.head_txn(conn, HARNESS_SESSION)
    assert ack["ok"]
    assert head == ack["seq"]
    await engine.dispose()
