"""Seven seats and a supervisor through the embedded pass-through worker, on loopback."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import av
import pytest
import socketio

from server.client.seat import Client
from tests.app.conftest import create_session, load_lot
from tests.media.peers import MediaPeer

pytestmark = pytest.mark.slow


async def until(check: Any, seconds: float, what: str) -> None:
    async with asyncio.timeout(seconds):
        while not check():  # noqa: ASYNC110 - polls state that several callbacks change
            await asyncio.sleep(0.1)


async def final_counts(supervisor: MediaPeer, tracks: int) -> dict[tuple[str, str], int]:
    """What the worker received of each track, from its report when the track closed."""

    def finals() -> dict[tuple[str, str], int]:
        return {
            (t["seat"], t["kind"]): t["packets"]
            for status in supervisor.status
            for t in status["tracks"]
            if t.get("final")
        }

    await until(lambda: len(finals()) >= tracks, 20, "final status")
    return finals()


async def enrolled_tokens(base: str, created: dict[str, Any]) -> dict[str, str]:
    """Each seat's token, enrolled with a fresh key (as a browser seat would)."""
    from server.client.seat import SeatClient

    tokens = {}
    for seat, code in created["codes"].items():
        client = SeatClient(base, created["session"], seat)
        await client.enrol(code)
        tokens[seat] = client.token
    return tokens


async def test_seven_seats_and_a_supervisor(media_server: str, tmp_path: Path) -> None:
    lot = load_lot()
    lot["media"] = {"experts_see_video": False}
    created = await create_session(media_server, lot)
    session = created["session"]
    tokens = await enrolled_tokens(media_server, created)
    seats = sorted(tokens)
    assert len(seats) == 7

    supervisor = MediaPeer(media_server, created["supervisor"][0])
    listener = MediaPeer(media_server, tokens[seats[0]])  # an expert who hears the others
    publishers = [MediaPeer(media_server, tokens[s], decode=False) for s in seats[1:]]
    peers = [supervisor, listener, *publishers]
    try:
        for peer in peers:
            await peer.connect()
            joined = await peer.join()
            assert joined["ok"], joined
        assert (await supervisor.call("publish", {"sdp": "v=0\r\n"}))["error"][
            "code"
        ] == "forbidden"
        for peer in [listener, *publishers]:
            answer = await peer.publish()
            assert answer["kinds"] == ["audio", "video"]

        every = {(s, k) for s in seats for k in ("audio", "video")}
        await until(lambda: all(supervisor.frames[key] >= 20 for key in every), 60, "frames")
        heard = {(s, "audio") for s in seats[1:]}
        await until(lambda: all(listener.frames[key] >= 20 for key in heard), 30, "audio")
        assert not any(kind == "video" for _, kind in listener.frames)  # policy: no video
        assert all(o["kinds"] == ["audio"] for o in listener.offers)
        assert all(source != seats[0] for source, _ in listener.frames)  # never itself

        # Stop sending, let the last packets land, then see what the worker received.
        for peer in [listener, *publishers]:
            await peer.stop_publishing()
        received = await final_counts(supervisor, 14)
    finally:
        for peer in peers:
            await peer.close()

    assert set(received) == every
    watcher = Client(media_server, session, created["supervisor"][1])
    await watcher.connect()
    try:
        await until(
            lambda: sum(e["type"] == "recording.closed" for e in watcher.events.values()) >= 14,
            30,
            "manifests",
        )
        events = list(watcher.events.values())
    finally:
        await watcher.disconnect()
    manifests = [e["data"] for e in events if e["type"] == "recording.closed"]
    assert {(m["seat"], m["track"]) for m in manifests} == every
    folder = tmp_path / "recordings" / session
    for manifest in manifests:
        path = folder / manifest["file"]
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == manifest["sha256"]
        assert len(data) == manifest["size"]
        assert path.stat().st_mode & 0o777 == 0o400
        assert manifest["packets"] == received[(manifest["seat"], manifest["track"])]
        with av.open(str(path)) as container:
            packets = [p for p in container.demux() if p.size]
            assert len(packets) == manifest["packets"]
            if manifest["track"] == "video":
                frames = [f for p in packets for f in p.decode()]
                assert len(frames) == len(packets)
                assert (frames[0].width, frames[0].height) == (320, 240)
    kinds = {e["type"] for e in events}
    assert {"media.joined", "media.left", "recording.closed"} <= kinds


async def test_roles_without_live_media_get_none(media_server: str) -> None:
    created = await create_session(media_server, load_lot())
    for token in (created["auditor"], created["public"]):
        peer = MediaPeer(media_server, token)
        await peer.connect()
        try:
            answer = await peer.join()
            assert answer == {"ok": False, "error": answer["error"]}
            assert answer["error"]["code"] == "forbidden"
            publish = await peer.call("publish", {"sdp": "v=0\r\nx"})
            assert publish["ok"] is False
        finally:
            await peer.close()
    stranger = MediaPeer(media_server, "v1.bm90.aXQ")
    with pytest.raises(socketio.exceptions.ConnectionError, match="failed to connect"):
        await stranger.connect()
