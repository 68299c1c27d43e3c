"""Seat presence: pure bookkeeping, and live over socket.io to supervisors only."""

from __future__ import annotations

import asyncio
from typing import Any

from server.app.presence import Presence
from tests.app.conftest import Room


def test_a_seat_is_connected_while_any_of_its_sockets_is() -> None:
    p = Presence()
    assert p.joined("s", "host-1", "a", 1000) == {
        "seat": "host-1",
        "connected": True,
        "last_seen": 1000,
    }
    assert p.joined("s", "host-1", "b", 2000) is None  # already connected: no change to push
    assert p.left("a", 3000) is None
    assert p.left("b", 4000) == ("s", {"seat": "host-1", "connected": False, "last_seen": 4000})
    assert p.left("b", 5000) is None  # an unknown socket changes nothing
    assert p.of_session("s") == {"host-1": {"connected": False, "last_seen": 4000}}
    assert p.of_session("other") == {}


async def test_supervisors_see_seats_come_and_go_and_experts_may_not_ask(room: Room) -> None:
    sup = await room.supervisor(0)
    pushed: list[dict[str, Any]] = []
    gone = asyncio.Event()

    def on_presence(change: dict[str, Any]) -> None:
        pushed.append(change)
        if not change["connected"]:
            gone.set()

    sup.sio.on("presence", on_presence)
    seat = await room.seat(room.created["seats"][0])
    answer = await sup.sio.call("presence", {}, timeout=30)
    assert answer["ok"], answer
    assert answer["seats"] == {
        seat.seat: {"connected": True, "last_seen": answer["seats"][seat.seat]["last_seen"]}
    }
    refused = await seat.sio.call("presence", {}, timeout=30)
    assert refused["error"]["code"] == "forbidden"
    await seat.disconnect()
    await asyncio.wait_for(gone.wait(), 10)
    assert [c["connected"] for c in pushed if c["seat"] == seat.seat] == [True, False]
    later = await sup.sio.call("presence", {}, timeout=30)
    assert later["seats"][seat.seat]["connected"] is False
