"""Expert fees and the OCDS release through a real node: a whole simulated session of a lot
with a fee catalogue; the seal logs the statements; the admin downloads the payment CSV (names
from the draw) and a member's PDF statement, nobody else can; staff read the OCDS release; the
archive verifies with the fees after the close."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from pypdf import PdfReader

from server.auditlog.archive import verify_archive
from server.client.expert_pool import sample_fees
from server.client.simulate import run_session
from tests.app.conftest import ADMIN, Room, create_session, load_lot
from tests.app.test_draw import first_event, holders, open_draw, shares_in
from tests.app.test_sealing import archive_of


@pytest.fixture
async def paid_room(server: str) -> AsyncIterator[Room]:
    lot = {**load_lot(), "fees": sample_fees()}
    made = Room(server, await create_session(server, lot), lot)
    try:
        yield made
    finally:
        await made.close()


async def _get(room: Room, path: str, token: str) -> tuple[int, bytes, str]:
    url = f"{room.base}/api/sessions/{room.session}/{path}"
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        return response.status, await response.read(), response.content_type


async def _drawn(room: Room) -> None:
    """The expert draw first, so the payment export names people (the draw's notice)."""
    clients = await holders(room)
    await open_draw(room)
    last = await shares_in(room, clients)
    made = await first_event(clients["supervisor"], "draw.made")
    assert made["seq"] == last["seq"] + 1


async def test_the_seal_settles_the_fees(paid_room: Room, tmp_path: Path) -> None:
    room = paid_room
    status, _, _ = await _get(room, "fees.csv", ADMIN)
    assert status == 409  # nothing computed before the seal
    await _drawn(room)
    await run_session(room.base, room.created, room.lot_json)
    status, body, kind = await _get(room, "fees.csv", ADMIN)
    assert (status, kind) == (200, "text/csv")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    seats = {r["seat"] for r in rows if r["seat"]}
    assert seats == set(room.created["seats"])
    total = next(r for r in rows if not r["seat"])
    assert total["total"] == f"{sum(float(r['total']) for r in rows if r['seat']):.2f}"
    assert all(r["name"] and r["expert"].startswith("E") for r in rows if r["seat"])
    guest = next(r for r in rows if r["seat"] == "guest-1-1")
    assert (guest["rates_of"], guest["travel"]) == ("host", "200.00")  # the higher of two rates
    status, pdf, kind = await _get(room, "fees/guest-1-1.pdf", ADMIN)
    assert (status, kind) == (200, "application/pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    total_text = f"{Decimal(guest['total']):,}"  # as the statement writes money: 1,400.00
    for needle in ("专家劳务报酬结算单", "guest-1-1", guest["name"], total_text):
        assert needle in text.replace("\n", ""), needle
    again = (await _get(room, "fees/guest-1-1.pdf", ADMIN))[1]
    assert again == pdf  # reproducible
    for token in (room.created["supervisor"][0], room.created["public"]):
        assert (await _get(room, "fees.csv", token))[0] == 401
    assert (await _get(room, "fees/nobody-1.pdf", ADMIN))[0] == 404
    status, body, kind = await _get(room, "ocds.json", room.created["supervisor"][0])
    assert (status, kind) == (200, "application/json")
    package = json.loads(body)
    (found,) = package["releases"]
    assert found["ocid"].endswith(room.lot.project_code)
    assert found["tender"]["numberOfTenderers"] == len(room.lot.bidders)
    assert (await _get(room, "ocds.json", room.created["public"]))[0] == 403
    report = verify_archive(await archive_of(room, tmp_path))
    assert report.ok, report.problems
