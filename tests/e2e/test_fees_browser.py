"""Expert fees (专家劳务报酬) in the browser, under the server's CSP.

The admin creates a session of a lot with a fee catalogue on the home page; headless seats run
it from the sheet's codes to the close; the node seals it and logs the statements. The home
page, which follows the session's public view, then lists each member's statement from the
payment export and downloads the CSV and a PDF statement with the admin token (a blob download:
the token never goes into an address). The supervisor's console shows the same statements and
total from its view.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pypdf import PdfReader

from server.client.expert_pool import sample_fees
from server.client.simulate import run_session
from tests.app.conftest import ADMIN, load_lot
from tests.e2e.browser import another_page, chromium_page, until
from tests.e2e.test_home_browser import ROLE_LINKS, ROWS, watch

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")


def paid_lot(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The demo lot with the sample fee catalogue, as a file to choose on the home page."""
    lot = {**load_lot(), "fees": sample_fees()}
    path = tmp_path / "lot-with-fees.json"
    path.write_text(json.dumps(lot, ensure_ascii=False), "utf-8")
    return path, lot


async def create_paid_session(page: Page, server: str, lot_file: Path) -> dict[str, Any]:
    """Create the session on the home page; its credentials as read from the printed sheet."""
    await page.goto(f"{server}/")
    await page.fill("#admin-token", ADMIN)
    await page.set_input_files("#lot-file", str(lot_file))
    await until(page, "document.getElementById('lot-summary').textContent.includes('席位')")
    await page.click("#create-button")
    await until(page, "!document.getElementById('sheet').hidden")
    session = await page.text_content("#sheet-session") or ""
    rows: list[list[str]] = await page.evaluate(ROWS)
    links: list[list[str]] = await page.evaluate(ROLE_LINKS)
    tokens = [url.split("#token=")[1] for role, url in links if role == "supervisor"]
    return {
        "session": session,
        "seats": [seat for seat, _, _ in rows],
        "codes": {seat: code for seat, code, _ in rows},
        "supervisor": tokens,
    }


async def sealed_with_fees(page: Page, server: str, tmp_path: Path) -> dict[str, Any]:
    """A paid session created on ``page`` (the home page) and run to the seal."""
    lot_file, lot = paid_lot(tmp_path)
    created = await create_paid_session(page, server, lot_file)
    assert await page.locator("#fees").is_hidden()  # nothing to pay before the seal
    await run_session(server, created, lot)
    await until(page, "!document.getElementById('fees').hidden", 30)
    await until(page, "document.querySelectorAll('#fees-statements tbody tr').length === 7")
    return created


async def test_the_admin_downloads_the_fees_after_the_seal(server: str, tmp_path: Path) -> None:
    errors: list[str] = []
    async with chromium_page(errors, 1366, 900, enforce_csp=True) as page:
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        _, blocked = watch(page)
        created = await sealed_with_fees(page, server, tmp_path)
        session = created["session"]
        state = await page.text_content("#fees-state") or ""
        assert "7 份结算 statements" in state

        async with page.expect_download() as download_info:
            await page.click("#fees-csv")
        download = await download_info.value
        assert download.suggested_filename == f"fees-{session}.csv"
        text = (await download.path()).read_text("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert {r["seat"] for r in rows if r["seat"]} == set(created["seats"])
        total = next(r["total"] for r in rows if not r["seat"])
        assert f"合计 Total {total} CNY" in state

        async with page.expect_download() as download_info:
            await page.click('#fees-statements button[data-seat="guest-1-1"]')
        download = await download_info.value
        assert download.suggested_filename == f"fee-{session}-guest-1-1.pdf"
        pdf = (await download.path()).read_bytes()
        assert pdf.startswith(b"%PDF")
        words = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        assert "guest-1-1" in words
        assert "专家劳务报酬结算单" in words.replace("\n", "")
        assert ADMIN not in " ".join(requests)  # the token travels in a header, never a URL
        await asyncio.to_thread(SHOTS.mkdir, exist_ok=True)
        await page.locator("#fees").screenshot(path=str(SHOTS / "home-fees.png"))

        # the console's fees section: the same statements and total
        console = await another_page(page, errors, 1920, 1080)
        token = created["supervisor"][0]
        await console.goto(f"{server}/supervisor/{session}#token={token}")
        await until(console, "!document.getElementById('console-fees').hidden")
        count = "document.querySelectorAll('#fees-table tbody tr').length"
        assert await console.evaluate(count) == 7
        assert await console.text_content("#fees-total") == total
        await console.locator("#console-fees").screenshot(path=str(SHOTS / "console-fees.png"))
        assert blocked == []
    assert errors == []
