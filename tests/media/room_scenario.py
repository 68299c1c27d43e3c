"""The seven-seat room, as one coroutine both backends' tests run (Janus's in a namespace).

Seven expert seats publish (one of them, the listener, also receives), a supervisor receives
every seat; the lot hides experts' video from each other. Everything the tests assert on comes
back as plain JSON so a scenario run in a child process (``unshare -n``) can report it.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import av

from server.client.seat import Client, SeatClient
from tests.app.conftest import create_session, load_lot
from tests.media.peers import MediaPeer

KINDS = ("audio", "video")


async def until(check: Any, seconds: float, what: str) -> None:
    """Wait until ``check()`` holds (polled: several callbacks change what it reads)."""
    async with asyncio.timeout(seconds):
        while not check():  # noqa: ASYNC110 - polls state that several callbacks change
            await asyncio.sleep(0.1)


async def enrolled_tokens(base: str, created: dict[str, Any]) -> dict[str, str]:
    """Each seat's token, enrolled with a fresh key (as a browser seat would)."""
    tokens = {}
    for seat, code in created["codes"].items():
        client = SeatClient(base, created["session"], seat)
        await client.enrol(code)
        tokens[seat] = client.token
    return tokens


async def final_counts(supervisor: MediaPeer, tracks: int) -> dict[tuple[str, str], int]:
    """What the backend received of each track, from its report when the track closed."""

    def finals() -> dict[tuple[str, str], int]:
        return {
            (t["seat"], t["kind"]): t["packets"]
            for status in supervisor.status
            for t in status["tracks"]
            if t.get("final")
        }

    await until(lambda: len(finals()) >= tracks, 30, "final status")
    return finals()


def check_file(path: Path) -> dict[str, Any]:
    """What a recording file holds: its hash, size, mode, packets and decoded frames."""
    data = path.read_bytes()
    with av.open(str(path)) as container:
        packets = [p for p in container.demux() if p.size]
        frames = [f for p in packets for f in p.decode()]
    video = [f for f in frames if isinstance(f, av.VideoFrame)]
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "mode": path.stat().st_mode & 0o777,
        "packets": len(packets),
        "frames": len(frames),
        "size_px": [video[0].width, video[0].height] if video else None,
    }


async def seven_seats(base: str, recordings: Path) -> dict[str, Any]:
    """Run the room; return frames seen, offers, what the backend received, the manifests
    logged and what each recording file holds."""
    lot = load_lot()
    lot["media"] = {"experts_see_video": False}
    created = await create_session(base, lot)
    session = created["session"]
    tokens = await enrolled_tokens(base, created)
    seats = sorted(tokens)
    supervisor = MediaPeer(base, created["supervisor"][0])
    listener = MediaPeer(base, tokens[seats[0]])  # an expert who hears the others
    publishers = [MediaPeer(base, tokens[s], decode=False) for s in seats[1:]]
    peers = [supervisor, listener, *publishers]
    try:
        for peer in peers:
            await peer.connect()
            joined = await peer.join()
            assert joined["ok"], joined
        refused = await supervisor.call("publish", {"sdp": "v=0\r\n"})
        kinds = []
        for peer in [listener, *publishers]:
            kinds.append((await peer.publish())["kinds"])
        every = [(s, k) for s in seats for k in KINDS]
        await until(lambda: all(supervisor.frames[key] >= 20 for key in every), 60, "frames")
        heard = [(s, "audio") for s in seats[1:]]
        await until(lambda: all(listener.frames[key] >= 20 for key in heard), 30, "audio")
        for peer in [listener, *publishers]:
            await peer.stop_publishing()
        received = await final_counts(supervisor, len(every))
    finally:
        for peer in peers:
            await peer.close()
    watcher = Client(base, session, created["supervisor"][1])
    await watcher.connect()
    try:
        await until(
            lambda: (
                sum(e["type"] == "recording.closed" for e in watcher.events.values()) >= len(every)
            ),
            60,
            "manifests",
        )
        events = list(watcher.events.values())
    finally:
        await watcher.disconnect()
    manifests = [e["data"] for e in events if e["type"] == "recording.closed"]
    folder = recordings / session
    return {
        "seats": seats,
        "refused": refused,
        "kinds": kinds,
        "supervisor_frames": [[s, k, n] for (s, k), n in supervisor.frames.items()],
        "listener_frames": [[s, k, n] for (s, k), n in listener.frames.items()],
        "listener_offer_kinds": [o["kinds"] for o in listener.offers],
        "received": [[s, k, n] for (s, k), n in received.items()],
        "manifests": manifests,
        "files": {m["file"]: check_file(folder / m["file"]) for m in manifests},
        "event_types": sorted({e["type"] for e in events}),
    }


def check_seven_seats(result: dict[str, Any], exact: bool) -> None:
    """What every backend must show for the seven-seat room; ``exact``: packets in each file
    equal packets received (the embedded worker counts both at the same place)."""
    seats = result["seats"]
    assert len(seats) == 7
    assert result["refused"]["error"]["code"] == "forbidden"
    assert all(k == ["audio", "video"] for k in result["kinds"])
    every = {(s, k) for s in seats for k in KINDS}
    seen = {(s, k): n for s, k, n in result["supervisor_frames"]}
    assert all(seen.get(key, 0) >= 20 for key in every), seen
    heard = {(s, k): n for s, k, n in result["listener_frames"]}
    assert set(heard) == {(s, "audio") for s in seats[1:]}  # no video (policy), never itself
    assert all(kinds == ["audio"] for kinds in result["listener_offer_kinds"])
    received = {(s, k): n for s, k, n in result["received"]}
    assert set(received) == every
    manifests = result["manifests"]
    assert {(m["seat"], m["track"]) for m in manifests} == every
    for manifest in manifests:
        held = result["files"][manifest["file"]]
        assert held["sha256"] == manifest["sha256"]
        assert held["size"] == manifest["size"]
        assert held["mode"] == 0o400
        assert held["packets"] == manifest["packets"]
        want = received[(manifest["seat"], manifest["track"])]
        if exact:
            assert manifest["packets"] == want
        else:  # a converter may drop a last frame that never completed
            assert want - 2 <= manifest["packets"] <= want
        if manifest["track"] == "video":
            assert held["frames"] == held["packets"]
            assert held["size_px"] == [320, 240]
    assert {"media.joined", "media.left", "recording.closed"} <= set(result["event_types"])
