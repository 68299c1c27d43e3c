"""Seats behind TURN on the embedded backend, everything on 127.0.0.1 (Janus runs the same
scenarios in tests/janus/test_janus_checks.py); see tests/media/turn_scenario.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from signaling import turn as turn_credentials
from tests.media import coturn
from tests.media.peers import MediaPeer
from tests.media.servers import running_server
from tests.media.turn_scenario import (
    SECRET,
    TTL_S,
    Credential,
    check_refused,
    check_relay,
    expired,
    expiry_of,
    new_room,
    refused_publish,
    relay_publish,
    server_env,
    turn_entry,
    wrong_secret,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def turn(tmp_path: Path) -> Iterator[coturn.Coturn]:
    with coturn.running(tmp_path / "coturn", SECRET) as server:
        yield server


@pytest.fixture
async def turn_server(tmp_path: Path, turn: coturn.Coturn) -> AsyncIterator[str]:
    """The evalroom server (embedded media worker on 127.0.0.1) handing out ``turn``."""
    env = {"EVALROOM_MEDIA_ADDRESSES": "127.0.0.1", "EVALROOM_MEDIA_DARK_MS": "3000"}
    async with running_server(tmp_path / "data", **env, **server_env(turn)) as (base, _app):
        yield base


async def test_a_relay_only_seat_publishes_through_coturn(
    turn_server: str, turn: coturn.Coturn
) -> None:
    check_relay(await relay_publish(turn_server, turn), turn.log())


@pytest.mark.parametrize("credential", [expired, wrong_secret], ids=["expired", "wrong-secret"])
async def test_coturn_refuses_a_bad_credential_and_the_seat_stays_down(
    turn_server: str, turn: coturn.Coturn, credential: Credential
) -> None:
    check_refused(await refused_publish(turn_server, turn, credential), turn.log())


async def test_a_reconnected_seat_gets_a_fresh_turn_credential(turn_server: str) -> None:
    session, _, seat, seat_token = await new_room(turn_server)
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
            entry = turn_entry(joined["ice_servers"])
            expiry = expiry_of(entry["username"])
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
    assert expiry_of(second["username"]) > expiry_of(first["username"]) > time.time()
