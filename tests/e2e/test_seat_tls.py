"""A seat on another machine: the seat page opened by host name over HTTPS, the venue CA trusted.

The server serves HTTPS with a certificate from ``evalroom tls init`` for ``venue.test``; Chromium
resolves that name to 127.0.0.1 (``--host-resolver-rules``) and trusts the venue CA through a
fresh profile's NSS database (``certutil``), with no certificate error switched off. The page is a
secure context only because of that: it enrols a WebCrypto key, signs the pledge and a score.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from server.app.config import Config
from server.app.listen import ssl_context
from server.app.main import make_app
from server.app.tls_init import write_tls
from server.client.seat import Client, SeatClient
from tests.app.conftest import ADMIN, TOKEN_KEY, free_port
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.test_seat_browser import _create_session, _wait_for

pytestmark = pytest.mark.browser
HOST = "venue.test"


def trusting_home(home: Path, ca: Path) -> dict[str, str]:
    """A HOME whose NSS database (what Chromium on Linux trusts) holds the venue CA."""
    certutil = shutil.which("certutil")
    if certutil is None:
        if os.environ.get("CI") == "true":
            pytest.fail("certutil is missing on CI: run scripts/install-chromium.sh")
        pytest.skip("needs certutil (libnss3-tools): run scripts/install-chromium.sh")
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    for args in (
        ["-N", "--empty-password"],
        ["-A", "-t", "C,,", "-n", "evalroom-venue", "-i", str(ca)],
    ):
        subprocess.run([certutil, "-d", f"sql:{nssdb}", *args], check=True, timeout=30)
    return {**os.environ, "HOME": str(home)}


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[str, str, Path]]:
    """(HTTPS base by host name for the browser, plain loopback base for Python clients, CA)."""
    files = write_tls(tmp_path / "tls", HOST, ["127.0.0.1"], dt.datetime.now(dt.UTC))
    tls_port, plain_port = free_port(), free_port()
    config = Config.from_env(
        {},
        EVALROOM_DATA_DIR=str(tmp_path / "data"),
        EVALROOM_PORT=str(tls_port),
        EVALROOM_ADMIN_TOKEN=ADMIN,
        EVALROOM_TOKEN_KEY=TOKEN_KEY,
        EVALROOM_TLS_CERT=str(files.cert),
        EVALROOM_TLS_KEY=str(files.key),
    )
    runner = web.AppRunner(make_app(config))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", tls_port, ssl_context=ssl_context(config)).start()
    await web.TCPSite(runner, "127.0.0.1", plain_port).start()  # loopback: staff scripts
    try:
        yield f"https://{HOST}:{tls_port}", f"http://127.0.0.1:{plain_port}", files.ca
    finally:
        await runner.cleanup()


async def test_a_seat_by_host_name_over_https_enrols_and_signs(
    tls_server: tuple[str, str, Path], tmp_path: Path
) -> None:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import async_playwright

    https, plain, ca = tls_server
    created = await _create_session(plain)
    session, seats, codes = created["session"], created["seats"], created["codes"]
    browser_seat, python_seats = seats[0], seats[1:]
    supervisor = Client(plain, session, created["supervisor"][0])
    await supervisor.connect()
    await supervisor.command({"id": "p1", "type": "phase.advance", "to": "sign_in"})
    env = trusting_home(tmp_path / "home", ca)
    args = [*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {HOST} 127.0.0.1"]
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=args, env=env)
        try:
            page = await browser.new_page(bypass_csp=True)  # see tests/e2e/browser.py
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            response = await page.goto(f"{https}/seat/{session}/{browser_seat}")
            assert response is not None
            assert response.ok
            assert await page.evaluate("window.isSecureContext && !!crypto.subtle")
            await page.fill("#code", codes[browser_seat])
            await page.click("#enrol-button")
            await page.wait_for_function(
                "!document.getElementById('sign-button').disabled", timeout=15_000
            )
            for seat in python_seats:
                client = SeatClient(plain, session, seat)
                await client.enrol(codes[seat])
                await client.connect()
                await client.sign_in()
                await client.disconnect()
            await page.click("#sign-button")
            await page.wait_for_function(
                "document.getElementById('pledge-state').textContent.includes('已签署')",
                timeout=15_000,
            )
            await supervisor.command({"id": "p2", "type": "phase.advance", "to": "scoring"})
            draw = await _wait_for(supervisor, lambda e: e["type"] == "blind.assigned")
            first = f"{draw['data']['seats'][browser_seat][0][0]}/T1"
            cell = page.locator(f'input[data-cell="{first}"]')
            await cell.wait_for(state="visible", timeout=15_000)
            await page.wait_for_function(
                f"!document.querySelector('input[data-cell=\"{first}\"]').disabled",
                timeout=15_000,
            )
            await cell.fill("7.5")
            await cell.press("Tab")
            await page.wait_for_function(
                f"document.querySelector('[data-state-for=\"{first}\"]').textContent"
                ".includes('已保存')",
                timeout=15_000,
            )
        finally:
            await browser.close()
        # The control: the same browser without the venue CA refuses the server.
        (tmp_path / "untrusting").mkdir()
        env = {**os.environ, "HOME": str(tmp_path / "untrusting")}
        stranger = await pw.chromium.launch(executable_path=str(CHROMIUM), args=args, env=env)
        try:
            page = await stranger.new_page(bypass_csp=True)
            with pytest.raises(PlaywrightError, match="ERR_CERT_AUTHORITY_INVALID"):
                await page.goto(f"{https}/seat/{session}/{browser_seat}")
        finally:
            await stranger.close()
    enrolled = await _wait_for(
        supervisor, lambda e: e["type"] == "seat.enrolled" and e["data"]["seat"] == browser_seat
    )
    scored: dict[str, Any] = await _wait_for(
        supervisor, lambda e: e["type"] == "score.set" and e["data"]["seat"] == browser_seat
    )
    await supervisor.disconnect()
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(enrolled["data"]["key"]["public"]))
    key.verify(base64.b64decode(scored["data"]["sig"]), scored["data"]["signed"].encode())
    assert scored["data"]["value"] == "7.5"
    assert not errors, errors
