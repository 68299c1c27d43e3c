"""The committee's steps from a seat page in Chromium: the browser seat votes for the chair,
asks for time, proposes a rejection and votes on it, sees the flags on its own scores, explains a
deviation, corrects an objective mismatch from the flag, closes the blind part as the chair and
submits after the page's own completeness check and confirmation. Six headless seats and a
supervisor do the rest of the committee's part; every step is read back from the log.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from server.domain.committee_rejection import GROUNDS
from tests.app.conftest import Room, advance, create_session, load_lot
from tests.e2e.browser import chromium_page, confirm, until
from tests.e2e.seat_steps import enrol_and_sign_in, events_by_type, session_log

if TYPE_CHECKING:
    from playwright.async_api import Page

    from server.client.seat import SeatClient

pytestmark = pytest.mark.browser
SHOTS = Path("/tmp/shots")
SHOTS.mkdir(exist_ok=True)
GROUNDS_JS = Path(__file__).parents[2] / "client_web" / "common.js"


def _mid(criterion: dict[str, Any]) -> str:
    """Half of a criterion's maximum on its step: what the headless seats give."""
    step = Decimal(str(criterion["step"]))
    value = (Decimal(str(criterion["max"])) / 2 / step).to_integral_value() * step
    return format(value.normalize(), "f")


async def _until(page: Page, script: str, seconds: float = 20) -> None:
    await until(page, script, seconds)


async def _score_all(seat: SeatClient, lot: dict[str, Any]) -> None:
    for criterion in lot["criteria"]:
        if criterion["kind"] not in ("subjective", "objective"):
            continue
        for bidder in lot["bidders"]:
            value = _mid(criterion) if criterion["kind"] == "subjective" else str(criterion["max"])
            ack = await seat.score(bidder["id"], criterion["id"], value)
            assert ack["ok"], ack


def test_the_pages_grounds_are_the_domains() -> None:
    text = GROUNDS_JS.read_text("utf-8")
    found = [line.split('"')[1] for line in text.splitlines() if line.strip().startswith('["')]
    assert found == list(GROUNDS)
    for code, (zh, _en) in GROUNDS.items():
        assert zh[:12] in text, code


