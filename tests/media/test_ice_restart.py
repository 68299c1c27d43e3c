"""A seat's uplink drops: its connection fails, it restarts, and the room carries on."""

from __future__ import annotations

import asyncio
from typing import Any

import aioice.ice
import pytest
from aiortc import RTCPeerConnection

from server.client.seat import Client
from tests.app.conftest import create_session, load_lot
from tests.media.peers import MediaPeer
from tests.media.room_scenario import enrolled_tokens, until

pytestmark = pytest.mark.slow


def drop_uplink(pc: RTCPeerConnection) -> None:
    """Every datagram this peer connection sends from now on is lost (a network drop)."""
    for transceiver in pc.getTransceivers():
        connection = transceiver.sender.transport.transport._connection
        for protocol in connection._protocols:
            protocol.transport.sendto = lambda *args: None


async def test_a_dropped_uplink_recovers_by_restart_with_the_seat_kept(
    media_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Consent freshness (RFC 7675) fails in seconds rather than aioice's 30 s, like a browser.
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 1)
    monkeypatch.setattr(aioice.ice, "CONSENT_FAILURES", 3)
    created = await create_session(media_server, load_lot())
    tokens = await enrolled_tokens(media_server, created)
    seat = sorted(tokens)[0]
    watcher = Client(media_server, created["session"], created["supervisor"][1])
    await watcher.connect()
    supervisor = MediaPeer(media_server, created["supervisor"][0])
    publisher = MediaPeer(media_server, tokens[seat], decode=False)
    failed = asyncio.Event()
    try:
        for peer in (supervisor, publisher):
            await peer.connect()
            assert (await peer.join())["ok"]
        await publisher.publish()
        assert publisher.pub is not None
        video = (seat, "video")
        await until(lambda: supervisor.frames[video] >= 20, 30, "frames")

        old = publisher.pub
        # aiortc ends a connection whose consent expired as "closed", browsers as "failed".
        old.on(
            "connectionstatechange",
            lambda: old.connectionState in ("failed", "closed") and failed.set(),
        )
        drop_uplink(old)
        await asyncio.wait_for(failed.wait(), 40)  # about 4 s; longer on a busy machine
        # What a seat does when its publishing connection failed: ask, then offer again.
        answer: dict[str, Any] = await publisher.call("restart", {"conn": "pub"})
        assert answer == {"ok": True, "republish": True}
        await old.close()
        offers_before = len(supervisor.offers)
        await publisher.publish()
        # The room sends the supervisor a fresh connection for the seat's new upstream.
        await until(lambda: len(supervisor.offers) > offers_before, 10, "new offer")
        resumed = supervisor.frames[video]
        await until(lambda: supervisor.frames[video] >= resumed + 20, 30, "frames again")
        await publisher.close()
        await until(
            lambda: sum(e["type"] == "recording.closed" for e in watcher.events.values()) >= 4,
            20,
            "both connections' recordings",
        )
        events = list(watcher.events.values())
    finally:
        await publisher.close()
        await supervisor.close()
        await watcher.disconnect()
    member = f"expert:{seat}"
    joined = [e for e in events if e["type"] == "media.joined" and e["data"]["member"] == member]
    assert len(joined) == 1  # the seat was kept: one join, no leave in between
    left = [e for e in events if e["type"] == "media.left" and e["data"]["member"] == member]
    assert len(left) == 1  # only when it left at the end
    first_recordings = [
        e["seq"] for e in events if e["type"] == "recording.closed" and e["seq"] < left[0]["seq"]
    ]
    assert first_recordings  # the failed connection's files closed while the seat stayed
    recordings = [e["data"] for e in events if e["type"] == "recording.closed"]
    assert sorted(r["track"] for r in recordings) == ["audio", "audio", "video", "video"]
    assert not any(r["cut"] for r in recordings)
