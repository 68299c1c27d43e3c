"""A seat page whose token lapses on an open socket signs in again with its key and carries on;
a public screen whose link the admin revokes says so."""

from __future__ import annotations

import aiohttp
import pytest

from server.app import tokens
from tests.app.conftest import ADMIN, Room, advance, create_session, load_lot
from tests.e2e.browser import chromium_page

pytestmark = pytest.mark.browser


async def test_a_seat_signs_in_again_when_its_token_lapses(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # seat tokens of 3 s: the server drops the socket at each expiry and the page must come back
    monkeypatch.setattr(tokens, "EXPERT_TOKEN_SECONDS", 3)
    room = Room(server, await create_session(server, load_lot()), load_lot())
    seat = room.created["seats"][0]
    supervisor = await room.supervisor(0)
    await advance(supervisor, "sign_in")
    errors: list[str] = []
    try:
        async with chromium_page(errors) as page:
            logins: list[str] = []
            page.on("request", lambda r: logins.append(r.url) if r.url.endswith("/login") else None)
            await page.goto(f"{server}/seat/{room.session}/{seat}")
            await page.fill("#code", room.created["codes"][seat])
            await page.click("#enrol-button")
            await page.wait_for_function(
                "document.getElementById('conn').className === 'online'", timeout=15_000
            )
            # wait for the socket to be dropped (token_expired) and come back signed in again
            await page.wait_for_function(
                "document.getElementById('conn').textContent.includes('登录已过期')",
                timeout=15_000,
            )
            await page.wait_for_function(
                "document.getElementById('conn').className === 'online'", timeout=15_000
            )
            assert logins, "the page came back without a signed login"
            # the seat still acts: its signed pledge goes through on the renewed socket
            await page.click("#sign-button")
            await page.wait_for_function(
                "document.getElementById('pledge-state').textContent.includes('已签署')",
                timeout=15_000,
            )
    finally:
        await room.close()
    assert not errors, errors


async def test_a_public_screen_says_its_link_was_revoked(server: str) -> None:
    room = Room(server, await create_session(server, load_lot()), load_lot())
    errors: list[str] = []
    try:
        async with chromium_page(errors) as page:
            await page.goto(f"{server}/public/{room.session}#token={room.created['public']}")
            await page.wait_for_function(
                "document.getElementById('conn').className === 'online'", timeout=15_000
            )
            url = f"{server}/api/sessions/{room.session}/tokens/revoke"
            headers = {"Authorization": f"Bearer {ADMIN}"}
            body = {"role": "public", "subject": "screen"}
            async with (
                aiohttp.ClientSession() as http,
                http.post(url, json=body, headers=headers) as response,
            ):
                assert response.status == 200, await response.text()
            await page.wait_for_function(
                "document.getElementById('conn').textContent.includes('已被管理员吊销')",
                timeout=10_000,
            )
    finally:
        await room.close()
    assert not errors, errors
