"""socket.io handlers: authenticate on connect, ``join``/``sync`` to catch up, ``command``.

Every handler returns its answer as the socket.io acknowledgement: ``{"ok": true, ...}`` or
``{"ok": false, "error": {"code", "message"}}``. Live events arrive as ``events`` messages, each a
list of event views in ``seq`` order.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from server.app.fanout import Dispatcher, room_for
from server.app.service import Service
from server.app.socket_grants import SocketGrants
from server.domain.errors import Code, CommandError
from server.domain.roles import Principal, Role

logger = logging.getLogger(__name__)

Handler = Callable[[str, Principal, Any], Awaitable[dict[str, Any]]]

NAMESPACE = "/"


def _error(error: CommandError) -> dict[str, Any]:
    return {"ok": False, "error": error.to_json()}


def register(
    sio: socketio.AsyncServer, service: Service, dispatcher: Dispatcher, grants: SocketGrants
) -> None:
    """Attach the handlers of the default namespace."""

    def answered(
        kind: str,
    ) -> Callable[[Handler], Callable[[str, Any], Awaitable[dict[str, Any]]]]:
        """A handler that always answers: the socket's principal (refused once its token
        lapsed), its rate limit for ``kind``, typed errors, and ``internal`` for a bug."""

        def wrap(handler: Handler) -> Callable[[str, Any], Awaitable[dict[str, Any]]]:
            async def event(sid: str, data: Any = None) -> dict[str, Any]:
                try:
                    principal = grants.principal(NAMESPACE, sid)
                    grants.throttle(NAMESPACE, sid, kind)
                    return await handler(sid, principal, data)
                except CommandError as error:
                    return _error(error)
                except Exception:  # a bug must not leave the client waiting for an ack forever
                    logger.exception("%s failed", handler.__name__)
                    return _error(CommandError(Code.INTERNAL, "internal error; ask again"))

            event.__name__ = handler.__name__
            return event

        return wrap

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

    async def join(sid: str, principal: Principal, data: Any) -> dict[str, Any]:
        """Enter the live stream and receive everything after ``after``."""
        after = data.get("after", 0) if isinstance(data, dict) else 0
        # Enter the room first: a live event that races the catch-up is then received twice at
        # worst, and clients drop a seq they already hold.
        await sio.enter_room(sid, room_for(principal))
        if principal.role is Role.EXPERT:
            dispatcher.seat_joined(principal.session, principal.subject)
        answer = await service.read.catch_up(principal, after)
        grants.charge_events(NAMESPACE, sid, len(answer.get("events", ())))
        return {"ok": True, "role": str(principal.role), "seat": principal.seat, **answer}

    async def sync(sid: str, principal: Principal, data: Any) -> dict[str, Any]:
        """Events after ``after`` (a client that saw a gap asks this)."""
        after = data.get("after") if isinstance(data, dict) else None
        answer = await service.read.catch_up(principal, after)
        grants.charge_events(NAMESPACE, sid, len(answer.get("events", ())))
        return {"ok": True, **answer}

    async def command(sid: str, principal: Principal, data: Any) -> dict[str, Any]:
        """One command; acknowledged only after it is committed."""
        return await service.commands.command(principal, data)

    async def state(sid: str, principal: Principal, data: Any) -> dict[str, Any]:
        """The whole current view (what a client holds after folding every event)."""
        return {"ok": True, "state": await service.read.snapshot(principal)}

    async def results(sid: str, principal: Principal, data: Any) -> dict[str, Any]:
        """Results and flags, computed from the current state for this role."""
        return {"ok": True, **(await service.read.results(principal))}

    for handler in (join, sync, state, results):
        sio.on(handler.__name__, answered("read")(handler))
    sio.on("command", answered("command")(command))
