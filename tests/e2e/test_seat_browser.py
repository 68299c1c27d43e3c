"""The seat page in a real headless Chromium against a real in-process server.

The browser enrols a WebCrypto Ed25519 key, signs the pledge and types one blind score under its
own code (暗标: the server drew the codes with the move to scoring); six other seats are Python
clients. The supervisor's Python client then checks the browser's score.set event and
verifies its signature against the key the browser enrolled.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from server.client.seat import Client, SeatClient
from tests.e2e.browser import chromium_page

pytestmark = pytest.mark.browser

DEMO_LOT = Path(__file__).resolve().parents[2] / "server" / "app" / "demo-lot.json"
SCREENSHOT = Path("/tmp/seat.png")


async def _create_session(base: str) -> dict[str, Any]:
    lot = json.loads(DEMO_LOT.read_text(encoding="utf-8"))
    headers = {"Authorization": "Bearer test-admin"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base}/api/sessions", json=lot, headers=headers) as response,
    ):
        assert response.status == 201, await response.text()
        created: dict[str, Any] = await response.json()
    return created


async def _wait_for(client: Client, predicate: Any, seconds: float = 20) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        while True:
            for event in client.events.values():
                if predicate(event):
                    return event
            client.arrived.clear()
            await client.arrived.wait()


async def test_seat_page_enrols_signs_in_and_scores(server: str) -> None:
    created = await _create_session(server)
    session = created["session"]
    seats: list[str] = created["seats"]
    codes: dict[str, str] = created["codes"]
    browser_seat, python_seats = seats[0], seats[1:]

    supervisor = Client(server, session, created["supervisor"][0])
    await supervisor.connect()
    await supervisor.command({"id": "p1", "type": "phase.advance", "to": "sign_in"})

    others = [SeatClient(server, session, seat) for seat in python_seats]
    page_errors: list[str] = []
    async with chromium_page(page_errors) as page:
        page.on(
            "response",
            lambda r: (
                page_errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
        await page.goto(f"{server}/seat/{session}/{browser_seat}")
        await page.fill("#code", codes[browser_seat])
        await page.click("#enrol-button")
        sign = page.locator("#sign-button")
        await sign.wait_for(state="visible", timeout=15_000)
        await page.wait_for_function(
            "!document.getElementById('sign-button').disabled", timeout=15_000
        )

        # the other six seats enrol and sign in from Python meanwhile
        for seat in others:
            await seat.enrol(codes[seat.seat])
            await seat.connect()
            await seat.sign_in()

        await sign.click()
        await page.wait_for_function(
            "document.getElementById('pledge-state').textContent.includes('已签署')",
            timeout=15_000,
        )
        await supervisor.command({"id": "p2", "type": "phase.advance", "to": "scoring"})

        # the blind part: one row per code of this seat, in this seat's own order
        draw = await _wait_for(supervisor, lambda e: e["type"] == "blind.assigned")
        pairs = draw["data"]["seats"][browser_seat]
        first, second = f"{pairs[0][0]}/T1", f"{pairs[1][0]}/T2"
        await page.wait_for_function(
            f"(() => {{ const i = document.querySelector('input[data-cell=\"{first}\"]');"
            " return i && !i.disabled; })()",
            timeout=15_000,
        )
        rows = page.locator("#blind-grid tbody tr")
        assert await rows.evaluate_all("rs => rs.map(r => r.dataset.code)") == [c for c, _ in pairs]
        blind_text = await page.locator("#blind-grid").text_content() or ""
        assert not any(f"B{n}" in blind_text for n in range(1, 6))  # no bidder before the reveal
        assert await page.locator('#grid input[data-cell="B1/T1"]').count() == 0
        cell = page.locator(f'input[data-cell="{first}"]')
        await cell.fill("7.5")
        await cell.press("Tab")
        await page.wait_for_function(
            f"document.querySelector('[data-state-for=\"{first}\"]').textContent"
            ".includes('已保存')",
            timeout=15_000,
        )

        # an out-of-range value is caught as it is typed, in zh-CN and English, and not sent
        bad = page.locator(f'input[data-cell="{second}"]')
        await bad.fill("99")
        await page.wait_for_function(
            f"document.querySelector('[data-error-for=\"{second}\"]').textContent.includes('应在')",
            timeout=15_000,
        )
        await bad.press("Tab")
        await page.wait_for_function(
            f"document.querySelector('[data-state-for=\"{second}\"]').textContent"
            ".includes('未保存')",
            timeout=15_000,
        )
        assert await page.evaluate("window.evalroomSeat.pending.size") == 0  # nothing queued
        await page.screenshot(path=str(SCREENSHOT), full_page=True)

        # the supervisor page shows the phase, all seats and the browser seat's progress
        viewer = await page.context.browser.new_page(
            viewport={"width": 1200, "height": 900}, bypass_csp=True
        )
        viewer.on("pageerror", lambda exc: page_errors.append(str(exc)))
        await viewer.goto(f"{server}/supervisor/{session}#token={created['supervisor'][1]}")
        await viewer.wait_for_function(
            "document.querySelectorAll('#seats tr[data-seat]').length === 7"
            " && document.getElementById('phase').textContent.includes('Scoring')",
            timeout=15_000,
        )
        progress = viewer.locator(f'#seats tr[data-seat="{browser_seat}"] td.progress')
        assert (await progress.text_content()) == "1 / 35"
        assert await viewer.locator("#events li").count() >= 16
        await viewer.screenshot(path="/tmp/supervisor.png", full_page=True)

    enrolled = await _wait_for(
        supervisor,
        lambda e: e["type"] == "seat.enrolled" and e["data"]["seat"] == browser_seat,
    )
    scored = await _wait_for(
        supervisor,
        lambda e: e["type"] == "score.set" and e["data"]["seat"] == browser_seat,
    )
    assert scored["data"]["code"] == pairs[0][0]  # the seat signed its code, not the bidder
    assert "bidder" not in scored["data"]
    assert scored["data"]["criterion"] == "T1"
    assert scored["data"]["value"] == "7.5"
    assert scored["actor"] == f"expert:{browser_seat}"

    public = base64.b64decode(enrolled["data"]["key"]["public"])
    key = Ed25519PublicKey.from_public_bytes(public)
    signed = scored["data"]["signed"].encode("utf-8")
    key.verify(base64.b64decode(scored["data"]["sig"]), signed)  # raises if it does not verify
    body = json.loads(signed)
    assert body["type"] == "score.set"
    assert body["seat"] == browser_seat
    assert body["session"] == session
    assert body["value"] == "7.5"
    assert body["code"] == pairs[0][0]
    assert "bidder" not in body
    assert list(body) == sorted(body)

    assert not page_errors, page_errors
    for seat in others:
        await seat.disconnect()
    await supervisor.disconnect()
