"""Fan-out: committed events to every connected client that may see them.

``Fanout`` is the seam for several nodes: the in-process implementation hands a committed batch
straight to this node's :class:`Dispatcher`; a Redis implementation (later) will publish only a
wake-up ``(session, head)`` and each node will read the events from the database. Clients detect a
lost message by a gap in ``seq`` and catch up from the database, so nothing here is needed for
correctness, only for liveness.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import socketio

from server.app.audit_service import checkpoint_json
from server.app.committer import Committed
from server.domain.roles import FULL_VIEW_ROLES, Principal, Role
from server.domain.views import Viewer, event_view
from server.store.audit import StoredCheckpoint


def room_for(principal: Principal) -> str:
    """The socket.io room whose members see exactly what ``principal`` sees."""
    if principal.role in FULL_VIEW_ROLES:
        return f"{principal.session}/full"
    if principal.role is Role.EXPERT:
        return f"{principal.session}/seat/{principal.subject}"
    return f"{principal.session}/public"


class JsonOnlyPacket(socketio.packet.Packet):  # type: ignore[misc]
    """A socket.io packet that never looks for binary attachments in what this server sends.

    Why: the stock packet walks every nested value of every outgoing message to find ``bytes``
    (a recursive call per value); evalroom only ever sends JSON (hashes and signatures are hex
    or base64), and on a busy node that walk was a visible share of the fan-out's CPU.
    Incoming packets still decode as usual.
    """

    uses_binary_events = False


class Fanout(Protocol):
    """Where the committer hands committed events."""

    async def publish(self, session: str, committed: list[Committed]) -> None:
        """Deliver a committed batch of one session (best effort)."""


class Dispatcher:
    """Emits role-filtered views of committed events to this node's socket.io rooms."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio
        self._seats: dict[str, set[str]] = {}  # session -> seats with a connected client
        self.emitted = 0

    def seat_joined(self, session: str, seat: str) -> None:
        """Remember that a seat of ``session`` has a client here."""
        self._seats.setdefault(session, set()).add(seat)

    async def publish(self, session: str, committed: list[Committed]) -> None:
        """Emit one ``events`` message to every room: full, public, each connected seat.

        Rooms whose views are equal share one emit (an expert's stubs of another seat's scores
        are the same for every other seat; after the reveal experts see what supervisors see),
        and the emits run together: each one waits for its sends, so a busy node would
        otherwise spend a batch's fan-out in sequence.
        """
        groups: list[tuple[list[dict[str, Any]], list[str]]] = []

        def add(room: str, views: list[dict[str, Any]]) -> None:
            for existing, rooms in groups:
                if existing == views:
                    rooms.append(room)
                    return
            groups.append((views, [room]))

        add(f"{session}/full", [c.event.to_json() for c in committed])
        public = Viewer(Role.PUBLIC)
        add(f"{session}/public", [event_view(c.event, public, c.revealed) for c in committed])
        for seat in sorted(self._seats.get(session, ())):
            viewer = Viewer(Role.EXPERT, seat)
            views = [event_view(c.event, viewer, c.revealed) for c in committed]
            add(f"{session}/seat/{seat}", views)
        # This node's rooms only: every node emits to its own clients (see the module docstring).
        present = self._sio.manager.rooms.get("/", {})
        groups = [(views, [r for r in rooms if present.get(r)]) for views, rooms in groups]
        groups = [(views, rooms) for views, rooms in groups if rooms]  # nobody there: no encode
        self.emitted += len(groups)
        await asyncio.gather(
            *(self._sio.emit("events", views, room=rooms) for views, rooms in groups)
        )

    async def publish_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        """Supervisors and auditors see every new (or newly co-signed) checkpoint live."""
        await self._sio.emit(
            "checkpoint", checkpoint_json(checkpoint), room=f"{checkpoint.session}/full"
        )
