"""Fan-out: committed events to every connected client that may see them.

``Fanout`` is the seam for several nodes: the in-process implementation hands a committed batch
straight to this node's :class:`Dispatcher`; a Redis implementation (later) will publish only a
wake-up ``(session, head)`` and each node will read the events from the database. Clients detect a
lost message by a gap in ``seq`` and catch up from the database, so nothing here is needed for
correctness, only for liveness.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol

import engineio.packet
import socketio
from socketio.packet import EVENT

from server.app.audit_service import checkpoint_json
from server.app.pending import Committed
from server.domain.roles import FULL_VIEW_ROLES, Principal, Role
from server.domain.untrusted import MAX_DEPTH
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

    def decode(self, encoded_packet: Any) -> int:
        """Decode as usual; JSON nested past Python's recursion limit still reaches its handler.

        The stock decoder raises ``RecursionError`` there and the packet is dropped, so a client
        waiting for the ack waits for ever. Instead the event keeps its name and ack id and
        carries a value nested one level past ``MAX_DEPTH``, which every handler refuses with a
        typed error (``too_large`` where the payload is checked, ``malformed`` where a shape is).
        """
        try:
            count: int = super().decode(encoded_packet)
        except RecursionError:
            name = _EVENT_NAME.search(encoded_packet) if isinstance(encoded_packet, str) else None
            self.data = [name.group(1) if name else "message", _too_deep()]
            return 0
        return count


logger = logging.getLogger(__name__)

_EVENT_NAME = re.compile(r'\[\s*"([A-Za-z0-9_.:-]{1,64})"')


def _too_deep() -> list[Any]:
    value: list[Any] = []
    for _ in range(MAX_DEPTH):
        value = [value]
    return value


class Fanout(Protocol):
    """Where the committer hands committed events."""

    async def publish(self, session: str, committed: list[Committed]) -> None:
        """Deliver a committed batch of one session (best effort)."""


class Dispatcher:
    """Emits role-filtered views of committed events to this node's socket.io rooms."""

    def __init__(self, sio: socketio.AsyncServer, send_queue_packets: int = 1000) -> None:
        self._sio = sio
        self._seats: dict[str, set[str]] = {}  # session -> seats with a connected client
        # A socket that does not read lets its queue grow with every event; past this many
        # packets it is dropped (it catches up with ``sync`` when it comes back).
        self.send_queue_packets = send_queue_packets
        self.dropped = 0

    def seat_joined(self, session: str, seat: str) -> None:
        """Remember that a seat of ``session`` has a client here."""
        self._seats.setdefault(session, set()).add(seat)

    async def publish(self, session: str, committed: list[Committed]) -> None:
        """Send one ``events`` message to every room: full, public, each connected seat.

        Rooms whose views are equal share one encoding (an expert's stubs of another seat's
        scores are the same for every other seat; after the reveal experts see what supervisors
        see).
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
        for views, rooms in groups:
            await self._send("events", views, rooms)

    async def _send(self, event: str, data: Any, rooms: list[str]) -> None:
        """Encode one socket.io event once and queue it for every member of ``rooms``.

        Why not ``AsyncServer.emit``: it starts one task per recipient and waits for them all,
        though each send only appends to the client's outgoing queue. On a busy node those
        tasks were a large share of the fan-out's CPU; queueing in a plain loop is the same
        delivery, in the same order, without them. Only this node's members are reached:
        every node sends to its own clients (see the module docstring).
        """
        members = list(self._sio.manager.get_participants("/", rooms))
        if not members:
            return  # nobody there: nothing to encode
        encoded = self._sio.packet_class(EVENT, namespace="/", data=[event, data]).encode()
        message = engineio.packet.Packet(engineio.packet.MESSAGE, encoded)
        sockets = self._sio.eio.sockets
        for _sid, eio_sid in members:
            socket = sockets.get(eio_sid)
            if socket is not None and socket.queue.qsize() >= self.send_queue_packets:
                self._drop(eio_sid, socket.queue.qsize())
                continue
            await self._sio.eio.send_packet(eio_sid, message)

    def _drop(self, eio_sid: str, queued: int) -> None:
        """Cut a connection that stopped reading: its TCP transport is aborted.

        Closing the engine.io socket alone is not enough: its writer waits for the peer to
        drain a full TCP buffer, which a client that never reads never does. Aborting the
        transport ends the writer, the reader and the socket, and frees what was queued.
        """
        self.dropped += 1
        logger.info("dropping connection %s: %d messages unread", eio_sid, queued)
        request = (self._sio.environ.get(eio_sid) or {}).get("aiohttp.request")
        transport = getattr(request, "transport", None)
        if transport is not None:
            transport.abort()

    async def publish_checkpoint(self, checkpoint: StoredCheckpoint) -> None:
        """Supervisors and auditors see every new (or newly co-signed) checkpoint live."""
        await self._send("checkpoint", checkpoint_json(checkpoint), [f"{checkpoint.session}/full"])
