"""The scenario's whole day (shared/SCENARIO.md) through a real node, with the committee's
governance: the expert draw the day before, a recusal at the pledge replaced by the reserve at
another guest venue, a pause during scoring, a sheet rolled back and submitted again. The
replacement scores what the script gives the recused seat, so the results are the sample day's;
the archive verifies, the draw recomputed."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pypdf import PdfReader

from server.auditlog.archive import verify_archive
from server.client.seat import ClientError, SeatClient
from tests.app.conftest import ADMIN, Room, advance
from tests.app.harness import give_draw, send_step
from tests.app.test_draw import call, first_event, holders, open_draw, shares_in
from tests.app.test_sample_lot import http_results
from tests.app.test_sealing import archive_of
from tests.domain.driver import EXPECTED_RANKING, EXPECTED_TOTALS, SEATS, sample_day

RECUSED, VENUE = "guest-1-2", "guest-2"


async def report_text(room: Room, sup: Any) -> str:
    """Issue the report in review and read its text back (line breaks dropped: table cells wrap
    Chinese anywhere)."""
    issued = await sup.command({"id": "report-1", "type": "report.issue"})
    assert issued["ok"] is True
    url = f"{room.base}/api/sessions/{room.session}/report.pdf"
    headers = {"Authorization": f"Bearer {room.created['supervisor'][0]}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        assert response.status == 200
        pdf = await response.read()
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\n", "")


async def test_the_scenario_day_with_its_governance(room: Room, tmp_path: Path) -> None:
    clients = await holders(room)
    sup = clients["supervisor"]
    await open_draw(room)
    await shares_in(room, clients)
    await first_event(sup, "draw.made")  # the node made it

    seats = {seat: await room.seat(seat) for seat in SEATS}
    await advance(sup, "sign_in")
    recused = seats[RECUSED]
    await recused.send("recusal.declare", reason="两年前曾为投标人 B3 提供技术咨询")
    approve = {"id": "rc-1", "type": "recusal.approve", "recusal": "RC1", "venue": VENUE}
    approved = await sup.command(approve)
    new = SeatClient(room.base, room.session, approved["seat"])
    room.clients.append(new)
    await new.enrol(approved["code"])
    await new.connect()
    seats[RECUSED] = new  # the script's steps of the recused seat are the replacement's now

    draw: dict[str, Any] | None = None
    revealed = paused = rolled_back = False
    for n, step in enumerate(sample_day()):
        if step[0] == "staff":
            if step[1].get("to") == "sign_in":
                continue  # opened above, for the recusal at the pledge
            if step[1].get("to") == "closed":
                report_pdf = await report_text(room, sup)
            await sup.command({"id": f"staff-{n}", **step[1]})
            if step[1].get("to") == "scoring":
                draw = await give_draw(sup, seats.values())
            continue
        _, name, kind, fields = step
        seat = seats[name]
        if kind == "score.set" and not paused and draw is not None:
            paused = True  # 10:05, the Jixi line drops: the supervisor pauses, then resumes
            await sup.command({"id": "pause", "type": "session.pause", "reason": "副场网络中断"})
            with pytest.raises(ClientError) as stopped:
                await send_step(seat, kind, fields, draw, not revealed)
            assert stopped.value.code == "paused"
            await sup.command({"id": "resume", "type": "session.resume", "reason": "网络恢复"})
        revealed = revealed or kind == "blind.close"
        await send_step(seat, kind, fields, draw, not revealed)
        if kind == "sheet.submit" and name == "host-3" and not rolled_back:
            rolled_back = True  # host-3 mistyped: asks to reopen, a supervisor approves
            asked = await seat.send("rollback.request", what="sheet", reason="B3 技术分误填")
            assert asked["ok"] is True
            await sup.command({"id": "rb-ok", "type": "rollback.approve", "rollback": "RB1"})
            await seat.submit()
    assert paused, "no score came in scoring"
    assert rolled_back, "host-3 never submitted"

    head = (await sup.state())["seq"]
    await sup.wait_for_seq(head)
    log = [sup.events[seq] for seq in range(1, head + 1)]
    kinds = [e["type"] for e in log]
    for expected in ("draw.made", "seat.replaced", "session.paused", "sheet.reopened"):
        assert expected in kinds, expected
    (replaced,) = [e["data"] for e in log if e["type"] == "seat.replaced"]
    assert (replaced["seat"], replaced["by"], replaced["venue"]) == (RECUSED, "guest-2-2", VENUE)
    assert replaced["reserve"] >= 1  # the first reserve of the recused member's specialty
    assert kinds[-1] == "session.sealed"

    status, answer = await http_results(room, room.created["supervisor"][1])
    assert status == 200
    results = answer["results"]
    totals = {b: Decimal(r["total"]) for b, r in results["bidders"].items() if r["total"]}
    assert totals == EXPECTED_TOTALS  # the replacement scored as the script says
    assert [(r["bidder"], r["rank"], r["recommended"]) for r in results["ranking"]] == (
        EXPECTED_RANKING
    )
    status, notice = await call(room, "GET", "draw/notice", ADMIN)
    assert status == 200
    named = {m["seat"]: m["name"] for m in notice["members"] if m["seat"] != RECUSED}
    named["guest-2-2"] = next(r for r in notice["reserves"] if r["rank"] == replaced["reserve"])[
        "name"
    ]
    for seat, name in named.items():  # the report names the committee that evaluated
        assert name in report_pdf, (seat, name)
    recused_name = next(m["name"] for m in notice["members"] if m["seat"] == RECUSED)
    if recused_name not in named.values():  # (an invented pool may repeat a name)
        assert recused_name not in report_pdf
    report = verify_archive(await archive_of(room, tmp_path))
    assert report.ok, report.problems
    assert report.counts["draws recomputed"] == 1
