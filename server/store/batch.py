"""The rows one append transaction writes for a whole batch of commands, over all its sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.events import Event
from server.domain.state import SessionState
from server.store import audit, log
from server.store.audit import StoredCheckpoint


@dataclass
class BatchWrites:
    """The rows one transaction writes, gathered over every session of the batch.

    Why gathered: with many sessions in one batch, one statement per kind of row instead of one
    per session keeps a busy node's commit cost flat (SQLite through aiosqlite pays a thread hop
    per statement).
    """

    heads: list[tuple[str, int, int]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[tuple[str, int, int, bytes]] = field(default_factory=list)
    checkpoints: list[StoredCheckpoint] = field(default_factory=list)
    snapshots: list[SessionState] = field(default_factory=list)

    async def write_txn(self, conn: AsyncConnection, locked: bool) -> None:
        """Write everything gathered, in the caller's transaction (``locked``: see append_txn)."""
        await log.append_txn(conn, self.heads, self.events, self.acks, locked)
        await audit.append_nodes_txn(conn, self.nodes)
        await audit.insert_checkpoint_txn(conn, *self.checkpoints)
        for state in self.snapshots:
            await log.save_snapshot_txn(conn, state)
