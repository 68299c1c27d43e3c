"""Roll-back through a real node: an expert's sheet reopened with a supervisor's approval, and
review taken back to scoring with the other supervisor's approval; the session then closes and
its archive, with both roll-backs in it, verifies."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from server.auditlog.archive import verify_archive
from server.client.seat import ClientError, SeatClient
from tests.app.conftest import Room, advance
from tests.app.harness import give_draw
from tests.app.test_sealing import archive_of


async def fill(seat: SeatClient, cells: list[tuple[str, str]]) -> None:
    for bidder, criterion in cells:
        await seat.score(bidder, criterion, "4")
    await seat.submit()


async def test_a_sheet_and_the_review_roll_back_and_the_archive_still_verifies(
    room: Room, tmp_path: Path
) -> None:
    sup, sup2 = await room.supervisor(0), await room.supervisor(1)
    seats = [await room.seat(seat) for seat in room.created["seats"]]
    await advance(sup, "sign_in")
    await asyncio.gather(*(seat.sign_in() for seat in seats))
    await advance(sup, "scoring")
    await give_draw(sup, seats)
    cells = room.lot.typed_cells()
    await asyncio.gather(*(fill(seat, cells) for seat in seats))
    first, second = seats[0], seats[1]
    bidder, criterion = cells[-1]

    with pytest.raises(ClientError) as final:
        await first.score(bidder, criterion, "5")
    assert final.value.code == "sheet_submitted"
    asked = await first.send("rollback.request", what="sheet", reason="B5 商务分误填")
    approve = {"id": "rb-1", "type": "rollback.approve", "rollback": "RB1"}
    reopened = await sup.command(approve)
    assert reopened["seq"] == asked["seq"] + 1
    await first.score(bidder, criterion, "5")  # open again: the change is a new signed score
    await first.submit()

    await advance(sup, "review")
    back = {
        "id": "rb-2",
        "type": "phase.rollback",
        "reason": "复核发现漏评",
        "seats": [second.seat],
    }
    await sup.command(back)
    with pytest.raises(ClientError) as own:
        await sup.command({"id": "rb-3", "type": "rollback.approve", "rollback": "RB2"})
    assert own.value.code == "forbidden"  # four eyes: the other supervisor approves
    await sup2.command({"id": "rb-4", "type": "rollback.approve", "rollback": "RB2"})
    state = await sup.state()
    assert state["phase"] == "scoring"
    assert state["seats"][second.seat]["submitted"] is False
    assert state["rollbacks"]["RB2"]["status"] == "approved"
    await second.submit()
    await sup.command({"id": "review-again", "type": "phase.advance", "to": "review"})
    closed = await advance(sup, "closed")
    assert closed["sealed"] == closed["seq"] + 1

    report = verify_archive(await archive_of(room, tmp_path))
    assert report.ok, report.problems
    assert report.counts["seals"] == 1
