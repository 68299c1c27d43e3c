"""Recusal and replacement (回避与替补) from browsers only, under the server's CSP.

In sign-in the seat guest-1-2 declares a conflict of interest from its page (the reason is
required, the step confirmed); the supervisor's console declines it once with a reason, which
the seat page shows; the seat declares again and the console approves it at another venue
(guest-2), reads the new seat and its one-time code from the handover note; the recused seat's
page says it was replaced (also after a reload) and the new seat's page, opened at the note's
address, enrols with the code and signs the pledge. In scoring, with the blind part open, the
new seat's clarification form waits for the reveal. Six headless seats sign in meanwhile; every
step is read back from the log, where the code never appears.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.app.conftest import Room, advance, create_session, load_lot
from tests.e2e.browser import another_page, chromium_page, confirm, until
from tests.e2e.seat_steps import enrol_and_sign_in, events_by_type, session_log

if TYPE_CHECKING:
    from playwright.async_api import Page

    from server.client.seat import Client, SeatClient

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
RECUSED = "guest-1-2"
REASON = "两年前曾为投标人 B3 提供咨询服务"


def recusal_row(recusal: str) -> str:
    return f"document.querySelector('#console-recusals tr[data-recusal=\"{recusal}\"]')"


async def recusal_room(server: str) -> tuple[Room, Client, dict[str, SeatClient]]:
    """The demo lot in sign-in: a headless supervisor (it reads the log) and every seat but
    the one that recuses, enrolled and connected as headless seats."""
    lot = load_lot()
    room = Room(server, await create_session(server, lot), lot)
    sup = await room.supervisor(1)
    seats = {s: await room.seat(s) for s in room.created["seats"] if s != RECUSED}
    await advance(sup, "sign_in")
    return room, sup, seats


async def enrol_seat(page: Page, room: Room, seat: str) -> None:
    """Open the seat's page and enrol it with its code from the session's sheet."""
    await page.goto(f"{room.base}/seat/{room.session}/{seat}")
    await until(page, "!document.getElementById('enrol').hidden")
    await page.fill("#code", room.created["codes"][seat])
    await page.click("#enrol-button")
    await until(page, "!document.getElementById('pledge').hidden")


async def declare(page: Page, reason: str) -> None:
    """Declare a recusal from the seat page (confirmed) and wait until the log has it."""
    await until(page, "!document.getElementById('recusal-form').hidden")
    await until(page, "!document.getElementById('recusal-declare').disabled")
    await page.fill("#recusal-reason", reason)
    await page.click("#recusal-declare")
    await confirm(page)
    await until(page, "document.getElementById('recusal-state').dataset.status === 'declared'")


async def open_console(page: Page, room: Room) -> None:
    token = room.created["supervisor"][0]
    await page.goto(f"{room.base}/supervisor/{room.session}#token={token}")
    await until(page, "document.getElementById('conn').className === 'online'")


async def approve_at(console: Page, recusal: str, venue: str) -> dict[str, str]:
    """Approve a recusal from the console at ``venue``; the handover note's seat, code, URL."""
    row = f'#console-recusals tr[data-recusal="{recusal}"]'
    await until(console, f"{recusal_row(recusal)} !== null")
    await console.select_option(f"{row} select", venue)
    await console.click(f'{row} button[data-act="approve"]')
    await confirm(console)
    await until(console, "!document.getElementById('recusal-issued').hidden")
    return {
        "seat": await console.text_content("#issued-seat") or "",
        "code": await console.text_content("#issued-code") or "",
        "url": await console.get_attribute("#issued-url", "href") or "",
    }


