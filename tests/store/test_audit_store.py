"""The Merkle tree and checkpoints kept in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.app import writer_cache
from server.app.notary import Notary
from server.auditlog.merkle import (
    consistency_proof,
    inclusion_proof,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)
from server.auditlog.note import parse_checkpoint, parse_verifier_key, verify_note
from server.store import audit, log
from server.store.engine import migrate, open_engine
from tests.store.harness import SESSION, Harness

NOTARY = Notary("host.test", Ed25519PrivateKey.generate())


async def _leaves(engine: AsyncEngine) -> list[bytes]:
    async with engine.connect() as conn:
        page = await log.read_after_txn(conn, SESSION, 0, 100_000)
    return [e.hash for e in page.events]


@pytest.fixture
async def notarized(engine: AsyncEngine) -> Any:
    h = Harness(engine, NOTARY.sign_checkpoint)
    await h.committer.start()
    yield h
    await h.committer.stop()


async def test_stored_tree_answers_roots_and_proofs(
    notarized: Harness, engine: AsyncEngine, lot_json: Any
) -> None:
    seats = await notarized.scoring_session(lot_json)
    for n in range(70):  # several batches, so subtrees are completed across transactions
        await asyncio.gather(*(notarized.score(s, f"c{n}-{s}", str(n % 10)) for s in seats[:3]))
    leaves = await _leaves(engine)
    size = len(leaves)
    async with engine.connect() as conn:
        for cut in (1, 2, 3, 7, 8, 100, size - 1, size):
            tree = await audit.load_tree_txn(conn, SESSION, cut)
            assert tree.root() == root_from_leaves(leaves[:cut])
        for index, cut in ((0, 1), (0, size), (5, 6), (99, 128), (size - 1, size), (37, 200)):
            proof = await audit.inclusion_proof_txn(conn, SESSION, index, cut)
            assert proof == inclusion_proof(leaves, index, cut)
            verify_inclusion(leaves[index], index, cut, proof, root_from_leaves(leaves[:cut]))
        for first, second in ((1, size), (7, 8), (64, 200), (100, size), (size, size)):
            proof = await audit.consistency_proof_txn(conn, SESSION, first, second)
            assert proof == consistency_proof(leaves, first, second)
            verify_consistency(
                first,
                second,
                proof,
                root_from_leaves(leaves[:first]),
                root_from_leaves(leaves[:second]),
            )


async def test_checkpoints_every_hundred_events(
    notarized: Harness, engine: AsyncEngine, lot_json: Any
) -> None:
    seats = await notarized.scoring_session(lot_json)
    for n in range(8):  # batches of 70 commands: checkpoints fall inside batches
        await asyncio.gather(
            *(notarized.score(s, f"c{n}-{k}-{s}", str(k % 10)) for s in seats for k in range(10))
        )
    leaves = await _leaves(engine)
    async with engine.connect() as conn:
        stored = await audit.checkpoints_txn(conn, SESSION)
    sizes = [c.size for c in stored]
    assert sizes[0] == 1  # signed at creation
    assert len(leaves) - sizes[-1] < writer_cache.CHECKPOINT_EVERY  # (close: tests/app)
    # The test clock advances 1 ms per call, so only the 100-event rule fires here, mid-batch too.
    gaps = [b - a for a, b in itertools.pairwise(sizes)]
    assert max(gaps) <= writer_cache.CHECKPOINT_EVERY
    verifier = parse_verifier_key(NOTARY.verifier_key)
    for checkpoint in stored:
        parsed = parse_checkpoint(verify_note(checkpoint.note, verifier))
        assert parsed.origin == f"host.test/{SESSION}"
        assert parsed.size == checkpoint.size
        assert parsed.root == checkpoint.root == root_from_leaves(leaves[: checkpoint.size])
    await notarized.committer.flush()  # the fan-out runs beside the writer
    assert [c.size for c in notarized.checkpoints] == sizes


async def test_quiet_session_gets_a_checkpoint_within_a_second(
    engine: AsyncEngine, lot_json: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_cache, "CHECKPOINT_MS", 50)
    h = Harness(engine, NOTARY.sign_checkpoint)
    h.clock = itertools.count(1_700_000_000_000, 40)  # 40 ms per tick of the test clock
    await h.committer.start()
    try:
        seats = await h.scoring_session(lot_json)
        ack = await h.score(seats[0], "last")
        for _ in range(100):  # the idle tick runs every CHECKPOINT_MS
            if h.checkpoints and h.checkpoints[-1].size == ack["seq"]:
                break
            await asyncio.sleep(0.05)
        assert h.checkpoints[-1].size == ack["seq"]
    finally:
        await h.committer.stop()


async def test_tree_continues_after_a_restart(
    notarized: Harness, engine: AsyncEngine, lot_json: Any
) -> None:
    seats = await notarized.scoring_session(lot_json)
    await notarized.score(seats[0], "before")
    await notarized.committer.stop()
    again = Harness(engine, NOTARY.sign_checkpoint)
    again.keys = notarized.keys
    await again.committer.start()
    try:
        for n in range(9):
            await again.score(seats[n % 3], f"after-{n}", "6")
    finally:
        await again.committer.stop()
    leaves = await _leaves(engine)
    async with engine.connect() as conn:
        tree = await audit.load_tree_txn(conn, SESSION, len(leaves))
        nodes = (await conn.execute(text("SELECT count(*) FROM tree_nodes"))).scalar_one()
    assert tree.root() == root_from_leaves(leaves)
    # every completed perfect subtree of eight leaves or more, nothing smaller
    stored = sum(len(leaves) >> level for level in range(audit.MIN_STORED_LEVEL, 64))
    assert nodes == stored


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE checkpoints SET note = 'x'",
        "DELETE FROM checkpoints",
        "UPDATE tree_nodes SET level = 9",
        "DELETE FROM tree_nodes",
    ],
)
async def test_checkpoints_and_tree_are_append_only(
    notarized: Harness, engine: AsyncEngine, lot_json: Any, statement: str
) -> None:
    await notarized.scoring_session(lot_json)
    with pytest.raises(Exception, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text(statement))


@pytest.mark.postgres
async def test_writer_role_may_insert_but_not_rewrite(pg_url: str, lot_json: Any) -> None:
    owner = open_engine(pg_url)
    await migrate(owner)
    await owner.dispose()
    engine = open_engine(pg_url, role="evalroom_writer")
    h = Harness(engine, NOTARY.sign_checkpoint)
    await h.committer.start()
    try:
        seats = await h.scoring_session(lot_json)
        await h.score(seats[0], "as-writer")
        async with engine.connect() as conn:
            role = (await conn.execute(text("SELECT current_user"))).scalar_one()
        assert role == "evalroom_writer"
        for statement in (
            "UPDATE events SET type = 'x'",
            "DELETE FROM checkpoints",
            "TRUNCATE events",
            "DROP TRIGGER events_append_only ON events",
        ):
            with pytest.raises(Exception, match=r"permission denied|must be owner"):
                async with engine.begin() as conn:
                    await conn.execute(text(statement))
    finally:
        await h.committer.stop()
        await engine.dispose()
