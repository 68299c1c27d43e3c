"""The evaluation report (评标报告) on the seat page, in a real headless Chromium.

The browser seat enrols, signs the pledge, scores its whole sheet and submits it from the page;
six other seats are Python clients. In review the supervisor issues the report. The page
downloads the PDF with the seat's token and hashes it with WebCrypto: a tampered download (served
by an intercepted route) is shown as a mismatch and the page refuses to sign; the real download
matches the issued hash and the member signs with a dissent typed in Chinese. The signature is
then checked over the API (auditor token) and verified in Python with the key the browser
enrolled, over the exact signed bytes; a reload still shows the seat as signed.

The lot here has no blind criteria (the blind review has its own tests), as in
tests/app/test_report.py, so every seat scores bidders by id and the test stays about the report.
"""

from __future__ import annotations

import asyncio
import base64
import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from server.client.seat import SeatClient
from server.domain.lot import Lot
from tests.app.conftest import Room, advance, create_session, load_lot
from tests.e2e.browser import chromium_page, confirm

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.browser

DISSENT = "对 B2 的技术评分有保留意见：施工组织设计评分偏高。"
SCREENSHOT = Path("/tmp/seat-report.png")


def _value(lot: Lot, n: int, bidder: str, criterion_id: str) -> str:
    """Seat n's score of a cell: objective cells agree, subjective ones spread a little."""
    criterion = lot.criterion(criterion_id)
    assert criterion is not None
    assert criterion.step is not None
    if criterion.kind == "objective":
        value = criterion.max
    else:
        steps = int((criterion.max - criterion.min) / criterion.step)
        value = criterion.min + criterion.step * (steps - (n + int(bidder[1:])) % 3)
    return format(Decimal(value).normalize(), "f")