async def test_a_seat_takes_every_committee_step_from_its_page(server: str) -> None:
    lot = load_lot()
    room = Room(server, await create_session(server, lot), lot)
    sup = await room.supervisor(0)
    seats = list(room.created["seats"])
    me, others = seats[0], [await room.seat(s) for s in seats[1:]]
    errors: list[str] = []
    async with chromium_page(errors, 1366, 768, enforce_csp=True) as page:
        await advance(sup, "sign_in")
        await enrol_and_sign_in(page, server, room.session, me, room.created["codes"][me], others)
        await _until(page, "!document.getElementById('committee').hidden")
        assert not await page.locator("#pledge-text").get_attribute("open")  # folded once signed

        # the chair: this seat votes for itself from the form, the others follow
        await page.select_option("#chair-candidate", me)
        await page.click("#chair-vote")
        await _until(page, "document.getElementById('chair-state').textContent.includes('已投票')")
        for seat in others:
            assert (await seat.vote_chair(1, me))["ok"]
        await _until(page, "document.getElementById('chair-state').textContent.includes('（您')")

        # more time, with a reason
        await page.fill("#time-reason", "技术标内容较多")
        await page.click("#time-request")
        await _until(page, "document.getElementById('time-state').textContent.includes('您已提出')")

        # a rejection proposal, approved by the supervisor, voted on, kept
        await page.select_option("#rejection-bidder", "B5")
        await page.select_option("#rejection-ground", "unqualified")
        await page.fill("#rejection-reason", "资质证书已过期")
        await page.click("#rejection-propose")
        row = "document.querySelector('#proposals tr[data-proposal=\"R1\"]')"
        await _until(page, f"{row} && {row}.dataset.status === 'proposed'")
        approve = {"id": "approve-r1", "type": "rejection.approve", "proposal": "R1"}
        assert (await sup.command(approve))["ok"]
        await _until(page, f"{row}.dataset.status === 'approved'")
        await page.click('#proposals tr[data-proposal="R1"] button[data-vote="yes"]')
        await _until(page, f"{row}.textContent.includes('已投')")
        for seat in others:
            assert (await seat.vote_rejection("R1", "no"))["ok"]
        await _until(page, f"{row}.dataset.status === 'kept'")

        # a pause: the seat says so, with the supervisor's reason, until the resume
        pause = {"id": "pause-1", "type": "session.pause", "reason": "主场音频故障"}
        assert (await sup.command(pause))["ok"]
        note = "document.getElementById('paused-note')"
        await _until(page, f"!{note}.hidden && {note}.textContent.includes('主场音频故障')")
        assert (await sup.command({"id": "resume-1", "type": "session.resume"}))["ok"]
        await _until(page, f"{note}.hidden")

        # scoring: the page refuses to submit an empty sheet and marks every missing cell
        await advance(sup, "scoring")
        await _until(page, "document.querySelectorAll('#blind-grid input[data-cell]').length > 0")
        await _until(page, "!document.querySelector('#grid input[data-cell]').disabled")
        await page.click("#submit-button")
        total = await page.locator("input[data-cell]").count()
        assert await page.locator("input.missing").count() == total == 5 * 7
        assigned = next(e for e in await session_log(room) if e["type"] == "blind.assigned")["data"]
        for seat in others:
            seat.know_draw(assigned)  # a harness may score blind cells by bidder
        await asyncio.gather(*(_score_all(seat, lot) for seat in others))

        # this seat: one blind cell far above the others (deviation), one objective value off
        criteria = {c["id"]: c for c in lot["criteria"]}
        keys: list[str] = await page.eval_on_selector_all(
            "input[data-cell]", "xs => xs.map(x => x.dataset.cell)"
        )
        deviating = next(k for k in keys if k.endswith("/T1"))
        for key in keys:
            criterion = criteria[key.split("/")[1]]
            if key == deviating:
                value = str(criterion["max"])
            elif key == "B1/C1":
                value = str(criterion["max"] - 1)
            elif criterion["kind"] == "subjective":
                value = _mid(criterion)
            else:
                value = str(criterion["max"])
            cell = page.locator(f'input[data-cell="{key}"]')
            await cell.fill(value)
            await cell.press("Tab")
        await _until(
            page,
            "[...document.querySelectorAll('[data-state-for]')]"
            ".every(e => e.textContent.includes('已保存'))",
            30,
        )
        assert await page.locator("input.missing").count() == 0

        # the flags on this seat's scores: a deviation named by its code, and the mismatch
        await _until(page, "!!document.querySelector('#my-flags li[data-kind=\"deviation\"]')")
        await _until(page, "!!document.querySelector('#my-flags li[data-kind=\"mismatch\"]')")
        deviation = page.locator('#my-flags li[data-kind="deviation"]')
        assert deviating.split("/")[0] in (await deviation.text_content() or "")
        await deviation.locator("textarea").fill("该投标人施工方案明显优于其他投标人")
        await deviation.locator("button[type=submit]").click()
        await _until(
            page,
            "document.querySelector('#my-flags li[data-kind=\"deviation\"]')"
            ".dataset.explained === 'yes'",
        )
        await page.click("#my-flags li[data-kind='mismatch'] .flag-correct")
        assert await page.evaluate("document.activeElement.dataset.cell") == "B1/C1"
        await page.keyboard.press("Control+A")
        await page.keyboard.type(str(criteria["C1"]["max"]))
        await page.keyboard.press("Tab")
        await _until(page, "!document.querySelector('#my-flags li[data-kind=\"mismatch\"]')")
        await page.screenshot(path=str(SHOTS / "seat-committee.png"), full_page=True)

        # the chair closes the blind part, then submits after confirming
        await page.click("#blind-close")
        await confirm(page)
        await _until(page, "document.getElementById('blind-note').textContent.includes('已揭晓')")
        await page.click("#submit-button")
        await confirm(page)
        await _until(page, "document.getElementById('submit-state').textContent.includes('已提交')")

        # a submitted sheet reopens only by request, with a reason, once a supervisor approves
        await _until(page, "!document.getElementById('reopen-form').hidden")
        await page.fill("#reopen-reason", "C1 商务分误填")
        await page.click("#reopen-request")
        await confirm(page)
        await _until(page, "document.getElementById('reopen-state').textContent.includes('等待')")
        assert await page.locator("#reopen-form").is_hidden()  # one open request at a time
        await page.locator("#reopen-panel").screenshot(path=str(SHOTS / "seat-reopen.png"))
        await sup.command({"id": "rb-1", "type": "rollback.approve", "rollback": "RB1"})
        await _until(page, "document.getElementById('reopen-state').textContent.includes('已批准')")
        await _until(page, "!document.getElementById('submit-button').disabled")

    by_type = events_by_type(await session_log(room))
    assert by_type["chair.elected"][0]["data"]["seat"] == me
    assert by_type["time.requested"][0]["data"]["seat"] == me
    assert by_type["time.requested"][0]["data"]["reason"] == "技术标内容较多"
    proposed = by_type["rejection.proposed"][0]["data"]
    assert (proposed["seat"], proposed["bidder"], proposed["ground"]) == (me, "B5", "unqualified")
    assert by_type["rejection.decided"][0]["data"]["outcome"] == "kept"
    explained = by_type["flag.explained"][0]["data"]
    assert (explained["seat"], explained["criterion"]) == (me, "T1")
    assert explained["code"] == deviating.split("/")[0]
    mine = [e["data"] for e in by_type["score.set"] if e["data"]["seat"] == me]
    assert [d["value"] for d in mine if d.get("bidder") == "B1" and d["criterion"] == "C1"] == [
        str(criteria["C1"]["max"] - 1),
        str(criteria["C1"]["max"]),
    ]
    assert by_type["blind.revealed"][0]["data"]["seat"] == me  # the chair's signed close
    assert [e["data"]["seat"] for e in by_type["sheet.submitted"]] == [me]
    (asked,) = by_type["rollback.requested"]
    assert (asked["actor"], asked["data"]["reason"]) == (f"expert:{me}", "C1 商务分误填")
    assert by_type["sheet.reopened"][0]["data"]["undone"] == by_type["sheet.submitted"][0]["seq"]
    assert errors == []
