"""A whole session driven by headless clients: enrol, sign in, elect the chair, score every cell
(blind criteria by each seat's own codes), the chair closes the blind part (the reveal), submit,
review, close. ``pace`` slows it down so that a rehearsal can be watched in the browsers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
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
    elect_chair: bool = True,
    pace: float = 0.0,
    on_enrolled: Callable[[list[SeatClient]], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """Drive ``credentials['session']`` from enrolment to close; return a summary.

    Blind criteria are scored under each seat's own codes; once every blind cell is in, the
    blind part is closed (the reveal): by the chair when ``elect_chair`` (one round of signed
    votes, or the chair the lot names), otherwise by the supervisor.

    ``pace`` (seconds) is a pause after every step, for a rehearsal watched in the browsers: the
    seats enrol, sign in and vote one after another, then score their sheets side by side, each
    pausing after every cell; each step is reported (``评分 scoring: host-1 12/35``). 0 (the
    default) runs flat out, the seats together. ``on_enrolled`` is awaited with the seats once
    every one is enrolled and connected (a test publishes media from one of them).
    """
    lot: Lot = parse_lot(lot_json)
    session = credentials["session"]
    rng = random.Random(seed)  # noqa: S311 - rehearsal data, not a secret
    supervisor = Client(base_url, session, credentials["supervisor"][0])
    await supervisor.connect()
    seats = [SeatClient(base_url, session, seat) for seat in credentials["seats"]]

    async def pause() -> None:
        if pace > 0:
            await asyncio.sleep(pace)

    async def each(label: str, step: Callable[[SeatClient], Awaitable[Any]]) -> None:
        """Every seat takes ``step``: together, or one after another when paced."""
        if pace <= 0:
            await asyncio.gather(*(step(seat) for seat in seats))
            return
        for n, seat in enumerate(seats, start=1):
            await step(seat)
            progress(f"{label}: {seat.seat} {n}/{len(seats)}")
            await pause()

    for n, seat in enumerate(seats, start=1):
        await seat.enrol(credentials["codes"][seat.seat])
        await seat.connect()
        if pace > 0:
            progress(f"登记 enrolled: {seat.seat} {n}/{len(seats)}")
            await pause()
    progress(f"enrolled {len(seats)} seats")
    if on_enrolled is not None:
        await on_enrolled(seats)

    async def advance(to: str) -> int:
        ack = await supervisor.command({"id": f"phase-{to}", "type": "phase.advance", "to": to})
        progress(f"phase -> {to}")
        await pause()
        return int(ack.get("sealed", ack["seq"]))  # the close's ack names the seal after it

    await advance("sign_in")
    await each("签到 signed in", lambda seat: seat.sign_in())
    named = lot.raw.get("committee", {}).get("chair")
    chair = next((s for s in seats if s.seat == named), None)
    if chair is None and elect_chair:  # "elected": one round, everyone votes for the first seat
        elected = seats[0]
        await each("投票 voted", lambda seat: seat.vote_chair(1, elected.seat))
        chair = elected
        progress(f"chair elected: {chair.seat}")
    await advance("scoring")
    for seat in seats:
        await (
            seat.state()
        )  # its blind codes, in its own order (none when the lot has no blind part)

    bidder_ids = [b.id for b in lot.bidders]
    cells = len(lot.typed_cells())
    done = {seat.seat: 0 for seat in seats}

    async def score_sheet(seat: SeatClient, submit: bool) -> int:
        count = 0
        for bidder, criterion_id in lot.typed_cells():
            criterion = lot.criterion(criterion_id)
            if criterion is None or criterion.step is None:
                raise ValueError(f"criterion {criterion_id} is not typed")
            blind = criterion_id in seat.blind_criteria and bool(seat.codes)
            if blind == submit:
                continue  # blind cells first (by code, before the reveal), the rest after
            value = sample_value(rng, criterion.min, criterion.max, criterion.step)
            if criterion.kind == "objective":
                value = format(criterion.max.normalize(), "f")  # experts agree on counted items
            # A seat sees codes, not bidders: the n-th bidder's cell is filled under the n-th code.
            target = seat.codes[bidder_ids.index(bidder)] if blind else bidder
            await seat.score(target, criterion_id, value)
            count += 1
            done[seat.seat] += 1
            if pace > 0:
                progress(f"评分 scoring: {seat.seat} {done[seat.seat]}/{cells}")
                await pause()
        if submit:
            await seat.submit()
            if pace > 0:
                progress(f"提交 submitted: {seat.seat}")
                await pause()
        return count

    scored = sum(await asyncio.gather(*(score_sheet(seat, False) for seat in seats)))
    if any(seat.codes for seat in seats):
        if chair is not None:
            await chair.close_blind()
        else:
            await supervisor.command({"id": "blind-close", "type": "blind.close"})
        progress("blind part closed: codes revealed")
        await pause()
    scored += sum(await asyncio.gather(*(score_sheet(seat, True) for seat in seats)))
    progress(f"scored {scored} cells")
    await advance("review")
    head = await advance("closed")  # the seal, the last event: its ack may beat its fan-out
    for client in [supervisor, *seats]:
        await client.disconnect()
    return {"session": session, "seats": len(seats), "scores": scored, "head": head}
