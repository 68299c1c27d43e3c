"""Chromium for live media tests: fake camera and microphone, peer connections on loopback.

Flags (Chromium 156, Debian):
- ``--use-fake-device-for-media-stream``: a synthetic camera (a moving test pattern) and a beep.
- ``--use-fake-ui-for-media-stream``: getUserMedia is granted without a prompt. A page that holds
  camera permission gets its real host addresses in its ICE candidates; the others (a supervisor's
  wall only receives) would hide them behind mDNS ``.local`` names, which the worker cannot
  resolve on loopback, hence ``--disable-features=WebRtcHideLocalIpsWithMdns``.
- ``--allow-loopback-in-peer-connection``: gather candidates on 127.0.0.1 (the test server's
  worker announces only 127.0.0.1, ``EVALROOM_MEDIA_ADDRESSES``).
- ``--autoplay-policy=no-user-gesture-required``: remote tiles play with sound without a click.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS

FAKE_MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]


@asynccontextmanager
async def chromium_media(args: list[str] | None = None) -> AsyncIterator[Any]:
    """A headless Chromium with ``args`` (default: fake devices, granted, loopback)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[*CHROMIUM_ARGS, *(FAKE_MEDIA_ARGS if args is None else args)],
        )
        try:
            yield browser
        finally:
            await browser.close()


async def new_page(browser: Any, errors: list[str], width: int = 1366, height: int = 768) -> Any:
    """A page whose uncaught errors and failed requests go to ``errors``."""
    # bypass_csp: wait_for_function evals its predicate in the page (tests/e2e/browser.py)
    page = await browser.new_page(viewport={"width": width, "height": height}, bypass_csp=True)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    return page


async def enrol_seat(page: Any, base: str, session: str, seat: str, code: str) -> None:
    """Open the seat page and enrol it with its one-time code (media starts with the token)."""
    await page.goto(f"{base}/seat/{session}/{seat}")
    await page.fill("#code", code)
    await page.click("#enrol-button")
    await page.wait_for_function("!!window.evalroomMedia", timeout=15_000)
