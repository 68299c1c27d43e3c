"""The stored Merkle tree and checkpoints of each session's log. ``*_txn`` run in a caller's txn.

Leaf ``i`` of a session's tree is the event with ``seq == i + 1``; its hash is ``events.hash``.
Every perfect subtree of eight leaves or more is stored in ``tree_nodes`` when an append completes
it, so the tree is never recomputed: an append writes a quarter of a row amortized, the compact
range at any size is ``popcount(size)`` lookups (plus at most seven leaves), and a proof is one
query for at most ``2 log2(n)`` hashes (smaller subtrees rehashed from at most eight leaves).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from server.auditlog.merkle import (
    CompactRange,
    SubtreeHash,
    consistency_proof_from,
    inclusion_proof_from,
    root_from_leaves,
)
from server.auditlog.subtrees import compact_range_keys, needed_subtrees, subtree_key
from server.store.shapes import padded
from server.store.tables import (
    checkpoints,
    cosignatures,
    events,
    sessions,
    tree_nodes,
    witnessed,
)

Key = tuple[int, int]
MIN_STORED_LEVEL = 3


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A checkpoint as stored: the signed note and the cosignature lines added since."""

    session: str
    size: int
    root: bytes
    note: str
    created_ms: int
    cosignatures: tuple[str, ...] = ()

    def text(self) -> str:
        """The signed note with every witness cosignature line appended."""
        return self.note + "".join(
            line if line.endswith("\n") else line + "\n" for line in self.cosignatures
        )


def node_rows(nodes: Sequence[tuple[str, int, int, bytes]]) -> list[dict[str, object]]:
    """The ``tree_nodes`` rows of perfect subtrees completed by appends: ``(session, level, index,
    hash)``.

    Only levels from ``MIN_STORED_LEVEL`` up are kept: a lower subtree is at most eight leaves,
    cheaper to rehash on the rare proof than to write on every append (a quarter of the rows).
    """
    return [
        {"session_id": s, "level": lvl, "idx": i, "hash": h}
        for s, lvl, i, h in nodes
        if lvl >= MIN_STORED_LEVEL
    ]


async def subtree_hashes_txn(
    conn: AsyncConnection, session: str, keys: Sequence[Key]
) -> dict[Key, bytes]:
    """The stored hashes of perfect subtrees ``(level, index)``, leaves from the events table."""
    found: dict[Key, bytes] = {}
    low = [k for k in keys if 0 < k[0] < MIN_STORED_LEVEL]  # rehashed from their leaves
    wanted = {k for k in keys if k[0] == 0 or k[0] >= MIN_STORED_LEVEL}
    for level, index in low:
        wanted.update((0, leaf) for leaf in range(index << level, (index + 1) << level))
    keys = sorted(wanted | set(keys))
    leaves = sorted({i + 1 for level, i in wanted if level == 0})
    if leaves:
        rows = await conn.execute(
            select(events.c.seq, events.c.hash).where(
                events.c.session_id == session, events.c.seq.in_(padded(leaves))
            )
        )
        found.update({(0, seq - 1): bytes(digest) for seq, digest in rows})
    upper = sorted({k for k in wanted if k[0] > 0})
    if upper:
        nodes = await conn.execute(
            select(tree_nodes.c.level, tree_nodes.c.idx, tree_nodes.c.hash).where(
                tree_nodes.c.session_id == session,
                tuple_(tree_nodes.c.level, tree_nodes.c.idx).in_(padded(upper)),
            )
        )
        found.update({(level, idx): bytes(digest) for level, idx, digest in nodes})
    for level, index in low:
        leaf_keys = range(index << level, (index + 1) << level)
        if all((0, leaf) in found for leaf in leaf_keys):
            found[(level, index)] = root_from_leaves([found[(0, leaf)] for leaf in leaf_keys])
    missing = [k for k in keys if k not in found]
    if missing:
        raise LookupError(f"session {session}: subtrees {missing[:3]} are not stored")
    return found


async def load_tree_txn(conn: AsyncConnection, session: str, size: int) -> CompactRange:
    """The compact range of the first ``size`` leaves, from stored subtree hashes."""
    keys = compact_range_keys(size)
    found = await subtree_hashes_txn(conn, session, keys)
    return CompactRange.from_hashes(size, [found[k] for k in keys])


async def _proof_txn(
    conn: AsyncConnection, session: str, proof: Callable[[SubtreeHash], list[bytes]]
) -> list[bytes]:
    keys = needed_subtrees(proof)
    found = await subtree_hashes_txn(conn, session, keys)
    return proof(lambda start, end: found[subtree_key(start, end)])


async def inclusion_proof_txn(
    conn: AsyncConnection, session: str, index: int, size: int
) -> list[bytes]:
    """RFC 6962 inclusion proof of leaf ``index`` (``seq - 1``) in the tree of ``size`` leaves."""
    return await _proof_txn(conn, session, lambda h: inclusion_proof_from(h, index, size))


async def consistency_proof_txn(
    conn: AsyncConnection, session: str, size1: int, size2: int
) -> list[bytes]:
    """RFC 6962 consistency proof from the tree of ``size1`` leaves to that of ``size2``."""
    return await _proof_txn(conn, session, lambda h: consistency_proof_from(h, size1, size2))


def checkpoint_row(checkpoint: StoredCheckpoint) -> dict[str, object]:
    """The ``checkpoints`` row of a signed checkpoint."""
    c = checkpoint
    return {
        "session_id": c.session,
        "size": c.size,
        "root": c.root,
        "note": c.note,
        "created_ms": c.created_ms,
    }


