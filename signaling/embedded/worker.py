"""The embedded media worker: a process of its own that receives each seat's upstream, records
it and forwards the encoded packets to subscribers, driven by the session server over a Unix
socket (:mod:`signaling.embedded.ipc`).

Run as ``python -m signaling.embedded.worker --socket PATH --recordings DIR``. It exits when its
standard input closes (the server that started it is gone), closing every recording first. A
crash of this process cannot take the session server down; recordings it was writing are
closed as cut on the next start (:func:`recordings.recovery.recover`).

Connections are one-way, as in Galène: a seat offers on the connection it publishes on (audio
and video), and the worker offers on one connection per (subscriber, source seat). aiortc has
no ICE restart, so a restart here is a new connection under the same id.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcrtptransceiver import RTCRtpTransceiver
from aiortc.sdp import candidate_from_sdp

from recordings.manifest import SenderReport
from recordings.track_writer import TrackWriter
from signaling.embedded import ipc, seam
from signaling.embedded.forward import Upstream

logger = logging.getLogger("evalroom.media.worker")

CODECS = {"audio": ("audio/opus", "opus", 48_000), "video": ("video/VP8", "VP8", 90_000)}
STATUS_EVERY_S = 1.0


def wall_ms() -> int:
    """Milliseconds since the epoch (the worker's only clock)."""
    return int(time.time() * 1000)


def _prefer(transceiver: RTCRtpTransceiver, kind: str) -> None:
    """Only the codecs the pass-through records and forwards: VP8 and Opus (and RTX)."""
    mime = CODECS[kind][0].lower()
    capabilities = RTCRtpSender.getCapabilities(kind).codecs
    wanted = [c for c in capabilities if c.mimeType.lower() in (mime, f"{kind}/rtx")]
    transceiver.setCodecPreferences(wanted)


class LoopLag:
    """How late the worker's event loop wakes up: a loaded worker delays every packet."""

    PROBE_S = 0.01

    def __init__(self) -> None:
        self._samples: list[float] = []
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(self.PROBE_S)
            self._samples.append((loop.time() - start - self.PROBE_S) * 1000)

    def take(self) -> dict[str, float]:
        """p50, p99 and max lag in ms since the last take."""
        samples, self._samples = sorted(self._samples), []
        if not samples:
            return {"p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0, "n": 0, "over_20ms": 0}

        def pick(q: float) -> float:
            return round(samples[min(len(samples) - 1, int(q * len(samples)))], 2)

        return {
            "p50_ms": pick(0.5),
            "p99_ms": pick(0.99),
            "max_ms": round(samples[-1], 2),
            "n": len(samples),
            # p99 over a longer window is under 20 ms exactly when at most 1% of its samples
            # are over: counts add up across reports where percentiles do not
            "over_20ms": sum(1 for lag in samples if lag > 20),
        }


@dataclass
class Connection:
    """One peer connection of the worker, publishing (``pub``) or sending down (``sub``)."""

    id: str
    session: str
    seat: str  # the publishing seat, or the seat a subscriber receives
    direction: str
    pc: RTCPeerConnection
    upstreams: dict[str, Upstream] = field(default_factory=dict)
    writers: dict[str, TrackWriter] = field(default_factory=dict)
    forwards: list[MediaStreamTrack] = field(default_factory=list)


class Worker:
    """Every connection of this worker, and what the server can ask of them."""

    def __init__(self, recordings: Path, emit: Callable[[dict[str, Any]], None]) -> None:
        self._recordings = recordings
        self._emit = emit
        self._conns: dict[str, Connection] = {}
        self._upstreams: dict[tuple[str, str, str], Upstream] = {}  # (session, seat, kind)
        self.lag = LoopLag()

    async def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        """Answer one request from the server."""
        op = message.get("op")
        handlers: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            "publish": self.publish,
            "subscribe": self.subscribe,
            "answer": self.answer,
            "candidate": self.candidate,
            "close": self.close,
            "status": self.status,
        }
        handler = handlers.get(str(op))
        if handler is None:
            return {"ok": False, "error": f"unknown op {op!r}"}
        return {"ok": True, **(await handler(message))}

    async def publish(self, m: dict[str, Any]) -> dict[str, Any]:
        """A seat's offer on its publishing connection; answers with the worker's SDP."""
        conn = await self._open(str(m["conn"]), str(m["session"]), str(m["seat"]), "pub")
        pc = conn.pc
        pc.on("track", lambda track: self._on_track(conn, track))
        await pc.setRemoteDescription(RTCSessionDescription(str(m["sdp"]), "offer"))
        for transceiver in pc.getTransceivers():
            transceiver.direction = "recvonly"
            _prefer(transceiver, transceiver.kind)
        await pc.setLocalDescription(await pc.createAnswer())
        for upstream in conn.upstreams.values():
            upstream.start()
        return {"sdp": pc.localDescription.sdp, "kinds": sorted(conn.upstreams)}

    def _on_track(self, conn: Connection, track: MediaStreamTrack) -> None:
        kind = track.kind
        receiver = next(t.receiver for t in conn.pc.getTransceivers() if t.receiver.track is track)
        folder = self._recordings / conn.session
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        writer = TrackWriter.create(
            folder,
            conn.session,
            conn.seat,
            kind,  # type: ignore[arg-type]
            CODECS[kind][1],
            CODECS[kind][2],
            wall_ms(),
        )
        holder: list[Upstream] = []
        tap = seam.ReceiverTap(
            receiver,
            on_report=lambda pts, ntp_ms: writer.sender_report(SenderReport(pts, ntp_ms)),
            on_gap=lambda missing: holder[0].on_gap(missing) if holder else None,
        )
        upstream = Upstream(kind, track, tap, writer, wall_ms)
        holder.append(upstream)
        conn.upstreams[kind] = upstream
        conn.writers[kind] = writer
        old = self._upstreams.get((conn.session, conn.seat, kind))
        self._upstreams[(conn.session, conn.seat, kind)] = upstream
        if old is not None:
            logger.info("seat %s republished %s", conn.seat, kind)

    async def subscribe(self, m: dict[str, Any]) -> dict[str, Any]:
        """A connection sending ``kinds`` of ``source`` down to a member: the worker offers."""
        conn_id, session, source = str(m["conn"]), str(m["session"]), str(m["source"])
        conn = await self._open(conn_id, session, source, "sub")
        pc = conn.pc
        for kind in m.get("kinds", []):
            upstream = self._upstreams.get((session, source, str(kind)))
            if upstream is None:
                continue
            forward = upstream.attach()
            conn.forwards.append(forward)
            transceiver = pc.addTransceiver(forward, direction="sendonly")
            forward.send_through(transceiver.sender)
            _prefer(transceiver, str(kind))
            seam.hook_sender(transceiver.sender, upstream.ask_keyframe)
        if not conn.forwards:
            await self._drop(conn_id)
            return {"sdp": None, "kinds": []}
        await pc.setLocalDescription(await pc.createOffer())
        kinds = [f.kind for f in conn.forwards]
        return {"sdp": pc.localDescription.sdp, "kinds": kinds}

    async def answer(self, m: dict[str, Any]) -> dict[str, Any]:
        """The member's answer on a connection the worker offered."""
        conn = self._conns[str(m["conn"])]
        await conn.pc.setRemoteDescription(RTCSessionDescription(str(m["sdp"]), "answer"))
        return {}

    async def candidate(self, m: dict[str, Any]) -> dict[str, Any]:
        """A trickled remote candidate (the worker's own are all in its SDP: aiortc gathers
        before it answers)."""
        conn = self._conns.get(str(m["conn"]))
        text = str(m.get("candidate") or "")
        if conn is None or not text:
            return {}
        candidate = candidate_from_sdp(text.removeprefix("candidate:"))
        candidate.sdpMid = m.get("sdpMid")
        candidate.sdpMLineIndex = m.get("sdpMLineIndex")
        await conn.pc.addIceCandidate(candidate)
        return {}

    async def close(self, m: dict[str, Any]) -> dict[str, Any]:
        """Close a connection (its recordings close and are reported)."""
        await self._drop(str(m["conn"]))
        return {}

    async def status(self, _m: dict[str, Any] | None = None) -> dict[str, Any]:
        """Every upstream track's counters and every connection's state."""
        tracks = [
            {"session": s, "seat": seat, "kind": kind, **u.stats.to_json()}
            for (s, seat, kind), u in self._upstreams.items()
        ]
        conns = {c.id: c.pc.connectionState for c in self._conns.values()}
        lag = self.lag.take()
        return {"tracks": tracks, "conns": conns, "at_ms": wall_ms(), "loop": lag}

    async def _open(self, conn_id: str, session: str, seat: str, direction: str) -> Connection:
        """A new peer connection under ``conn_id`` (one there before is closed first)."""
        await self._drop(conn_id)
        conn = Connection(conn_id, session, seat, direction, RTCPeerConnection())
        self._conns[conn_id] = conn
        self._watch(conn)
        return conn

    def _watch(self, conn: Connection) -> None:
        @conn.pc.on("connectionstatechange")
        async def changed() -> None:
            state = conn.pc.connectionState
            self._emit({"event": "state", "conn": conn.id, "state": state})
            if state in ("failed", "closed") and self._conns.get(conn.id) is conn:
                await self._drop(conn.id)

    async def _drop(self, conn_id: str) -> None:
        conn = self._conns.pop(conn_id, None)
        if conn is None:
            return
        for forward in conn.forwards:
            forward.stop()
        final = []
        for kind, upstream in conn.upstreams.items():
            await upstream.stop()
            track = {"session": conn.session, "seat": conn.seat, "kind": kind, "final": True}
            final.append({**track, **upstream.stats.to_json()})
            key = (conn.session, conn.seat, kind)
            if self._upstreams.get(key) is upstream:
                del self._upstreams[key]
        await conn.pc.close()
        for writer in conn.writers.values():
            await self._close_writer(conn, writer)
        if final:  # what was received, once nothing more can arrive
            self._emit({"event": "status", "tracks": final, "at_ms": wall_ms()})
        self._emit({"event": "closed", "conn": conn_id})

    async def _close_writer(self, conn: Connection, writer: TrackWriter) -> None:
        try:  # fsync and hashing an hour of video take a while: not on the loop
            manifest = await asyncio.to_thread(writer.close, wall_ms())
        except Exception:  # one broken file must not keep the others open
            logger.exception("closing a recording of %s failed", conn.seat)
            return
        self._emit({"event": "recording", "session": conn.session, "manifest": manifest.to_json()})

    async def shutdown(self) -> None:
        """Close every connection and recording."""
        for conn_id in list(self._conns):
            await self._drop(conn_id)


async def serve(socket_path: Path, recordings: Path) -> None:
    """Serve one server connection on ``socket_path`` until stdin closes."""
    writers: list[asyncio.StreamWriter] = []
    answering: set[asyncio.Task[None]] = set()

    def emit(message: dict[str, Any]) -> None:
        for w in writers:
            w.write(ipc.encode(message))

    worker = Worker(recordings, emit)

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            while (message := await ipc.read_message(reader)) is not None:
                task = asyncio.create_task(_answer(worker, message, writer))
                answering.add(task)
                task.add_done_callback(answering.discard)
        finally:
            writers.remove(writer)

    async def status_loop() -> None:
        while True:
            await asyncio.sleep(STATUS_EVERY_S)
            emit({"event": "status", **(await worker.status())})

    server = await asyncio.start_unix_server(client, str(socket_path), limit=ipc.MAX_LINE)
    os.chmod(socket_path, 0o600)
    ticker = asyncio.create_task(status_loop())
    worker.lag.task = asyncio.create_task(worker.lag.run())
    print("ready", flush=True)  # the server waits for this line before it connects
    try:
        await _stdin_closed()
    finally:
        ticker.cancel()
        if worker.lag.task is not None:
            worker.lag.task.cancel()
        await worker.shutdown()
        server.close()


async def _answer(worker: Worker, message: dict[str, Any], writer: asyncio.StreamWriter) -> None:
    try:
        answer = await worker.handle(message)
    except Exception as exc:
        logger.exception("op %s failed", message.get("op"))
        answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    writer.write(ipc.encode({"id": message.get("id"), **answer}))


async def _stdin_closed() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass


def main(argv: list[str] | None = None) -> None:
    """Entry point of the worker process."""
    parser = argparse.ArgumentParser(prog="evalroom-media-worker")
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--recordings", type=Path, required=True)
    parser.add_argument("--announce", action="append", default=[], help="host address for ICE")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s media %(levelname)s %(message)s")
    for noisy in ("aioice", "aiortc"):  # every ICE check at INFO would drown the log
        logging.getLogger(noisy).setLevel(logging.WARNING)
    seam.announce_only(args.announce)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.socket, args.recordings))


if __name__ == "__main__":
    main()
