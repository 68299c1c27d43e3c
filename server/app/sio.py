"""socket.io handlers: authenticate on connect, ``join``/``sync`` to catch up, ``command``.

Every handler returns its answer as the socket.io acknowledgement: ``{"ok": true, ...}`` or
``{"ok": false, "error": {"code", "message"}}``. Live events arrive as ``events`` messages, each a
list of event views in ``seq`` order.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio

from server.app.fanout import Dispatcher, room_for
from server.app.service import Service
from server.app.socket_grants import SocketGrants
from server.domain.errors import Code, CommandError
from server.domain.roles import Principal, Role

logger = logging.getLogger(__name__)

NAMESPACE = "/"


def _error(error: CommandError) -> dict[str, Any]:
    return {"ok": False, "error": error.to_json()}


def register(
    sio: socketio.AsyncServer, service: Service, dispatcher: Dispatcher, grants: SocketGrants
) -> None:
    """Attach the handlers of the default namespace."""

    async def principal_of(sid: str) -> Principal:
        return grants.principal(NAMESPACE, sid)  # refused once the token has expired

    @sio.event  # type: ignore[untyped-decorator]
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            await grants.admit(NAMESPACE, sid, token)
        except CommandError as error:
            # (message, data): the JavaScript client reads them as err.message and err.data
            refusal = error.to_json()
            raise socketio.exceptions.ConnectionRefusedError(refusal["message"], refusal) from error

    @sio.event  # type: ignore[untyped-decorator]
    async def disconnect(sid: str, reason: Any = None) -> None:
        grants.forget(NAMESPACE, sid)

    @sio.event  # type: ignore[untyped-decorator]
    async def join(sid: str, data: Any = None) -> dict[str, Any]:
        """Enter the live stream and receive everything after ``after``."""
        try:
            principal = await principal_of(sid)
            after = data.get("after", 0) if isinstance(data, dict) else 0
            # Enter the room first: a live event that races the catch-up is then received
            # twice at worst, and clients drop a seq they already hold.
            await sio.enter_room(sid, room_for(principal))
            if principal.role is Role.EXPERT:
                dispatcher.seat_joined(principal.session, principal.subject)
            answer = await service.read.catch_up(principal, after)
        except CommandError as error:
            return _error(error)
        return {"ok": True, "role": str(principal.role), "seat": principal.seat, **answer}

    @sio.event  # type: ignore[untyped-decorator]
    async def sync(sid: str, data: Any = None) -> dict[str, Any]:
        """Events after ``after`` (a client that saw a gap asks this)."""
        try:
            principal = await principal_of(sid)
            after = data.get("after") if isinstance(data, dict) else None
            return {"ok": True, **(await service.read.catch_up(principal, after))}
        except CommandError as error:
            return _error(error)

    @sio.event  # type: ignore[untyped-decorator]
    async def command(sid: str, data: Any = None) -> dict[str, Any]:
        """One command; acknowledged only after it is committed."""
        try:
            principal = await principal_of(sid)
            return await service.commands.command(principal, data)
        except CommandError as error:
            return _error(error)
        except Exception:  # a bug must not leave the client waiting for an ack forever
            logger.exception("command failed")
            return _error(CommandError(Code.INTERNAL, "internal error; resend the command"))

    @sio.event  # type: ignore[untyped-decorator]
    async def state(sid: str, data: Any = None) -> dict[str, Any]:
        """The whole current view (what a client holds after folding every event)."""
        try:
            return {"ok": True, "state": await service.read.snapshot(await principal_of(sid))}
        except CommandError as error:
            return _error(error)

    @sio.event  # type: ignore[untyped-decorator]
    async def results(sid: str, data: Any = None) -> dict[str, Any]:
        """Results and flags, computed from the current state for this role."""
        try:
            return {"ok": True, **(await service.read.results(await principal_of(sid)))}
        except CommandError as error:
            return _error(error)
