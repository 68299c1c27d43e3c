"""The event store and group committer on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.app.committer import Committer
from server.domain.commands import AdvancePhase, CreateSession
from server.domain.errors import Code, CommandError
from server.domain.folding import fold
from server.domain.roles import Principal, Role
from server.domain.snapshot import state_to_json
from server.store import log
from tests.helpers import signed
from tests.store.harness import SESSION, Harness


async def test_schema_matches_tables(engine: AsyncEngine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from server.store.tables import metadata

    def diff(connection: Any) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_concurrent_commands_are_gap_free_and_group_committed(
    harness: Harness, engine: AsyncEngine, lot_json: dict[str, Any]
) -> None:
    seats = await harness.scoring_session(lot_json)
    before = harness.committer.batches
    acks = await asyncio.gather(
        *(harness.score(seat, f"c{n}") for seat in seats for n in range(30))
    )
    seqs = sorted(a["seq"] for a in acks)
    assert seqs == list(range(seqs[0], seqs[0] + len(acks)))
    # 210 commands queued together must not take 210 transactions
    assert harness.committer.batches - before < len(acks) / 4
    async with engine.connect() as conn:
        page = await log.read_after_txn(conn, SESSION, 0, 10_000)
    assert [e.seq for e in page.events] == list(range(1, page.head + 1))
    assert not page.limited
    by_seq = {e.seq: e for e in page.events}
    for ack in acks:
        assert by_seq[ack["seq"]].hash.hex() == ack["hash"]


async def test_resent_command_returns_original_ack(harness: Harness, lot_json: Any) -> None:
    seats = await harness.scoring_session(lot_json)
    first = await harness.score(seats[0], "same-id", "7.5")
    again = await harness.score(seats[0], "same-id", "7.5")
    both = await asyncio.gather(
        harness.score(seats[1], "x", "6"), harness.score(seats[1], "x", "6")
    )
    assert again == first
    assert both[0] == both[1]
    state = await harness.committer.current_state(SESSION)
    assert state is not None
    assert state.seq == both[0]["seq"]


async def test_refused_command_stores_nothing(harness: Harness, lot_json: Any) -> None:
    seats = await harness.scoring_session(lot_json)
    state = await harness.committer.current_state(SESSION)
    assert state is not None
    head = state.seq
    with pytest.raises(CommandError) as info:
        await harness.score(seats[0], "bad", "11")
    assert info.value.code == "out_of_range"
    state = await harness.committer.current_state(SESSION)
    assert state is not None
    assert state.seq == head


async def test_snapshot_load_equals_fold_from_zero(
    harness: Harness, engine: AsyncEngine, lot_json: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log, "SNAPSHOT_EVERY", 25)
    seats = await harness.scoring_session(lot_json)
    for n in range(60):
        await harness.score(seats[n % len(seats)], f"s{n}", str(n % 10))
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM snapshots"))).scalar_one()
        loaded = await log.load_state_txn(conn, SESSION)
        page = await log.read_after_txn(conn, SESSION, 0, 10_000)
    assert count >= 2
    assert loaded is not None
    assert state_to_json(loaded) == state_to_json(fold(page.events))


async def test_read_after_pages(harness: Harness, engine: AsyncEngine, lot_json: Any) -> None:
    await harness.scoring_session(lot_json)
    async with engine.connect() as conn:
        page = await log.read_after_txn(conn, SESSION, 3, 5)
    assert [e.seq for e in page.events] == [4, 5, 6, 7, 8]
    assert page.limited
    assert page.head == 8


async def test_events_survive_a_new_committer(
    harness: Harness, engine: AsyncEngine, lot_json: Any
) -> None:
    seats = await harness.scoring_session(lot_json)
    ack = await harness.score(seats[0], "durable")
    other = Committer(engine, lambda: 1, harness._on_commit)  # a second node, or a restart
    await other.start()
    try:
        state = await other.current_state(SESSION)
        assert state is not None
        assert state.seq == ack["seq"]
        again = await other.submit(
            Principal(Role.EXPERT, SESSION, seats[0]),
            "durable",
            signed(
                harness.keys[seats[0]],
                SESSION,
                seats[0],
                "score.set",
                "durable",
                bidder="B1",
                criterion="T1",
                value="7.5",
            ),
        )
        assert again == ack
        # interleaved appends from two writers stay gap-free
        acks = []
        for n in range(10):
            acks.append(await harness.score(seats[1], f"a{n}"))
            acks.append(
                await other.submit(
                    Principal(Role.EXPERT, SESSION, seats[2]),
                    f"b{n}",
                    signed(
                        harness.keys[seats[2]],
                        SESSION,
                        seats[2],
                        "score.set",
                        f"b{n}",
                        bidder="B2",
                        criterion="T2",
                        value="3",
                    ),
                )
            )
        assert [a["seq"] for a in acks] == list(range(ack["seq"] + 1, ack["seq"] + 21))
    finally:
        await other.stop()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET type = 'x' WHERE seq = 1",
        "DELETE FROM events WHERE seq = 1",
        "DELETE FROM events",
    ],
)
async def test_events_are_append_only(
    harness: Harness, engine: AsyncEngine, lot_json: Any, statement: str
) -> None:
    await harness.scoring_session(lot_json)
    with pytest.raises(Exception, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text(statement))
    async with engine.connect() as conn:
        page = await log.read_after_txn(conn, SESSION, 0, 100)
    assert page.events[0].type == "session.created"
    assert len(page.events) == page.head


async def test_resent_refusable_command_still_gets_its_ack(harness: Harness, lot_json: Any) -> None:
    """A second sign-in would be refused; resent with its id it returns the original ack."""
    seats = await harness.scoring_session(lot_json)
    pledge = "evalroom-pledge-v1"  # the same content as the first sign-in (other: id_reused)
    cmd = signed(harness.keys[seats[0]], SESSION, seats[0], "expert.sign_in", "si", pledge=pledge)
    again = await harness.committer.submit(Principal(Role.EXPERT, SESSION, seats[0]), "si", cmd)
    state = await harness.committer.current_state(SESSION)
    assert state is not None
    assert again["seq"] < state.seq  # the stored ack of the sign-in, nothing new appended


async def test_two_writers_alternating_stay_gap_free(
    harness: Harness, engine: AsyncEngine, lot_json: Any
) -> None:
    """A second writer on the same database: each notices the other moved the head."""
    seats = await harness.scoring_session(lot_json)
    other = Committer(engine, lambda: 1, harness._on_commit)
    await other.start()
    try:
        acks = []
        for n in range(6):
            writer = harness.committer if n % 2 == 0 else other
            command = signed(
                harness.keys[seats[0]],
                SESSION,
                seats[0],
                "score.set",
                f"w{n}",
                bidder="B1",
                criterion="C1",
                value=str(n % 3),
            )
            acks.append(
                await writer.submit(Principal(Role.EXPERT, SESSION, seats[0]), f"w{n}", command)
            )
        seqs = [a["seq"] for a in acks]
        assert seqs == list(range(seqs[0], seqs[0] + 6))
        if engine.dialect.name == "sqlite":  # the fast path trusted a stale cache and retried
            assert harness.committer.retries + other.retries >= 4
        for writer in (harness.committer, other):
            state = await writer.current_state(SESSION)
            assert state is not None
            assert state.seq == seqs[-1]
    finally:
        await other.stop()


@pytest.mark.postgres
async def test_two_nodes_locking_the_same_sessions_in_opposite_order_never_deadlock(
    pg_url: str, lot_json: Any
) -> None:
    """Each node's batch holds both sessions, arriving in opposite orders on the two nodes.

    Locking heads in arrival order let node 1 hold A and wait for B while node 2 held B and
    waited for A: PostgreSQL aborted one as a deadlock and its commands failed with ``internal``.
    The heads of a batch are locked in one statement, in id order, so that cannot happen.
    """
    from server.store.engine import migrate, open_engine

    engine = open_engine(pg_url)
    await migrate(engine)
    nodes = [Committer(engine, lambda: 1, _ignore) for _ in range(2)]
    for node in nodes:
        await node.start()
    try:
        for sid in ("s-a", "s-b"):
            await nodes[0].create_session(
                Principal(Role.ADMIN, sid, "admin"), CreateSession(lot_json), {}
            )
        answers: list[Any] = []
        for n in range(25):
            # Refused at once (wrong phase), but only after the heads were locked and read.
            submits = [
                node.submit(
                    Principal(Role.SUPERVISOR, sid, "sup-1"), f"c{n}", AdvancePhase("review")
                )
                for node, order in zip(nodes, (("s-a", "s-b"), ("s-b", "s-a")), strict=True)
                for sid in order
            ]
            answers += await asyncio.gather(*submits, return_exceptions=True)
        codes = {a.code for a in answers if isinstance(a, CommandError)}
        assert len(answers) == 100
        assert all(isinstance(a, CommandError) for a in answers)
        assert Code.INTERNAL not in codes
        assert codes == {Code.WRONG_PHASE}
    finally:
        for node in nodes:
            await node.stop()
        await engine.dispose()


async def _ignore(*_args: Any) -> None:
    return None


async def test_readers_move_their_state_on_by_the_events_since_not_a_reload(
    harness: Harness, engine: AsyncEngine, lot_json: dict[str, Any], monkeypatch: Any
) -> None:
    """While the writer's projection is ahead (a batch in flight) readers fold the few events
    since their own copy; two readers doing it at once apply none twice."""
    seats = await harness.scoring_session(lot_json)
    committer = harness.committer
    state = await committer.current_state(SESSION)
    assert state is not None
    committer._cache.clear()  # the writer holds nothing: readers are on their own
    committer._read[SESSION] = state
    await asyncio.gather(*(harness.score(seat, f"r{n}") for seat in seats for n in range(3)))
    committer._cache.clear()
    loads = 0
    real_load = log.load_state_txn

    async def counted_load(conn: Any, session: str) -> Any:
        nonlocal loads
        loads += 1
        return await real_load(conn, session)

    folded: list[int] = []
    real_fold = log.fold

    def recorded_fold(events: Any, into: Any = None) -> Any:
        events = list(events)
        folded.extend(e.seq for e in events)
        return real_fold(events, into)

    both_reading = asyncio.Event()
    readers = 0
    real_read = log.read_after_txn

    async def read_together(conn: Any, session: str, after: int, limit: int) -> Any:
        """Both readers read their page before either folds (where the pool lets them)."""
        nonlocal readers
        readers += 1
        if readers == 2:
            both_reading.set()
        page = await real_read(conn, session, after, limit)
        with contextlib.suppress(TimeoutError):  # SQLite's pool may hand out one connection
            await asyncio.wait_for(both_reading.wait(), 0.5)
        return page

    monkeypatch.setattr(log, "load_state_txn", counted_load)
    monkeypatch.setattr(log, "fold", recorded_fold)
    monkeypatch.setattr(log, "read_after_txn", read_together)
    first, second = await asyncio.gather(
        committer.current_state(SESSION), committer.current_state(SESSION)
    )
    assert loads == 0  # moved on, not reloaded
    assert first is second is state
    assert sorted(folded) == sorted(set(folded))
    assert len(folded) == 3 * len(seats)
    async with engine.connect() as conn:
        page = await log.read_after_txn(conn, SESSION, 0, 10_000)
    assert state.seq == page.head
    assert state_to_json(state) == state_to_json(fold(page.events))  # nothing applied twice
