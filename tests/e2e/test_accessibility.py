"""Accessibility: axe-core (vendored in tests/e2e/vendor/axe, scripts/fetch-axe.sh) on every page.

Each page is opened in Chromium at 1366x768 (the public screen at 1920x1080) in the states people
see it in, axe is injected and run (``axe.run(document, {resultTypes: ["violations"]})``), and
the test fails on any violation of impact "serious" or "critical", naming the rule, its impact,
its help text and the first elements it found. Moderate and minor ones are printed only.

axe is injected as an inline script, which the server's Content-Security-Policy forbids, so these
pages bypass the policy (tests/e2e/test_csp.py checks the policy itself). Screenshots of every
state go to /tmp/shots/a11y-<state>.png.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from server.client.simulate import run_session
from tests.app.conftest import ADMIN, DEMO_LOT_PATH, Room, advance, create_session, load_lot
from tests.e2e.browser import chromium_page, confirm, until
from tests.e2e.seat_steps import session_log
from tests.e2e.test_clarification_browser import answer_on_bidder_page, approve, draft
from tests.e2e.test_clarification_browser import scoring_room as clarification_room
from tests.e2e.test_draw_browser import (
    LINKS,
    STAGE,
    HeadlessShare,
    create_on_home,
    files,
    open_draw,
    open_draw_over_http,
)
from tests.e2e.test_fees_browser import sealed_with_fees
from tests.e2e.test_recusal_browser import (
    RECUSED,
    approve_at,
    declare,
    enrol_seat,
    open_console,
    recusal_room,
)
from tests.e2e.test_seat_committee import _mid, _score_all
from tests.e2e.test_seat_report import _room as _report_room
from tests.e2e.test_seat_report import _seat_in_review

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe" / "axe.min.js").read_text("utf-8")
SHOTS = Path("/tmp/shots")
BLOCKING = ("serious", "critical")
RUN_AXE = "axe.run(document, {resultTypes: ['violations']})"
AUDITOR_LOADED = "!!(window.evalroomAuditor && window.evalroomAuditor.loaded)"


@pytest.fixture(autouse=True)
def _shots_dir() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)


@asynccontextmanager
async def page_at(width: int = 1366, height: int = 768) -> AsyncIterator[Page]:
    """A Chromium page that bypasses the CSP (axe is an inline script); page errors fail."""
    errors: list[str] = []
    async with chromium_page(errors, width, height, enforce_csp=False) as page:
        yield page
    assert errors == []


def describe(violation: dict[str, Any]) -> str:
    """One violation: rule, impact, help and the first few elements' selectors."""
    targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
    more = len(violation["nodes"]) - len(targets)
    extra = f" (+{more} more)" if more > 0 else ""
    return (
        f"{violation['id']} [{violation['impact']}]: {violation['help']} "
        f"-> {' | '.join(targets)}{extra}"
    )


