"""Seats behind TURN: a real coturn relays a seat that may use nothing but relay candidates.

The server hands each member TURN credentials in its ``join`` answer (coturn's
``use-auth-secret`` scheme, :mod:`signaling.turn`). A relay-only seat publishes through coturn
with them and the supervisor (connected directly) decodes its frames; a seat holding an expired
credential or one signed with another secret is refused by coturn (401), gathers no candidate
and never connects. Everything is on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.rtcicetransport import RTCIceTransport

from server.app.config import Config
from server.app.main import make_app
from signaling import turn as turn_credentials
from tests.app.conftest import ADMIN, TOKEN_KEY, create_session, free_port, load_lot
from tests.media import coturn
from tests.media.peers import MediaPeer, Microphone, MovingPicture
from tests.media.room_scenario import enrolled_tokens, until

pytestmark = pytest.mark.slow

SECRET = "evalroom-test-turn-secret"  # noqa: S105 - a test secret
TTL_S = 600
# How long a refused seat is watched: it must not have connected by then. aiortc starts ICE only
# once a local candidate exists, so a seat with none stays "new" rather than turning "failed".
REFUSED_WATCH_S = 5.0


class RelaySeat(MediaPeer):
    """A seat whose publishing connection may use relay candidates only (``iceTransportPolicy``
    "relay"), with the ICE servers it is given rather than none."""

    def __init__(self, base: str, token: str) -> None:
        super().__init__(base, token, decode=False)
        self.states: list[str] = []

    async def publish_through(self, servers: list[dict[str, Any]]) -> dict[str, Any]:
        """Publish camera and microphone through ``servers`` (W3C ``RTCIceServer`` dicts)."""
        ice = [
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
            for s in servers
        ]
        pc = RTCPeerConnection(
            RTCConfiguration(iceServers=ice, iceTransportPolicy=RTCIceTransportPolicy.RELAY)
        )
        self.pub = pc
        pc.on("connectionstatechange", lambda: self.states.append(pc.connectionState))
        self.camera = MovingPicture()
        self.microphone = Microphone()
        pc.addTransceiver(self.microphone, direction="sendonly")
        pc.addTransceiver(self.camera, direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        answer = await self.call("publish", {"sdp": pc.localDescription.sdp})
        assert answer["ok"], answer
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        return answer

    def ice(self) -> RTCIceTransport:
        """The ICE transport of the (bundled) publishing connection."""
        assert self.pub is not None
        transport: RTCIceTransport = self.pub.getTransceivers()[0].sender.transport.transport
        return transport

    def local_candidate_types(self) -> list[str]:
        return [c.type for c in self.ice().iceGatherer.getLocalCandidates()]

    def selected_pair(self) -> tuple[str, str]:
        """(local candidate type, remote candidate type) of the pair ICE nominated."""
        # aiortc exposes no getSelectedCandidatePair(): read aioice's nominated pair (component 1).
        pair = self.ice()._connection._nominated[1]
        return pair.local_candidate.type, pair.remote_candidate.type


@pytest.fixture
def turn(tmp_path: Path) -> Iterator[coturn.Coturn]:
    with coturn.running(tmp_path / "coturn", SECRET) as server:
        yield server


@pytest.fixture
async def turn_server(tmp_path: Path, turn: coturn.Coturn) -> AsyncIterator[str]:
    """The evalroom server (embedded media worker on 127.0.0.1) handing out ``turn``."""
    port = free_port()
    config = Config.from_env(
        {},
        EVALROOM_DATA_DIR=str(tmp_path / "data"),
        EVALROOM_PORT=str(port),
        EVALROOM_ADMIN_TOKEN=ADMIN,
        EVALROOM_TOKEN_KEY=TOKEN_KEY,
        EVALROOM_MEDIA_ADDRESSES="127.0.0.1",
        EVALROOM_MEDIA_DARK_MS="3000",
        EVALROOM_TURN_URLS=turn.udp_url,
        EVALROOM_TURN_SECRET=SECRET,
        EVALROOM_TURN_TTL_S=str(TTL_S),
    )
    app = make_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _room(base: str) -> tuple[str, str, str, str]:
    """A fresh session: (session, supervisor's media token, a seat, that seat's token)."""
    created = await create_session(base, load_lot())
    tokens = await enrolled_tokens(base, created)
    seat = sorted(tokens)[0]
    return created["session"], created["supervisor"][0], seat, tokens[seat]


def _turn_entry(servers: list[dict[str, Any]]) -> dict[str, Any]:
    (entry,) = [s for s in servers if any(u.startswith("turn:") for u in s["urls"])]
    return entry


def _expiry(username: str) -> int:
    match = re.fullmatch(r"([0-9]+):(.+)", username)
    assert match is not None, username
    return int(match[1])


async def test_a_relay_only_seat_publishes_through_coturn(
    turn_server: str, turn: coturn.Coturn
) -> None:
    _, supervisor_token, seat, seat_token = await _room(turn_server)
    supervisor = MediaPeer(turn_server, supervisor_token)
    publisher = RelaySeat(turn_server, seat_token)
    try:
        for peer in (supervisor, publisher):
            await peer.connect()
        assert (await supervisor.join())["ok"]
        joined = await publisher.join()
        assert joined["ok"], joined
        entry = _turn_entry(joined["ice_servers"])
        assert entry["urls"] == [turn.udp_url]
        assert _expiry(entry["username"]) > time.time()

        await publisher.publish_through(joined["ice_servers"])
        assert publisher.pub is not None
        assert publisher.local_candidate_types() == ["relay"]
        offered = re.findall(r"typ (\w+)", publisher.pub.localDescription.sdp)
        assert offered
        assert set(offered) == {"relay"}
        for kind in ("video", "audio"):
            key = (seat, kind)
            await until(lambda key=key: supervisor.frames[key] >= 20, 30, f"{kind} frames")
        assert publisher.pub.connectionState == "connected"
        assert publisher.selected_pair() == ("relay", "host")
    finally:
        await publisher.close()
        await supervisor.close()
    log = turn.log()
    # coturn logs each request with the session's username; the allocation succeeded.
    allocated = [
        line
        for line in log.splitlines()
        if f"user <{entry['username']}>: incoming packet ALLOCATE processed, success" in line
    ]
    assert allocated, log[-4000:]
    # ... and relayed packets both ways between the seat and the media worker.
    await until(lambda: _relayed_both_ways(turn.log(), entry["username"]), 10, "peer usage")


def _relayed_both_ways(log: str, username: str) -> bool:
    """Whether coturn's usage report for a session of ``username`` counts packets received from
    its peer and sent to it (``peer usage: ... rp=N, rb=N, sp=N, sb=N``)."""
    usage = re.compile(
        rf"peer usage: realm=<[^>]*>, username=<{re.escape(username)}>, rp=([0-9]+), rb=[0-9]+, "
        r"sp=([0-9]+),"
    )
    return any(int(m[1]) > 0 and int(m[2]) > 0 for m in usage.finditer(log))


def _expired(user: str) -> turn_credentials.TurnCredential:
    return turn_credentials.mint(SECRET.encode(), user, int(time.time()) - 7200, 60)


def _wrong_secret(user: str) -> turn_credentials.TurnCredential:
    return turn_credentials.mint(b"not-the-secret", user, int(time.time()), TTL_S)


@pytest.mark.parametrize("credential", [_expired, _wrong_secret], ids=["expired", "wrong-secret"])
async def test_coturn_refuses_a_bad_credential_and_the_seat_stays_down(
    turn_server: str, turn: coturn.Coturn, credential: Any
) -> None:
    session, supervisor_token, seat, seat_token = await _room(turn_server)
    supervisor = MediaPeer(turn_server, supervisor_token)
    publisher = RelaySeat(turn_server, seat_token)
    bad: turn_credentials.TurnCredential = credential(f"{session}.{seat}")
    try:
        for peer in (supervisor, publisher):
            await peer.connect()
            assert (await peer.join())["ok"]
        servers = [{"urls": [turn.udp_url], "username": bad.username, "credential": bad.password}]
        await publisher.publish_through(servers)
        assert publisher.pub is not None
        assert publisher.local_candidate_types() == []
        assert "typ " not in publisher.pub.localDescription.sdp
        pc = publisher.pub
        with contextlib.suppress(TimeoutError):  # watched for a bounded time, never longer
            await until(lambda: pc.connectionState == "connected", REFUSED_WATCH_S, "refused")
        assert pc.connectionState in ("new", "failed"), publisher.states
        assert "connected" not in publisher.states, publisher.states
        assert supervisor.frames[(seat, "video")] == 0
    finally:
        await publisher.close()
        await supervisor.close()
    log = turn.log()
    refused = [
        line for line in log.splitlines() if f"<{bad.username}>" in line and "error 401" in line
    ]
    assert refused, log[-4000:]
    assert f"user <{bad.username}>: incoming packet ALLOCATE processed, success" not in log


async def test_a_reconnected_seat_gets_a_fresh_turn_credential(turn_server: str) -> None:
    session, _, seat, seat_token = await _room(turn_server)
    peer = MediaPeer(turn_server, seat_token, decode=False)
    entries = []
    try:
        for attempt in range(2):
            if attempt:
                await peer.sio.disconnect()
                await asyncio.sleep(1.1)  # the server's clock counts whole seconds: let one pass
            await peer.connect()
            before_s = int(time.time())
            joined = await peer.join()
            after_s = int(time.time())
            assert joined["ok"], joined
            entry = _turn_entry(joined["ice_servers"])
            expiry = _expiry(entry["username"])
            assert entry["username"] == f"{expiry}:{session}.{seat}"
            assert before_s + TTL_S <= expiry <= after_s + TTL_S
            assert turn_credentials.check(
                SECRET.encode(), entry["username"], entry["credential"], after_s
            )
            entries.append(entry)
    finally:
        await peer.close()
    first, second = entries
    assert second["username"] != first["username"]
    assert second["credential"] != first["credential"]
    assert _expiry(second["username"]) > _expiry(first["username"]) > time.time()
