"""Live media from the seat page in a real Chromium, through the embedded worker, on loopback.

The seat page publishes Chromium's fake camera and microphone; an aiortc supervisor decodes
what the worker forwards, and the recording holds (nearly) every frame the browser sent. The
supervisor's wall shows the seat live with its bitrate. A refused camera shows the reason in
both languages, in the page.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import av
import pytest

from server.client.seat import Client, SeatClient
from tests.app.conftest import create_session, load_lot
from tests.e2e.media_pages import chromium_media, enrol_seat, new_page
from tests.media.conftest import loopback_only as loopback_only
from tests.media.conftest import media_app as media_app
from tests.media.conftest import media_server as media_server
from tests.media.peers import MediaPeer
from tests.media.room_scenario import final_counts, until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEAT_SHOT = Path("/tmp/media-seat-1366.png")
WALL_SHOT = Path("/tmp/media-wall-1366.png")
WALL_SHOT_FULL_HD = Path("/tmp/media-wall-1920.png")
MIN_RATIO = 0.95
VIDEO_FRAMES = 150  # about 10 s of the fake camera at 15 fps

PUBLISHER_CONNECTED = (
    "(() => { const m = window.evalroomMedia;"
    " return m && m.publisher && m.publisher.connectionState === 'connected'; })()"
)


async def _recordings(base: str, session: str, token: str, count: int) -> list[dict[str, Any]]:
    watcher = Client(base, session, token)
    await watcher.connect()
    try:
        await until(
            lambda: sum(e["type"] == "recording.closed" for e in watcher.events.values()) >= count,
            30,
            "recordings",
        )
        return [e["data"] for e in watcher.events.values() if e["type"] == "recording.closed"]
    finally:
        await watcher.disconnect()


async def test_chromium_seat_is_forwarded_and_recorded(media_server: str, tmp_path: Path) -> None:
    created = await create_session(media_server, load_lot())
    session, seat = created["session"], created["seats"][0]
    supervisor = MediaPeer(media_server, created["supervisor"][0])
    await supervisor.connect()
    assert (await supervisor.join())["ok"]
    errors: list[str] = []
    try:
        async with chromium_media() as browser:
            page = await new_page(browser, errors)
            await enrol_seat(page, media_server, session, seat, created["codes"][seat])
            await page.wait_for_function(PUBLISHER_CONNECTED, timeout=20_000)
            sdp = await page.evaluate("window.evalroomMedia.publisher.localDescription.sdp")
            candidates = [line for line in sdp.splitlines() if line.startswith("a=candidate:")]
            assert any(" 127.0.0.1 " in line for line in candidates), candidates
            assert not any(".local " in line for line in candidates), candidates

            # the aiortc supervisor decodes the browser's camera and microphone
            await until(
                lambda: supervisor.frames[(seat, "video")] >= VIDEO_FRAMES, 40, "video frames"
            )
            await until(lambda: supervisor.frames[(seat, "audio")] >= 50, 10, "audio frames")
            state = await page.locator('#media-panel .tile[data-source="self"]').get_attribute(
                "data-state"
            )
            assert state == "connected"
            await page.screenshot(path=str(SEAT_SHOT))

            # stop the camera, let the last frames land, then count what the browser sent
            await page.evaluate(
                "Promise.all(window.evalroomMedia.publisher.getSenders()"
                ".map((s) => s.replaceTrack(null)))"
            )
            await asyncio.sleep(1.5)
            sent = await page.evaluate(
                "window.evalroomMedia.senderStats().then((s) => ({"
                " framesSent: s.video.framesSent, framesEncoded: s.video.framesEncoded,"
                " mimeType: s.video.mimeType }))"
            )
            await page.evaluate("window.evalroomMedia.stop()")
            received = await final_counts(supervisor, 2)
    finally:
        await supervisor.close()

    recorded = received[(seat, "video")]
    ratio = recorded / sent["framesSent"]
    print(f"chromium seat: sent {sent}, recorded {recorded} frames, ratio {ratio:.4f}")
    assert sent["mimeType"] == "video/VP8"
    assert sent["framesSent"] >= VIDEO_FRAMES
    assert ratio >= MIN_RATIO, (sent, recorded)

    manifests = await _recordings(media_server, session, created["supervisor"][0], 2)
    video = next(m for m in manifests if m["seat"] == seat and m["track"] == "video")
    assert video["packets"] == recorded
    path = tmp_path / "recordings" / session / video["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == video["sha256"]
    with av.open(str(path)) as container:
        frames = [f for p in container.demux() if p.size for f in p.decode()]
    assert len(frames) == recorded
    assert (frames[0].width, frames[0].height) == (640, 480)
    assert not errors, errors


async def test_supervisor_wall_shows_the_seats_live(media_server: str) -> None:
    created = await create_session(media_server, load_lot())
    session, seats = created["session"], created["seats"]
    browser_seat, python_seats = seats[0], seats[1:3]
    publishers = []
    for seat in python_seats:  # two aiortc seats beside the browser seat, the others stay dark
        client = SeatClient(media_server, session, seat)
        await client.enrol(created["codes"][seat])
        publishers.append(MediaPeer(media_server, client.token or "", decode=False))
    errors: list[str] = []
    try:
        for peer in publishers:
            await peer.connect()
            assert (await peer.join())["ok"]
            await peer.publish()
        async with chromium_media() as browser:
            page = await new_page(browser, errors)
            await enrol_seat(
                page, media_server, session, browser_seat, created["codes"][browser_seat]
            )
            await page.wait_for_function(PUBLISHER_CONNECTED, timeout=20_000)
            wall = await new_page(browser, errors)
            token = created["supervisor"][1]
            await wall.goto(f"{media_server}/supervisor/{session}#token={token}")
            tile = f'#wall .tile[data-source="{browser_seat}"]'
            await wall.wait_for_function(
                f"(() => {{ const VIDEO_RATE = '.tile-stats tr[data-kind=video] td';"
                f" const t = document.querySelector('{tile}');"
                " return t && t.dataset.media === 'live' && t.dataset.state === 'connected'"
                " && t.querySelector('video').videoWidth > 0"
                " && /^\\d+$/.test(t.querySelector(VIDEO_RATE).textContent); })()",
                timeout=30_000,
            )
            # an ICE restart of the connection sent down: a fresh offer, a new connection
            await wall.evaluate(
                f"window.oldPc = window.evalroomWall.media.subs.get('{browser_seat}').pc;"
                f" window.evalroomWall.media.restartSub('{browser_seat}')"
            )
            await wall.wait_for_function(
                f"(() => {{ const s = window.evalroomWall.media.subs.get('{browser_seat}');"
                " return s && s.pc !== window.oldPc && s.pc.connectionState === 'connected'; })()",
                timeout=20_000,
            )
            await asyncio.sleep(2)  # let every tile show a bitrate
            state = await wall.locator(tile).get_attribute("data-state")
            assert state == "connected"
            assert await wall.locator("#wall .tile").count() == len(seats)
            live = await wall.locator('#wall .tile[data-media="live"]').count()
            assert live == 3
            dark = wall.locator(f'#wall .tile[data-source="{seats[-1]}"] .tile-badge')
            assert (await dark.text_content() or "").startswith("未连接")
            assert await wall.locator("#wall .media-controls").is_hidden()
            await wall.screenshot(path=str(WALL_SHOT))
            await wall.set_viewport_size({"width": 1920, "height": 1080})
            await wall.screenshot(path=str(WALL_SHOT_FULL_HD))
            await page.screenshot(path=str(SEAT_SHOT))
    finally:
        for peer in publishers:
            await peer.close()
    assert not errors, errors


async def test_refused_camera_shows_the_reason_in_both_languages(media_server: str) -> None:
    created = await create_session(media_server, load_lot())
    session, seat = created["session"], created["seats"][0]
    errors: list[str] = []
    # No fake UI: nobody answers the permission prompt, and headless Chromium refuses it.
    args = ["--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection"]
    async with chromium_media(args) as browser:
        page = await new_page(browser, errors)
        await enrol_seat(page, media_server, session, seat, created["codes"][seat])
        error = page.locator("#media-panel .media-error")
        await page.wait_for_function(
            "document.querySelector('#media-panel .media-error').textContent !== ''",
            timeout=15_000,
        )
        text = await error.text_content() or ""
        assert text.startswith("摄像头/麦克风权限被拒绝"), text
        assert "Camera or microphone permission denied" in text
        assert await page.locator("#media-panel .media-retry").is_visible()
        state = await page.locator('#media-panel .tile[data-source="self"]').get_attribute(
            "data-state"
        )
        assert state == "failed"
    assert not errors, errors


async def test_seat_page_mutes_restarts_and_comes_back_after_a_drop(media_server: str) -> None:
    created = await create_session(media_server, load_lot())
    session, seat = created["session"], created["seats"][0]
    supervisor = MediaPeer(media_server, created["supervisor"][0])
    await supervisor.connect()
    assert (await supervisor.join())["ok"]
    watcher = Client(media_server, session, created["supervisor"][0])
    await watcher.connect()
    errors: list[str] = []

    async def more_frames(n: int, what: str) -> None:
        start = supervisor.frames[(seat, "video")]
        await until(lambda: supervisor.frames[(seat, "video")] >= start + n, 30, what)

    try:
        async with chromium_media() as browser:
            page = await new_page(browser, errors)
            await enrol_seat(page, media_server, session, seat, created["codes"][seat])
            await page.wait_for_function(PUBLISHER_CONNECTED, timeout=20_000)
            await more_frames(30, "first frames")

            mute = page.locator("#media-panel .media-mute")
            assert (await mute.text_content() or "").startswith("静音")
            await mute.click()
            assert await mute.get_attribute("aria-pressed") == "true"
            assert (await mute.text_content() or "").startswith("取消静音")
            await until(
                lambda: any(
                    e["type"] == "media.muted" and e["data"]["muted"] is True
                    for e in watcher.events.values()
                ),
                10,
                "media.muted",
            )
            assert await page.evaluate(
                "window.evalroomMedia.local.getAudioTracks().every((t) => !t.enabled)"
            )

            # an ICE restart of the publisher: a new connection, the supervisor gets a new offer
            await page.evaluate("window.evalroomMedia.restartPub()")
            await until(lambda: len(supervisor.offers) >= 2, 15, "offer after the restart")
            await page.wait_for_function(PUBLISHER_CONNECTED, timeout=20_000)
            await more_frames(30, "frames after the restart")

            # the socket drops: the page joins again, publishes again, and stays muted
            await page.evaluate("window.evalroomMedia.socket.io.engine.close()")
            await until(lambda: len(supervisor.offers) >= 3, 20, "offer after the reconnect")
            await page.wait_for_function(PUBLISHER_CONNECTED, timeout=20_000)
            await more_frames(30, "frames after the reconnect")
            mutes = [
                e["data"]
                for e in watcher.events.values()
                if e["type"] == "media.muted" and e["data"]["member"] == f"expert:{seat}"
            ]
            assert [m["muted"] for m in mutes] == [True, True]  # told again after rejoining
    finally:
        await supervisor.close()
        await watcher.disconnect()
    assert not errors, errors