async def test_a_seat_recuses_and_a_new_seat_takes_its_place(server: str) -> None:
    room, sup, seats = await recusal_room(server)
    errors: list[str] = []
    try:
        async with chromium_page(errors, 1366, 768, enforce_csp=True) as page:
            await enrol_seat(page, room, RECUSED)
            await until(page, "!document.getElementById('recusal').hidden")
            # the reason is required: nothing is asked or sent without one
            await page.click("#recusal-declare")
            await until(
                page, "document.getElementById('recusal-error').textContent.includes('理由')"
            )
            assert await page.locator("dialog.confirm").count() == 0
            # cancelling the confirmation sends nothing
            await page.fill("#recusal-reason", REASON)
            await page.click("#recusal-declare")
            await page.click("dialog.confirm button[value=no]")
            await declare(page, REASON)

            console = await another_page(page, errors, 1920, 1080)
            await open_console(console, room)
            await until(console, f"{recusal_row('RC1')} !== null")
            own = await console.eval_on_selector(
                '#console-recusals tr[data-recusal="RC1"] select', "s => s.value"
            )
            assert own == "guest-1"  # by default the recused seat's own venue
            row = '#console-recusals tr[data-recusal="RC1"]'
            await console.fill(f"{row} input", "请说明具体关系")
            await console.click(f'{row} button[data-act="decline"]')
            await confirm(console)
            await until(console, f"{recusal_row('RC1')}.dataset.status === 'declined'")
            state = "document.getElementById('recusal-state')"
            await until(page, f"{state}.dataset.status === 'declined'")
            assert "请说明具体关系" in (await page.text_content("#recusal-state") or "")

            await declare(page, REASON)
            issued = await approve_at(console, "RC2", "guest-2")
            assert issued["seat"] == "guest-2-2"
            assert issued["url"] == f"{server}/seat/{room.session}/guest-2-2"
            assert len(issued["code"].replace("-", "")) == 12
            note = await console.text_content("#recusal-issued") or ""
            assert "交接单" in note
            assert "Handover" in note
            await until(console, f"{recusal_row('RC2')}.dataset.status === 'approved'")
            await until(console, "!!document.querySelector('#seats tr[data-seat=\"guest-2-2\"]')")
            assert await console.locator(f'#seats tr[data-seat="{RECUSED}"]').count() == 0
            for select in ("#recover-seat", "#conduct-seat"):  # the same count, other ids
                values = await console.eval_on_selector_all(
                    f"{select} option", "os => os.map(o => o.value)"
                )
                assert "guest-2-2" in values
                assert RECUSED not in values
            await asyncio.to_thread(SHOTS.mkdir, exist_ok=True)
            await console.screenshot(path=str(SHOTS / "console-recusal.png"), full_page=True)
            # printing the handover note prints it alone (its print button sets the class)
            await console.evaluate("document.body.classList.add('print-handover')")
            await console.emulate_media(media="print")
            assert await console.locator("#issued-code").is_visible()
            assert await console.locator("#seats").is_hidden()
            assert await console.locator("#recusal-print").is_hidden()
            await console.emulate_media(media="screen")
            await console.evaluate("document.body.classList.remove('print-handover')")

            # the recused seat's page says so, and says it again after a reload
            await until(page, "!document.getElementById('replaced-note').hidden")
            said = await page.text_content("#replaced-note") or ""
            assert "guest-2-2" in said
            assert "replaced" in said
            assert await page.locator("#sheet").is_hidden()
            assert await page.locator("#recusal").is_hidden()
            await asyncio.sleep(0.3)  # the page keeps the fact in its record (IndexedDB)
            await page.reload()
            await until(page, "!document.getElementById('replaced-note').hidden")
            assert await page.locator("#enrol").is_hidden()

            # the new seat enrols at the note's address with the code and signs the pledge
            new = await another_page(page, errors, 1366, 768)
            others = list(seats.values())
            await enrol_and_sign_in(new, server, room.session, "guest-2-2", issued["code"], others)
            await until(
                console,
                "document.querySelector('#seats tr[data-seat=\"guest-2-2\"]')"
                ".children[3].textContent === '✓'",
            )

            # scoring with the blind part open: a question would name its bidder, so it waits
            await advance(sup, "scoring")
            await until(new, "!document.getElementById('clar-blind').hidden")
            assert await new.locator("#clar-form").is_hidden()
        log = await session_log(room)
    finally:
        await room.close()

    by_type = events_by_type(log)
    declared = by_type["recusal.declared"]
    assert [(e["data"]["recusal"], e["data"]["reason"]) for e in declared] == [
        ("RC1", REASON),
        ("RC2", REASON),
    ]
    assert all(e["actor"] == f"expert:{RECUSED}" for e in declared)
    (declined,) = by_type["recusal.declined"]
    assert (declined["actor"], declined["data"]["reason"]) == ("supervisor:sup-1", "请说明具体关系")
    (replaced,) = by_type["seat.replaced"]
    wanted = {"recusal": "RC2", "seat": RECUSED, "by": "guest-2-2", "venue": "guest-2"}
    assert {k: replaced["data"][k] for k in wanted} == wanted
    assert "guest-2-2" in {e["data"]["seat"] for e in by_type["expert.signed_in"]}
    assert issued["code"] not in str(by_type)  # the code is a secret: never in the log
    assert errors == []
