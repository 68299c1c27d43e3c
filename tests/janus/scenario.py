"""A whole Janus scenario in one process, meant to run inside a private network namespace.

libnice (Janus) and aioice (aiortc) skip loopback interfaces when they gather ICE candidates, so
the scenario makes the namespace's network itself: ``lo`` up and a veth pair whose ``v0`` carries
127.0.0.2/32. Janus gathers on ``v0`` only, the aiortc peers announce 127.0.0.2 only; every
packet stays inside the namespace. The test runs::

    unshare -n python -m tests.janus.scenario record --out result.json
    unshare -n python -m tests.janus.scenario measure --subscribers 1 --seconds 10

and asserts on the JSON it writes. ``measure`` is what ``bench/media.py`` can call for the relay
CPU per subscriber (:func:`measure_cpu`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack

from recordings.files import sha256_file
from signaling.embedded import seam
from signaling.janus.backend import JanusBackend
from signaling.janus.process import JanusProcess, cpu_ticks
from tests.media.peers import MovingPicture
from tests.media.replay import audio_replay, video_replay

ADDRESS = "127.0.0.2"
INTERFACE = "v0"
PORT = 8088
SESSION = "S1"
SEAT = "seat1"
SCENARIO_TIMEOUT_S = 100.0


def interfaces() -> list[str]:
    """The network interfaces of this process's namespace (/proc/self/net is per namespace)."""
    lines = Path("/proc/self/net/dev").read_text().splitlines()[2:]
    return sorted(line.split(":", 1)[0].strip() for line in lines)


def make_network() -> None:
    """``lo`` up and ``v0`` (a veth) with 127.0.0.2/32: only inside a namespace of our own."""
    # A fresh namespace (unshare -n) has nothing but lo: anything else means we are not in one.
    if interfaces() != ["lo"]:
        raise SystemExit("refusing to change the network outside a fresh private namespace")
    for args in (
        ["ip", "link", "set", "lo", "up"],
        ["ip", "link", "add", INTERFACE, "type", "veth", "peer", "name", "v1"],
        ["ip", "addr", "add", f"{ADDRESS}/32", "dev", INTERFACE],
        ["ip", "link", "set", INTERFACE, "up"],
        ["ip", "link", "set", "v1", "up"],
    ):
        subprocess.run(args, check=True, timeout=10)


class Sink:
    """Reads a received track until it ends, decoding (aiortc decodes) and counting frames."""

    def __init__(self, track: MediaStreamTrack) -> None:
        self.track = track
        self.frames = 0
        self.size: tuple[int, int] | None = None
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await self.track.recv()
                self.frames += 1
                if isinstance(frame, av.VideoFrame):
                    self.size = (frame.width, frame.height)


class Subscriber:
    """A member receiving one seat through Janus (a supervisor)."""

    def __init__(self, backend: JanusBackend, conn: str) -> None:
        self.backend = backend
        self.conn = conn
        self.pc = RTCPeerConnection()
        self.sinks: dict[str, Sink] = {}
        self.pc.on("track", lambda track: self.sinks.setdefault(track.kind, Sink(track)))

    async def start(self, source: str) -> list[str]:
        offer = await self.backend.subscribe(self.conn, SESSION, source, ["audio", "video"])
        if offer["sdp"] is None:
            raise RuntimeError("janus offered nothing")
        await self.pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self.backend.answer(self.conn, self.pc.localDescription.sdp)
        kinds: list[str] = offer["kinds"]
        return kinds

    def frames(self, kind: str) -> int:
        sink = self.sinks.get(kind)
        return sink.frames if sink is not None else 0

    async def close(self) -> None:
        await self.pc.close()
        for sink in self.sinks.values():
            sink.task.cancel()


