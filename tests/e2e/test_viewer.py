"""The supervisor page in Chromium: the signed checkpoint arrives live, results and flags show."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from server.client.simulate import run_session
from tests.app.conftest import create_session, load_lot
from tests.e2e.browser import chromium_page

pytestmark = pytest.mark.browser
SCREENSHOT = "/tmp/viewer.png"


async def test_supervisor_page_shows_checkpoints_results_and_flags(server: str) -> None:
    lot = load_lot()
    created = await create_session(server, lot)
    session = created["session"]
    async with chromium_page(height=1000) as page:
        token = created["supervisor"][1]
        await page.goto(f"{server}/supervisor/{session}#token={token}")
        await page.wait_for_function(
            "Number(document.getElementById('cp-size').textContent) >= 1", timeout=15_000
        )  # the checkpoint signed when the session was created (or just after: the wall
        # joins the media room, which is an event too)
        summary: dict[str, Any] = await run_session(server, created, lot)
        head = summary["head"]
        await page.wait_for_function(
            f"document.getElementById('cp-size').textContent === '{head}'", timeout=15_000
        )  # the closing checkpoint, pushed live
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{server}/api/sessions/{session}/checkpoint") as response,
        ):
            latest = (await response.json())["checkpoint"]
        assert await page.locator("#cp-root").text_content() == latest["root"]
        note = await page.locator("#cp-note").text_content() or ""
        assert note.startswith(f"evalroom.local/{session}\n{head}\n")
        await page.wait_for_function(
            "document.querySelectorAll('#ranking tr[data-bidder]').length === 5",
            timeout=15_000,
        )
        recommended = await page.locator(
            "#ranking tr[data-bidder] td:nth-child(4)"
        ).all_text_contents()
        assert sum("推荐候选人" in text for text in recommended) == 3
        await page.screenshot(path=SCREENSHOT, full_page=True)
    await asyncio.sleep(0)
