"""Enrolment codes, wrong-code counts per source, and the replay guard of signed logins.

These rows are not the log: codes are secrets, and failure counts are rate-limit bookkeeping. A
supervisor clears a seat's back-off by logging ``enrolment.reset``: failures of that seat dated
before the reset no longer count (the reset lives in the log, so every node sees it). The rows
live in the database rather than in a node's memory so that every node applies the same limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, delete, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from server.store.tables import enrolment_codes, enrolment_failures

ALL_SEATS = "*"


@dataclass(frozen=True, slots=True)
class Failures:
    """Wrong codes from one source in one scope, and when the last one came."""

    failures: int = 0
    last_ms: int = 0


def seat_scope(session: str, seat: str) -> str:
    """The scope of one seat's failures (bounded: seat ids are at most 64 characters)."""
    return f"{session}/{seat}"[:140]


async def code_hash_txn(conn: AsyncConnection, session: str, seat: str) -> bytes | None:
    """The stored keyed hash of a seat's enrolment code."""
    row = (
        await conn.execute(
            select(enrolment_codes.c.code_hash).where(
                enrolment_codes.c.session_id == session, enrolment_codes.c.seat == seat
            )
        )
    ).one_or_none()
    return bytes(row[0]) if row is not None else None


async def failures_txn(
    conn: AsyncConnection, source: str, scope: str, since_ms: int = 0
) -> Failures:
    """The wrong codes counted for ``source`` in ``scope`` after ``since_ms`` (a logged reset)."""
    row = (
        await conn.execute(
            select(enrolment_failures.c.failures, enrolment_failures.c.last_ms).where(
                enrolment_failures.c.source == source,
                enrolment_failures.c.scope == scope,
                enrolment_failures.c.last_ms > since_ms,
            )
        )
    ).one_or_none()
    return Failures(int(row[0]), int(row[1])) if row is not None else Failures()


async def count_failure_txn(
    conn: AsyncConnection, source: str, scope: str, now_ms: int, since_ms: int = 0
) -> None:
    """Count one wrong code (counting starts again after ``since_ms``): one upsert, so that
    racing requests each count."""
    upsert = sqlite_insert if conn.dialect.name == "sqlite" else postgresql_insert
    row = {"source": source, "scope": scope, "failures": 1, "last_ms": now_ms}
    query = upsert(enrolment_failures).values(**row)
    stale = enrolment_failures.c.last_ms <= since_ms
    await conn.execute(
        query.on_conflict_do_update(
            index_elements=[enrolment_failures.c.source, enrolment_failures.c.scope],
            set_={
                "failures": case((stale, 1), else_=enrolment_failures.c.failures + 1),
                "last_ms": now_ms,
            },
        )
    )


async def clear_failures_txn(conn: AsyncConnection, scope: str, source: str | None = None) -> None:
    """Forget the wrong codes of ``scope`` (from one source, or from every source)."""
    query = delete(enrolment_failures).where(enrolment_failures.c.scope == scope)
    if source is not None:
        query = query.where(enrolment_failures.c.source == source)
    await conn.execute(query)


async def claim_login_txn(conn: AsyncConnection, session: str, seat: str, t_ms: int) -> bool:
    """Record a signed login's ``t`` if it is later than every login accepted before."""
    changed = await conn.execute(
        update(enrolment_codes)
        .where(
            enrolment_codes.c.session_id == session,
            enrolment_codes.c.seat == seat,
            or_(
                enrolment_codes.c.last_login_ms.is_(None),
                enrolment_codes.c.last_login_ms < t_ms,
            ),
        )
        .values(last_login_ms=t_ms)
    )
    return bool(changed.rowcount)


async def set_code_txn(conn: AsyncConnection, session: str, seat: str, code_hash: bytes) -> None:
    """A seat's one-time code, for a seat that may not have one yet (a replacement seat)."""
    if not await replace_code_txn(conn, session, seat, code_hash):
        row = {"session_id": session, "seat": seat, "code_hash": code_hash, "attempts": 0}
        await conn.execute(insert(enrolment_codes).values(**row))


async def replace_code_txn(
    conn: AsyncConnection, session: str, seat: str, code_hash: bytes
) -> bool:
    """A seat's new one-time code (seat recovery): the old code is worth nothing from now on."""
    changed = await conn.execute(
        update(enrolment_codes)
        .where(enrolment_codes.c.session_id == session, enrolment_codes.c.seat == seat)
        .values(code_hash=code_hash)
    )
    return bool(changed.rowcount)
