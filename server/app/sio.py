"""socket.io handlers: authenticate on connect, ``join``/``sync`` to catch up, ``command``.

Every handler returns its answer as the socket.io acknowledgement: ``{"ok": true, ...}`` or
``{"ok": false, "error": {"code", "message"}}``. Live events arrive as ``events`` messages, each a
list of event views in ``seq`` order.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import socketio

from server.app.fanout import Dispatcher, room_for
from server.app.inspector import Inspector
from server.app.presence import Presence, device_fingerprint
from server.app.service import Service
from server.app.socket_grants import SocketGrants
from server.domain.errors import Code, CommandError
from server.domain.roles import FULL_VIEW_ROLES, Principal, Role

NAMESPACE = "/"


def register(
    sio: socketio.AsyncServer,
    service: Service,
    dispatcher: Dispatcher,
    grants: SocketGrants,
    inspector: Inspector | None = None,
) -> None:
    """Attach the handlers of the default namespace; ``inspector`` hears of a seat's token on
    several devices at once."""
    presence = Presence()
    devices: dict[str, str] = {}  # sid -> device fingerprint
    watching: set[asyncio.Task[None]] = set()

    def now_ms() -> int:
        return int(time.time() * 1000)

    async def tell_staff(session: str, change: dict[str, Any]) -> None:
        await sio.emit("presence", change, room=f"{session}/full")

    @sio.event  # type: ignore[untyped-decorator]
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        request = environ.get("aiohttp.request")
        if request is not None:
            devices[sid] = device_fingerprint(request.remote, request.headers.get("User-Agent"))
        try:
            await grants.admit(NAMESPACE, sid, token)
        except CommandError as error:
            devices.pop(sid, None)
            # (message, data): the JavaScript client reads them as err.message and err.data
            refusal = error.to_json()
            raise socketio.exceptions.ConnectionRefusedError(refusal["message"], refusal) from error

    @sio.event  # type: ignore[untyped-decorator]
    async def disconnect(sid: str, reason: Any = None) -> None:
        grants.forget(NAMESPACE, sid)
        devices.pop(sid, None)
        left = presence.left(sid, now_ms())
        if left is not None:
            await tell_staff(*left)

    async def join(sid: str, principal: Principal, data: Any) -> dict[str, Any]:
        """Enter the live stream and receive everything after ``after``."""
        after = data.get("after", 0) if isinstance(data, dict) else 0
        # Enter the room first: a live event that races the catch-up is then received twice at
        # worst, and clients drop a seq they already hold.
        await sio.enter_room(sid, room_for(principal))
        if principal.role is Role.EXPERT:
            dispatcher.seat_joined(principal.session, principal.subject)
            device = devices.get(sid, "")
            change = presence.joined(principal.session, principal.subject, sid, now_ms(), device)
            seen = presence.devices(principal.session, principal.subject)
            if inspector is not None and len(seen) > 1:
                task = asyncio.create_task(
                    inspector.connections(principal.session, principal.subject, seen)
                )
                watching.add(task)
                task.add_done_callback(watching.discard)
            if change is not None:
                await tell_staff(principal.session, change)
        answer = await service.read.catch_up(
            principal, after, grants.budgets.afford(NAMESPACE, principal)
        )
        return {"ok": True, "role": str(principal.role), "seat": principal.seat, **answer}

    async def sync(sid: str, principal: Principal, data: Any) -> dict[str, Any]:
        """Events after ``after`` (a client that saw a gap asks this)."""
        after = data.get("after") if isinstance(data, dict) else None
        answer = await service.read.catch_up(
            principal, after, grants.budgets.afford(NAMESPACE, principal)
        )
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

    async def presence_table(sid: str, principal: Principal, data: Any) -> dict[str, Any]:
        """Supervisors and auditors: which seats have a socket on this node, last seen when."""
        if principal.role not in FULL_VIEW_ROLES:
            raise CommandError(Code.FORBIDDEN, "presence is for supervisors and auditors")
        return {"ok": True, "seats": presence.of_session(principal.session), "now": now_ms()}

    sio.on("presence", grants.answering(NAMESPACE, "read", presence_table))
    for handler in (join, sync, state, results):
        sio.on(handler.__name__, grants.answering(NAMESPACE, "read", handler))
    sio.on("command", grants.answering(NAMESPACE, "command", command))
