"""``evalroom simulate --pace``: the rehearsal waits between its steps and still finishes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from server.app.cli import build_parser
from server.client.simulate import run_session
from server.domain.lot import parse_lot
from tests.app.conftest import create_session, load_lot

PACE = 0.05


def tiny_lot() -> dict[str, Any]:
    """The demo lot cut down: five seats in one venue, two bidders, a blind, an objective and
    the price criterion (four typed cells a seat)."""
    lot = load_lot()
    lot["committee"] = {"size": 5, "chair": "elected"}
    lot["venues"] = [{**lot["venues"][0], "seats": 5}]
    lot["criteria"] = [c for c in lot["criteria"] if c["id"] in ("T1", "C1", "P1")]
    lot["bidders"] = lot["bidders"][:2]
    return lot


async def test_a_paced_rehearsal_waits_after_every_step(server: str) -> None:
    lot = tiny_lot()
    parsed = parse_lot(lot)
    seats, cells = len(parsed.seat_ids()), len(parsed.typed_cells())
    created = await create_session(server, lot)
    lines: list[str] = []
    started = time.monotonic()
    summary = await run_session(server, created, lot, progress=lines.append, pace=PACE)
    elapsed = time.monotonic() - started
    # one after another: each seat's enrolment, sign-in and vote; then each seat's cells side
    # by side; and four phase changes, the reveal, the submission
    steps = 3 * seats + cells + 6
    assert elapsed >= PACE * steps, (elapsed, steps)
    assert summary["scores"] == seats * cells
    assert f"评分 scoring: host-1 {cells}/{cells}" in lines
    assert f"签到 signed in: host-5 {seats}/{seats}" in lines
    assert "phase -> closed" in lines


def test_the_command_line_takes_a_pace() -> None:
    assert build_parser().parse_args(["simulate", "--pace", "1.5"]).pace == 1.5
    assert build_parser().parse_args(["simulate"]).pace == 0.0
    for bad in ("-1", "nan", "soon"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["simulate", "--pace", bad])
