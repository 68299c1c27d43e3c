"""Reads of the audit trail (checkpoints, proofs) and cosignatures from witnesses.

Checkpoints and proofs are public by design: they hold sizes and hashes only, and anyone (an
auditor, a guest venue's witness, a bidder's lawyer) must be able to check the log without an
account. Adding a cosignature needs a witness key this node was configured to accept.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from server.app.archive_export import export_archive
from server.app.notary import Notary
from server.auditlog.archive_write import ArchiveInfo
from server.auditlog.note import (
    NoteError,
    Verifier,
    open_note,
    parse_signature_line,
    verify_cosignature,
)
from server.domain.errors import Code, CommandError
from server.domain.untrusted import check_int
from server.store import audit, log
from server.store.audit import StoredCheckpoint

MAX_FEED = 1000


def _int(value: Any, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise CommandError(Code.MALFORMED, f"'{what}' must be an integer") from exc
    if number < 0:
        raise CommandError(Code.MALFORMED, f"'{what}' must not be negative")
    return check_int(number, what)  # the database holds signed 64-bit integers


def checkpoint_json(checkpoint: StoredCheckpoint) -> dict[str, Any]:
    """A checkpoint as HTTP and socket.io send it: the co-signed note plus parsed fields."""
    return {
        "session": checkpoint.session,
        "size": checkpoint.size,
        "root": base64.b64encode(checkpoint.root).decode("ascii"),
        "note": checkpoint.text(),
        "time": checkpoint.created_ms,
        "witnesses": len(checkpoint.cosignatures),
    }


def _hashes(proof: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode("ascii") for h in proof]


class AuditService:
    """Checkpoints, inclusion and consistency proofs, witness cosignatures."""

    def __init__(
        self,
        engine: AsyncEngine,
        notary: Notary,
        witnesses: list[Verifier],
        clock: Callable[[], int],
        on_cosigned: Callable[[StoredCheckpoint], Awaitable[None]] | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self._engine = engine
        self._data_dir = data_dir or Path("data")
        self._notary = notary
        self._witnesses = {(w.name, w.key_id): w for w in witnesses}
        self._clock = clock
        self._on_cosigned = on_cosigned

    def node(self) -> dict[str, Any]:
        """This node's name and public keys, and the witnesses it accepts."""
        accepted = sorted(w.vkey() for w in self._witnesses.values())
        return {"ok": True, **self._notary.describe(), "witnesses": accepted}

    async def latest(self, session: str) -> dict[str, Any]:
        """The newest checkpoint of a session."""
        async with self._engine.connect() as conn:
            found = await audit.latest_checkpoint_txn(conn, session)
        if found is None:
            raise CommandError(Code.UNKNOWN_SESSION, f"no checkpoint for session {session}")
        return {"ok": True, "checkpoint": checkpoint_json(found)}

    async def list(self, session: str, after: Any) -> dict[str, Any]:
        """Checkpoints with ``size > after``, oldest first (at most ``MAX_FEED``)."""
        async with self._engine.connect() as conn:
            found = await audit.checkpoints_txn(conn, session, _int(after, "after"), MAX_FEED)
        return {"ok": True, "checkpoints": [checkpoint_json(c) for c in found]}

    async def feed(self) -> dict[str, Any]:
        """The newest checkpoint of every session on this node: what a witness polls."""
        async with self._engine.connect() as conn:
            latest = [
                await audit.latest_checkpoint_txn(conn, s)
                for s in await audit.checkpointed_sessions_txn(conn)
            ]
        return {"ok": True, "checkpoints": [checkpoint_json(c) for c in latest if c is not None]}

    async def inclusion(self, session: str, seq: Any, size: Any) -> dict[str, Any]:
        """Inclusion proof of event ``seq`` in the tree of ``size`` (default: newest checkpoint)."""
        index = _int(seq, "seq") - 1
        async with self._engine.connect() as conn:
            head = await log.head_txn(conn, session)
            if head is None:
                raise CommandError(Code.UNKNOWN_SESSION, f"no session {session}")
            if size is None:
                latest = await audit.latest_checkpoint_txn(conn, session)
                tree_size = latest.size if latest is not None else head
            else:
                tree_size = _int(size, "size")
            if not 0 <= index < tree_size <= head:
                raise CommandError(
                    Code.MALFORMED, f"need 1 <= seq <= size <= {head}, got {index + 1}, {tree_size}"
                )
            proof = await audit.inclusion_proof_txn(conn, session, index, tree_size)
            leaf = await audit.subtree_hashes_txn(conn, session, [(0, index)])
        return {
            "ok": True,
            "seq": index + 1,
            "size": tree_size,
            "leaf_hash": base64.b64encode(leaf[(0, index)]).decode("ascii"),
            "proof": _hashes(proof),
        }

    async def consistency(self, session: str, first: Any, second: Any) -> dict[str, Any]:
        """Consistency proof between tree sizes ``first`` and ``second``."""
        size1, size2 = _int(first, "from"), _int(second, "to")
        async with self._engine.connect() as conn:
            head = await log.head_txn(conn, session)
            if head is None:
                raise CommandError(Code.UNKNOWN_SESSION, f"no session {session}")
            if not 0 < size1 <= size2 <= head:
                raise CommandError(
                    Code.MALFORMED, f"need 0 < from <= to <= {head}, got {size1}, {size2}"
                )
            proof = await audit.consistency_proof_txn(conn, session, size1, size2)
        return {"ok": True, "from": size1, "to": size2, "proof": _hashes(proof)}

    async def add_cosignature(self, session: str, size: Any, line: Any) -> dict[str, Any]:
        """Store a witness's cosignature of checkpoint ``size`` after verifying it."""
        tree_size = _int(size, "size")
        if not isinstance(line, str) or len(line) > 1024:
            raise CommandError(Code.MALFORMED, "'line' must be one signature line")
        async with self._engine.connect() as conn:
            stored = await audit.checkpoint_txn(conn, session, tree_size)
        if stored is None:
            raise CommandError(Code.UNKNOWN_SESSION, f"no checkpoint {session}@{tree_size}")
        body, _ = open_note(stored.note)
        try:
            parsed = parse_signature_line(line.removesuffix("\n"))
            witness = self._witnesses.get((parsed.name, parsed.key_id))
            if witness is None:
                raise CommandError(Code.FORBIDDEN, f"{parsed.name} is not an accepted witness")
            verify_cosignature(body, parsed, witness)
        except NoteError as error:
            raise CommandError(Code.BAD_SIGNATURE, str(error)) from error
        async with self._engine.begin() as conn:
            added = await audit.add_cosignature_txn(
                conn, session, tree_size, parsed.name, parsed.text(), self._clock()
            )
            updated = await audit.checkpoint_txn(conn, session, tree_size)
        if updated is None:  # cannot happen: checkpoints are never deleted
            raise CommandError(Code.INTERNAL, "checkpoint vanished")
        if added and self._on_cosigned is not None:
            await self._on_cosigned(updated)
        return {"ok": True, "added": added, "checkpoint": checkpoint_json(updated)}

    async def export(self, session: str, out: Path) -> ArchiveInfo:
        """Write the session's archive (up to its newest checkpoint) to ``out``."""
        try:
            return await export_archive(
                self._engine,
                self._notary,
                sorted(w.vkey() for w in self._witnesses.values()),
                self._data_dir,
                session,
                out,
                self._clock(),
            )
        except LookupError as error:
            raise CommandError(Code.UNKNOWN_SESSION, str(error)) from error
