"""python-socketio with every client packet answered or dropped quietly, never half-handled.

Found by the fuzzer (tests/fuzz/known.py): the stock server drops an event nobody handles, or one
it cannot decode, without an ack, so the client waits for ever; it runs our ``connect`` or
``disconnect`` handler when a client merely sends an event of that name; it crashes a handler
given two payloads; and it logs a traceback for a client's malformed packet. ``GuardedServer``
answers each of these with a typed error (``unknown_event``, ``malformed``) where the packet
asked for an ack, refuses an undecodable CONNECT, and logs one line without a traceback.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import socketio
from socketio import packet

logger = logging.getLogger(__name__)

RESERVED = frozenset({"connect", "disconnect", "connect_error"})
# type, optional attachments, optional namespace, optional ack id: the head of a packet
_HEAD = re.compile(r"^([0-6])(?:\d+-)?(/[^,]*,)?(\d{1,20})?")


def _error(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


class GuardedServer(socketio.AsyncServer):  # type: ignore[misc]
    """An ``AsyncServer`` that answers every client packet it can, and drops the rest quietly."""

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except Exception as error:  # undecodable or unexpected: the client's mistake, not ours
            logger.info("refused a socket.io packet from %s: %s", eio_sid, error)
            await self._refuse_packet(eio_sid, data)

    async def _refuse_packet(self, eio_sid: str, data: Any) -> None:
        head = _HEAD.match(data) if isinstance(data, str) else None
        if head is None:
            return
        kind, namespace = int(head.group(1)), (head.group(2) or "/,")[:-1] or "/"
        if kind == packet.CONNECT:
            refusal = {"message": "malformed connect", "data": {"code": "malformed"}}
            await self._send_packet(
                eio_sid, self.packet_class(packet.CONNECT_ERROR, data=refusal, namespace=namespace)
            )
        elif kind == packet.EVENT and head.group(3) is not None:
            message = "this packet could not be read as a socket.io event"
            await self._answer(eio_sid, namespace, int(head.group(3)), "malformed", message)

    async def _answer(self, eio_sid: str, namespace: str, ack: int, code: str, text: str) -> None:
        if self.manager.sid_from_eio_sid(eio_sid, namespace) is None:
            return  # not connected to that namespace: nobody to answer
        answer = self.packet_class(
            packet.ACK, namespace=namespace, id=ack, data=[_error(code, text)]
        )
        await self._send_packet(eio_sid, answer)

    async def _handle_event(self, eio_sid: str, namespace: Any, id: Any, data: Any) -> None:
        namespace = namespace or "/"
        name = data[0] if isinstance(data, list) and data else None
        refusal: tuple[str, str] | None = None
        if not isinstance(name, str):
            refusal = ("malformed", "an event is [name, payload?]")
        elif name in RESERVED or not self._handled(namespace, name):
            refusal = ("unknown_event", f"no event {name[:64]!r} here")
        elif len(data) > 2:
            refusal = ("malformed", "an event carries one payload at most")
        if refusal is None:
            await super()._handle_event(eio_sid, namespace, id, data)
        elif id is not None:
            await self._answer(eio_sid, namespace, id, *refusal)

    def _handled(self, namespace: str, name: str) -> bool:
        if namespace in self.namespace_handlers:  # a class namespace answers any name itself
            return True
        return name in self.handlers.get(namespace, {})
