"""One Janus connection of the backend, and what a supervisor sees of a publisher's tracks.

A :class:`Conn` is a publisher (``pub``) or subscriber (``sub``) handle of the VideoRoom.
Janus's HTTP API gives no packet counters (only its admin API and event handlers do, both off),
so a publisher's live counters are read from the ``.mjr`` each track is recorded to
(:mod:`signaling.janus.tail`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signaling.janus.recording import JANUS_DIR
from signaling.janus.tail import Counters, MjrTail, tails_for

logger = logging.getLogger(__name__)


def wall_ms() -> int:
    """Milliseconds since the epoch (the backend's only clock)."""
    return int(time.time() * 1000)


@dataclass
class Conn:
    """One connection: a publisher (``pub``) or subscriber (``sub``) handle of Janus."""

    id: str
    session: str
    seat: str  # the publishing seat, or the seat a subscriber receives
    direction: str
    handle: int
    feed: str | None = None  # a publisher's id in its room
    mids: dict[str, str] = field(default_factory=dict)  # kind -> mid
    kinds: list[str] = field(default_factory=list)
    base: str | None = None  # a publisher's recording base name
    receiving: dict[str, bool] = field(default_factory=dict)
    last_ms: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)
    up: asyncio.Event = field(default_factory=asyncio.Event)  # Janus said webrtcup
    tails: dict[str, MjrTail] = field(default_factory=dict)  # kind -> its recording, live


def poll_tails(recordings: Path, publishers: list[Conn]) -> None:
    """Read what Janus wrote since the last poll into each publisher's tails (blocking IO)."""
    for c in publishers:
        if c.base is None:
            continue
        tails_for(recordings / c.session / JANUS_DIR, c.base, c.tails)
        for tail in c.tails.values():
            try:
                tail.poll()
            except (OSError, ValueError) as exc:  # live counters are best effort
                logger.debug("reading %s: %s", tail.path, exc)


def live_tracks(publishers: list[Conn], now: int) -> list[dict[str, Any]]:
    """Every publisher's tracks as the ``status`` event shows them.

    The counters lag by Janus's write buffer (the ``final`` status after a close is exact).
    ``last_ms`` is also ``now`` while Janus's ``media`` events say the track is being received:
    they say so again within a second of media stopping, sooner than the buffered file shows it.
    """
    tracks = []
    for c in publishers:
        for kind in c.kinds:
            if c.receiving.get(kind):
                c.last_ms[kind] = now
            tail = c.tails.get(kind)
            seen = tail.counters if tail is not None else Counters()
            track: dict[str, Any] = {"session": c.session, "seat": c.seat, "kind": kind}
            track.update(packets=seen.packets, bytes=seen.payload_bytes, keyframes=seen.keyframes)
            track["lost"] = max(seen.lost, c.lost.get(kind, 0))
            track["last_ms"] = max(seen.last_ms, c.last_ms.get(kind, 0))
            tracks.append(track)
    return tracks
