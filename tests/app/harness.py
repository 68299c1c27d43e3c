"""Test harness helpers for the blind review over a real server.

Only a harness may tell a seat which bidder each of its codes stands for: it reads the whole
``blind.assigned`` data as a supervisor and hands it to the seat clients (``know_draw``), so tests
written with bidder ids keep working while the server receives codes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from server.client.seat import Client, SeatClient


async def blind_draw(supervisor: Client, seconds: float = 30) -> dict[str, Any]:
    """The ``blind.assigned`` data as a supervisor holds it (the whole mapping)."""
    async with asyncio.timeout(seconds):
        while True:
            found = [e for e in supervisor.events.values() if e["type"] == "blind.assigned"]
            if found:
                data: dict[str, Any] = found[0]["data"]
                return data
            supervisor.arrived.clear()
            await supervisor.arrived.wait()


async def give_draw(supervisor: Client, seats: Iterable[SeatClient]) -> dict[str, Any]:
    """Hand the whole draw to every seat client (they then score by bidder id)."""
    draw = await blind_draw(supervisor)
    for seat in seats:
        seat.know_draw(draw)
    return draw
