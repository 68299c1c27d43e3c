"""A whole session driven by headless clients: enrol, sign in, score every cell, submit, close."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from server.client.seat import Client, SeatClient
from server.domain.lot import Lot, parse_lot


def sample_value(rng: random.Random, low: Decimal, high: Decimal, step: Decimal) -> str:
    """A random on-step value in ``low..high``, as a decimal string."""
    steps = int((high - low) / step)
    return format((low + step * rng.randint(steps // 2, steps)).normalize(), "f")


async def run_session(
    base_url: str,
    credentials: dict[str, Any],
    lot_json: dict[str, Any],
    progress: Callable[[str], None] = lambda _line: None,
    seed: int = 7,
) -> dict[str, Any]:
    """Drive ``credentials['session']`` from enrolment to close; return a summary."""
    lot: Lot = parse_lot(lot_json)
    session = credentials["session"]
    rng = random.Random(seed)  # noqa: S311 - rehearsal data, not a secret
    supervisor = Client(base_url, session, credentials["supervisor"][0])
    await supervisor.connect()
    seats = [SeatClient(base_url, session, seat) for seat in credentials["seats"]]
    for seat in seats:
        await seat.enrol(credentials["codes"][seat.seat])
        await seat.connect()
    progress(f"enrolled {len(seats)} seats")

    async def advance(to: str) -> None:
        await supervisor.command({"id": f"phase-{to}", "type": "phase.advance", "to": to})
        progress(f"phase -> {to}")

    await advance("sign_in")
    await asyncio.gather(*(seat.sign_in() for seat in seats))
    await advance("scoring")

    async def score_sheet(seat: SeatClient) -> int:
        count = 0
        for bidder, criterion_id in lot.typed_cells():
            criterion = lot.criterion(criterion_id)
            if criterion is None or criterion.step is None:
                raise ValueError(f"criterion {criterion_id} is not typed")
            value = sample_value(rng, criterion.min, criterion.max, criterion.step)
            if criterion.kind == "objective":
                value = format(criterion.max.normalize(), "f")  # experts agree on counted items
            await seat.score(bidder, criterion_id, value)
            count += 1
        await seat.submit()
        return count

    scored = sum(await asyncio.gather(*(score_sheet(seat) for seat in seats)))
    progress(f"scored {scored} cells")
    await advance("review")
    await advance("closed")
    head = supervisor.last_seq
    for client in [supervisor, *seats]:
        await client.disconnect()
    return {"session": session, "seats": len(seats), "scores": scored, "head": head}
