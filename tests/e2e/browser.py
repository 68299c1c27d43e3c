"""One headless Debian Chromium page for a browser test (playwright drives the system binary).

Importing this module skips the importing test module when Chromium is missing (fails in CI).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        pytest.fail(
            "/usr/bin/chromium is missing on CI: run scripts/install-chromium.sh",
            pytrace=False,
        )
    pytest.skip("needs Debian chromium at /usr/bin/chromium", allow_module_level=True)


@asynccontextmanager
async def chromium_page(
    errors: list[str] | None = None, width: int = 1400, height: int = 900, enforce_csp: bool = False
) -> AsyncIterator[Any]:
    """A fresh page; uncaught page errors go to ``errors``; the browser closes after.

    The server's Content-Security-Policy allows no ``eval``, and Playwright's ``wait_for_function``
    evaluates its predicate with ``eval`` in the page, so pages bypass the policy unless
    ``enforce_csp`` (tests/e2e/test_csp.py checks the policy itself, polling with ``evaluate``).
    """
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(
                viewport={"width": width, "height": height}, bypass_csp=not enforce_csp
            )
            if errors is not None:
                page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page
        finally:
            await browser.close()


async def confirm(page: Any) -> None:
    """Answer 确定 Confirm in the page's confirmation dialog (common.js ``Evalroom.confirm``)."""
    await page.click("dialog.confirm button[value=yes]", timeout=15_000)


async def until(page: Any, expression: str, seconds: float = 15) -> None:
    """Poll ``expression`` in the page until it is truthy.

    Playwright's ``wait_for_function`` evaluates with ``eval``, which a page under the server's
    Content-Security-Policy refuses; ``evaluate`` of an expression is allowed.
    """
    async with asyncio.timeout(seconds):
        while True:
            if await page.evaluate(expression):
                return
            await asyncio.sleep(0.05)


async def another_page(
    page: Any, errors: list[str] | None, width: int, height: int, enforce_csp: bool = True
) -> Any:
    """A new page in ``page``'s browser (its own context), reporting to ``errors`` likewise."""
    other = await page.context.browser.new_page(
        viewport={"width": width, "height": height}, bypass_csp=not enforce_csp
    )
    if errors is not None:
        other.on("pageerror", lambda exc: errors.append(str(exc)))
    return other
