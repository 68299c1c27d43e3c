"""Seven seats and a supervisor through the embedded pass-through worker, on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest
import socketio

from tests.app.conftest import create_session, load_lot
from tests.media.peers import MediaPeer
from tests.media.room_scenario import check_seven_seats, seven_seats

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
