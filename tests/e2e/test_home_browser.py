"""The home page at ``/`` in Chromium under the server's Content-Security-Policy.

Without a token it shows the node's verifier key (fingerprinted in the browser) and live health,
and nothing of any session. With the admin token, a lot file chosen in the page creates a
session; the printable sheet's codes and links are then used for real: one seat enrols in the
browser from its sheet URL, the others through the HTTP API, and every role link reads the state.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from server.client.seat import SeatClient
from server.domain.lot import parse_lot
from tests.app.conftest import ADMIN, DEMO_LOT_PATH, create_session, load_lot
from tests.e2e.browser import chromium_page, until

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots")
ROWS = """[...document.querySelectorAll('#sheet-seats tbody tr')].map((r) => [
  r.dataset.seat, r.querySelector('.code').textContent, r.querySelector('a').href])"""
ROLE_LINKS = """[...document.querySelectorAll('#sheet-roles tbody tr')].map((r) => [
  r.dataset.role, r.querySelector('a').href])"""


def watch(page: Page) -> tuple[list[str], list[str]]:
    """The URLs ``page`` requests, and Chromium's console reports of blocked content."""
    requests: list[str] = []
    blocked: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on(
        "console",
        lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return requests, blocked


async def get_json(url: str, token: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status, await response.json()


@pytest.fixture(autouse=True)
def _shots_dir() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)


async def test_home_shows_the_node_key_and_live_health_and_no_session(server: str) -> None:
    created = await create_session(server, load_lot())  # a session the page must not reveal
    _, node = await get_json(f"{server}/api/node")
    errors: list[str] = []
    async with chromium_page(errors, width=1366, height=768, enforce_csp=True) as page:
        requests, blocked = watch(page)
        await page.clock.install()
        await page.goto(f"{server}/")
        await until(page, "document.getElementById('fingerprint').dataset.hex")
        await until(page, "document.getElementById('health').dataset.ok === 'true'")
        assert await page.text_content("#verifier-key") == node["verifier_key"]
        expected = hashlib.sha256(node["verifier_key"].encode()).hexdigest()
        assert await page.get_attribute("#fingerprint", "data-hex") == expected
        assert await page.text_content("#health") == "正常 OK"

        await page.clock.run_for(10_500)  # the health check comes again every 10 s
        await until(page, "document.getElementById('health-time').dataset.checks === '2'")

        await page.screenshot(path=str(SHOTS / "home.png"))
        html = await page.content()
        assert created["session"] not in html
        assert not any("/api/sessions" in url for url in requests), requests
        assert await page.evaluate("document.documentElement.lang") == "zh-CN"
        assert blocked == []
    assert errors == []


async def test_admin_creates_a_session_and_the_sheet_enrols(server: str) -> None:
    lot = load_lot()
    seats = parse_lot(lot).seat_ids()
    errors: list[str] = []
    async with chromium_page(errors, width=1366, height=768, enforce_csp=True) as page:
        _, blocked = watch(page)
        await page.goto(f"{server}/")
        await page.fill("#admin-token", ADMIN)
        await page.set_input_files("#lot-file", DEMO_LOT_PATH)
        await until(page, "document.getElementById('lot-summary').textContent.includes('席位')")
        await page.click("#create-button")
        await until(page, "!document.getElementById('sheet').hidden")

        session = await page.text_content("#sheet-session") or ""
        assert session.startswith("s-")
        assert await page.text_content("#sheet-project-code") == lot["project"]["code"]
        assert await page.text_content("#sheet-project-name") == lot["project"]["name"]
        rows: list[list[str]] = await page.evaluate(ROWS)
        assert [seat for seat, _, _ in rows] == seats
        for seat, code, url in rows:
            assert code
            assert url == f"{server}/seat/{session}/{seat}"
        venues = await page.locator("#sheet-seats tbody td:nth-child(2)").all_text_contents()
        assert venues[0].startswith("host")
        assert venues[-1].startswith("guest-2")
        text = await page.text_content("#sheet") or ""
        assert "一次性登记码，请妥善保管" in text

        # the token stays in this tab's sessionStorage, never in the address or localStorage
        assert ADMIN not in page.url
        assert await page.evaluate("sessionStorage.getItem('evalroom.adminToken')") == ADMIN
        assert await page.evaluate("localStorage.length") == 0

        await page.emulate_media(media="print")
        assert await page.locator("#admin").is_hidden()
        assert await page.locator("header").is_hidden()
        await page.screenshot(path=str(SHOTS / "home-sheet.png"), full_page=True)
        await page.emulate_media(media="screen")

        # every role link reads its session
        links: list[list[str]] = await page.evaluate(ROLE_LINKS)
        assert [role for role, _ in links] == ["supervisor", "supervisor", "auditor", "public"]
        for role, url in links:
            assert url.startswith(f"{server}/{role}/{session}#token=v1.")
            status, _ = await get_json(
                f"{server}/api/sessions/{session}/state", url.split("#token=")[1]
            )
            assert status == 200, role

        # the first seat enrols in this page from its sheet URL with its sheet code
        seat, code, url = rows[0]
        await page.goto(url)
        await until(page, "!document.getElementById('enrol').hidden")
        await page.fill("#code", code)
        await page.click("#enrol-button")
        await until(page, "!document.getElementById('pledge').hidden")
        assert await page.text_content("#enrol-error") == ""
        assert blocked == []

    # and every other code on the sheet enrols its seat through the HTTP API
    for seat, code, _ in rows[1:]:
        answer = await SeatClient(server, session, seat).enrol(code)
        assert answer["ok"] is True, seat
    assert errors == []


async def test_typed_errors_show_in_chinese_and_english(server: str, tmp_path: Path) -> None:
    errors: list[str] = []
    async with chromium_page(errors, enforce_csp=True) as page:
        _, blocked = watch(page)
        await page.goto(f"{server}/")

        broken = tmp_path / "broken.json"
        broken.write_text('{"project": ', encoding="utf-8")
        await page.set_input_files("#lot-file", broken)
        await until(page, "document.getElementById('lot-error').textContent !== ''")
        assert "不是有效的 JSON" in (await page.text_content("#lot-error") or "")
        assert "not valid JSON" in (await page.text_content("#lot-error") or "")

        await page.fill("#admin-token", "not-the-admin-token")
        await page.set_input_files("#lot-file", DEMO_LOT_PATH)
        await until(page, "document.getElementById('lot-error').textContent === ''")
        await until(page, "document.getElementById('lot-summary').textContent !== ''")
        await page.click("#create-button")
        await until(page, "document.getElementById('create-error').dataset.code")
        message = await page.text_content("#create-error") or ""
        assert await page.get_attribute("#create-error", "data-code") == "unauthenticated"
        assert "管理员令牌错误" in message
        assert "admin token is wrong" in message

        not_a_lot = tmp_path / "not-a-lot.json"
        not_a_lot.write_text('{"project": {"code": "X"}}', encoding="utf-8")
        await page.fill("#admin-token", ADMIN)
        await page.set_input_files("#lot-file", not_a_lot)
        await until(page, "document.getElementById('lot-summary').textContent.includes('X')")
        await page.click("#create-button")
        await until(page, "document.getElementById('create-error').dataset.code === 'bad_lot'")
        assert "标段文件内容有误" in (await page.text_content("#create-error") or "")
        assert await page.locator("#sheet").is_hidden()
        assert blocked == []
    assert errors == []
