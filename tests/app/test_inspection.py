"""The inspector on a real node: a seat that fills a bidder's cells within a second is flagged
once; supervisors see the flag, the seat does not."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import socketio

from server.app.main import INSPECTOR
from tests.app.conftest import Room, create_session, load_lot, running_app
from tests.app.harness import give_draw
from tests.app.test_bad_input import scoring_room


async def test_the_inspector_flags_a_bidder_scored_too_fast(tmp_path: Path) -> None:
    async with running_app(tmp_path / "node") as (base, app):
        lot = {**load_lot(), "inspection": {"min_seconds_per_bidder": 60}}
        room = Room(base, await create_session(base, lot), lot)
        try:
            sup, fast, _ = await scoring_room(room)
            await give_draw(sup, [fast])
            for bidder, criterion in room.lot.typed_cells():
                if bidder == "B1":
                    await fast.score(bidder, criterion, "4" if criterion.startswith("T") else "1")
            inspector = app[INSPECTOR]
            assert await inspector.tick() >= 1
            assert await inspector.tick() == 0  # nothing new: each finding is logged once
            flags = (await sup.state())["inspection"]
            assert ("fast_scoring", fast.seat, "B1") in {
                (f["rule"], f["seat"], f["subject"]) for f in flags
            }
            assert "inspection" not in await fast.state()
        finally:
            await room.close()


async def test_one_seat_on_two_devices_is_flagged(tmp_path: Path) -> None:
    """The seat's token on a second machine (another browser here): the node reports both
    devices and the log holds one ``two_connections`` flag; a second tab of the same browser
    is no second device."""
    async with running_app(tmp_path / "node") as (base, _app):
        lot = {**load_lot(), "inspection": {}}
        room = Room(base, await create_session(base, lot), lot)
        try:
            sup = await room.supervisor(0)
            seat = await room.seat("host-1", connect=False)
            tabs = []
            firefox, chromium = "Mozilla/5.0 Firefox/133", "Mozilla/5.0 (X11; Linux) Chromium/131"
            for agent in (firefox, firefox, chromium):  # two tabs of one browser, then another
                tab = socketio.AsyncClient(reconnection=False)
                await tab.connect(
                    base,
                    auth={"token": seat.token},
                    headers={"User-Agent": agent},
                    transports=["websocket"],
                )
                assert (await tab.call("join", {"after": 0}, timeout=30))["ok"]
                tabs.append(tab)
            flags: list[Any] = []
            for _ in range(50):
                flags = [f for f in (await sup.state())["inspection"] if f["seat"] == "host-1"]
                if flags:
                    break
                await asyncio.sleep(0.1)
            assert [(f["rule"], f["detail"]["devices"]) for f in flags] == [("two_connections", 2)]
            for tab in tabs:
                await tab.disconnect()
        finally:
            await room.close()
