"""A Janus publisher's recordings once it closed, and those a crash left: converted to
WebM/Opus (:mod:`signaling.janus.recording`) and reported as the backend's events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from signaling.janus.conn import Conn, wall_ms
from signaling.janus.recording import (
    JANUS_DIR,
    OPEN_SUFFIX,
    convert,
    leftovers,
    mark_converted,
    set_aside_if_empty,
)
from signaling.janus.recording import seat_of as recorded_seat

logger = logging.getLogger(__name__)

OnEvent = Callable[[dict[str, Any]], None]
CLOSE_WAIT_S = 10.0  # how long Janus may take to close a publisher's recordings


async def finish_recordings(recordings: Path, c: Conn, on_event: OnEvent) -> None:
    """Wait for Janus to close ``c``'s ``.mjr`` files, convert each (a ``recording`` event),
    then report the exact final counts (a ``status`` event with ``final`` tracks)."""
    folder = recordings / c.session / JANUS_DIR
    pattern = f"{c.base}-*.mjr"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLOSE_WAIT_S
    # Nothing to wait on but the file system: Janus renames .mjr.part to .mjr once closed.
    while any(folder.glob(pattern + OPEN_SUFFIX)) and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # Janus renames .mjr.part to .mjr once it closed it
    final = []
    for mjr in sorted([*folder.glob(pattern), *folder.glob(pattern + OPEN_SUFFIX)]):
        cut = mjr.name.endswith(OPEN_SUFFIX)
        if await asyncio.to_thread(set_aside_if_empty, mjr):
            logger.info("no packet reached %s: nothing recorded", mjr.name)
            continue
        try:
            manifest, info = await asyncio.to_thread(convert, mjr, c.session, c.seat, cut=cut)
        except Exception:  # one broken file must not keep the others from being reported
            logger.exception("converting recording %s failed", mjr)
            continue
        await asyncio.to_thread(mark_converted, mjr)
        on_event({"event": "recording", "session": c.session, "manifest": manifest.to_json()})
        track: dict[str, Any] = {"session": c.session, "seat": c.seat, "kind": info.kind}
        track["final"] = True
        counts = {"packets": info.frames, "bytes": info.bytes, "keyframes": info.keyframes}
        last = (info.first_us // 1000) + info.last_offset_ms
        final.append({**track, **counts, "lost": info.lost, "last_ms": last})
    if final:  # what was received, once nothing more can arrive
        on_event({"event": "status", "tracks": final, "at_ms": wall_ms()})


def convert_leftovers(recordings: Path) -> list[dict[str, Any]]:
    """Convert recordings a crash left (cut when Janus never closed them); return their
    ``recording`` events (runs in a thread: the caller reports them on the loop)."""
    events: list[dict[str, Any]] = []
    if not recordings.is_dir():
        return events
    for session_dir in sorted(p for p in recordings.iterdir() if p.is_dir()):
        for mjr in leftovers(session_dir):
            seat = recorded_seat(mjr)
            if seat is None:
                continue
            cut = mjr.name.endswith(OPEN_SUFFIX)
            if set_aside_if_empty(mjr):
                continue
            try:
                manifest, _ = convert(mjr, session_dir.name, seat, cut=cut)
            except Exception:
                logger.exception("converting leftover recording %s failed", mjr)
                continue
            mark_converted(mjr)
            recording = {"session": session_dir.name, "manifest": manifest.to_json()}
            events.append({"event": "recording", **recording})
    return events
