"""The media room of each session: members, who publishes, which connections carry what.

One room per session spans every venue. The room decides nothing about rights itself: it asks
:mod:`signaling.policy` who publishes and who receives what, and it asks the media backend for
connections. A member's offer on its publishing connection is answered through the backend;
when a seat publishes, the room opens one connection down to every member the policy lets
receive it, and the backend offers on it (fixed directions: no glare).

Facts worth keeping (joins, leaves, debounced connection states, mutes, dark or silent seats,
closed recordings) go to the session log through :class:`MediaLog`, a narrow interface into the
writer; live status (bitrates, packets) goes to supervisors only, never into the log.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from server.domain.roles import Principal, Role
from signaling.debounce import SilenceWatch, StateDebouncer
from signaling.messages import PUB_CONN, SignalCode, SignalError
from signaling.policy import KINDS, Kind, MediaPolicy, may_publish, receives_any, wanted

logger = logging.getLogger(__name__)


class MediaLog(Protocol):
    """Where media facts become events of the session log."""

    async def record(self, session: str, event_type: str, data: dict[str, Any]) -> bool:
        """Append a media fact; False when the log could not take it now."""
        ...


class Backend(Protocol):
    """The media backend as the room uses it (embedded worker or Janus)."""

    async def publish(self, conn: str, session: str, seat: str, sdp: str) -> dict[str, Any]: ...
    async def subscribe(
        self, conn: str, session: str, source: str, kinds: Sequence[str]
    ) -> dict[str, Any]: ...
    async def answer(self, conn: str, sdp: str) -> None: ...
    async def candidate(self, conn: str, candidate: dict[str, Any]) -> None: ...
    async def close(self, conn: str) -> None: ...


Send = Callable[[str, str, dict[str, Any]], Awaitable[None]]  # (sid, event, data)


@dataclass
class Member:
    """One socket in the media room."""

    sid: str
    principal: Principal
    pub_conn: str | None = None
    subs: dict[str, str] = field(default_factory=dict)  # source seat -> connection id
    muted: dict[str, bool] = field(default_factory=dict)

    @property
    def actor(self) -> str:
        return self.principal.actor


def forbidden(message: str) -> SignalError:
    return SignalError("forbidden", message)


class Rooms:
    """Every session's media room on this node."""

    def __init__(
        self,
        backend: Backend,
        send: Send,
        log: MediaLog,
        policy_of: Callable[[str], Awaitable[MediaPolicy]],
        hold_ms: int = 2000,
    ) -> None:
        self.backend = backend
        self._send = send
        self._log = log
        self._policy_of = policy_of
        self.members: dict[str, Member] = {}
        self.published: dict[str, dict[str, list[Kind]]] = {}  # session -> seat -> kinds
        self._conn_owner: dict[str, str] = {}  # connection id -> sid
        self.debouncer = StateDebouncer(hold_ms)
        self.silence = SilenceWatch()
        self._last_seen: dict[str, int] = {}
        self._muted: set[str] = set()  # session|seat|kind keys muted by their member

    def _in_session(self, session: str) -> list[Member]:
        return [m for m in self.members.values() if m.principal.session == session]

    async def join(self, sid: str, principal: Principal) -> dict[str, Any]:
        """A member enters its session's media room; it gets what is published now."""
        if not receives_any(principal.role) and not may_publish(principal.role):
            raise forbidden(f"a {principal.role} takes no part in live media")
        if principal.role is Role.EXPERT and principal.seat is None:
            raise forbidden("an expert token without a seat")
        if not (await self._policy_of(principal.session)).open:
            raise forbidden("the session is closed: its media room has ended")
        member = Member(sid, principal)
        self.members[sid] = member
        publishes = may_publish(principal.role)
        await self._log.record(
            principal.session, "media.joined", {"member": member.actor, "publishes": publishes}
        )
        for seat in list(self.published.get(principal.session, {})):
            await self._subscribe(member, seat)
        return {"publishes": publishes, "sources": sorted(member.subs)}

    def member(self, sid: str) -> Member:
        member = self.members.get(sid)
        if member is None:
            raise SignalError(SignalCode.MALFORMED, "join the media room first")
        return member

    async def publish(self, sid: str, sdp: str) -> dict[str, Any]:
        """A seat's offer on its publishing connection (a new one replaces the old)."""
        member = self.member(sid)
        seat = member.principal.seat
        if not may_publish(member.principal.role) or seat is None:
            raise forbidden("only an expert seat publishes")
        session = member.principal.session
        conn = f"p.{session}.{seat}"
        member.pub_conn = conn
        self._conn_owner[conn] = sid
        answer = await self.backend.publish(conn, session, seat, sdp)
        kinds = [k for k in KINDS if k in answer.get("kinds", [])]
        self.published.setdefault(session, {})[seat] = kinds
        for other in self._in_session(session):
            if other is not member:
                await self._subscribe(other, seat)
        return {"sdp": answer["sdp"], "kinds": kinds}

    async def seat_up(self, session: str, seat: str, kinds: Sequence[str]) -> None:
        """The backend says a seat's connection is up. Janus refuses subscribers before that,
        so members that could not subscribe when the seat published do it now."""
        self.published.setdefault(session, {})[seat] = [k for k in KINDS if k in kinds]
        for other in self._in_session(session):
            if other.principal.seat != seat and seat not in other.subs:
                await self._subscribe(other, seat)

    async def _subscribe(self, member: Member, seat: str) -> None:
        session = member.principal.session
        kinds = self.published.get(session, {}).get(seat, [])
        policy = await self._policy_of(session)
        chosen = wanted(
            member.principal.role, member.principal.seat, [(seat, k) for k in kinds], policy
        )
        want = sorted(kind for _, kind in chosen)
        if not want:
            return
        conn = f"s.{member.sid}.{seat}"
        offer = await self.backend.subscribe(conn, session, seat, want)
        if offer.get("sdp") is None:
            # The backend dropped whatever it sent down for this source before (a republish):
            # forget it too, or ``seat_up`` would take the member for served and skip it.
            if member.subs.get(seat) == conn:
                del member.subs[seat]
                self._conn_owner.pop(conn, None)
            return
        member.subs[seat] = conn
        self._conn_owner[conn] = member.sid
        data = {"conn": conn, "source": seat, "kinds": offer["kinds"], "sdp": offer["sdp"]}
        await self._send(member.sid, "offer", data)

    def _owned(self, member: Member, conn: str) -> str:
        """The backend's id of a connection named by a client (``pub`` or a sub id)."""
        if conn == PUB_CONN and member.pub_conn is not None:
            return member.pub_conn
        if conn in member.subs.values():
            return conn
        raise forbidden(f"no connection {conn!r} of yours")

    async def answer(self, sid: str, conn: str, sdp: str) -> None:
        """The member's answer to an offer the backend made."""
        await self.backend.answer(self._owned(self.member(sid), conn), sdp)

    async def candidate(self, sid: str, conn: str, candidate: dict[str, Any]) -> None:
        """A trickled candidate of the member's side of ``conn``."""
        await self.backend.candidate(self._owned(self.member(sid), conn), candidate)

    async def restart(self, sid: str, conn: str) -> dict[str, Any]:
        """A connection failed or stayed disconnected: a new one replaces it.

        The publisher restarts by offering again (``publish`` with ``restart``); a connection
        sent down is offered again by the backend on a fresh connection.
        """
        member = self.member(sid)
        backend_conn = self._owned(member, conn)
        if backend_conn == member.pub_conn:
            return {"republish": True}
        source = next(s for s, c in member.subs.items() if c == backend_conn)
        await self.backend.close(backend_conn)
        del member.subs[source]
        await self._subscribe(member, source)
        return {"republish": False}

    async def mute(self, sid: str, kind: str, muted: bool, now_ms: int) -> None:
        """A member muted or unmuted; supervisors see it in the log."""
        member = self.member(sid)
        if member.muted.get(kind, False) == muted:
            return
        member.muted[kind] = muted
        seat = member.principal.seat
        if seat is not None:  # a muted track is silent on purpose: no alert until unmuted
            key = f"{member.principal.session}|{seat}|{kind}"
            if muted:
                self._muted.add(key)
                self.silence.forget(key)
                self._last_seen.pop(key, 0)
            else:
                self._muted.discard(key)
        data = {"member": member.actor, "kind": kind, "muted": muted}
        await self._log.record(member.principal.session, "media.muted", data)

    def observe_state(self, conn: str, state: str, now_ms: int) -> None:
        """A connection's state as the backend saw it (debounced before it is logged)."""
        sid = self._conn_owner.get(conn)
        member = self.members.get(sid) if sid is not None else None
        if member is not None:
            self.debouncer.observe(
                f"{member.principal.session}|{member.actor}|{conn}", state, now_ms
            )

    def observe_client_state(self, sid: str, conn: str, state: str, now_ms: int) -> None:
        """A connection's state as the member's own side saw it (logged as ``<conn>@client``)."""
        member = self.member(sid)
        self._owned(member, conn)
        key = f"{member.principal.session}|{member.actor}|{conn}@client"
        self.debouncer.observe(key, state, now_ms)

    async def tick(self, now_ms: int, dark_limit_ms: int) -> None:
        """Log the connection states that held, and the seats dark for too long."""
        for key, state in self.debouncer.due(now_ms):
            session, actor, conn = key.split("|", 2)
            data = {"member": actor, "conn": conn, "state": state}
            await self._log.record(session, "media.state", data)
        for key in self.silence.alerts(now_ms, dark_limit_ms):
            session, seat, kind = key.split("|", 2)
            alert = {"member": f"expert:{seat}", "kind": kind, "dark_ms": dark_limit_ms}
            await self._log.record(session, "media.alert", alert)

    def saw_media(self, session: str, seat: str, kind: str, last_ms: int) -> None:
        """The backend's last packet time of a track; only a newer one re-arms its alert."""
        key = f"{session}|{seat}|{kind}"
        if key not in self._muted and last_ms > self._last_seen.get(key, 0):
            self._last_seen[key] = last_ms
            self.silence.seen(key, last_ms)

    async def leave(self, sid: str, reason: str) -> None:
        """The member left (or its socket closed): its connections close."""
        member = self.members.pop(sid, None)
        if member is None:
            return
        session = member.principal.session
        for conn in member.subs.values():
            self._conn_owner.pop(conn, None)
            await self.backend.close(conn)
        seat = member.principal.seat
        if member.pub_conn is not None and seat is not None:
            self._conn_owner.pop(member.pub_conn, None)
            await self.backend.close(member.pub_conn)
            self.published.get(session, {}).pop(seat, None)
            for kind in KINDS:
                key = f"{session}|{seat}|{kind}"
                self.silence.forget(key)
                self._last_seen.pop(key, 0)
                self._muted.discard(key)
            for other in self._in_session(session):
                down = other.subs.pop(seat, None)
                if down is not None:
                    self._conn_owner.pop(down, None)
                    await self.backend.close(down)
                    await self._send(other.sid, "unpublished", {"conn": down, "source": seat})
        data = {"member": member.actor, "reason": reason}
        await self._log.record(session, "media.left", data)

    async def end(self, session: str, reason: str) -> None:
        """The session closed: every member is told and leaves, so every recording closes."""
        for member in self._in_session(session):
            await self._send(member.sid, "ended", {"reason": reason})
            await self.leave(member.sid, reason)

    async def backend_lost(self) -> None:
        """The media backend restarted: every member publishes and subscribes again."""
        self.published.clear()
        self._conn_owner.clear()
        for member in self.members.values():
            member.subs.clear()
            member.pub_conn = None
            await self._send(member.sid, "restart", {"reason": "media_backend_restarted"})

    def supervisors(self, session: str) -> list[str]:
        """Sockets of the supervisors in a session's media room (live status goes to them)."""
        return [m.sid for m in self._in_session(session) if m.principal.role is Role.SUPERVISOR]
