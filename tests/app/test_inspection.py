"""The inspector on a real node: a seat that fills a bidder's cells within a second is flagged
once; supervisors see the flag, the seat does not."""

from __future__ import annotations

from pathlib import Path

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
