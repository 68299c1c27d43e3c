"""Clarification (澄清) from browsers only, under the server's CSP.

A lot without a blind part, in scoring: the seat host-1 drafts a question to a bidder from its
page (bidder chosen by id and name, the question required, the step confirmed); the console
declines a first draft with a reason (the seat page shows it) and approves the second, and
reads the bidder page's link with the bidder's token; the bidder page, opened at that link,
shows the question and takes the answer (confirmed); the seat page and the console show the
answer. Six headless seats are the rest of the committee; every step is read back from the log.
"""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.app.conftest import Room, advance, create_session, load_lot
from tests.e2e.browser import another_page, chromium_page, confirm, until
from tests.e2e.seat_steps import enrol_and_sign_in, events_by_type, session_log

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
ASKER = "host-1"
QUESTION = "请说明施工组织设计中第 3.2 节工期安排的依据"
ANSWER = "工期依据为招标文件第二章第 5 条，不改变投标文件实质内容"


def seat_row(clarification: str) -> str:
    return f"document.querySelector('#clar-list tr[data-clarification=\"{clarification}\"]')"


def console_row(clarification: str) -> str:
    selector = f'#console-clarifications tr[data-clarification="{clarification}"]'
    return f"document.querySelector('{selector}')"


async def scoring_room(server: str, page: Page) -> Room:
    """A lot without blind criteria in scoring: ``page`` is host-1, enrolled and signed in."""
    lot = copy.deepcopy(load_lot())
    for criterion in lot["criteria"]:
        criterion.pop("blind", None)
    room = Room(server, await create_session(server, lot), lot)
    sup = await room.supervisor(1)  # reads the log
    others = [await room.seat(s) for s in room.created["seats"] if s != ASKER]
    await advance(sup, "sign_in")
    code = room.created["codes"][ASKER]
    await enrol_and_sign_in(page, server, room.session, ASKER, code, others)
    await advance(sup, "scoring")
    return room


async def draft(page: Page, bidder: str, question: str) -> None:
    """Draft a question to ``bidder`` from the seat page (confirmed)."""
    await until(page, "!document.getElementById('clar-form').hidden")
    await until(page, "!document.getElementById('clar-send').disabled")
    await page.select_option("#clar-bidder", bidder)
    await page.fill("#clar-question", question)
    await page.click("#clar-send")
    await confirm(page)


async def open_console(page: Page, room: Room) -> None:
    token = room.created["supervisor"][0]
    await page.goto(f"{room.base}/supervisor/{room.session}#token={token}")
    await until(page, "document.getElementById('conn').className === 'online'")


async def approve(console: Page, clarification: str) -> str:
    """Approve a drafted question from the console; the bidder page's link it shows."""
    await until(console, f"{console_row(clarification)} !== null")
    row = f'#console-clarifications tr[data-clarification="{clarification}"]'
    await console.click(f'{row} button[data-act="approve"]')
    await confirm(console)
    await until(console, "!document.getElementById('clar-issued').hidden")
    return await console.get_attribute("#clar-link", "href") or ""


async def answer_on_bidder_page(page: Page, link: str, answer: str) -> None:
    await page.goto(link)
    await until(page, "document.getElementById('question').textContent.includes('工期')")
    await page.fill("#answer", answer)
    await page.click("#send")
    await confirm(page)
    await until(page, "!document.getElementById('answered').hidden")


async def test_a_question_goes_to_a_bidder_and_its_answer_comes_back(server: str) -> None:
    errors: list[str] = []
    async with chromium_page(errors, 1366, 768, enforce_csp=True) as page:
        room = await scoring_room(server, page)
        try:
            await until(page, "!document.getElementById('clarification').hidden")
            names = await page.eval_on_selector_all(
                "#clar-bidder option", "os => os.map(o => o.textContent)"
            )
            assert names[1] == f"B2 {room.lot_json['bidders'][1]['name']}"  # id and name
            # the question is required: nothing is asked or sent without one
            await page.click("#clar-send")
            await until(page, "document.getElementById('clar-error').textContent.includes('问题')")
            assert await page.locator("dialog.confirm").count() == 0
            await draft(page, "B2", "请说明报价构成")
            await until(page, f"{seat_row('CL1')} !== null")
            await until(page, f"{seat_row('CL1')}.dataset.status === 'drafted'")

            console = await another_page(page, errors, 1920, 1080)
            await open_console(console, room)
            await until(console, f"{console_row('CL1')} !== null")
            row = '#console-clarifications tr[data-clarification="CL1"]'
            await console.fill(f"{row} input", "问题涉及报价实质内容，不得澄清")
            await console.click(f'{row} button[data-act="decline"]')
            await confirm(console)
            await until(page, f"{seat_row('CL1')}.dataset.status === 'declined'")
            said = await page.text_content('#clar-list tr[data-clarification="CL1"]') or ""
            assert "不得澄清" in said

            await draft(page, "B2", QUESTION)
            link = await approve(console, "CL2")
            assert link.startswith(f"{server}/bidder/{room.session}#token=v1.")
            await until(page, f"{seat_row('CL2')}.dataset.status === 'approved'")

            bidder = await another_page(page, errors, 1366, 768)
            await answer_on_bidder_page(bidder, link, ANSWER)
            assert ANSWER in (await bidder.text_content("#answer-text") or "")
            await asyncio.to_thread(SHOTS.mkdir, exist_ok=True)
            await bidder.screenshot(path=str(SHOTS / "bidder-page.png"), full_page=True)

            await until(page, f"{seat_row('CL2')}.dataset.status === 'answered'")
            shown = await page.text_content('#clar-list tr[data-clarification="CL2"]') or ""
            assert ANSWER in shown
            await page.evaluate("window.scrollTo(0, 0)")  # the sticky header at the top
            await page.screenshot(path=str(SHOTS / "seat-clarification.png"), full_page=True)
            await until(console, f"{console_row('CL2')}.dataset.status === 'answered'")
            assert ANSWER in (await console.text_content("#console-clarifications") or "")
            log = await session_log(room)
        finally:
            await room.close()

    by_type = events_by_type(log)
    drafted = by_type["clarification.drafted"]
    assert [(e["data"]["bidder"], e["data"]["question"]) for e in drafted] == [
        ("B2", "请说明报价构成"),
        ("B2", QUESTION),
    ]
    assert all(e["actor"] == f"expert:{ASKER}" and e["data"]["sig"] for e in drafted)
    (declined,) = by_type["clarification.declined"]
    assert declined["data"] == {"clarification": "CL1", "reason": "问题涉及报价实质内容，不得澄清"}
    (approved,) = by_type["clarification.approved"]
    assert (approved["actor"], approved["data"]["clarification"]) == ("supervisor:sup-1", "CL2")
    (answered,) = by_type["clarification.answered"]
    assert answered["data"] == {"clarification": "CL2", "bidder": "B2", "answer": ANSWER}
    assert answered["actor"] == "bidder:B2.CL2"
    assert link.split("#token=")[1] not in str(log)  # the bidder's token never enters the log
    assert errors == []
