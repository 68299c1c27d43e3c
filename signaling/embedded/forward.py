"""Forwarding one publisher's track: read its encoded packets once, record them, copy them on.

An :class:`Upstream` owns the receiving side of one seat's audio or video track in the worker.
It packetizes each frame once (:func:`signaling.embedded.send_seam.packetize`) and every
subscriber's :class:`ForwardTrack` sends the same payloads on its own RTP stream, synchronously,
as the frame arrives (:class:`~signaling.embedded.send_seam.DirectSender`): no task, queue or
``await`` per subscriber and packet. A subscriber whose connection is not up yet holds what
came since a keyframe. A late subscriber starts at a keyframe: its track drops video until one
comes, and asks the publisher for one.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpsender import RTCRtpSender
from aiortc.utils import random16

from recordings.manifest import vp8_is_keyframe
from signaling.embedded.seam import ReceiverTap
from signaling.embedded.send_seam import DirectSender, OutFrame, packetize

logger = logging.getLogger(__name__)

MAX_QUEUED = 120  # frames a subscriber may hold before it is up, then it restarts at a keyframe
KEYFRAME_INTERVAL_S = 0.25  # keyframe requests go upstream at most this often (and retry so)
CLOCK_RATE = {"audio": 48_000, "video": 90_000}  # RTP clock of Opus and VP8 (RFC 7587, 7741)


EncodedPacket: TypeAlias = (
    "av.Packet[Any]"  # what a pass-through receiver yields (see seam.DirectQueue)
)


def is_keyframe(kind: str, data: bytes) -> bool:
    """Whether an encoded frame starts a decodable sequence (every audio frame does)."""
    return kind != "video" or vp8_is_keyframe(data)


def rtp_time(kind: str, pts: int, time_base: fractions.Fraction | None) -> int:
    """A packet's pts in its codec's RTP clock (the pass-through's pts already is)."""
    rate = CLOCK_RATE[kind]
    if time_base is None or time_base == fractions.Fraction(1, rate):
        return pts
    return int(pts * time_base * rate)


class ForwardTrack(MediaStreamTrack):
    """One subscriber's copy of an upstream track.

    Its aiortc sender's own RTP loop reads :meth:`recv`, which yields nothing until the track
    ends: the frames go out through :meth:`send_through`'s :class:`DirectSender` instead.
    """

    def __init__(self, upstream: Upstream) -> None:
        super().__init__()
        self.kind = upstream.kind
        self._upstream = upstream
        self._held: deque[OutFrame] = deque()  # frames waiting for the connection to come up
        self._out: DirectSender | None = None
        self._ended = asyncio.Event()
        self._started = upstream.kind != "video"  # video waits for a keyframe
        self.sent = 0

    def send_through(self, sender: RTCRtpSender) -> None:
        """Send on ``sender``'s stream (the transceiver this track was added with)."""
        self._out = DirectSender(sender)

    def push(self, frame: OutFrame) -> bool:
        """Send ``frame`` (or hold it until the connection is up); whether this track still
        waits for a keyframe."""
        if not self._started:
            if not frame.keyframe:
                return True
            self._started = True
        out = self._out
        if not self._held and out is not None and out.send(frame):
            self.sent += 1
            return False
        if len(self._held) >= MAX_QUEUED:  # a stalled subscriber: start again at a keyframe
            self._held.clear()
            if self.kind == "video":
                self._started = frame.keyframe
                if not frame.keyframe:
                    self._upstream.ask_keyframe()
                    return True
        self._held.append(frame)
        while self._held and out is not None and out.send(self._held[0]):
            self._held.popleft()
            self.sent += 1
        return False

    @property
    def waiting_for_keyframe(self) -> bool:
        return not self._started

    async def recv(self) -> Any:
        await self._ended.wait()
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._ended.set()
        self._upstream.detach(self)


@dataclass
class TrackStats:
    """What a supervisor sees of one upstream track (counters since it started)."""

    packets: int = 0
    bytes: int = 0
    keyframes: int = 0
    lost: int = 0
    last_ms: int = 0  # wall time of the last packet, 0 before the first
    # Video: from the first packet (when the keyframe request goes out, unless that packet was
    # a keyframe) to the first keyframe, i.e. how long the recording waited; -1 until then.
    keyframe_wait_ms: int = -1

    def to_json(self) -> dict[str, int]:
        return {
            "packets": self.packets,
            "bytes": self.bytes,
            "keyframes": self.keyframes,
            "lost": self.lost,
            "last_ms": self.last_ms,
            "keyframe_wait_ms": self.keyframe_wait_ms,
        }


class Sink(Protocol):
    """Where an upstream's packets are recorded (the track writer, seen through what it needs)."""

    def write(self, data: bytes, pts: int, keyframe: bool, arrival_ms: int) -> None: ...
    def lost(self, count: int) -> None: ...


class Upstream:
    """One publisher track in the worker."""

    def __init__(
        self,
        kind: str,
        track: MediaStreamTrack,
        tap: ReceiverTap,
        sink: Sink | None,
        wall_ms: Callable[[], int],
    ) -> None:
        self.kind = kind
        self.track = track
        self.tap = tap
        self.sink = sink
        self.stats = TrackStats()
        self._wall_ms = wall_ms
        self._subscribers: list[ForwardTrack] = []
        self._last_ask = 0.0
        self._keyframe_seen = kind != "video"
        self._first_packet_at: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._asks: set[asyncio.Future[None]] = set()
        self._picture_id = random16() & 0x7FFF  # VP8 picture ids forwarded, one per frame

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"upstream-{self.kind}")

    def attach(self) -> ForwardTrack:
        forward = ForwardTrack(self)
        self._subscribers.append(forward)
        if self.kind == "video":
            self.ask_keyframe()
        return forward

    def detach(self, forward: ForwardTrack) -> None:
        if forward in self._subscribers:
            self._subscribers.remove(forward)

    def ask_keyframe(self) -> None:
        """Ask the publisher for a keyframe, at most every ``KEYFRAME_INTERVAL_S``."""
        now = time.monotonic()
        if self.kind != "video" or self.tap.ssrc is None:  # nothing to ask before a packet
            return
        if now - self._last_ask < KEYFRAME_INTERVAL_S:
            return
        self._last_ask = now
        task = asyncio.ensure_future(self.tap.request_keyframe())
        self._asks.add(task)
        task.add_done_callback(self._asks.discard)

    def on_gap(self, missing: int) -> None:
        """Packets went missing: the pass-through never fails to decode, so ask here."""
        self.stats.lost += missing
        if self.sink is not None:
            self.sink.lost(missing)
        self.ask_keyframe()

    async def _run(self) -> None:
        try:
            while True:
                packet = await self.track.recv()
                if isinstance(packet, av.Packet):
                    self._forward(packet)
        except MediaStreamError:
            pass
        finally:
            for forward in list(self._subscribers):
                forward.stop()

    def _count(self, data: bytes, keyframe: bool) -> int:
        now = self._wall_ms()
        stats = self.stats
        stats.packets += 1
        stats.bytes += len(data)
        stats.last_ms = now
        if keyframe and self.kind == "video":
            stats.keyframes += 1
            if stats.keyframe_wait_ms < 0 and self._first_packet_at is not None:
                stats.keyframe_wait_ms = round((time.monotonic() - self._first_packet_at) * 1000)
        return now

    def _forward(self, packet: EncodedPacket) -> None:
        data = bytes(packet)
        keyframe = is_keyframe(self.kind, data)
        if self._first_packet_at is None:
            self._first_packet_at = time.monotonic()
        now = self._count(data, keyframe)
        if not self._keyframe_seen:
            # The recording starts at a keyframe asked for at the first packet, not waited for
            # (a browser may send its next one many seconds later); asked again until it comes.
            if keyframe:
                self._keyframe_seen = True
            else:
                self.ask_keyframe()
        if self.sink is not None and packet.pts is not None:
            self.sink.write(data, int(packet.pts), keyframe, now)
        if self._subscribers and packet.pts is not None:
            self._copy(data, rtp_time(self.kind, int(packet.pts), packet.time_base), keyframe)

    def _copy(self, data: bytes, timestamp: int, keyframe: bool) -> None:
        """Packetize once, send to every subscriber; one that fails is dropped, not the rest."""
        payloads = packetize(self.kind, data, self._picture_id)
        self._picture_id = (self._picture_id + 1) & 0x7FFF
        frame = OutFrame(payloads, timestamp, keyframe, OutFrame.now())
        broken, waiting = [], False
        for forward in self._subscribers:
            try:
                waiting |= forward.push(frame)
            except Exception:
                logger.exception("forwarding %s to a subscriber failed", self.kind)
                broken.append(forward)
        for forward in broken:
            forward.stop()
        if waiting:
            self.ask_keyframe()

    async def stop(self) -> None:
        """Stop reading; what already arrived is recorded first, the jitter buffer's tail too."""
        for _ in range(50):  # frames already past the jitter buffer reach the reader
            if not self.tap.pending():
                break
            await asyncio.sleep(0.01)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for data, pts in self.tap.drain(self.kind):
            self._count(data, is_keyframe(self.kind, data))
            if self.sink is not None:
                self.sink.write(data, pts, is_keyframe(self.kind, data), self._wall_ms())
