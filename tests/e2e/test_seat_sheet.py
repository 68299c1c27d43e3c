"""The seat's sheet in Chromium: a comment where the criterion asks for one (sent with the score,
never without it), the seat's own subtotal per bidder, arrow keys between cells, a bad value
caught as it is typed; what reached the log is read back.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.app.conftest import Room, advance, create_session, load_lot
from tests.e2e.browser import chromium_page, until
from tests.e2e.seat_steps import enrol_and_sign_in, session_log

pytestmark = pytest.mark.browser


async def test_comments_subtotals_and_arrow_keys(server: str) -> None:
    lot = load_lot()
    for criterion in lot["criteria"]:
        criterion.pop("blind", None)
        if criterion["id"] == "C1":
            criterion["comment_required"] = True
    room = Room(server, await create_session(server, lot), lot)
    sup = await room.supervisor(0)
    me = room.created["seats"][0]
    others = [await room.seat(s) for s in room.created["seats"][1:]]
    errors: list[str] = []
    async with chromium_page(errors, 1366, 768, enforce_csp=True) as page:
        await advance(sup, "sign_in")
        await enrol_and_sign_in(page, server, room.session, me, room.created["codes"][me], others)
        await advance(sup, "scoring")
        await until(page, "!document.querySelector('#grid input[data-cell]').disabled", 30)

        # arrow keys: down moves to the next bidder's same criterion, right at the text's end
        await page.focus('input[data-cell="B1/T1"]')
        await page.keyboard.press("ArrowDown")
        assert await page.evaluate("document.activeElement.dataset.cell") == "B2/T1"
        await page.keyboard.press("ArrowRight")
        assert await page.evaluate("document.activeElement.dataset.cell") == "B2/T2"
        await page.keyboard.press("ArrowUp")
        assert await page.evaluate("document.activeElement.dataset.cell") == "B1/T2"

        # a value out of range is refused as it is typed, and nothing is queued
        await page.fill('input[data-cell="B1/T1"]', "11")
        await until(
            page,
            "document.querySelector('[data-error-for=\"B1/T1\"]').textContent.includes('应在')",
        )
        for key, value in (("B1/T1", "8.5"), ("B1/T2", "5")):
            await page.fill(f'input[data-cell="{key}"]', value)
            await page.press(f'input[data-cell="{key}"]', "Tab")
        row = "document.querySelector('#grid tr:has(input[data-cell=\"B1/T1\"]) td.subtotal')"
        await until(page, f"{row}.textContent === '13.5'")

        # C1 asks for a comment: the value alone is not sent
        await page.fill('input[data-cell="B1/C1"]', "7")
        await page.press('input[data-cell="B1/C1"]', "Tab")
        await until(
            page,
            "document.querySelector('[data-error-for=\"B1/C1\"]').textContent.includes('评语')",
        )
        assert await page.evaluate("window.evalroomSeat.pending.size") == 0
        await page.fill('textarea[data-comment-for="B1/C1"]', "项目经理证书齐全")
        await page.press('textarea[data-comment-for="B1/C1"]', "Tab")
        await until(
            page,
            "document.querySelector('[data-state-for=\"B1/C1\"]').textContent.includes('已保存')",
        )
        await until(page, f"{row}.textContent === '20.5'")

    mine: list[dict[str, Any]] = [
        e["data"]
        for e in await session_log(room)
        if e["type"] == "score.set" and e["data"]["seat"] == me
    ]
    assert [(d["bidder"], d["criterion"], d["value"]) for d in mine] == [
        ("B1", "T1", "8.5"),
        ("B1", "T2", "5"),
        ("B1", "C1", "7"),
    ]
    assert mine[-1]["comment"] == "项目经理证书齐全"
    assert "comment" not in mine[0]
    assert errors == []
