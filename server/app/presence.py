"""Which seats have a live socket on this node, and when each was last seen (监督: 在线状态).

Presence is not in the log: a socket's coming and going says nothing about the evaluation, and
the log keeps only what the committee and the media did (``media.*`` states, debounced). It is
what a supervisor needs to see at a glance ("guest-2-1 offline since 10:05") and it is shown live:
a change is pushed to the session's supervisors and auditors as a ``presence`` message, and the
whole table is answered to a ``presence`` call.

Time is an argument. This is one node's view; with several nodes each publishes its own changes
through the fan-out seam and a seat is connected when any node says so (not built yet: one node
today, the decision in ARCHITECTURE.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SeatPresence:
    sockets: set[str] = field(default_factory=set)
    last_seen_ms: int = 0  # when the seat's last socket left, or when it joined
    devices: dict[str, str] = field(default_factory=dict)  # sid -> device fingerprint

    def to_json(self) -> dict[str, Any]:
        return {"connected": bool(self.sockets), "last_seen": self.last_seen_ms}


class Presence:
    """Seats' sockets per session; each change of a seat's connected state is returned once."""

    def __init__(self) -> None:
        self._seats: dict[tuple[str, str], SeatPresence] = {}
        self._by_sid: dict[str, tuple[str, str]] = {}

    def joined(
        self, session: str, seat: str, sid: str, now_ms: int, device: str = ""
    ) -> dict[str, Any] | None:
        """A seat's socket joined; the change to push, or None if the seat was connected.
        ``device`` is the socket's fingerprint (:func:`device_fingerprint`)."""
        key = (session, seat)
        entry = self._seats.setdefault(key, SeatPresence())
        was = bool(entry.sockets)
        entry.sockets.add(sid)
        if device:
            entry.devices[sid] = device
        entry.last_seen_ms = now_ms
        self._by_sid[sid] = key
        return None if was else {"seat": seat, **entry.to_json()}

    def left(self, sid: str, now_ms: int) -> tuple[str, dict[str, Any]] | None:
        """A socket left; (session, change) if its seat has no socket left, else None."""
        key = self._by_sid.pop(sid, None)
        if key is None:
            return None
        entry = self._seats[key]
        entry.sockets.discard(sid)
        entry.devices.pop(sid, None)
        entry.last_seen_ms = now_ms
        if entry.sockets:
            return None
        return key[0], {"seat": key[1], **entry.to_json()}

    def devices(self, session: str, seat: str) -> list[str]:
        """The distinct device fingerprints of the seat's live sockets on this node."""
        entry = self._seats.get((session, seat))
        return sorted(set(entry.devices.values())) if entry else []

    def of_session(self, session: str) -> dict[str, dict[str, Any]]:
        """Every seat of ``session`` seen on this node: seat -> {connected, last_seen}."""
        return {seat: p.to_json() for (s, seat), p in self._seats.items() if s == session}


def device_fingerprint(remote: str | None, user_agent: str | None) -> str:
    """A socket's device as the inspection compares them (16 hex digits): its address and its
    browser. Two tabs of one browser are one device; a second machine with the seat's token is
    another (``two_connections``, server/domain/inspection.py)."""
    text = f"{remote or ''}|{user_agent or ''}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
