"""Media benchmark: first remote frame, recording cost against aiortc's MediaRecorder, relay cost
per subscriber, and how many seats one embedded worker carries.

Everything runs on loopback: a real evalroom server (in this process), its embedded media worker
(its own process, measured with psutil), and aiortc peers in this process announcing 127.0.0.1.
Publishers replay pre-encoded VP8 (640x480) and Opus packets, so this process spends no CPU
encoding and the worker sees what a browser would send. Figures are CPU of the worker process
over a steady window; the machine is shared, so compare ratios measured in the same run.

    .venv/bin/python bench/media.py [--quick] [--relay-only] [--capacity-only]

Relay per subscriber, embedded: the worker's CPU with 1 subscriber, then 7, then 1 again
(``--seconds`` each, 8 by default; 4 with ``--quick``, 10 in a whole run), as (K7 - mean of the
two K1 windows) / 6. Until 2026-12-01 it was K1 then K4 over 3, which a shared machine's drift
moved by more than the figure itself. Janus's is still K1 then K4 (its subscribers decode in the
bench process, and 7 decoders would load the two cores the figure is measured on).

The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import av
import psutil
from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRecorder
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recordings.track_writer import TrackWriter  # noqa: E402
from server.app.main import MEDIA  # noqa: E402
from server.client.seat import SeatClient  # noqa: E402
from signaling.embedded import seam  # noqa: E402
from tests.app.conftest import create_session, load_lot  # noqa: E402
from tests.media.peers import MediaPeer, QuietViewer  # noqa: E402
from tests.media.replay import Encoded, audio_replay, video_replay  # noqa: E402
from tests.media.servers import running_server  # noqa: E402
from tests.recordings.media import VIDEO_RATE, vp8_frames  # noqa: E402


class Publisher:
    """A seat publishing replayed camera and microphone through the /media namespace."""

    def __init__(self, peer: MediaPeer, fps: int) -> None:
        self.peer = peer
        self.video = video_replay(fps)
        self.audio = audio_replay()
        self.pc = RTCPeerConnection()

    async def start(self) -> None:
        await self.peer.connect()
        assert (await self.peer.join())["ok"]
        self.pc.addTransceiver(self.audio, direction="sendonly")
        self.pc.addTransceiver(self.video, direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await self.peer.call("publish", {"sdp": self.pc.localDescription.sdp})
        assert answer["ok"], answer
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))

    async def stop(self) -> None:
        await self.pc.close()
        await self.peer.close()


@contextlib.asynccontextmanager
async def server() -> AsyncIterator[tuple[str, web.Application]]:
    """A node whose media worker offers 127.0.0.1 (the peers here announce it too)."""
    with tempfile.TemporaryDirectory() as folder:
        async with running_server(Path(folder), EVALROOM_MEDIA_ADDRESSES="127.0.0.1") as served:
            yield served


async def session_with_seats(base: str, seats: int) -> tuple[dict[str, Any], list[str]]:
    """A session of ``seats`` seats, each enrolled: its credentials and the seat tokens."""
    size = max(5, seats | 1)  # a committee is an odd number of at least 5 (条例 Art. 46)
    lot = load_lot()
    lot["venues"] = [{"id": "host", "name": "主场", "seats": size}]
    lot["committee"] = {**lot["committee"], "size": size}
    created = await create_session(base, lot)
    tokens = []
    for seat, code in sorted(created["codes"].items())[:seats]:
        client = SeatClient(base, created["session"], seat)
        await client.enrol(code)
        tokens.append(client.token)
    return created, tokens


def worker_cpu(app: web.Application) -> float:
    pid = app[MEDIA].backend.worker.pid
    assert pid is not None
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


async def cpu_pct(app: web.Application, seconds: float) -> float:
    """The worker's CPU over ``seconds``, in % of one core."""
    before, start = worker_cpu(app), time.monotonic()
    await asyncio.sleep(seconds)
    return 100 * (worker_cpu(app) - before) / (time.monotonic() - start)


# ---- recording: pass-through against MediaRecorder, same stream, same run -----------------


