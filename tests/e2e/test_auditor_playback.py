"""The auditor page in Chromium plays a real seat recording: listed from the log, opened at the
moment of a clicked event, played, and its SHA-256 checked in the page with WebCrypto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.app.conftest import create_session, load_lot
from tests.app.test_recordings_http import record_seat
from tests.e2e.browser import chromium_page
from tests.media.conftest import loopback_only as loopback_only
from tests.media.conftest import media_app as media_app
from tests.media.conftest import media_server as media_server
from tests.media.peers import MediaPeer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOT = Path("/tmp/auditor-playback-1366.png")


async def _mute(peer: MediaPeer) -> None:
    assert (await peer.call("mute", {"kind": "audio", "muted": True}))["ok"]


async def _event(base: str, session: str, token: str, kind: str) -> dict[str, Any]:
    url = f"{base}/api/sessions/{session}/events"
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        events: list[dict[str, Any]] = (await response.json())["events"]
    return next(e for e in events if e["type"] == kind)


async def test_auditor_plays_a_recording_at_an_event_and_verifies_it(media_server: str) -> None:
    created = await create_session(media_server, load_lot())
    session, auditor = created["session"], created["auditor"]
    tokens, recordings = await record_seat(media_server, created, 5.0, during=_mute)
    seat = sorted(tokens)[0]
    video = next(r for r in recordings if r["track"] == "video")
    muted = await _event(media_server, session, auditor, "media.muted")
    assert muted["data"]["member"] == f"expert:{seat}"
    assert video["start_ms"] + 500 < muted["t"] < video["end_ms"] - 500
    expected = (muted["t"] - video["start_ms"]) / 1000

    errors: list[str] = []
    async with chromium_page(errors, width=1366, height=768) as page:
        await page.goto(f"{media_server}/auditor/{session}#token={auditor}")
        await page.wait_for_function(
            "document.querySelectorAll('#replay-list tr[data-file]').length === 2", timeout=15_000
        )
        row = page.locator(f'#replay-list tr[data-file="{video["file"]}"]')
        assert "⚠" not in (await row.text_content() or "")
        assert video["sha256"][:12] in (await row.text_content() or "")
        venue = next(v["name"] for v in load_lot()["venues"] if seat.startswith(v["id"] + "-"))
        assert venue in (await row.text_content() or "")

        await page.locator(f'#events li[value="{muted["seq"]}"] .replay-at').click()
        await page.wait_for_function("!!window.evalroomReplay.state.seeked", timeout=15_000)
        seeked = await page.evaluate("window.evalroomReplay.state.seeked")
        assert seeked["file"] == video["file"]
        assert abs(seeked["currentTime"] - expected) <= 1.0, (seeked, expected)
        assert await page.evaluate("document.getElementById('replay-media').tagName") == "VIDEO"
        # it plays: decoded frames and a moving clock (or it reached the end)
        await page.wait_for_function(
            "(() => { const v = document.getElementById('replay-media');"
            f" return v.readyState >= 2 && (v.currentTime > {seeked['currentTime']} + 0.3"
            " || v.ended); })()",
            timeout=15_000,
        )
        assert await page.evaluate("document.getElementById('replay-media').videoWidth") > 0

        # the timeline moves away and back: the recording playing follows it to that moment
        await page.evaluate(
            "window.evalroomReplay.state.seeked = null; window.evalroomAuditor.seek(1);"
            f" window.evalroomAuditor.seek({muted['seq']})"
        )
        await page.wait_for_function(
            "(() => { const s = window.evalroomReplay.state.seeked;"
            f" return s && Math.abs(s.target - {expected}) < 0.01; }})()",
            timeout=15_000,
        )

        await row.locator(".replay-verify").click()
        await page.wait_for_function(
            f"""(() => {{ const c = document.querySelector(
                  '#replay-list tr[data-file="{video["file"]}"] .replay-check');
                return c && (c.classList.contains('match') || c.classList.contains('mismatch')
                  || c.classList.contains('error')); }})()""",
            timeout=15_000,
        )
        check = row.locator(".replay-check")
        assert await check.get_attribute("class") == "replay-check match"
        assert "一致 Match" in (await check.text_content() or "")

        await page.locator("#replay").scroll_into_view_if_needed()
        await page.screenshot(path=str(SHOT))

        # a supervisor gets the panel only once the session is closed
        await page.goto(f"{media_server}/supervisor/{session}#token={created['supervisor'][0]}")
        await page.wait_for_function("!!window.evalroomReplay", timeout=15_000)
        await page.wait_for_selector("#seats tr[data-seat]", timeout=15_000)
        assert await page.locator("#replay").is_hidden()
    assert not errors, errors
