"""Replayed camera and microphone: pre-encoded VP8 (640x480) and Opus packets sent in real time.

aiortc's senders packetize ``av.Packet``s without encoding, so a replaying peer costs almost no
CPU and sends what a browser would: the benchmark's publishers, on either backend.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Sequence
from typing import Any

import av
from aiortc.mediastreams import MediaStreamTrack

from tests.recordings.media import VIDEO_RATE, opus_frames, vp8_frames

Encoded = tuple[bytes, int, bool]


class Replay(MediaStreamTrack):
    """A camera or microphone that sends pre-encoded packets in real time, looping."""

    def __init__(
        self,
        kind: str,
        packets: Sequence[Encoded],
        step: int,
        rate: int,
        fps: float,
        start_at: int = 0,
    ) -> None:
        super().__init__()
        self.kind = kind
        self._packets = packets
        self._step, self._rate, self._fps = step, rate, fps
        self._n = 0
        self._at = start_at  # where in the stream: mid-GOP starts with inter frames
        self._keyframe_asked = False
        self.keyframes_on_request = 0
        self._start: float | None = None
        self.sent = 0
        self.paused = False  # a paused source sends nothing more (what was sent can land)

    async def recv(self) -> Any:
        while self.paused:  # noqa: ASYNC110 - a benchmark switch, polled
            await asyncio.sleep(0.05)
        if self._start is None:
            self._start = time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self._n / self._fps - time.monotonic()))
        if self._keyframe_asked:  # like an encoder answering a PLI: the next frame is key
            self._keyframe_asked = False
            while not self._packets[self._at % len(self._packets)][2]:
                self._at += 1
            self.keyframes_on_request += 1
        data = self._packets[self._at % len(self._packets)][0]
        self._at += 1
        packet = av.Packet(data)
        packet.pts = self._n * self._step
        packet.time_base = fractions.Fraction(1, self._rate)
        self._n += 1
        self.sent += 1
        return packet

    def keyframe_requested(self) -> None:
        """The receiver asked for a keyframe (hook it to the sender's ``_send_keyframe``)."""
        self._keyframe_asked = True


def video_replay(fps: int, start_at: int = 0) -> Replay:
    """640x480 VP8 (a keyframe every 30 frames); ``start_at`` > 0 starts inside a GOP."""
    return Replay("video", vp8_frames(60), VIDEO_RATE // fps, VIDEO_RATE, fps, start_at)


def audio_replay() -> Replay:
    return Replay("audio", opus_frames(100), 960, 48_000, 50)