class Decoded(MediaStreamTrack):
    """The stream decoded, as MediaRecorder needs it (a decoding receiver would hand it over)."""

    kind = "video"

    def __init__(self, frames: Sequence[Encoded]) -> None:
        super().__init__()
        self._codec = av.CodecContext.create("vp8", "r")
        self._frames = iter(frames)

    async def recv(self) -> Any:
        for data, pts, _ in self._frames:
            packet = av.Packet(data)
            for frame in self._codec.decode(packet):  # type: ignore[attr-defined]
                frame.pts = pts
                frame.time_base = fractions.Fraction(1, VIDEO_RATE)
                return frame
        self.stop()  # readyState ends: the benchmark waits for that
        raise MediaStreamError


async def recording_cost(frames: int) -> dict[str, float]:
    stream = vp8_frames(frames)
    with tempfile.TemporaryDirectory() as folder:
        start = time.process_time()
        writer = TrackWriter.create(Path(folder), "bench", "s1", "video", "VP8", VIDEO_RATE, 0)
        for n, (data, pts, key) in enumerate(stream):
            writer.write(data, pts, key, n)
        writer.close(frames)
        passthrough = (time.process_time() - start) * 1000 / frames

        start = time.process_time()
        recorder = MediaRecorder(str(Path(folder) / "mr.webm"))
        track = Decoded(stream)
        recorder.addTrack(track)
        await recorder.start()
        while track.readyState == "live":  # noqa: ASYNC110 - ends when the track does
            await asyncio.sleep(0.01)
        await recorder.stop()
        mediarecorder = (time.process_time() - start) * 1000 / frames
    return {
        "record_ms_per_frame": round(passthrough, 4),
        "mediarecorder_ms_per_frame": round(mediarecorder, 3),
        "record_cpu_ratio": round(mediarecorder / passthrough, 1),
        "record_pct_core_per_track_30fps": round(passthrough * 30 / 10, 3),
    }


# ---- first remote frame -------------------------------------------------------------------


async def first_frame(base: str, trials: int) -> dict[str, float]:
    created, tokens = await session_with_seats(base, 1)
    publisher = Publisher(MediaPeer(base, tokens[0], decode=False), 15)
    await publisher.start()
    times = []
    try:
        for _ in range(trials):
            viewer = MediaPeer(base, created["supervisor"][0])
            await viewer.connect()
            start = time.monotonic()
            await viewer.join()
            async with asyncio.timeout(10):
                while not any(k[1] == "video" for k in viewer.first_frame_at):  # noqa: ASYNC110
                    await asyncio.sleep(0.005)
            times.append((min(viewer.first_frame_at.values()) - start) * 1000)
            await viewer.close()
    finally:
        await publisher.stop()
    times.sort()
    return {
        "first_frame_p50_ms": round(statistics.median(times), 1),
        "first_frame_p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
    }


# ---- relay cost per subscriber ------------------------------------------------------------


RELAY_BASE, RELAY_MORE = 1, 7  # subscribers of the baseline and of the loaded window


async def relay_cost(base: str, app: web.Application, seconds: float) -> dict[str, float]:
    """The worker's CPU per subscriber: one seat at 30 fps to 1 subscriber, then 7, then 1
    again; the slope from the mean of the two 1-subscriber windows (they bracket any drift of
    a shared machine) to the 7-subscriber window, over the 6 extra subscribers."""
    created, tokens = await session_with_seats(base, 1)
    publisher = Publisher(MediaPeer(base, tokens[0], decode=False), 30)
    await publisher.start()
    await asyncio.sleep(2)
    receive = await cpu_pct(app, seconds)
    viewers: list[QuietViewer] = []
    windows: list[tuple[int, float]] = []
    try:
        for k in (RELAY_BASE, RELAY_MORE, RELAY_BASE):
            while len(viewers) < k:
                viewer = QuietViewer(base, created["supervisor"][len(viewers) % 2])
                await viewer.join()
                viewers.append(viewer)
            while len(viewers) > k:
                await viewers.pop().close()
            await asyncio.sleep(2)
            received = [v.packets for v in viewers]
            windows.append((k, await cpu_pct(app, seconds)))
            # every subscriber was served all along (a stalled one would cost nothing)
            assert all(v.packets > n + 10 * seconds for v, n in zip(viewers, received, strict=True))
    finally:
        for viewer in viewers:
            await viewer.close()
        await publisher.stop()
    base_cpu = statistics.mean(cpu for k, cpu in windows if k == RELAY_BASE)
    more_cpu = statistics.mean(cpu for k, cpu in windows if k == RELAY_MORE)
    return {
        "record_and_receive_cpu_pct_per_seat": round(receive, 2),
        f"relay_k{RELAY_BASE}_cpu_pct": round(base_cpu, 2),
        f"relay_k{RELAY_MORE}_cpu_pct": round(more_cpu, 2),
        "relay_cpu_pct_per_subscriber": round((more_cpu - base_cpu) / (RELAY_MORE - RELAY_BASE), 2),
    }


