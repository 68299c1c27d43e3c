"""Media peers for the tests: real aiortc peer connections signaling over ``/media``.

A :class:`MediaPeer` connects with a session token, joins the media room, publishes synthetic
camera and microphone tracks (real VP8 and Opus from aiortc's encoders) and answers every offer
the server makes, decoding what it receives and counting frames per source seat.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from collections import defaultdict
from typing import Any

import av
import socketio
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack

from signaling.embedded import seam

VIDEO_CLOCK = 90_000


class MovingPicture(MediaStreamTrack):
    """A camera: a small moving picture at ``fps`` (it changes, so frames are not trivial)."""

    kind = "video"

    def __init__(
        self, width: int = 320, height: int = 240, fps: int = 15, delay_s: float = 0.0
    ) -> None:
        super().__init__()
        self._delay_s = delay_s
        self.paused = asyncio.Event()  # set: the camera stops giving frames (a dark seat)
        self._size = (width, height)
        self._fps = fps
        self._n = 0
        self._start: float | None = None
        self.sent = 0

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            await asyncio.sleep(self._delay_s)  # a camera that starts late (A/V offset)
            self._start = time.monotonic()
        while self.paused.is_set():  # noqa: ASYNC110 - a test switch, polled
            await asyncio.sleep(0.05)
        due = self._start + self._n / self._fps
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        width, height = self._size
        frame = av.VideoFrame(width, height, "yuv420p")
        x = (self._n * 4) % (width - 16)
        row = bytes(x) + b"\xf0" * 16 + bytes(width - x - 16)
        luma = row * height
        line = (self._n * 2) % height
        luma = luma[: line * width] + b"\x80" * width + luma[(line + 1) * width :]
        frame.planes[0].update(luma)
        for plane in frame.planes[1:]:
            plane.update(b"\x80" * plane.buffer_size)
        frame.pts = self._n * VIDEO_CLOCK // self._fps
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._n += 1
        self.sent += 1
        return frame


class Microphone(AudioStreamTrack):
    """aiortc's silent microphone that can go quiet altogether (no packets at all)."""

    def __init__(self) -> None:
        super().__init__()
        self.paused = asyncio.Event()
        self.sent = 0

    async def recv(self) -> Any:
        while self.paused.is_set():  # noqa: ASYNC110 - a test switch, polled
            await asyncio.sleep(0.05)
        frame = await super().recv()
        self.sent += 1
        return frame


class MediaPeer:
    """One member's media: a socket on ``/media`` and its peer connections."""

    def __init__(self, base: str, token: str, *, decode: bool = True) -> None:
        self.base = base
        self.token = token
        self.decode = decode
        self.sio = socketio.AsyncClient(reconnection=False)
        self.pub: RTCPeerConnection | None = None
        self.subs: dict[str, RTCPeerConnection] = {}
        self.frames: dict[tuple[str, str], int] = defaultdict(int)  # (source, kind) -> decoded
        self.first_frame_at: dict[tuple[str, str], float] = {}
        self.offers: list[dict[str, Any]] = []
        self.status: list[dict[str, Any]] = []
        self.camera: MovingPicture | None = None
        self.microphone: Microphone | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.sio.on("offer", self._on_offer, namespace="/media")
        self.sio.on("status", self.status.append, namespace="/media")

    async def connect(self) -> None:
        await self.sio.connect(
            self.base, auth={"token": self.token}, namespaces=["/media"], transports=["websocket"]
        )

    async def call(self, event: str, data: Any = None) -> dict[str, Any]:
        answer: dict[str, Any] = await self.sio.call(
            event, data or {}, namespace="/media", timeout=30
        )
        return answer

    async def join(self) -> dict[str, Any]:
        return await self.call("join")

    async def publish(self, fps: int = 15, video_delay_s: float = 0.0) -> dict[str, Any]:
        self.camera = MovingPicture(fps=fps, delay_s=video_delay_s)
        self.microphone = Microphone()
        return await self.publish_tracks(self.microphone, self.camera)

    async def publish_tracks(
        self, audio: MediaStreamTrack, video: MediaStreamTrack
    ) -> dict[str, Any]:
        """Publish these two tracks on a new publishing connection."""
        self.pub = RTCPeerConnection()
        self.pub.addTransceiver(audio, direction="sendonly")
        self.pub.addTransceiver(video, direction="sendonly")
        await self.pub.setLocalDescription(await self.pub.createOffer())
        answer = await self.call("publish", {"sdp": self.pub.localDescription.sdp})
        assert answer["ok"], answer
        await self.pub.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        return answer

    async def _on_offer(self, data: dict[str, Any]) -> None:
        self.offers.append(data)
        if not self.decode:
            return
        pc = RTCPeerConnection()
        old = self.subs.pop(data["source"], None)
        if old is not None:
            await old.close()
        self.subs[data["source"]] = pc
        pc.on("track", lambda track: self._count(data["source"], track))
        await pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        answer = {"conn": data["conn"], "sdp": pc.localDescription.sdp}
        result = await self.call("subscribe_answer", answer)
        assert result["ok"], result

    def _count(self, source: str, track: MediaStreamTrack) -> None:
        async def read() -> None:
            with contextlib.suppress(MediaStreamError):
                while True:
                    await track.recv()
                    key = (source, track.kind)
                    self.frames[key] += 1
                    self.first_frame_at.setdefault(key, time.monotonic())

        task = asyncio.create_task(read())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop_publishing(self) -> None:
        if self.pub is not None:
            await self.pub.close()

    async def close(self) -> None:
        await self.stop_publishing()
        for pc in self.subs.values():
            await pc.close()
        for task in list(self._tasks):
            task.cancel()
        if self.sio.connected:
            await self.sio.disconnect()


class QuietViewer:
    """A supervisor that answers every offer and reads the packets it receives without
    decoding them (the worker's own pass-through seam on its receivers): a relay measure
    should count the worker's work, not 2 cores shared with decoders in this process."""

    def __init__(self, base: str, token: str) -> None:
        self.peer = MediaPeer(base, token, decode=False)
        self.pcs: list[RTCPeerConnection] = []
        self.packets = 0
        self._readers: list[asyncio.Task[None]] = []

    async def join(self, sources: int = 1) -> None:
        """Join and answer the offers of ``sources`` publishing seats."""
        await self.peer.connect()
        await self.peer.join()
        async with asyncio.timeout(10):
            while len(self.peer.offers) < sources:  # noqa: ASYNC110 - filled by the socket's handler
                await asyncio.sleep(0.05)
        for offer in self.peer.offers:
            await self._accept(offer)

    async def _accept(self, offer: dict[str, Any]) -> None:
        pc = RTCPeerConnection()
        self.pcs.append(pc)
        pc.on("track", self._read)
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        answer = {"conn": offer["conn"], "sdp": pc.localDescription.sdp}
        await self.peer.call("subscribe_answer", answer)

    def _read(self, track: MediaStreamTrack) -> None:
        pc = self.pcs[-1]
        receiver = next(t.receiver for t in pc.getTransceivers() if t.receiver.track is track)
        seam.ReceiverTap(receiver, on_report=lambda pts, ms: None, on_gap=lambda n: None)

        async def read() -> None:
            with contextlib.suppress(MediaStreamError):
                while True:
                    await track.recv()
                    self.packets += 1

        self._readers.append(asyncio.create_task(read()))

    async def close(self) -> None:
        for pc in self.pcs:
            await pc.close()
        for task in self._readers:
            task.cancel()
        await self.peer.close()
