"""The seat page through the blind part and its reveal, in a real headless Chromium.

The browser seat scores every blind cell under its own codes (rows in the seat's own order, no
bidder on the page), the chair (a Python seat) closes the blind part, and the page then shows
which bidder each code was and closes those cells, also after a reload. The supervisor closes
the blind part here (the chair's signed close is tested over socket.io).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.client.seat import Client, SeatClient
from server.domain.lot import parse_lot
from tests.app.conftest import create_session, load_lot
from tests.app.harness import give_draw
from tests.e2e.browser import chromium_page

pytestmark = pytest.mark.browser

BLIND = ["T1", "T2", "T3", "T4", "T5"]


async def test_seat_page_scores_by_code_and_shows_the_reveal(server: str) -> None:
    created = await create_session(server, load_lot())
    session, codes = created["session"], created["codes"]
    browser_seat, python_seats = created["seats"][0], created["seats"][1:]
    supervisor = Client(server, session, created["supervisor"][0])
    await supervisor.connect()
    await supervisor.command({"id": "p1", "type": "phase.advance", "to": "sign_in"})
    others = [SeatClient(server, session, seat) for seat in python_seats]
    errors: list[str] = []
    async with chromium_page(errors) as page:
        await page.goto(f"{server}/seat/{session}/{browser_seat}")
        await page.fill("#code", codes[browser_seat])
        await page.click("#enrol-button")
        await page.wait_for_function(
            "!document.getElementById('sign-button').disabled", timeout=15_000
        )
        # before scoring the page says the blind part will come by code (zh-CN, then English)
        note = await page.locator("#blind-note").text_content() or ""
        assert note.startswith("技术部分为暗标")
        assert "codes" in note
        await page.click("#sign-button")
        for seat in others:
            await seat.enrol(codes[seat.seat])
            await seat.connect()
            await seat.sign_in()
        await page.wait_for_function(
            "document.getElementById('pledge-state').textContent.includes('已签署')",
            timeout=15_000,
        )
        await supervisor.command({"id": "p2", "type": "phase.advance", "to": "scoring"})
        draw: dict[str, Any] = await give_draw(supervisor, others)
        pairs = draw["seats"][browser_seat]
        first = f"{pairs[0][0]}/T1"
        await page.wait_for_function(
            f"(() => {{ const i = document.querySelector('input[data-cell=\"{first}\"]');"
            " return i && !i.disabled; })()",
            timeout=15_000,
        )
        for code, _bidder in pairs:
            for criterion in BLIND:
                cell = page.locator(f'input[data-cell="{code}/{criterion}"]')
                await cell.fill("3")
                await cell.press("Tab")
        last = f"{pairs[-1][0]}/T5"
        await page.wait_for_function(
            f"document.querySelector('[data-state-for=\"{last}\"]').textContent.includes('已保存')",
            timeout=15_000,
        )
        blind_cells = [(b, c) for b, c in parse_lot(load_lot()).typed_cells() if c in BLIND]
        # the other seats score too (the harness handed them the draw), then the close
        await asyncio.gather(*(_score_all(seat, blind_cells) for seat in others))
        await supervisor.command({"id": "close", "type": "blind.close"})
        await page.wait_for_function(
            "document.getElementById('blind-note').textContent.includes('暗标已揭晓')",
            timeout=15_000,
        )
        for reload in (False, True):
            if reload:
                await page.reload()
                await page.wait_for_function(
                    "document.querySelectorAll('#blind-grid tbody tr').length === 5"
                    " && document.getElementById('blind-note').textContent.includes('揭晓')",
                    timeout=15_000,
                )
            labels = await page.locator("#blind-grid tbody th").all_text_contents()
            assert [label.split(" ")[0] for label in labels] == [c for c, _ in pairs]
            assert [label.split(" → ")[1].split(" ")[0] for label in labels] == [
                b for _, b in pairs
            ]
            cell = page.locator(f'input[data-cell="{first}"]')
            assert await cell.is_disabled()
            assert await cell.input_value() == "3"
            named = page.locator('#grid input[data-cell="B1/C1"]')
            assert not await named.is_disabled()
    assert not errors, errors
    for client in [supervisor, *others]:
        await client.disconnect()


async def _score_all(seat: SeatClient, cells: list[tuple[str, str]]) -> None:
    for bidder, criterion in cells:
        await seat.score(bidder, criterion, "3")