def janus_relay(seconds: float) -> dict[str, Any] | None:
    """Janus's relay cost for the same replayed stream, K=1 and K=4 (each run in its own
    network namespace: Janus skips loopback); None where Janus or namespaces are missing."""
    if shutil.which("janus") is None or shutil.which("unshare") is None:
        print("janus: not installed (scripts/install-media.sh); skipped", file=sys.stderr)
        return None
    cpu = {}
    for k in (1, 4):
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "out.json"
            command = ["unshare", "-n", sys.executable, "-m", "tests.janus.scenario", "measure"]
            command += ["--replay", "--subscribers", str(k), "--seconds", str(seconds)]
            command += ["--recordings", str(Path(folder) / "rec"), "--out", str(out)]
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=200)
            if done.returncode != 0:
                print(f"janus measure failed: {done.stderr[-2000:]}", file=sys.stderr)
                return None
            cpu[k] = json.loads(out.read_text())["janus_cpu_percent"]
    return {
        "relay_k1_cpu_pct": cpu[1],
        "relay_k4_cpu_pct": cpu[4],
        "relay_cpu_pct_per_subscriber": round((cpu[4] - cpu[1]) / 3, 2),
    }


# ---- capacity: seats one worker carries ---------------------------------------------------


async def room_cost(base: str, app: web.Application, seconds: float) -> float:
    """A 7-seat room with 2 supervisors receiving every seat: the worker's CPU."""
    created, tokens = await session_with_seats(base, 7)
    publishers = [Publisher(MediaPeer(base, t, decode=False), 15) for t in tokens]
    for p in publishers:
        await p.start()
    viewers = [QuietViewer(base, token) for token in created["supervisor"]]
    try:
        await asyncio.sleep(1)
        for viewer in viewers:
            await viewer.join(len(publishers))
        await asyncio.sleep(3)
        return round(await cpu_pct(app, seconds), 1)
    finally:
        for viewer in viewers:
            await viewer.close()
        for p in publishers:
            await p.stop()


async def capacity(base: str, app: web.Application, steps: Sequence[int], seconds: float) -> Any:
    results = []
    for seats in steps:
        created, tokens = await session_with_seats(base, seats)
        watcher = MediaPeer(base, created["supervisor"][0], decode=False)
        await watcher.connect()
        await watcher.join()
        publishers = [Publisher(MediaPeer(base, t, decode=False), 15) for t in tokens]
        for p in publishers:
            await p.start()
        await asyncio.sleep(3)
        mark = len(watcher.status)
        cpu = await cpu_pct(app, seconds)
        loops = [s["loop"] for s in watcher.status[mark:] if "loop" in s]
        samples = sum(loop["n"] for loop in loops)
        late = sum(loop["over_20ms"] for loop in loops)
        sent = {}
        for p in publishers:
            p.video.paused = p.audio.paused = True
        await asyncio.sleep(1)  # what was sent lands before the count
        for p, seat in zip(publishers, sorted(created["codes"])[:seats], strict=True):
            sent[(seat, "video")] = p.video.sent
            sent[(seat, "audio")] = p.audio.sent
            await p.pc.close()
        async with asyncio.timeout(30):
            while True:
                finals = {
                    (t["seat"], t["kind"]): t["packets"]
                    for s in watcher.status
                    for t in s["tracks"]
                    if t.get("final")
                }
                if len(finals) >= len(sent):
                    break
                await asyncio.sleep(0.2)
        lost = sum(max(0, sent[k] - finals.get(k, 0)) for k in sent)
        for p in publishers:
            await p.peer.close()
        await watcher.close()
        row = {
            "seats": seats,
            "worker_cpu_pct": round(cpu, 1),
            # the window's p99 is under 20 ms when at most 1% of the samples are over it
            "loop_lag_over_20ms_pct": round(100 * late / samples, 2) if samples else None,
            "loop_lag_p99_ms_worst_second": max(loop["p99_ms"] for loop in loops)
            if loops
            else None,
            "frames_lost": lost,
            "packets": sum(sent.values()),
        }
        print(json.dumps(row), flush=True)
        results.append(row)
        await asyncio.sleep(2)
    return results


