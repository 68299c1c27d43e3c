"""Live counters of a publisher's tracks, read from the ``.mjr`` Janus is writing.

Janus's HTTP API gives no packet counters (its admin API and event handlers do; both are off),
but every packet a recorded publisher sends is appended to its ``.mjr.part``. :class:`MjrTail`
reads what was appended since the last look, so each status costs only the new bytes.

Janus writes through stdio without flushing: unless the node preloads its unbuffered ``.mjr``
library (:mod:`signaling.janus.process`), the file lags the network by up to one buffer (4 KiB),
a few video frames or a few seconds of silent Opus. ``last_ms`` is therefore also taken
from Janus's ``media`` events (see the backend); the counters here are exact once the file is
closed.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from signaling.janus.recording import (
    FRAME_MAGIC,
    KIND_OF_TYPE,
    parse_header,
    rtp_payload,
    vp8_frame_start,
)

_RECENT = 1024  # sequence numbers remembered to count a retransmission once
_HEADER_MAX = 10 + 0xFFFF


@dataclass
class Counters:
    """What was seen of one track so far (PURE: fed with frames)."""

    kind: str = ""
    first_ms: int = 0  # wall time of the first packet (from the header)
    packets: int = 0  # frames, as the embedded worker counts them (a VP8 frame spans packets)
    rtp_packets: int = 0
    payload_bytes: int = 0
    keyframes: int = 0
    last_ms: int = 0
    _lowest: int | None = None
    _highest: int | None = None
    _recent: deque[int] = field(default_factory=lambda: deque(maxlen=_RECENT))

    @property
    def lost(self) -> int:
        """RTP sequence numbers between the lowest and highest seen that never came."""
        if self._lowest is None or self._highest is None:
            return 0
        return max(0, self._highest - self._lowest + 1 - self.rtp_packets)

    def feed(self, offset_ms: int, packet: bytes) -> None:
        """One RTP packet, ``offset_ms`` after the first."""
        if len(packet) < 12:
            return
        seq = int.from_bytes(packet[2:4], "big")
        high = self._highest
        ext = seq if high is None else high + ((seq - high + 0x8000) & 0xFFFF) - 0x8000
        if ext in self._recent:
            return
        self._recent.append(ext)
        self._highest = ext if high is None else max(high, ext)
        self._lowest = ext if self._lowest is None else min(self._lowest, ext)
        self.rtp_packets += 1
        payload = rtp_payload(packet)
        self.payload_bytes += len(payload)
        if self.kind == "audio":  # one Opus frame per packet
            self.packets += 1
            self.keyframes += 1
        else:
            starts, keyframe = vp8_frame_start(payload)
            self.packets += int(starts)
            self.keyframes += int(keyframe)
        self.last_ms = max(self.last_ms, self.first_ms + offset_ms)


class MjrTail:
    """Follows one ``.mjr`` file as Janus appends to it (and after Janus renames it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counters = Counters()
        self._offset = 0
        self._started = False

    def poll(self) -> Counters:
        """Read what was appended since the last call; return the counters."""
        path = self.path
        if not path.exists():
            closed = path.with_name(path.name.removesuffix(".part"))
            if not closed.exists():
                return self.counters
            self.path = path = closed
        with path.open("rb") as f:
            f.seek(self._offset)
            data = f.read()
        if not self._started:
            if len(data) < 10 or len(data) < 10 + int.from_bytes(data[8:10], "big"):
                return self.counters  # the header is not all there yet
            header, used = parse_header(data[:_HEADER_MAX])
            self.counters.kind = KIND_OF_TYPE.get(str(header.get("t")), "")
            self.counters.first_ms = int(header.get("u", header.get("s", 0))) // 1000
            self._started = True
            self._offset += used
            data = data[used:]
        at = 0
        while at + 10 <= len(data) and data[at : at + 4] == FRAME_MAGIC:
            length = int.from_bytes(data[at + 8 : at + 10], "big")
            if at + 10 + length > len(data):
                break  # Janus's buffer ended inside this frame: read it next time
            when = int.from_bytes(data[at + 4 : at + 8], "big")
            self.counters.feed(when, data[at + 10 : at + 10 + length])
            at += 10 + length
        self._offset += at
        return self.counters


def tails_for(folder: Path, base: str, known: dict[str, MjrTail]) -> dict[str, MjrTail]:
    """``known`` plus a tail for every recording of ``base`` Janus opened since (by kind)."""
    for entry in os.scandir(folder) if folder.is_dir() else ():
        if entry.name.startswith(f"{base}-") and ".mjr" in entry.name:
            kind = entry.name[len(base) + 1 :].split("-", 1)[0]
            if kind in ("audio", "video") and kind not in known:
                known[kind] = MjrTail(Path(entry.path))
    return known
