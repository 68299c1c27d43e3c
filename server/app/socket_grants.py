"""Open sockets follow their token.

A socket is admitted with the claims of the token it connected with (``admit``), and every event
it sends is checked against them (``principal``): past the token's expiry it gets
``token_expired`` at once. A sweep every ``interval_s`` seconds re-checks every open socket of
this node against its session's log: a token the admin revoked, or one past its expiry, gets an
``auth_error`` message with the typed error and is disconnected, so it stops receiving live events
within one interval. Both namespaces (the default one and ``/media``) use the same grants.

The principal of a socket is fixed at connect: python-socketio refuses a second ``CONNECT`` for a
namespace the connection already joined (tests/app/test_socket_grants.py shows it), so a client
cannot swap the principal of an open socket.

Every event is also charged to its principal's budget for its kind (``budgets.py``), and one
token has at most ``Limits.sockets_per_token`` sockets per namespace on a node. Sockets are per
node, so this registry is per node too; the revocation itself is in the log, which every node
reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from server.app.budgets import Budgets
from server.app.handlers.auth import AuthHandler
from server.app.limits import Limits
from server.app.tokens import Claims
from server.domain.errors import Code, CommandError
from server.domain.roles import Principal
from server.domain.state import SessionState

logger = logging.getLogger(__name__)

Handler = Callable[[str, Principal, Any], Awaitable[dict[str, Any]]]
Event = Callable[[str, Any], Awaitable[dict[str, Any]]]

SWEEP_INTERVAL_S = 1.0
AUTH_ERROR_EVENT = "auth_error"


class SocketGrants:
    """The token claims of every open socket on this node, by (namespace, sid)."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        auth: AuthHandler,
        limits: Limits | None = None,
        interval_s: float = SWEEP_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sio = sio
        self._auth = auth
        self.limits = limits or Limits()
        self.interval_s = interval_s
        self._clock = clock
        self._grants: dict[tuple[str, str], Claims] = {}
        self.budgets = Budgets(self.limits, clock)
        self._task: asyncio.Task[None] | None = None

    async def admit(self, namespace: str, sid: str, token: Any) -> Principal:
        """Check a connecting socket's token (expiry, revocation, how many sockets it has open)
        and remember its claims."""
        claims = await self._auth.claims(token)
        held = sum(
            1
            for (ns, _sid), other in self._grants.items()
            if ns == namespace and other.principal == claims.principal
        )
        if held >= self.limits.sockets_per_token:
            raise CommandError(
                Code.TOO_MANY_CONNECTIONS,
                f"this token has {held} sockets open here already; close one first",
            )
        self._grants[(namespace, sid)] = claims
        return claims.principal

    def forget(self, namespace: str, sid: str) -> None:
        """A socket closed (its principal's buckets stay: a reconnect gets no fresh burst)."""
        self._grants.pop((namespace, sid), None)

    def throttle(self, namespace: str, sid: str, kind: str) -> None:
        """Refuse with ``rate_limited`` a socket sending ``kind`` (command, read, media) fast.

        The budget is its principal's on this namespace, shared by that token's sockets: more
        sockets, or a reconnect, buy no more than one socket has.
        """
        claims = self._grants.get((namespace, sid))
        if claims is not None:
            self.budgets.take(namespace, claims.principal, kind)

    def answering(self, namespace: str, kind: str, handler: Handler) -> Event:
        """``handler`` as a socket.io event that always answers: the socket's principal
        (refused once its token lapsed), its rate limit for ``kind``, typed errors, and
        ``internal`` for a bug (a client must never wait for an ack for ever)."""

        async def event(sid: str, data: Any = None) -> dict[str, Any]:
            try:
                principal = self.principal(namespace, sid)
                self.throttle(namespace, sid, kind)
                return await handler(sid, principal, data)
            except CommandError as error:
                return {"ok": False, "error": error.detached().to_json()}
            except Exception:
                logger.exception("%s failed", handler.__name__)
                bug = CommandError(Code.INTERNAL, "internal error; ask again")
                return {"ok": False, "error": bug.to_json()}

        event.__name__ = handler.__name__
        return event

    def principal(self, namespace: str, sid: str) -> Principal:
        """The principal of an open socket, refused once its token has expired."""
        claims = self._grants.get((namespace, sid))
        if claims is None:
            raise CommandError(Code.UNAUTHENTICATED, "connect with a token first")
        if claims.exp <= self._auth.now_s():
            raise CommandError(Code.TOKEN_EXPIRED, "token expired; sign in again")
        return claims.principal

    def __len__(self) -> int:
        return len(self._grants)

    async def sweep(self) -> list[tuple[str, str]]:
        """Drop every socket whose token expired or was revoked; the (namespace, sid) dropped."""
        dropped = []
        states: dict[str, SessionState | None] = {}  # one read per session and sweep
        for (namespace, sid), claims in list(self._grants.items()):
            session = claims.principal.session
            if session not in states:
                states[session] = await self._auth.session_state(session)
            refusal = self._auth.refusal(claims, states[session])
            if refusal is not None and self._grants.get((namespace, sid)) is claims:
                dropped.append((namespace, sid))
                self.forget(namespace, sid)
                await self._drop(namespace, sid, refusal)
        return dropped

    async def _drop(self, namespace: str, sid: str, error: CommandError) -> None:
        try:
            await self._sio.emit(AUTH_ERROR_EVENT, error.to_json(), to=sid, namespace=namespace)
            await self._sio.disconnect(sid, namespace=namespace)
        except Exception:  # a socket that went away meanwhile: nothing more to drop
            logger.debug("dropping %s on %s failed", sid, namespace, exc_info=True)

    async def start(self) -> None:
        """Run the sweep every ``interval_s`` seconds until :meth:`stop`."""
        self._task = asyncio.create_task(self._run(), name="socket-grants-sweep")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                dropped = await self.sweep()
            except Exception:  # the sweep must go on; the next one retries
                logger.exception("socket grant sweep failed")
                continue
            if dropped:
                logger.info("dropped %d socket(s) whose token expired or was revoked", len(dropped))
