"""Reading and appending the event log. Every ``*_txn`` function runs inside a caller's transaction.

Appends to one session are serialized by locking its ``sessions`` row (``FOR UPDATE`` in
PostgreSQL; SQLite has a single writer anyway), so ``seq`` is assigned gap-free inside the append
transaction even when several nodes write the same session.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.events import Event
from server.domain.folding import fold
from server.domain.snapshot import state_from_json, state_to_json
from server.domain.state import SessionState
from server.store.shapes import padded
from server.store.tables import command_acks, enrolment_codes, events, sessions, snapshots

SNAPSHOT_EVERY = 1000


@dataclass(frozen=True, slots=True)
class Page:
    """Events after a position: ``(events, upper bound, limited)`` as Synapse returns them."""

    events: list[Event]
    head: int
    limited: bool


def event_row(event: Event) -> dict[str, Any]:
    return {
        "session_id": event.session,
        "seq": event.seq,
        "type": event.type,
        "actor": event.actor,
        "body": event.raw,
        "hash": event.hash,
    }


def _from_row(session: str, seq: int, body: bytes, digest: bytes) -> Event:
    # Rows were written from canonical bytes by ``seal``; parsing them back with ``json.loads``
    # is enough here, ``evalroom verify`` re-checks canonical form and hashes independently.
    data = json.loads(body)
    return Event(session, seq, data["t"], data["type"], data["actor"], data["data"], body, digest)


async def create_session_txn(
    conn: AsyncConnection, first: Event, code_hashes: dict[str, bytes]
) -> None:
    """Insert a new session with its first event and the enrolment code hashes."""
    await conn.execute(
        sessions.insert().values(id=first.session, head_seq=first.seq, created_ms=first.time_ms)
    )
    await conn.execute(events.insert().values(**event_row(first)))
    if code_hashes:
        await conn.execute(
            enrolment_codes.insert(),
            [
                {"session_id": first.session, "seat": s, "code_hash": h, "attempts": 0}
                for s, h in code_hashes.items()
            ],
        )


async def lock_heads_txn(
    conn: AsyncConnection, ids: Sequence[str], for_update: bool
) -> dict[str, int]:
    """The head ``seq`` of each existing session in ``ids``, locking their rows when asked.

    One statement, rows locked in ``id`` order: two nodes appending to overlapping sets of
    sessions then always take the locks in the same order and never wait on each other in a
    cycle (PostgreSQL would abort one of them as a deadlock).
    """
    if not ids:
        return {}
    query = (
        select(sessions.c.id, sessions.c.head_seq)
        .where(sessions.c.id.in_(padded(sorted(set(ids)))))
        .order_by(sessions.c.id)
    )
    if for_update:
        query = query.with_for_update()
    return {row.id: row.head_seq for row in await conn.execute(query)}


async def unsealed_sessions_txn(conn: AsyncConnection) -> list[str]:
    """Sessions whose log holds no ``session.sealed`` yet (the sealer looks at them at start)."""
    sealed = select(events.c.session_id).where(events.c.type == "session.sealed")
    query = select(sessions.c.id).where(sessions.c.id.not_in(sealed)).order_by(sessions.c.id)
    return list((await conn.execute(query)).scalars())


async def head_txn(conn: AsyncConnection, session: str) -> int | None:
    """The session's head ``seq`` without locking (None when there is no such session)."""
    query = select(sessions.c.head_seq).where(sessions.c.id == session)
    return (await conn.execute(query)).scalar_one_or_none()


async def read_after_txn(conn: AsyncConnection, session: str, after: int, limit: int) -> Page:
    """Up to ``limit`` events with ``seq > after``, in order."""
    head = await head_txn(conn, session) or 0
    upper = min(head, after + limit)
    rows = await conn.execute(
        select(events.c.seq, events.c.body, events.c.hash)
        .where(events.c.session_id == session, events.c.seq > after, events.c.seq <= upper)
        .order_by(events.c.seq)
    )
    page = [_from_row(session, seq, body, digest) for seq, body, digest in rows]
    return Page(page, upper, upper < head)


class StaleHead(Exception):
    """The session's head moved under a writer that trusted its cache; reload and retry."""


