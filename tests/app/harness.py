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
from tests.domain.driver import with_codes


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


async def send_step(
    seat: SeatClient, kind: str, fields: dict[str, Any], draw: dict[str, Any] | None, blind: bool
) -> dict[str, Any]:
    """One signed step of ``tests.domain.driver.sample_day`` from a seat client: scores and
    explanations by bidder (the client resolves codes), other commands with the seat's codes
    while the blind part is open (``blind``)."""
    if kind == "score.set":
        return await seat.score(fields["bidder"], fields["criterion"], fields["value"])
    if kind == "flag.explain":
        return await seat.explain(fields["bidder"], fields["criterion"], fields["text"])
    sent = with_codes(fields, seat.seat, draw) if draw and blind else fields
    return await seat.send(kind, **sent)
