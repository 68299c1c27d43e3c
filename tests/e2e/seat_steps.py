"""Steps of a browser seat shared by the browser tests and bench/ui.py."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tests.e2e.browser import until

if TYPE_CHECKING:
    from tests.app.conftest import Room


async def enrol_and_sign_in(
    page: Any, base: str, session: str, seat: str, code: str, others: Sequence[Any] = ()
) -> None:
    """Open the seat page, enrol with the one-time code, sign the pledge; ``others`` (headless
    seats) sign in meanwhile, so the session can move on to scoring."""
    await page.goto(f"{base}/seat/{session}/{seat}")
    await page.fill("#code", code)
    await page.click("#enrol-button")
    await until(page, "!document.getElementById('sign-button').disabled", 30)
    await page.click("#sign-button")
    await asyncio.gather(*(other.sign_in() for other in others))
    await until(page, "document.getElementById('pledge-state').textContent.includes('已签署')", 30)


async def session_log(room: Room) -> list[dict[str, Any]]:
    """Every event of the room's session as its first supervisor sees it."""
    sup = room.clients[0]
    answer = await sup.sio.call("sync", {"after": 0}, timeout=30)
    assert answer["ok"], answer
    return list(answer["events"])


def events_by_type(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """``events`` grouped by their type, in log order."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        grouped.setdefault(event["type"], []).append(event)
    return grouped
