"""The pages run under the server's Content-Security-Policy in Chromium with zero violations.

Every page records ``securitypolicyviolation`` events (in every frame) and Chromium's console
reports of blocked content. The seat page goes through enrolment, the pledge, scoring, and the
report PDF embedded from a ``blob:`` URL; the supervisor's (with its media wall), the auditor's
(with its recordings panel) and the public screen connect and follow the log. A control shows
the recorder sees a violation: an inline script injected into the page is blocked and reported.

Playwright's ``wait_for_function`` evaluates its predicate with ``eval`` in the page, which this
policy forbids, so these tests poll with ``evaluate`` (run by the DevTools protocol, exempt).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from server.client.seat import SeatClient
from tests.app.conftest import Room, advance, create_session, load_lot
from tests.e2e.browser import chromium_page, confirm, until
from tests.e2e.media_pages import chromium_media
from tests.e2e.test_seat_report import _fill_and_submit, _room, _value
from tests.media.conftest import loopback_only as loopback_only
from tests.media.conftest import media_app as media_app
from tests.media.conftest import media_server as media_server

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.browser

RECORD = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def record_violations(page: Page) -> list[str]:
    """Chromium's console reports of blocked content on ``page`` (its frames included)."""
    blocked: list[str] = []
    page.on(
        "console",
        lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return blocked


async def violations(page: Page, console: list[str]) -> list[str]:
    """Every violation seen so far: the events of every frame, then the console reports."""
    seen: list[str] = []
    for frame in page.frames:
        try:
            seen += await frame.evaluate("window.__csp || []")
        except Exception:  # noqa: S112 - a frame without script (the PDF viewer) records nothing
            continue
    return seen + console


async def _open(page: Page, url: str) -> list[str]:
    await page.add_init_script(RECORD)
    console = record_violations(page)
    await page.goto(url)
    return console


def _cell(bidder: str, criterion_id: str) -> str:
    return f"document.querySelector('#grid input[data-cell=\"{bidder}/{criterion_id}\"]')"


def _text(element: str, part: str) -> str:
    return f"document.getElementById('{element}').textContent.includes('{part}')"


async def _seat_to_review(room: Room, page: Page, others: list[SeatClient]) -> None:
    """The browser seat enrols, signs the pledge, scores and submits under the policy."""
    lot, seat = room.lot, str(room.created["seats"][0])
    sup = room.clients[0]
    await advance(sup, "sign_in")
    await page.fill("#code", room.created["codes"][seat])
    await page.click("#enrol-button")  # fetch POST (JSON), WebCrypto, IndexedDB, socket.io
    await until(page, "!document.getElementById('sign-button').disabled")
    await page.click("#sign-button")
    await asyncio.gather(*(other.sign_in() for other in others))
    await until(page, _text("pledge-state", "已签署"))
    await advance(sup, "scoring")
    cells = lot.typed_cells()
    await until(page, f"!!{_cell(*cells[0])}")
    for bidder, criterion_id in cells:
        cell = page.locator(f'#grid input[data-cell="{bidder}/{criterion_id}"]')
        await until(page, f"!{_cell(bidder, criterion_id)}.disabled")
        await cell.fill(_value(lot, 0, bidder, criterion_id))
        await cell.press("Tab")
    await until(
        page,
        "[...document.querySelectorAll('#grid [data-state-for]')]"
        ".every(e => e.textContent.includes('已保存'))",
        30,
    )
    await asyncio.gather(*(_fill_and_submit(lot, n, o) for n, o in enumerate(others, start=1)))
    await page.click("#submit-button")
    await confirm(page)
    await until(page, _text("submit-state", "已提交"))
    await advance(sup, "review")


async def test_the_seat_page_and_its_embedded_report_run_without_violations(
    server: str,
) -> None:
    room, sup, others = await _room(server)
    errors: list[str] = []
    try:
        async with chromium_page(errors, enforce_csp=True) as page:
            console = await _open(page, f"{server}/seat/{room.session}/{room.created['seats'][0]}")
            await _seat_to_review(room, page, others)
            await sup.command({"id": "report-1", "type": "report.issue"})
            # fetched with the token, hashed with WebCrypto, then shown from a blob: URL
            await until(page, "document.getElementById('report-check').className === 'match'")
            await page.click("#report-embed summary")
            await until(page, "document.getElementById('report-frame').src.startsWith('blob:')")
            await asyncio.sleep(1.0)  # the frame loads the PDF
            frame_urls = [frame.url for frame in page.frames]
            assert any(url.startswith("blob:") for url in frame_urls), frame_urls
            assert not any(url.startswith("chrome-error:") for url in frame_urls), frame_urls
            assert await violations(page, console) == []
            assert errors == []
    finally:
        await room.close()


async def test_the_viewer_pages_run_without_violations(server: str) -> None:
    created = await create_session(server, load_lot())
    session = created["session"]
    tokens = {
        "supervisor": created["supervisor"][0],
        "auditor": created["auditor"],
        "public": created["public"],
    }
    for role, token in tokens.items():
        errors: list[str] = []
        async with chromium_page(errors, enforce_csp=True) as page:
            console = await _open(page, f"{server}/{role}/{session}#token={token}")
            await until(page, "document.getElementById('conn').className === 'online'")
            await until(page, "document.querySelectorAll('#events li').length >= 1")
            if role == "supervisor":  # its one state change, over socket.io from its own origin
                await page.click("#advance-button")
                await confirm(page)
                await until(page, _text("phase", "签到"))
            assert await violations(page, console) == [], role
            assert errors == [], role


async def test_an_injected_inline_script_is_blocked_and_reported(server: str) -> None:
    """The control: the recorder above does see violations, and inline script does not run."""
    created = await create_session(server, load_lot())
    seat = created["seats"][0]
    async with chromium_page(enforce_csp=True) as page:
        console = await _open(page, f"{server}/seat/{created['session']}/{seat}")
        await until(page, "!document.getElementById('enrol').hidden")
        ran = await page.evaluate(
            """async () => {
              const s = document.createElement("script");
              s.textContent = "window.__inline = true";
              document.body.append(s);
              const b = document.createElement("button");
              b.setAttribute("onclick", "window.__handler = true");
              document.body.append(b);
              b.click();
              await new Promise((r) => setTimeout(r, 200));
              return [window.__inline === true, window.__handler === true];
            }"""
        )
        assert ran == [False, False]
        seen = await violations(page, console)
        events = [v.split(" ")[0] for v in seen if v.startswith("script-src")]
        assert events == ["script-src-elem", "script-src-attr"]
        assert len(console) == 2  # and Chromium said so on the console


@pytest.mark.slow
async def test_live_media_runs_without_violations(media_server: str) -> None:
    """The seat publishes Chromium's fake camera; the supervisor's wall plays it live."""
    created = await create_session(media_server, load_lot())
    session, seat = created["session"], created["seats"][0]
    async with chromium_media() as browser:
        page = await browser.new_page()  # the policy enforced (media_pages.new_page bypasses it)
        console = await _open(page, f"{media_server}/seat/{session}/{seat}")
        await page.fill("#code", created["codes"][seat])
        await page.click("#enrol-button")
        await until(
            page,
            "(() => { const m = window.evalroomMedia;"
            " return m && m.publisher && m.publisher.connectionState === 'connected'; })()",
            20,
        )
        wall = await browser.new_page()
        wall_console = await _open(
            wall, f"{media_server}/supervisor/{session}#token={created['supervisor'][0]}"
        )
        await until(
            wall,
            f"(() => {{ const t = document.querySelector('#wall .tile[data-source=\"{seat}\"]');"
            " return t && t.dataset.media === 'live' && t.querySelector('video').videoWidth > 0;"
            " })()",
            30,
        )
        assert await violations(page, console) == []
        assert await violations(wall, wall_console) == []
