"""Seats behind TURN, as both backends' tests run them (Janus's in a namespace).

The server hands each member TURN credentials in its ``join`` answer (coturn's
``use-auth-secret`` scheme, :mod:`signaling.turn`). A relay-only seat publishes through coturn
with them and the supervisor (connected directly) decodes its frames; a seat holding an expired
credential or one signed with another secret is refused by coturn (401), gathers no candidate
and never connects.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.rtcicetransport import RTCIceTransport

from signaling import turn as turn_credentials
from tests.app.conftest import create_session, load_lot
from tests.media import coturn
from tests.media.peers import MediaPeer, Microphone, MovingPicture
from tests.media.room_scenario import enrolled_tokens, until

SECRET = "evalroom-test-turn-secret"  # noqa: S105 - a test secret
TTL_S = 600
# How long a refused seat is watched: it must not have connected by then. aiortc starts ICE only
# once a local candidate exists, so a seat with none stays "new" rather than turning "failed".
REFUSED_WATCH_S = 5.0


def server_env(turn: coturn.Coturn) -> dict[str, str]:
    """What a node needs to hand out ``turn``'s credentials."""
    return {
        "EVALROOM_TURN_URLS": turn.udp_url,
        "EVALROOM_TURN_SECRET": SECRET,
        "EVALROOM_TURN_TTL_S": str(TTL_S),
    }


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


async def new_room(base: str) -> tuple[str, str, str, str]:
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


def turn_entry(servers: list[dict[str, Any]]) -> dict[str, Any]:
    (entry,) = [s for s in servers if any(u.startswith("turn:") for u in s["urls"])]
    return entry


def expiry_of(username: str) -> int:
    match = re.fullmatch(r"([0-9]+):(.+)", username)
    assert match is not None, username
    return int(match[1])


async def relay_publish(base: str, turn: coturn.Coturn) -> dict[str, Any]:
    """A relay-only seat publishes through ``turn``; what it gathered, offered and selected,
    and what the supervisor decoded."""
    _, supervisor_token, seat, seat_token = await new_room(base)
    supervisor = MediaPeer(base, supervisor_token)
    publisher = RelaySeat(base, seat_token)
    try:
        for peer in (supervisor, publisher):
            await peer.connect()
        assert (await supervisor.join())["ok"]
        joined = await publisher.join()
        assert joined["ok"], joined
        entry = turn_entry(joined["ice_servers"])
        await publisher.publish_through(joined["ice_servers"])
        assert publisher.pub is not None
        for kind in ("video", "audio"):
            key = (seat, kind)
            await until(lambda key=key: supervisor.frames[key] >= 20, 30, f"{kind} frames")
        result = {
            "turn_url": turn.udp_url,
            "entry": entry,
            "gathered": publisher.local_candidate_types(),
            "offered": re.findall(r"typ (\w+)", publisher.pub.localDescription.sdp),
            "state": publisher.pub.connectionState,
            "selected": list(publisher.selected_pair()),
            "frames": {kind: supervisor.frames[(seat, kind)] for kind in ("video", "audio")},
        }
    finally:
        await publisher.close()
        await supervisor.close()
    # coturn's usage report (relayed packets both ways) is written once the allocation ends.
    await until(lambda: _relayed_both_ways(turn.log(), entry["username"]), 10, "peer usage")
    return result


def check_relay(result: dict[str, Any], log: str) -> None:
    """The seat gathered and offered relay candidates only, ICE chose relay to the backend's
    host candidate, frames flowed, and coturn (whose ``log`` this is) allocated for that seat's
    credential and relayed both ways."""
    entry = result["entry"]
    assert entry["urls"] == [result["turn_url"]]
    assert expiry_of(entry["username"]) > time.time()
    assert result["gathered"] == ["relay"]
    assert result["offered"]
    assert set(result["offered"]) == {"relay"}
    assert result["state"] == "connected"
    assert result["selected"] == ["relay", "host"]
    assert all(n >= 20 for n in result["frames"].values()), result["frames"]
    # coturn logs each request with the session's username; the allocation succeeded.
    allocated = f"user <{entry['username']}>: incoming packet ALLOCATE processed, success"
    assert allocated in log, log[-4000:]
    assert _relayed_both_ways(log, entry["username"])


def _relayed_both_ways(log: str, username: str) -> bool:
    """Whether coturn's usage report for a session of ``username`` counts packets received from
    its peer and sent to it (``peer usage: ... rp=N, rb=N, sp=N, sb=N``)."""
    usage = re.compile(
        rf"peer usage: realm=<[^>]*>, username=<{re.escape(username)}>, rp=([0-9]+), rb=[0-9]+, "
        r"sp=([0-9]+),"
    )
    return any(int(m[1]) > 0 and int(m[2]) > 0 for m in usage.finditer(log))


def expired(user: str) -> turn_credentials.TurnCredential:
    return turn_credentials.mint(SECRET.encode(), user, int(time.time()) - 7200, 60)


def wrong_secret(user: str) -> turn_credentials.TurnCredential:
    return turn_credentials.mint(b"not-the-secret", user, int(time.time()), TTL_S)


Credential = Callable[[str], turn_credentials.TurnCredential]


async def refused_publish(base: str, turn: coturn.Coturn, credential: Credential) -> dict[str, Any]:
    """A relay-only seat tries to publish with a bad credential; what became of it."""
    session, supervisor_token, seat, seat_token = await new_room(base)
    supervisor = MediaPeer(base, supervisor_token)
    publisher = RelaySeat(base, seat_token)
    bad = credential(f"{session}.{seat}")
    try:
        for peer in (supervisor, publisher):
            await peer.connect()
            assert (await peer.join())["ok"]
        servers = [{"urls": [turn.udp_url], "username": bad.username, "credential": bad.password}]
        await publisher.publish_through(servers)
        assert publisher.pub is not None
        pc = publisher.pub
        with contextlib.suppress(TimeoutError):  # watched for a bounded time, never longer
            await until(lambda: pc.connectionState == "connected", REFUSED_WATCH_S, "refused")
        return {
            "username": bad.username,
            "gathered": publisher.local_candidate_types(),
            "sdp": pc.localDescription.sdp,
            "state": pc.connectionState,
            "states": publisher.states,
            "frames": supervisor.frames[(seat, "video")],
        }
    finally:
        await publisher.close()
        await supervisor.close()


def check_refused(result: dict[str, Any], log: str) -> None:
    """No candidate, never connected, nothing received, and coturn (its ``log``) said 401."""
    assert result["gathered"] == []
    assert "typ " not in result["sdp"]
    assert result["state"] in ("new", "failed"), result["states"]
    assert "connected" not in result["states"], result["states"]
    assert result["frames"] == 0
    username = result["username"]
    refused = [line for line in log.splitlines() if f"<{username}>" in line and "error 401" in line]
    assert refused, log[-4000:]
    assert f"user <{username}>: incoming packet ALLOCATE processed, success" not in log