async def main(args: argparse.Namespace) -> dict[str, Any]:
    if args.relay_only:
        with seam.announcing(["127.0.0.1"]):
            async with server() as (base, app):
                return {"relay": await relay_cost(base, app, args.seconds)}
    if args.capacity_only:
        with seam.announcing(["127.0.0.1"]):
            async with server() as (base, app):
                return {"capacity": await capacity(base, app, args.steps, args.seconds)}
    figures: dict[str, Any] = {}
    figures.update(await recording_cost(120 if args.quick else 300))
    print(json.dumps(figures), flush=True)
    with seam.announcing(["127.0.0.1"]):
        async with server() as (base, app):
            figures.update(await first_frame(base, 5 if args.quick else 20))
            print(json.dumps(figures), flush=True)
            relay = await relay_cost(base, app, 4 if args.quick else 10)
            print(json.dumps(relay), flush=True)
            figures["relay"] = relay
            figures["janus"] = await asyncio.to_thread(janus_relay, 4 if args.quick else 10)
            print(json.dumps({"janus": figures["janus"]}), flush=True)
            figures["room_7_seats_2_supervisors_cpu_pct"] = await room_cost(
                base, app, 4 if args.quick else 10
            )
            print(json.dumps(figures), flush=True)
            steps = (8, 16) if args.quick else args.steps
            rows = await capacity(base, app, steps, 4 if args.quick else args.seconds)
    ok = [
        r["seats"]
        for r in rows
        if r["frames_lost"] == 0
        and r["loop_lag_over_20ms_pct"] is not None
        and r["loop_lag_over_20ms_pct"] <= 1.0
    ]
    return {
        "first_frame_p50_ms": figures["first_frame_p50_ms"],
        "first_frame_p95_ms": figures["first_frame_p95_ms"],
        "record_ms_per_frame": figures["record_ms_per_frame"],
        "mediarecorder_ms_per_frame": figures["mediarecorder_ms_per_frame"],
        "record_cpu_ratio": figures["record_cpu_ratio"],
        "record_pct_core_per_track_30fps": figures["record_pct_core_per_track_30fps"],
        "frames_lost": sum(r["frames_lost"] for r in rows),
        "relay_cpu_pct_per_subscriber": {
            "embedded": figures["relay"]["relay_cpu_pct_per_subscriber"],
            "janus": figures["janus"]["relay_cpu_pct_per_subscriber"] if figures["janus"] else None,
        },
        "janus": figures["janus"],
        "relay": figures["relay"],
        "room_7_seats_2_supervisors_cpu_pct": figures["room_7_seats_2_supervisors_cpu_pct"],
        "capacity": rows,
        "seats_per_worker": max(ok) if ok else 0,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer trials and steps (smoke run)")
    parser.add_argument("--capacity-only", action="store_true", help="only the seats ramp")
    parser.add_argument("--relay-only", action="store_true", help="only the embedded relay cost")
    parser.add_argument("--steps", type=int, nargs="+", default=[8, 16, 24, 32])
    parser.add_argument("--seconds", type=float, default=8.0, help="steady window per step")
    result = asyncio.run(main(parser.parse_args()))
    print(json.dumps(result))