async def move_heads_txn(
    conn: AsyncConnection, heads: Sequence[dict[str, Any]], locked: bool = False
) -> None:
    """Move each session's head from where its new events start to their last ``seq``.

    ``heads`` holds ``{"sid", "old", "new"}`` per session that gained events. A head
    moves only if it still is at the old value (optimistic check): when another writer appended
    meanwhile nothing matches and :class:`StaleHead` is raised, so the transaction rolls back.
    ``locked``: the rows were locked first (PostgreSQL), and a driver that cannot count the rows
    an executemany updated is then trusted. One statement for every session of the batch.
    """
    if not heads:
        return
    moved = await conn.execute(
        update(sessions)
        .where(sessions.c.id == bindparam("sid"), sessions.c.head_seq == bindparam("old"))
        .values(head_seq=bindparam("new")),
        list(heads),
    )
    if moved.rowcount != len(heads) and not (locked and moved.rowcount < 0):
        raise StaleHead(", ".join(head["sid"] for head in heads))


@dataclass(frozen=True, slots=True)
class StoredAck:
    """The ack of a committed command and the digest of its content (None: stored before 0004)."""

    ack: dict[str, Any]
    digest: bytes | None


def ack_row(session: str, actor: str, command_id: str, ack: StoredAck) -> dict[str, Any]:
    """The ``command_acks`` row of a committed command."""
    return {
        "session_id": session,
        "actor": actor,
        "command_id": command_id,
        "ack": json.dumps(ack.ack),
        "digest": ack.digest,
    }


async def find_acks_txn(
    conn: AsyncConnection, session: str, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], StoredAck]:
    """Stored acks for ``(actor, command_id)`` pairs already committed."""
    if not keys:
        return {}
    c = command_acks.c
    rows = await conn.execute(
        select(c.actor, c.command_id, c.ack, c.digest).where(
            c.session_id == session, tuple_(c.actor, c.command_id).in_(padded(set(keys)))
        )
    )
    return {
        (actor, cid): StoredAck(json.loads(ack), None if digest is None else bytes(digest))
        for actor, cid, ack, digest in rows
    }


def snapshot_row(state: SessionState) -> dict[str, Any]:
    """The ``snapshots`` row of the projection at its current ``seq``."""
    return {
        "session_id": state.session,
        "seq": state.seq,
        "state": json.dumps(state_to_json(state)),
    }


async def load_state_txn(conn: AsyncConnection, session: str) -> SessionState | None:
    """The projection at the head: the newest snapshot plus the events after it."""
    row = (
        await conn.execute(
            select(snapshots.c.state)
            .where(snapshots.c.session_id == session)
            .order_by(snapshots.c.seq.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    state = state_from_json(json.loads(row)) if row is not None else None
    return await fold_after_txn(conn, session, state)


async def fold_after_txn(
    conn: AsyncConnection, session: str, state: SessionState | None
) -> SessionState | None:
    """``state`` (None: from the start) moved on, in place, by every stored event after it.

    Two readers may move one shared state on at once: each folds only the events past the
    state's seq as it is once its page has arrived, so none is applied twice.
    """
    after = state.seq if state is not None else 0
    while True:
        page = await read_after_txn(conn, session, after, 10_000)
        if not page.events:
            return state
        current = state.seq if state is not None else 0
        events = [e for e in page.events if e.seq > current]
        if events:
            state = fold(events, state)
        if not page.limited:
            return state
        after = page.events[-1].seq


async def code_hash_txn(conn: AsyncConnection, session: str, seat: str) -> tuple[bytes, int] | None:
    """The stored hash of a seat's enrolment code and its failed attempts so far."""
    row = (
        await conn.execute(
            select(enrolment_codes.c.code_hash, enrolment_codes.c.attempts).where(
                enrolment_codes.c.session_id == session, enrolment_codes.c.seat == seat
            )
        )
    ).one_or_none()
    return (bytes(row[0]), int(row[1])) if row is not None else None


async def count_failed_code_txn(conn: AsyncConnection, session: str, seat: str) -> None:
    """Count one wrong enrolment code for a seat (codes lock after a few failures)."""
    await conn.execute(
        update(enrolment_codes)
        .where(enrolment_codes.c.session_id == session, enrolment_codes.c.seat == seat)
        .values(attempts=enrolment_codes.c.attempts + 1)
    )