class Publisher:
    """A seat publishing a moving 320x240 picture (VP8) and silence (Opus)."""

    def __init__(
        self, backend: JanusBackend, conn: str, fps: int = 15, replay: bool = False
    ) -> None:
        self.backend = backend
        self.conn = conn
        self.pc = RTCPeerConnection()
        self.camera = MovingPicture(fps=fps)
        # replay: the benchmark's pre-encoded 640x480 VP8 at ~800 kb/s, the same stream the
        # embedded backend is measured with
        audio: MediaStreamTrack = audio_replay() if replay else AudioStreamTrack()
        video: MediaStreamTrack = video_replay(30) if replay else self.camera
        self.pc.addTransceiver(audio, direction="sendonly")
        self.pc.addTransceiver(video, direction="sendonly")

    async def start(self) -> list[str]:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await self.backend.publish(self.conn, SESSION, SEAT, self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        kinds: list[str] = answer["kinds"]
        return kinds


async def until(check: Any, limit_s: float, what: str) -> None:
    """Wait until ``check()`` is true, polling; TimeoutError naming ``what``."""
    deadline = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def decode_file(path: Path) -> dict[str, Any]:
    """Decode a whole recording with PyAV: frames, picture size, sample rate."""
    frames = 0
    size: list[int] | None = None
    with av.open(str(path)) as container:
        stream = container.streams[0]
        kind = stream.type
        for frame in container.decode(stream):
            frames += 1
            if isinstance(frame, av.VideoFrame):
                size = [frame.width, frame.height]
    return {"kind": kind, "frames": frames, "size": size}


async def record(recordings: Path, seconds: float) -> dict[str, Any]:
    """Publish a seat, receive it as a supervisor, close: what the backend said and the files."""
    events: list[dict[str, Any]] = []
    janus = JanusProcess(port=PORT, interfaces=[INTERFACE])
    await janus.start()
    backend = JanusBackend(recordings, events.append, janus.url, api_secret=janus.api_secret)
    result: dict[str, Any] = {}
    try:
        publisher = Publisher(backend, f"p.{SESSION}.{SEAT}")
        result["published"] = await publisher.start()
        await until(lambda: any(e["event"] == "published" for e in events), 20, "publisher up")
        subscriber = Subscriber(backend, f"s.sup.{SEAT}")
        result["subscribed"] = await subscriber.start(SEAT)
        await until(lambda: subscriber.frames("video") >= 15 * seconds, 30, "decoded video")
        sink = subscriber.sinks["video"]
        result["received"] = {
            "video": subscriber.frames("video"),
            "audio": subscriber.frames("audio"),
            "size": list(sink.size or ()),
        }
        await asyncio.sleep(1.5)  # let Janus's write buffer fill a few times
        result["status_live"] = (await backend.status())["tracks"]
        await subscriber.close()
        await backend.close(subscriber.conn)
        await backend.close(publisher.conn)
        result["sent_video"] = publisher.camera.sent
        await publisher.pc.close()
    finally:
        await backend.stop()
        await janus.stop()
    result["events"] = [e for e in events if e["event"] != "status" or _final(e)]
    result["files"] = []
    for event in events:
        if event["event"] == "recording":
            manifest = event["manifest"]
            path = recordings / manifest["session"] / manifest["file"]
            sha256, size = sha256_file(path)
            result["files"].append(
                {
                    "file": manifest["file"],
                    "sha256": sha256,
                    "size": size,
                    "mode": oct(path.stat().st_mode & 0o777),
                    "decoded": decode_file(path),
                }
            )
    return result


def _final(event: dict[str, Any]) -> bool:
    return any(t.get("final") for t in event.get("tracks", []))


async def measure_cpu(
    subscribers: int, seconds: float, recordings: Path, replay: bool = False
) -> dict[str, Any]:
    """Janus's CPU (% of one core) relaying one 320x240 VP8 + Opus seat to ``subscribers``
    aiortc subscribers, over ``seconds`` once every subscriber decodes video."""
    janus = JanusProcess(port=PORT, interfaces=[INTERFACE], debug_level=3)
    await janus.start()
    events: list[dict[str, Any]] = []
    backend = JanusBackend(recordings, events.append, janus.url, api_secret=janus.api_secret)
    subs: list[Subscriber] = []
    try:
        publisher = Publisher(backend, f"p.{SESSION}.{SEAT}", replay=replay)
        await publisher.start()
        await until(lambda: any(e["event"] == "published" for e in events), 20, "publisher up")
        for n in range(subscribers):
            sub = Subscriber(backend, f"s.m{n}.{SEAT}")
            await sub.start(SEAT)
            subs.append(sub)
        await until(lambda: all(s.frames("video") >= 15 for s in subs), 30, "every subscriber")
        pid = janus.pid
        assert pid is not None
        hz = os.sysconf("SC_CLK_TCK")
        before_frames = [s.frames("video") for s in subs]
        t0, c0 = time.monotonic(), cpu_ticks(pid)
        await asyncio.sleep(seconds)
        t1, c1 = time.monotonic(), cpu_ticks(pid)
        fps = [
            (s.frames("video") - b) / (t1 - t0) for s, b in zip(subs, before_frames, strict=True)
        ]
        result = {
            "subscribers": subscribers,
            "seconds": round(t1 - t0, 2),
            "janus_cpu_percent": round(100 * (c1 - c0) / hz / (t1 - t0), 2),
            "received_fps": [round(f, 1) for f in fps],
        }
        for sub in subs:
            await sub.close()
        await publisher.pc.close()
    finally:
        await backend.stop()
        await janus.stop()
    return result


def main_in_namespace(
    prog: str, scenario: Callable[[Path], Awaitable[dict[str, Any]]], timeout_s: float
) -> None:
    """The entry point of a scenario run by ``unshare -n``: make the namespace's network, run
    ``scenario`` (given a data folder) with peers announcing 127.0.0.2, write its JSON."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    make_network()
    with tempfile.TemporaryDirectory() as data, seam.announcing([ADDRESS]):
        result = asyncio.run(asyncio.wait_for(scenario(Path(data)), timeout_s))
    args.out.write_text(json.dumps(result))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tests.janus.scenario")
    parser.add_argument("mode", choices=["record", "measure"])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--recordings", type=Path)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--subscribers", type=int, default=1)
    parser.add_argument("--replay", action="store_true", help="publish the benchmark's stream")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    make_network()
    recordings = args.recordings or Path(tempfile.mkdtemp(prefix="evalroom-janus-rec-"))

    async def go() -> dict[str, Any]:
        if args.mode == "record":
            job = record(recordings, args.seconds)
        else:
            job = measure_cpu(args.subscribers, args.seconds, recordings, args.replay)
        return await asyncio.wait_for(job, SCENARIO_TIMEOUT_S)

    with seam.announcing([ADDRESS]):
        result = asyncio.run(go())
    text = json.dumps(result, indent=1, sort_keys=True)
    if args.out is not None:
        args.out.write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
