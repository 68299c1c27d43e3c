"""Seven seats and a supervisor through the embedded pass-through worker, on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import socketio

from tests.app.conftest import create_session, load_lot
from tests.media.peers import MediaPeer
from tests.media.room_scenario import check_seven_seats, enrolled_tokens, seven_seats, until
from tests.media.scenarios import OneSeat

pytestmark = pytest.mark.slow


async def test_seven_seats_and_a_supervisor(media_server: str, tmp_path: Path) -> None:
    result = await seven_seats(media_server, tmp_path / "recordings")
    check_seven_seats(result, exact=True)


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


async def test_a_member_of_another_session_gets_nothing_of_this_one(one_seat: OneSeat) -> None:
    """Rooms are per session: a seat of session B sees none of A's seats, A's supervisor does."""
    base = one_seat.base
    other = await create_session(base, load_lot())
    stranger_seat, stranger_token = next(iter((await enrolled_tokens(base, other)).items()))
    publisher = MediaPeer(base, one_seat.token, decode=False)
    supervisor = MediaPeer(base, one_seat.created["supervisor"][0], decode=False)
    stranger = MediaPeer(base, stranger_token, decode=False)
    try:
        for peer in (publisher, supervisor, stranger):
            await peer.connect()
            assert (await peer.join())["ok"]
        await publisher.publish()
        await until(lambda: supervisor.offers, 10, "the supervisor's offer")
        await asyncio.sleep(1)
        assert [o["source"] for o in supervisor.offers] == [one_seat.seat]
        assert stranger.offers == []
        # Naming a connection of session A does not reach it either.
        conn = supervisor.offers[0]["conn"]
        refused = await stranger.call("subscribe_answer", {"conn": conn, "sdp": "v=0\r\n"})
        assert refused["error"]["code"] == "forbidden"
        assert stranger_seat in other["codes"]
    finally:
        for peer in (publisher, supervisor, stranger):
            await peer.close()
