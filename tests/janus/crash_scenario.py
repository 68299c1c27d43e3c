"""SIGKILL of the node's Janus mid-recording, through a whole evalroom server.

Run by ``tests/janus/test_janus_crash.py`` as ``unshare -n python -m tests.janus.crash_scenario
--out FILE``: inside its own network namespace (see :mod:`tests.janus.room_scenario`) two seats
publish a 15 fps camera and a microphone, a supervisor decodes both; about 3 s in, the Janus the
node started is killed with SIGKILL. The scenario then waits for the node to log the cut
recordings, restart Janus and tell the members, publishes again, and writes what it saw as JSON:
the test asserts on it. Nothing leaves the namespace.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from server.app.main import MEDIA
from server.client.seat import Client
from signaling.janus.recording import JANUS_DIR
from tests.app.conftest import create_session, load_lot
from tests.janus.scenario import main_in_namespace
from tests.media.peers import MediaPeer
from tests.media.room_scenario import check_file, enrolled_tokens, until
from tests.media.servers import JANUS_ENV, running_server

TIMEOUT_S = 150.0
FPS = 15
AUDIO_FRAME_S = 0.02  # aiortc's microphone: one 20 ms Opus packet per frame
PUBLISH_S = 3.0  # how long the seats publish before the kill
KINDS = ("audio", "video")


def cut_manifests(watcher: Client) -> list[dict[str, Any]]:
    """The ``recording.closed`` events the supervisor's log view holds that say ``cut``."""
    return [
        e["data"]
        for e in watcher.events.values()
        if e["type"] == "recording.closed" and e["data"].get("cut")
    ]


def kill_janus(app: web.Application) -> dict[str, Any]:
    """SIGKILL the Janus the node started; its PID and the time (monotonic)."""
    janus = app[MEDIA].janus
    assert janus is not None
    pid = janus.pid
    assert pid is not None
    unbuffered = janus.recordings_unbuffered
    os.kill(pid, signal.SIGKILL)
    return {
        "pid": pid,
        "at": time.monotonic(),
        "wall_ms": int(time.time() * 1000),
        "unbuffered": unbuffered,
    }


async def crash(base: str, app: web.Application, recordings: Path) -> dict[str, Any]:
    """Publish, kill Janus, recover, publish again; return what the test asserts on."""
    created = await create_session(base, load_lot())
    session = created["session"]
    tokens = await enrolled_tokens(base, created)
    seats = sorted(tokens)[:2]
    supervisor = MediaPeer(base, created["supervisor"][0])
    publishers = {seat: MediaPeer(base, tokens[seat], decode=False) for seat in seats}
    restarts: dict[str, list[dict[str, Any]]] = {"supervisor": []}
    supervisor.sio.on("restart", restarts["supervisor"].append, namespace="/media")
    for seat, peer in publishers.items():
        restarts[seat] = []
        peer.sio.on("restart", restarts[seat].append, namespace="/media")
    peers = [supervisor, *publishers.values()]
    watcher = Client(base, session, created["supervisor"][1])
    await watcher.connect()
    folder = recordings / session
    every = [(s, k) for s in seats for k in KINDS]
    result: dict[str, Any] = {"seats": seats, "fps": FPS, "audio_frame_s": AUDIO_FRAME_S}
    try:
        for peer in peers:
            await peer.connect()
            assert (await peer.join())["ok"]
        started = time.monotonic()
        for peer in publishers.values():
            await peer.publish(fps=FPS)
        await until(lambda: all(supervisor.frames[k] >= 15 for k in every), 60, "frames")
        await asyncio.sleep(max(0.0, started + PUBLISH_S - time.monotonic()))

        writing = sorted(p.name for p in (folder / JANUS_DIR).glob("*.mjr.part"))
        sent = {
            seat: {"video": peer.camera.sent, "audio": peer.microphone.sent}
            for seat, peer in publishers.items()
            if peer.camera is not None and peer.microphone is not None
        }
        frames_at_kill = dict(supervisor.frames)
        killed = kill_janus(app)
        await until(lambda: len(cut_manifests(watcher)) >= len(every), 60, "cut recordings")
        logged_s = time.monotonic() - killed["at"]
        await until(lambda: all(len(r) >= 1 for r in restarts.values()), 60, "restart events")
        restarted_s = time.monotonic() - killed["at"]
        janus = app[MEDIA].janus
        assert janus is not None
        # The session server never stopped: a command on the default namespace still answers.
        state = await watcher.sio.call("state", {}, timeout=10)

        before = dict(supervisor.frames)
        republished = []
        for peer in publishers.values():
            await peer.stop_publishing()
            republished.append((await peer.publish(fps=FPS))["kinds"])
        await until(
            lambda: all(supervisor.frames[k] >= before[k] + 20 for k in every), 60, "frames again"
        )
        result.update(
            writing=writing,
            sent_at_kill=sent,
            frames_at_kill=[[s, k, n] for (s, k), n in frames_at_kill.items()],
            frames_before_again=[[s, k, before[(s, k)]] for s, k in every],
            frames_after=[[s, k, supervisor.frames[(s, k)]] for s, k in every],
            killed_pid=killed["pid"],
            killed_ms=killed["wall_ms"],
            unbuffered=killed["unbuffered"],
            new_pid=janus.pid,
            janus_alive=janus.alive,
            logged_s=round(logged_s, 3),
            restarted_s=round(restarted_s, 3),
            restarts={who: [r.get("reason") for r in got] for who, got in restarts.items()},
            state_ok=bool(state.get("ok")),
            republished=republished,
        )
    finally:
        for peer in peers:
            await peer.close()
        await watcher.disconnect()
    cut = cut_manifests(watcher)
    result["manifests"] = cut
    result["files"] = {m["file"]: check_file(folder / m["file"]) for m in cut}
    left = sorted(p.name for p in (folder / JANUS_DIR).iterdir()) if folder.is_dir() else []
    result["janus_dir"] = left
    return result


async def run(data: Path) -> dict[str, Any]:
    async with running_server(data, **JANUS_ENV) as (base, app):
        return await crash(base, app, data / "recordings")


if __name__ == "__main__":
    main_in_namespace("tests.janus.crash_scenario", run, TIMEOUT_S)