async def _get_json(url: str, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
    return answer


async def _fill_and_submit(lot: Lot, n: int, seat: SeatClient) -> None:
    for bidder, criterion_id in lot.typed_cells():
        await seat.score(bidder, criterion_id, _value(lot, n, bidder, criterion_id))
    await seat.submit()


async def _seat_in_review(room: Room, page: Page, others: list[SeatClient]) -> str:
    """The browser seat enrols, signs in, scores and submits; the session moves to review.

    Returns the browser's seat id.
    """
    lot = room.lot
    browser_seat, codes = str(room.created["seats"][0]), room.created["codes"]
    sup = room.clients[0]
    await advance(sup, "sign_in")
    await page.goto(f"{room.base}/seat/{room.session}/{browser_seat}")
    await page.fill("#code", codes[browser_seat])
    await page.click("#enrol-button")
    await page.wait_for_function("!document.getElementById('sign-button').disabled", timeout=15_000)
    await page.click("#sign-button")
    await asyncio.gather(*(seat.sign_in() for seat in others))
    await page.wait_for_function(
        "document.getElementById('pledge-state').textContent.includes('已签署')",
        timeout=15_000,
    )
    assert await page.locator("#report").is_hidden()  # no report yet
    await advance(sup, "scoring")

    # the browser seat scores its whole sheet (seat 0's values) and submits it
    cells = lot.typed_cells()
    first = f"{cells[0][0]}/{cells[0][1]}"
    await page.wait_for_function(
        f"(() => {{ const i = document.querySelector('input[data-cell=\"{first}\"]');"
        " return i && !i.disabled; })()",
        timeout=15_000,
    )
    for bidder, criterion_id in cells:
        cell = page.locator(f'#grid input[data-cell="{bidder}/{criterion_id}"]')
        await cell.fill(_value(lot, 0, bidder, criterion_id))
        await cell.press("Tab")
    await page.wait_for_function(
        "[...document.querySelectorAll('#grid [data-state-for]')]"
        ".every(e => e.textContent.includes('已保存'))",
        timeout=30_000,
    )
    await asyncio.gather(
        *(_fill_and_submit(lot, n, seat) for n, seat in enumerate(others, start=1))
    )
    await page.click("#submit-button")
    await confirm(page)
    await page.wait_for_function(
        "document.getElementById('submit-state').textContent.includes('已提交')",
        timeout=15_000,
    )
    await advance(sup, "review")
    return browser_seat


async def _room(server: str) -> tuple[Room, Any, list[SeatClient]]:
    lot_json = load_lot()
    for criterion in lot_json["criteria"]:
        criterion.pop("blind", None)
    room = Room(server, await create_session(server, lot_json), lot_json)
    sup = await room.supervisor(0)
    others = [await room.seat(s) for s in room.created["seats"][1:]]
    return room, sup, others


async def test_seat_page_reads_checks_and_signs_the_report(server: str) -> None:
    from playwright.async_api import Route

    room, sup, others = await _room(server)
    session, browser_seat = room.session, room.created["seats"][0]
    auditor = room.created["auditor"]
    api = f"{server}/api/sessions/{session}"
    errors: list[str] = []
    try:
        async with chromium_page(errors) as page:
            await _seat_in_review(room, page, others)

            # the first download is tampered with on the way: the page must refuse to sign
            async def tampered(route: Route) -> None:
                response = await route.fetch()
                await route.fulfill(response=response, body=await response.body() + b"\n%x")

            await page.route("**/report.pdf", tampered)
            ack = await sup.command({"id": "report-1", "type": "report.issue"})
            digest = ack["report"]
            await page.wait_for_function(
                "document.getElementById('report-check').className === 'mismatch'",
                timeout=15_000,
            )
            assert await page.locator("#report-hash").text_content() == digest
            await page.click("#report-sign")
            await page.wait_for_function(
                "document.getElementById('report-error').textContent.includes('拒绝签署')",
                timeout=15_000,
            )
            error = await page.locator("#report-error").text_content() or ""
            assert "Refused to sign" in error
            await page.unroute("**/report.pdf")

            # the real download: WebCrypto's SHA-256 of the bytes is the issued hash
            await page.click("#report-reload")
            await page.wait_for_function(
                "document.getElementById('report-check').className === 'match'",
                timeout=15_000,
            )
            assert await page.locator("#report-computed").text_content() == digest
            href = await page.locator("#report-link").get_attribute("href") or ""
            assert href.startswith("blob:")
            await page.click("#report-embed summary")  # the PDF embedded on the page
            await page.wait_for_function(
                "document.getElementById('report-frame').src.startsWith('blob:')",
                timeout=15_000,
            )
            await page.click("#report-embed summary")
            statuses = await page.locator("#report-signatures tr[data-seat] td").all_text_contents()
            assert statuses[0::2] == ["未签署 Not yet signed"] * 7

            # two Python members sign (one with a dissent): the page follows live
            await others[0].send("report.sign", report=digest)
            await others[1].send(
                "report.sign", report=digest, dissent="价格分计算无异议，但技术分偏差较大"
            )
            await page.wait_for_function(
                "document.querySelector("
                f"'#report-signatures tr[data-seat=\"{others[1].seat}\"]')"
                ".textContent.includes('保留意见')",
                timeout=15_000,
            )

            # the member signs with a dissent typed in Chinese
            assert await page.locator("#report-sign-dissent").is_disabled()  # empty dissent
            await page.locator("#report-dissent").fill(DISSENT)
            await page.click("#report-sign-dissent")
            await confirm(page)
            await page.wait_for_function(
                "document.getElementById('report-state').textContent.includes('本席位已签署')",
                timeout=15_000,
            )
            assert await page.locator("#report-error").text_content() == ""
            await page.locator("#report").screenshot(path=str(SCREENSHOT))

            # the page after a reload: still signed, with the dissent
            await page.reload()
            await page.wait_for_function(
                "document.getElementById('report-check').className === 'match' && document"
                ".getElementById('report-state').textContent.includes('本席位已签署')",
                timeout=15_000,
            )
            assert await page.locator("#report-actions").is_hidden()
            row = page.locator(f'#report-signatures tr[data-seat="{browser_seat}"]')
            text = await row.text_content() or ""
            assert "已签署（保留意见）Signed with dissent" in text
            assert DISSENT in text
            other = page.locator(f'#report-signatures tr[data-seat="{others[0].seat}"]')
            assert "已签署 Signed" in (await other.text_content() or "")
            last = page.locator(f'#report-signatures tr[data-seat="{others[-1].seat}"]')
            assert "未签署 Not yet signed" in (await last.text_content() or "")

        # over the API: the seat's signature is recorded with that dissent
        report = (await _get_json(f"{api}/report", auditor))["report"]
        assert report["hash"] == digest
        assert report["signatures"][browser_seat]["dissent"] == DISSENT
        assert len(report["signatures"]) == 3

        # the stored signature verifies with the key the browser enrolled, over the signed bytes
        events = (await _get_json(f"{api}/events?after=0", auditor))["events"]
        enrolled = next(
            e for e in events if e["type"] == "seat.enrolled" and e["data"]["seat"] == browser_seat
        )
        signed_events = [
            e for e in events if e["type"] == "report.signed" and e["data"]["seat"] == browser_seat
        ]
        assert len(signed_events) == 1  # the tampered download signed nothing
        event = signed_events[0]
        assert event["actor"] == f"expert:{browser_seat}"
        assert event["data"]["report"] == digest
        assert event["data"]["dissent"] == DISSENT
        key = Ed25519PublicKey.from_public_bytes(
            base64.b64decode(enrolled["data"]["key"]["public"])
        )
        signed = event["data"]["signed"].encode("utf-8")
        key.verify(base64.b64decode(event["data"]["sig"]), signed)  # raises if it does not verify
        body = json.loads(signed)
        assert body["type"] == "report.sign"
        assert body["session"] == session
        assert body["seat"] == browser_seat
        assert body["report"] == digest
        assert body["dissent"] == DISSENT
        assert list(body) == sorted(body)
        assert DISSENT.encode("utf-8") in signed  # raw UTF-8, not \\u escapes
    finally:
        await room.close()
    assert not errors, errors


async def _events(room: Room) -> list[dict[str, Any]]:
    api = f"{room.base}/api/sessions/{room.session}"
    events: list[dict[str, Any]] = (
        await _get_json(f"{api}/events?after=0", room.created["auditor"])
    )["events"]
    return events


async def _queue_offline(page: Page, digest: str, button: str) -> list[dict[str, Any]]:
    """Drop the page's socket, sign the report (queued, not sent); the queue as stored."""
    await page.wait_for_function(
        "document.getElementById('report-check').className === 'match'", timeout=15_000
    )
    assert await page.locator("#report-computed").text_content() == digest
    await page.evaluate("window.evalroomSeat.stream.socket.disconnect()")
    await page.wait_for_function(
        "document.getElementById('conn').className === 'offline'", timeout=15_000
    )
    await page.click(button)
    await confirm(page)
    await page.wait_for_function(
        "document.getElementById('report-state').textContent.includes('已排队')", timeout=15_000
    )
    queue: list[dict[str, Any]] = await page.evaluate(
        "Object.entries(localStorage).filter(([k]) => k.startsWith('evalroom:pending:'))"
        ".flatMap(([, v]) => JSON.parse(v))"
    )
    assert [item["envelope"]["type"] for item in queue] == ["report.sign"]
    return queue


async def test_seat_page_queues_a_signature_offline_and_resends_it_after_a_reload(
    server: str,
) -> None:
    room, sup, others = await _room(server)
    errors: list[str] = []
    try:
        async with chromium_page(errors) as page:
            browser_seat = await _seat_in_review(room, page, others)
            ack = await sup.command({"id": "report-1", "type": "report.issue"})
            queue = await _queue_offline(page, ack["report"], "#report-sign")
            assert not [e for e in await _events(room) if e["type"] == "report.signed"]
            # a reload reconnects and resends the stored command with the same id
            await page.reload()
            await page.wait_for_function(
                "document.getElementById('report-state').textContent.includes('本席位已签署')",
                timeout=15_000,
            )
            row = page.locator(f'#report-signatures tr[data-seat="{browser_seat}"]')
            assert "已签署 Signed" in (await row.text_content() or "")
        signed = [e for e in await _events(room) if e["type"] == "report.signed"]
        assert len(signed) == 1
        assert signed[0]["data"]["signed"] == queue[0]["envelope"]["signed"]
        assert "dissent" not in signed[0]["data"]
        assert json.loads(signed[0]["data"]["signed"])["cmd"] == queue[0]["id"]
    finally:
        await room.close()
    assert not errors, errors


async def test_seat_page_shows_a_typed_refusal_in_both_languages(server: str) -> None:
    room, sup, others = await _room(server)
    errors: list[str] = []
    try:
        async with chromium_page(errors) as page:
            await _seat_in_review(room, page, others)
            ack = await sup.command({"id": "report-1", "type": "report.issue"})
            await page.locator("#report-dissent").fill(DISSENT)
            await _queue_offline(page, ack["report"], "#report-sign-dissent")
            # the session closes (and is sealed) before the queued signature reaches the server
            await advance(sup, "closed")
            await page.evaluate("window.evalroomSeat.stream.socket.connect()")
            await page.wait_for_function(
                "document.getElementById('report-error').textContent.includes('sealed')",
                timeout=15_000,
            )
            error = await page.locator("#report-error").text_content() or ""
            assert error.startswith("会话已封存，只能导出归档")
            assert "The session is sealed: only an export is possible" in error
            assert await page.locator("#report-sign").is_disabled()
            state = await page.locator("#report-state").text_content() or ""
            assert "仅在复核阶段" in state
        assert not [e for e in await _events(room) if e["type"] == "report.signed"]
    finally:
        await room.close()
    assert not errors, errors


async def test_a_refetch_answered_before_a_signature_does_not_drop_it(server: str) -> None:
    """A view refetch (after a reveal) whose answer predates an event the page already folded.

    The page's state answer is held back until another seat's signature has arrived as a live
    event; replacing the view with that older state would show the seat as not signed.
    """
    room, sup, others = await _room(server)
    errors: list[str] = []
    try:
        async with chromium_page(errors) as page:
            await _seat_in_review(room, page, others)
            ack = await sup.command({"id": "report-1", "type": "report.issue"})
            await page.wait_for_function(
                "document.getElementById('report-check').className === 'match'", timeout=15_000
            )
            await page.evaluate(
                """() => {
                  const stream = window.evalroomSeat.stream;
                  const call = stream.call.bind(stream);
                  window.releaseState = null;
                  stream.call = async (name, data) => {
                    const answer = await call(name, data);
                    if (name === "state" && !window.stateHeld) {
                      window.stateHeld = true;  // the first answer waits for the test
                      await new Promise((resolve) => { window.releaseState = resolve; });
                    }
                    return answer;
                  };
                  window.refetched = stream.refetch();
                }"""
            )
            await page.wait_for_function("window.releaseState !== null", timeout=15_000)
            await others[0].send("report.sign", report=ack["report"])
            row = f'#report-signatures tr[data-seat="{others[0].seat}"]'
            await page.wait_for_function(
                f"document.querySelector('{row}').textContent.includes('已签署 Signed')",
                timeout=15_000,
            )
            await page.evaluate("window.releaseState(); window.refetched")
            assert "已签署 Signed" in (await page.locator(row).text_content() or "")
    finally:
        await room.close()
    assert not errors, errors
