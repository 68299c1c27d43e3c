"""The rows one append transaction writes for a whole batch of commands, over all its sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from server.domain.events import Event
from server.domain.state import SessionState
from server.store import audit, log
from server.store.audit import StoredCheckpoint
from server.store.tables import checkpoints, command_acks, events, snapshots, tree_nodes


@dataclass
class BatchWrites:
    """The rows one transaction writes, gathered over every session of the batch.

    Why gathered: with many sessions in one batch, one statement per kind of row instead of one
    per session keeps a busy node's commit cost flat. ``write_txn`` writes them through the async
    engine (PostgreSQL); SQLite's :class:`~server.store.sqlite_writer.SqliteWriter` writes
    ``rows()`` on its own thread in one hop.
    """

    heads: list[tuple[str, int, int]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    acks: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[tuple[str, int, int, bytes]] = field(default_factory=list)
    checkpoints: list[StoredCheckpoint] = field(default_factory=list)
    snapshots: list[SessionState] = field(default_factory=list)

    def head_moves(self) -> list[dict[str, Any]]:
        """The head moves as ``{"sid", "old", "new"}`` parameters of the optimistic UPDATE."""
        return [{"sid": sid, "old": old, "new": new} for sid, old, new in self.heads]

    def rows(self) -> list[tuple[Table, list[Any]]]:
        """Every row to insert, one list per table (empty tables left out), heads apart."""
        tables: list[tuple[Table, list[Any]]] = [
            (events, [log.event_row(e) for e in self.events]),
            (command_acks, self.acks),
            (tree_nodes, audit.node_rows(self.nodes)),
            (checkpoints, [audit.checkpoint_row(c) for c in self.checkpoints]),
            (snapshots, [log.snapshot_row(s) for s in self.snapshots]),
        ]
        return [(table, values) for table, values in tables if values]

    async def write_txn(self, conn: AsyncConnection, locked: bool) -> None:
        """Write everything gathered, in the caller's transaction (``locked``: move_heads_txn)."""
        await log.move_heads_txn(conn, self.head_moves(), locked)
        for table, values in self.rows():
            await conn.execute(table.insert(), values)