async def insert_checkpoint_txn(conn: AsyncConnection, *signed: StoredCheckpoint) -> None:
    """Store signed checkpoints (one statement for all of them)."""
    if signed:
        await conn.execute(checkpoints.insert(), [checkpoint_row(c) for c in signed])


async def _with_cosignatures(
    conn: AsyncConnection, session: str, rows: Sequence[tuple[int, bytes, str, int]]
) -> list[StoredCheckpoint]:
    if not rows:
        return []
    sizes = [row[0] for row in rows]
    lines: dict[int, list[str]] = {}
    result = await conn.execute(
        select(cosignatures.c.size, cosignatures.c.line)
        .where(cosignatures.c.session_id == session, cosignatures.c.size.in_(padded(sizes)))
        .order_by(cosignatures.c.size, cosignatures.c.witness)
    )
    for size, line in result:
        lines.setdefault(size, []).append(line)
    return [
        StoredCheckpoint(session, size, bytes(root), note, created, tuple(lines.get(size, ())))
        for size, root, note, created in rows
    ]


_COLUMNS = (checkpoints.c.size, checkpoints.c.root, checkpoints.c.note, checkpoints.c.created_ms)


async def latest_checkpoint_txn(conn: AsyncConnection, session: str) -> StoredCheckpoint | None:
    """The newest checkpoint of a session, with its cosignatures."""
    rows = await conn.execute(
        select(*_COLUMNS)
        .where(checkpoints.c.session_id == session)
        .order_by(checkpoints.c.size.desc())
        .limit(1)
    )
    found = await _with_cosignatures(conn, session, [tuple(r) for r in rows])
    return found[0] if found else None


async def checkpoint_txn(conn: AsyncConnection, session: str, size: int) -> StoredCheckpoint | None:
    """The checkpoint of a session at exactly ``size``."""
    rows = await conn.execute(
        select(*_COLUMNS).where(checkpoints.c.session_id == session, checkpoints.c.size == size)
    )
    found = await _with_cosignatures(conn, session, [tuple(r) for r in rows])
    return found[0] if found else None


async def checkpoints_txn(
    conn: AsyncConnection, session: str, after: int = 0, limit: int = 1000
) -> list[StoredCheckpoint]:
    """Checkpoints with ``size > after`` in order, at most ``limit``."""
    rows = await conn.execute(
        select(*_COLUMNS)
        .where(checkpoints.c.session_id == session, checkpoints.c.size > after)
        .order_by(checkpoints.c.size)
        .limit(limit)
    )
    return await _with_cosignatures(conn, session, [tuple(r) for r in rows])


async def unsigned_tails_txn(conn: AsyncConnection) -> list[str]:
    """Sessions whose head is past their newest checkpoint (a crash or a failed transaction left
    events that no signed checkpoint covers yet)."""
    newest = (
        select(checkpoints.c.session_id, func.max(checkpoints.c.size).label("size"))
        .group_by(checkpoints.c.session_id)
        .subquery()
    )
    rows = await conn.execute(
        select(sessions.c.id)
        .select_from(sessions.outerjoin(newest, newest.c.session_id == sessions.c.id))
        .where(sessions.c.head_seq > func.coalesce(newest.c.size, 0))
    )
    return sorted(rows.scalars())


async def checkpointed_sessions_txn(conn: AsyncConnection) -> list[str]:
    """Every session with at least one checkpoint."""
    rows = await conn.execute(select(checkpoints.c.session_id).distinct())
    return sorted(rows.scalars())


async def add_cosignature_txn(
    conn: AsyncConnection, session: str, size: int, witness: str, line: str, now_ms: int
) -> bool:
    """Store a witness's cosignature line; False when that witness already cosigned ``size``."""
    exists = (
        await conn.execute(
            select(cosignatures.c.line).where(
                cosignatures.c.session_id == session,
                cosignatures.c.size == size,
                cosignatures.c.witness == witness,
            )
        )
    ).scalar_one_or_none()
    if exists is not None:
        return False
    await conn.execute(
        cosignatures.insert().values(
            session_id=session, size=size, witness=witness, line=line, created_ms=now_ms
        )
    )
    return True


async def last_witnessed_txn(conn: AsyncConnection, origin: str) -> tuple[int, bytes] | None:
    """As a witness: the largest ``(size, root)`` this node cosigned for ``origin``."""
    row = (
        await conn.execute(
            select(witnessed.c.size, witnessed.c.root)
            .where(witnessed.c.origin == origin)
            .order_by(witnessed.c.size.desc())
            .limit(1)
        )
    ).one_or_none()
    return (int(row[0]), bytes(row[1])) if row is not None else None


async def record_witnessed_txn(
    conn: AsyncConnection, origin: str, size: int, root: bytes, note: str, now_ms: int
) -> None:
    """As a witness: remember a checkpoint this node verified and cosigned."""
    await conn.execute(
        witnessed.insert().values(origin=origin, size=size, root=root, note=note, created_ms=now_ms)
    )


async def event_column_page_txn(
    conn: AsyncConnection, session: str, after: int, limit: int, column: str
) -> list[tuple[int, bytes]]:
    """``(seq, body or hash)`` of up to ``limit`` events after ``after``: for streaming exports."""
    selected = events.c.body if column == "body" else events.c.hash
    rows = await conn.execute(
        select(events.c.seq, selected)
        .where(events.c.session_id == session, events.c.seq > after)
        .order_by(events.c.seq)
        .limit(limit)
    )
    return [(int(seq), bytes(value)) for seq, value in rows]
