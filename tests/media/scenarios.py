"""Media checks both backends run: one coroutine each, returning plain JSON, and its checker.

The embedded backend's tests call them on 127.0.0.1; the Janus test runs them inside a private
network namespace (``tests/janus/checks_scenario.py``) and applies the same checkers to the JSON
the child process writes, so both backends are held to one definition of each behaviour.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aioice.ice
from aiortc import RTCPeerConnection

from server.client.seat import Client
from tests.app.conftest import create_session, load_lot
from tests.media.peers import MediaPeer
from tests.media.room_scenario import enrolled_tokens, until

# The video camera starts this long after the microphone (the injected A/V offset).
VIDEO_DELAY_MS = 500
ALIGNMENT_TOLERANCE_MS = 40


@dataclass
class OneSeat:
    """A session on a media server, one enrolled seat's token, and a supervisor's log view."""

    base: str
    created: dict[str, Any]
    seat: str
    token: str
    watcher: Client  # the second supervisor, following the log

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """The data of the events of one type the watcher holds."""
        return [e["data"] for e in self.watcher.events.values() if e["type"] == kind]


@asynccontextmanager
async def one_seat_on(base: str) -> AsyncIterator[OneSeat]:
    """A fresh session on ``base`` with every seat enrolled; the first seat is the one used."""
    created = await create_session(base, load_lot())
    tokens = await enrolled_tokens(base, created)
    seat = sorted(tokens)[0]
    watcher = Client(base, created["session"], created["supervisor"][1])
    await watcher.connect()
    try:
        yield OneSeat(base, created, seat, tokens[seat], watcher)
    finally:
        await watcher.disconnect()


# -- A/V alignment ---------------------------------------------------------------------------


async def av_alignment(one: OneSeat) -> dict[str, Any]:
    """The seat publishes with its camera :data:`VIDEO_DELAY_MS` late; the two manifests."""
    publisher = MediaPeer(one.base, one.token, decode=False)
    try:
        await publisher.connect()
        assert (await publisher.join())["ok"]
        await publisher.publish(video_delay_s=VIDEO_DELAY_MS / 1000)
        await asyncio.sleep(4)  # a few sender reports on each track (aiortc sends about 1/s)
        await publisher.close()
        await until(lambda: len(one.of_type("recording.closed")) == 2, 20, "manifests")
    finally:
        await publisher.close()
    return {"manifests": {m["track"]: m for m in one.of_type("recording.closed")}}


def check_alignment(result: dict[str, Any]) -> int:
    """Video's start is :data:`VIDEO_DELAY_MS` after audio's within the tolerance; the offset."""
    by_track = result["manifests"]
    assert sorted(by_track) == ["audio", "video"]
    offset = int(by_track["video"]["start_ms"] - by_track["audio"]["start_ms"])
    assert abs(offset - VIDEO_DELAY_MS) <= ALIGNMENT_TOLERANCE_MS, offset
    return offset


# -- ICE restart -----------------------------------------------------------------------------


def drop_uplink(pc: RTCPeerConnection) -> None:
    """Every datagram this peer connection sends from now on is lost (a network drop)."""
    for transceiver in pc.getTransceivers():
        connection = transceiver.sender.transport.transport._connection
        for protocol in connection._protocols:
            protocol.transport.sendto = lambda *args: None


async def restart_after_drop(base: str) -> dict[str, Any]:
    """A publishing seat's uplink drops; it restarts as a seat does; the room carries on.

    Consent freshness (RFC 7675) is made to fail in seconds rather than aioice's 30 s, like a
    browser's, for the duration of the run.
    """
    saved = aioice.ice.CONSENT_INTERVAL, aioice.ice.CONSENT_FAILURES
    aioice.ice.CONSENT_INTERVAL, aioice.ice.CONSENT_FAILURES = 1, 3
    try:
        async with one_seat_on(base) as one:
            return await _restart_after_drop(one)
    finally:
        aioice.ice.CONSENT_INTERVAL, aioice.ice.CONSENT_FAILURES = saved


async def _restart_after_drop(one: OneSeat) -> dict[str, Any]:
    seat = one.seat
    supervisor = MediaPeer(one.base, one.created["supervisor"][0])
    publisher = MediaPeer(one.base, one.token, decode=False)
    failed = asyncio.Event()
    video = (seat, "video")
    try:
        for peer in (supervisor, publisher):
            await peer.connect()
            assert (await peer.join())["ok"]
        await publisher.publish()
        assert publisher.pub is not None
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
        await old.close()
        offers_before = len(supervisor.offers)
        await publisher.publish()
        # The room sends the supervisor a fresh connection for the seat's new upstream.
        await until(lambda: len(supervisor.offers) > offers_before, 10, "new offer")
        resumed = supervisor.frames[video]
        await until(lambda: supervisor.frames[video] >= resumed + 20, 30, "frames again")
        await publisher.close()
        await until(lambda: len(one.of_type("recording.closed")) >= 4, 30, "recordings")
    finally:
        await publisher.close()
        await supervisor.close()
    return {"seat": seat, "answer": answer, "events": list(one.watcher.events.values())}


def check_restart(result: dict[str, Any]) -> None:
    """One join and one leave for the seat, the failed connection's files closed while it
    stayed, and the new connection recorded too."""
    assert result["answer"] == {"ok": True, "republish": True}
    events = result["events"]
    member = f"expert:{result['seat']}"
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