async def check(page: Page, state: str) -> None:
    """Run axe on ``page`` as it is now; fail on a serious or critical violation."""
    await page.evaluate("window.scrollTo(0, 0)")  # a sticky header would hide what it covers
    await page.screenshot(path=str(SHOTS / f"a11y-{state}.png"), full_page=True)
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.add_script_tag(content=AXE)
    result = await page.evaluate(RUN_AXE)
    violations: list[dict[str, Any]] = result["violations"]
    for violation in violations:
        print(f"{state}: {describe(violation)}")  # shown with -s, or on failure
    blocking = [describe(v) for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"{state}: axe found serious or critical violations:\n" + "\n".join(
        blocking
    )


# ---- home -----------------------------------------------------------------------------------


async def test_home(server: str) -> None:
    async with page_at() as page:
        await page.goto(f"{server}/")
        await until(page, "document.getElementById('fingerprint').dataset.hex")
        await until(page, "document.getElementById('health').dataset.ok === 'true'")
        await check(page, "home")


async def test_home_sheet(server: str) -> None:
    async with page_at() as page:
        await page.goto(f"{server}/")
        await page.fill("#admin-token", ADMIN)
        await page.set_input_files("#lot-file", DEMO_LOT_PATH)
        await until(page, "document.getElementById('lot-summary').textContent.includes('席位')")
        await check(page, "home-lot")
        await page.click("#create-button")
        await until(page, "!document.getElementById('sheet').hidden")
        await check(page, "home-sheet")


# ---- seat -----------------------------------------------------------------------------------


async def _enrol(page: Page, room: Room, seat: str) -> None:
    await page.goto(f"{room.base}/seat/{room.session}/{seat}")
    await until(page, "!document.getElementById('enrol').hidden")
    await page.fill("#code", room.created["codes"][seat])
    await page.click("#enrol-button")
    await until(page, "!document.getElementById('pledge').hidden")


async def test_seat_before_enrolment(server: str) -> None:
    lot = load_lot()
    room = Room(server, await create_session(server, lot), lot)
    seat = room.created["seats"][0]
    async with page_at() as page:
        await page.goto(f"{server}/seat/{room.session}/{seat}")
        await until(page, "!document.getElementById('enrol').hidden")
        await check(page, "seat-enrol")


async def test_seat_enrolled_in_sign_in(server: str) -> None:
    lot = load_lot()
    room = Room(server, await create_session(server, lot), lot)
    sup = await room.supervisor(0)
    try:
        await advance(sup, "sign_in")
        async with page_at() as page:
            await _enrol(page, room, room.created["seats"][0])
            await until(page, "!document.getElementById('sign-button').disabled")
            await check(page, "seat-sign-in")
    finally:
        await room.close()


async def _seat_in_scoring(page: Page, room: Room) -> None:
    """The browser seat is the elected chair, a rejection vote is open, the other six seats have
    scored everything, and this seat has scored every cell with one blind deviation to explain."""
    lot = room.lot_json
    sup = await room.supervisor(0)
    seats = list(room.created["seats"])
    me, others = seats[0], [await room.seat(s) for s in seats[1:]]
    await advance(sup, "sign_in")
    await _enrol(page, room, me)
    await until(page, "!document.getElementById('sign-button').disabled")
    await page.click("#sign-button")
    await asyncio.gather(*(seat.sign_in() for seat in others))
    await until(page, "!document.getElementById('committee').hidden")
    await page.select_option("#chair-candidate", me)
    await page.click("#chair-vote")
    await until(page, "document.getElementById('chair-state').textContent.includes('已投票')")
    for seat in others:
        assert (await seat.vote_chair(1, me))["ok"]
    await until(page, "document.getElementById('chair-state').textContent.includes('（您')")
    assert (await others[0].propose_rejection("B5", "unqualified", "资质证书已过期"))["ok"]
    approve = {"id": "approve-r1", "type": "rejection.approve", "proposal": "R1"}
    assert (await sup.command(approve))["ok"]
    await until(page, "!!document.querySelector('#proposals tr[data-proposal=\"R1\"]')")

    await advance(sup, "scoring")
    await until(page, "document.querySelectorAll('#blind-grid input[data-cell]').length > 0")
    await until(page, "!document.querySelector('#grid input[data-cell]').disabled")
    assigned = next(e for e in await session_log(room) if e["type"] == "blind.assigned")["data"]
    for seat in others:
        seat.know_draw(assigned)
    await asyncio.gather(*(_score_all(seat, lot) for seat in others))
    criteria = {c["id"]: c for c in lot["criteria"]}
    keys: list[str] = await page.eval_on_selector_all(
        "input[data-cell]", "xs => xs.map(x => x.dataset.cell)"
    )
    deviating = next(k for k in keys if k.endswith("/T1"))
    for key in keys[:-1]:  # the last cell stays empty: the sheet shows a missing cell
        criterion = criteria[key.split("/")[1]]
        if key == deviating:
            value = str(criterion["max"])
        elif criterion["kind"] == "subjective":
            value = _mid(criterion)
        else:
            value = str(criterion["max"])
        await page.fill(f'input[data-cell="{key}"]', value)
        await page.press(f'input[data-cell="{key}"]', "Tab")
    await until(page, "!!document.querySelector('#my-flags li[data-kind=\"deviation\"]')", 30)


async def test_seat_in_scoring(server: str) -> None:
    lot = load_lot()
    room = Room(server, await create_session(server, lot), lot)
    try:
        async with page_at() as page:
            await _seat_in_scoring(page, room)
            await check(page, "seat-scoring")
    finally:
        await room.close()


async def test_seat_with_the_report(server: str) -> None:
    room, sup, others = await _report_room(server)
    try:
        async with page_at() as page:
            await _seat_in_review(room, page, others)
            assert (await sup.command({"id": "report-1", "type": "report.issue"}))["ok"]
            await until(page, "document.getElementById('report-check').className === 'match'")
            await check(page, "seat-report")
    finally:
        await room.close()


# ---- supervisor, public screen, auditor -------------------------------------------------------


async def _scoring_room(server: str) -> tuple[Room, list[Any]]:
    """A session in scoring: seven headless seats signed in, a chair, an approved rejection vote
    and every seat's sheet half scored."""
    lot = load_lot()
    room = Room(server, await create_session(server, lot), lot)
    sup = await room.supervisor(0)
    seats = [await room.seat(s) for s in room.created["seats"]]
    await advance(sup, "sign_in")
    await asyncio.gather(*(seat.sign_in() for seat in seats))
    for seat in seats:
        assert (await seat.vote_chair(1, seats[0].seat))["ok"]
    assert (await seats[1].propose_rejection("B5", "unqualified", "资质证书已过期"))["ok"]
    approve = {"id": "approve-r1", "type": "rejection.approve", "proposal": "R1"}
    assert (await sup.command(approve))["ok"]
    await advance(sup, "scoring")
    assigned = next(e for e in await session_log(room) if e["type"] == "blind.assigned")["data"]
    for seat in seats:
        seat.know_draw(assigned)
    await asyncio.gather(*(_score_all(seat, lot) for seat in seats[:4]))
    return room, seats


async def test_supervisor_during_scoring(server: str) -> None:
    room, _ = await _scoring_room(server)
    token = room.created["supervisor"][1]
    try:
        async with page_at() as page:
            await page.goto(f"{server}/supervisor/{room.session}#token={token}")
            await until(page, "document.getElementById('conn').className === 'online'")
            await until(page, "document.getElementById('phase').textContent.includes('评分')")
            await until(page, "document.querySelectorAll('#matrix td').length > 0")
            await check(page, "supervisor-scoring")
            await until(page, "!document.getElementById('advance-button').disabled")
            await page.click("#advance-button")  # the confirmation dialog (common.js)
            await until(page, "!!document.querySelector('dialog.confirm[open]')")
            await check(page, "supervisor-confirm")
            await page.click("dialog.confirm button[value=no]")
    finally:
        await room.close()


async def test_public_screen_during_scoring(server: str) -> None:
    room, _ = await _scoring_room(server)
    token = room.created["public"]
    try:
        async with page_at(1920, 1080) as page:
            await page.goto(f"{server}/public/{room.session}#token={token}")
            await until(page, "document.getElementById('conn').className === 'online'")
            await until(page, "document.getElementById('phase').textContent.includes('评分')")
            await check(page, "public-scoring")
    finally:
        await room.close()


async def _closed_session(server: str) -> dict[str, Any]:
    """A session run from enrolment to close by headless seats (simulate.run_session)."""
    lot = load_lot()
    created = await create_session(server, lot)
    await run_session(server, created, lot)
    return created


async def test_supervisor_after_the_session(server: str) -> None:
    created = await _closed_session(server)
    token = created["supervisor"][0]
    async with page_at() as page:
        await page.goto(f"{server}/supervisor/{created['session']}#token={token}")
        await until(page, "document.getElementById('conn').className === 'online'")
        await until(page, "!document.getElementById('review').hidden")
        await until(page, "document.querySelectorAll('#ranking td').length > 0")
        await check(page, "supervisor-closed")


async def test_auditor_after_the_session(server: str) -> None:
    created = await _closed_session(server)
    token = created["auditor"]
    async with page_at() as page:
        await page.goto(f"{server}/auditor/{created['session']}#token={token}")
        await until(page, AUDITOR_LOADED, 30)
        await check(page, "auditor")


async def test_auditor_at_the_first_event(server: str) -> None:
    created = await _closed_session(server)
    token = created["auditor"]
    async with page_at() as page:
        await page.goto(f"{server}/auditor/{created['session']}#token={token}")
        await until(page, AUDITOR_LOADED, 30)
        await page.locator("#events li").first.click()  # session.created: the timeline at seq 1
        await until(page, "!!document.getElementById('detail-bytes')")
        await check(page, "auditor-first-event")


# ---- the expert draw ----------------------------------------------------------------------------


async def test_the_draw_page_and_the_console_during_the_draw(server: str) -> None:
    """A venue's draw page before its commitment, its confirmation and once the draw is made; the
    console's draw panel while the supervisors' share is still to commit."""
    created = await create_session(server, load_lot())
    session = created["session"]
    await open_draw_over_http(server, session)
    venues = created["venues"]
    guest_1 = HeadlessShare(server, session, "guest-1", venues["guest-1"])
    guest_2 = HeadlessShare(server, session, "guest-2", venues["guest-2"])
    supervisors = HeadlessShare(server, session, "supervisor", created["supervisor"][1])
    await guest_1.commit()
    async with page_at() as page:
        await page.goto(f"{server}/draw/{session}#token={venues['host']}")
        await until(page, "document.getElementById('conn').className === 'online'")
        await until(page, "!document.getElementById('draw-commit').hidden")
        await check(page, "draw-commit")
        await page.click("#draw-commit")
        await until(page, "!!document.querySelector('dialog.confirm[open]')")
        await check(page, "draw-confirm")
        await confirm(page)
        await until(page, "document.getElementById('draw-state').textContent.includes('2 / 4')")
        async with page_at() as console:
            await console.goto(f"{server}/supervisor/{session}#token={created['supervisor'][0]}")
            await until(console, "!document.getElementById('draw-section').hidden")
            await until(console, "!document.getElementById('draw-commit').hidden")
            await check(console, "supervisor-draw")
        await guest_2.commit()
        await supervisors.commit()
        for share in (guest_1, guest_2, supervisors):
            await share.reveal()  # the page reveals the host's share by itself
        await until(page, f"{STAGE} === 'made'", 30)
        await check(page, "draw-made")


async def test_home_with_the_draw_and_its_notice(server: str, tmp_path: Path) -> None:
    pool, rules = files(tmp_path)
    async with page_at() as page:
        session = await create_on_home(page, server)
        await open_draw(page, pool, rules)
        await check(page, "home-draw")
        links: dict[str, str] = dict(await page.evaluate(LINKS))
        shares = [
            HeadlessShare(server, session, who, link.split("#token=", 1)[1])
            for who, link in links.items()
        ]
        for share in shares:
            await share.commit()
        for share in shares:
            await share.reveal()
        await until(page, "!document.getElementById('notice-button').hidden", 30)
        await page.click("#notice-button")
        await until(page, "!document.getElementById('notice').hidden")
        await check(page, "home-draw-notice")


# ---- recusal, clarification, fees ------------------------------------------------------------


async def test_recusal_on_the_seat_and_the_console(server: str) -> None:
    """A seat's declared recusal, the console's pending decision and its handover note, and
    the recused seat's page once replaced."""
    room, _sup, _seats = await recusal_room(server)
    try:
        async with page_at() as page:
            await enrol_seat(page, room, RECUSED)
            await declare(page, "两年前曾为投标人 B3 提供咨询服务")
            await check(page, "seat-recusal")
            async with page_at(1920, 1080) as console:
                await open_console(console, room)
                await until(console, "!document.getElementById('console-recusal').hidden")
                await check(console, "supervisor-recusal")
                await approve_at(console, "RC1", "guest-2")
                await check(console, "supervisor-recusal-note")
            await until(page, "!document.getElementById('replaced-note').hidden")
            await check(page, "seat-replaced")
    finally:
        await room.close()


async def test_clarification_on_the_seat_the_console_and_the_bidder_page(server: str) -> None:
    """The seat's question form and the committee's list, the console's decision and the
    bidder's link, the bidder page before and after its answer."""
    async with page_at() as page:
        room = await clarification_room(server, page)
        try:
            await draft(page, "B2", "请说明施工组织设计中第 3.2 节工期安排的依据")
            await until(page, "!!document.querySelector('#clar-list tr[data-status=\"drafted\"]')")
            await check(page, "seat-clarification")
            async with page_at(1920, 1080) as console:
                await open_console(console, room)
                await until(console, "!document.getElementById('console-clarification').hidden")
                await check(console, "supervisor-clarification")
                link = await approve(console, "CL1")
                await check(console, "supervisor-clarification-link")
            async with page_at() as bidder:
                await bidder.goto(link)
                await until(
                    bidder, "document.getElementById('question').textContent !== '载入中… Loading…'"
                )
                await check(bidder, "bidder-page")
                await answer_on_bidder_page(bidder, link, "工期依据为招标文件第二章第 5 条")
                await check(bidder, "bidder-answered")
            await until(page, "!!document.querySelector('#clar-list tr[data-status=\"answered\"]')")
            await check(page, "seat-clarification-answered")
        finally:
            await room.close()


async def test_fees_on_the_home_page_and_the_console(server: str, tmp_path: Path) -> None:
    async with page_at() as page:
        created = await sealed_with_fees(page, server, tmp_path)
        await check(page, "home-fees")
        async with page_at(1920, 1080) as console:
            token = created["supervisor"][0]
            await console.goto(f"{server}/supervisor/{created['session']}#token={token}")
            await until(console, "!document.getElementById('console-fees').hidden")
            await check(console, "supervisor-fees")
