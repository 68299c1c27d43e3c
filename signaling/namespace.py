"""The ``/media`` socket.io namespace: the edge where signaling messages arrive.

A client connects with the same token as on the default namespace. ``join`` enters its
session's media room and returns the ICE servers (with TURN credentials minted for this member,
refreshed at every join, so a reconnect gets fresh ones); every other event is parsed by
:func:`signaling.messages.parse_message` and handed to :class:`signaling.room.Rooms`. Answers
are socket.io acknowledgements ``{"ok": true, ...}`` or ``{"ok": false, "error": {...}}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import socketio

from server.domain.errors import CommandError
from server.domain.roles import Principal
from signaling import messages
from signaling.ice import IceConfig, ice_servers
from signaling.messages import SignalError
from signaling.room import Rooms

logger = logging.getLogger(__name__)

NAMESPACE = "/media"


class Admission(Protocol):
    """Who an open socket is: admitted with its token, refused once the token lapses.

    The node's ``SocketGrants`` (server/app/socket_grants.py), shared with the default namespace,
    so that a revoked or expired token loses its media sockets as it loses the others.
    """

    async def admit(self, namespace: str, sid: str, token: Any) -> Principal: ...

    def forget(self, namespace: str, sid: str) -> None: ...

    def principal(self, namespace: str, sid: str) -> Principal: ...

    def throttle(self, namespace: str, sid: str, kind: str) -> None: ...


def _error(error: SignalError | CommandError) -> dict[str, Any]:
    return {"ok": False, "error": error.to_json()}


class MediaNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    """Signaling for every session's media room on this node."""

    def __init__(
        self,
        rooms: Rooms,
        grants: Admission,
        ice: IceConfig,
        now_ms: Callable[[], int],
    ) -> None:
        super().__init__(NAMESPACE)
        self.rooms = rooms
        self._grants = grants
        self._ice = ice
        self._now_ms = now_ms

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            await self._grants.admit(NAMESPACE, sid, token)
        except CommandError as error:
            # (message, data): the JavaScript client reads them as err.message and err.data
            refusal = error.to_json()
            raise socketio.exceptions.ConnectionRefusedError(refusal["message"], refusal) from error

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._grants.forget(NAMESPACE, sid)
        await self.rooms.leave(sid, "disconnected")

    async def _principal(self, sid: str) -> Principal:
        return self._grants.principal(NAMESPACE, sid)  # refused once the token has expired

    async def on_join(self, sid: str, data: Any = None) -> dict[str, Any]:
        try:
            principal = await self._principal(sid)
            self._grants.throttle(NAMESPACE, sid, "media")
            answer = await self.rooms.join(sid, principal)
            user = f"{principal.session}.{principal.subject}"
            servers = ice_servers(self._ice, user, self._now_ms() // 1000)
        except (SignalError, CommandError) as error:
            return _error(error)
        except Exception:  # e.g. the media backend failed: answer rather than leave it waiting
            logger.exception("media join failed")
            return {"ok": False, "error": {"code": "internal", "message": "media server error"}}
        return {"ok": True, "ice_servers": servers, **answer}

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect", "join"):
            return await super().trigger_event(event, *args)
        sid, data = args[0], (args[1] if len(args) > 1 else None)
        try:
            return {"ok": True, **(await self._dispatch(sid, event, data))}
        except (SignalError, CommandError) as error:
            return _error(error)
        except Exception:  # a bug must not leave the client waiting for an answer
            logger.exception("media %s failed", event)
            return {"ok": False, "error": {"code": "internal", "message": "media server error"}}

    async def _dispatch(self, sid: str, event: str, data: Any) -> dict[str, Any]:
        await self._principal(sid)
        self._grants.throttle(NAMESPACE, sid, "media")
        message = messages.parse_message(event, data)
        rooms = self.rooms
        if isinstance(message, messages.Publish):
            return await rooms.publish(sid, message.sdp)
        if isinstance(message, messages.SubscribeAnswer):
            await rooms.answer(sid, message.conn, message.sdp)
        elif isinstance(message, messages.Candidate):
            candidate = {
                "candidate": message.candidate,
                "sdpMid": message.sdp_mid,
                "sdpMLineIndex": message.sdp_mline_index,
            }
            await rooms.candidate(sid, message.conn, candidate)
        elif isinstance(message, messages.Restart):
            return await rooms.restart(sid, message.conn)
        elif isinstance(message, messages.Mute):
            await rooms.mute(sid, message.kind, message.muted, self._now_ms())
        elif isinstance(message, messages.Leave):
            await rooms.leave(sid, "leave")
        elif isinstance(message, messages.State):
            rooms.observe_client_state(sid, message.conn, message.state, self._now_ms())
        return {}
