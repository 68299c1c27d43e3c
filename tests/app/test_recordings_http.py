"""The recordings routes against a real recording: a seat publishes through the worker, closes,
and the files its ``recording.closed`` events name are listed and served (Range, hash, roles)."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from server.app.audit_http import CONFIG_DATA_DIR
from server.app.recordings_http import plain_file_name, recording_entry
from tests.app.conftest import ADMIN, create_session, load_lot
from tests.media.conftest import loopback_only as loopback_only
from tests.media.conftest import media_app as media_app
from tests.media.conftest import media_server as media_server
from tests.media.peers import MediaPeer
from tests.media.room_scenario import enrolled_tokens


def test_plain_file_names_only() -> None:
    assert plain_file_name("s1.video.0001.webm")
    for name in ("", ".", "..", "../node.key", "a/b", "a\\b"):
        assert not plain_file_name(name), name


def test_entry_carries_seq_data_and_url() -> None:
    entry = recording_entry("S", 7, 1000, {"file": "f.webm", "track": "video"})
    assert entry == {
        "seq": 7,
        "t": 1000,
        "file": "f.webm",
        "track": "video",
        "url": "/api/sessions/S/recordings/f.webm",
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def listed(base: str, session: str, token: str) -> list[dict[str, Any]]:
    url = f"{base}/api/sessions/{session}/recordings"
    async with aiohttp.ClientSession() as http, http.get(url, headers=bearer(token)) as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
    recordings: list[dict[str, Any]] = body["recordings"]
    return recordings


async def record_seat(
    base: str, created: dict[str, Any], seconds: float, during: Any = None
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Every seat enrols, the first publishes for ``seconds`` (``during(peer)`` runs midway) and
    closes; the seats' tokens and the two logged recordings, as the auditor's list shows them."""
    tokens = await enrolled_tokens(base, created)
    seat = sorted(tokens)[0]
    peer = MediaPeer(base, tokens[seat], decode=False)
    try:
        await peer.connect()
        assert (await peer.join())["ok"]
        await peer.publish()
        await asyncio.sleep(seconds / 2)
        if during is not None:
            await during(peer)
        await asyncio.sleep(seconds / 2)
    finally:
        await peer.close()
    session, auditor = created["session"], created["auditor"]
    async with asyncio.timeout(20):
        while len(recordings := await listed(base, session, auditor)) < 2:  # noqa: ASYNC110 - polls HTTP
            await asyncio.sleep(0.2)
    return tokens, recordings


@pytest.mark.slow
async def test_recordings_are_listed_and_served_from_the_log(
    media_app: tuple[str, web.Application],
) -> None:
    base, app = media_app
    created = await create_session(base, load_lot())
    session = created["session"]
    tokens, recordings = await record_seat(base, created, 2.5)
    seat = sorted(tokens)[0]
    folder = app[CONFIG_DATA_DIR] / "recordings" / session

    assert sorted(r["track"] for r in recordings) == ["audio", "video"]
    for r in recordings:
        data = (folder / r["file"]).read_bytes()
        assert r["seat"] == seat
        assert r["sha256"] == hashlib.sha256(data).hexdigest()
        assert r["size"] == len(data)
        assert r["url"] == f"/api/sessions/{session}/recordings/{r['file']}"
        assert r["start_ms"] <= r["end_ms"]
        assert isinstance(r["seq"], int)
        assert r["cut"] is False
    # the supervisor and the admin read the same list
    assert await listed(base, session, created["supervisor"][0]) == recordings
    assert await listed(base, session, ADMIN) == recordings

    video = next(r for r in recordings if r["track"] == "video")
    audio = next(r for r in recordings if r["track"] == "audio")
    whole = (folder / video["file"]).read_bytes()
    auditor = bearer(created["auditor"])
    async with aiohttp.ClientSession() as http:
        async with http.get(base + video["url"], headers=auditor) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "video/webm"
            assert response.headers["X-Content-SHA256"] == video["sha256"]
            assert response.headers["Accept-Ranges"] == "bytes"
            assert await response.read() == whole
        async with http.get(base + audio["url"], headers=auditor) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "audio/webm"
        ranged = {**auditor, "Range": "bytes=100-1123"}
        async with http.get(base + video["url"], headers=ranged) as response:
            assert response.status == 206
            assert response.headers["Content-Range"] == f"bytes 100-1123/{len(whole)}"
            assert response.headers["X-Content-SHA256"] == video["sha256"]
            assert await response.read() == whole[100:1124]
        async with http.get(
            base + video["url"], headers={**auditor, "Range": f"bytes=-{len(whole) // 3}"}
        ) as response:
            assert response.status == 206
            assert await response.read() == whole[-(len(whole) // 3) :]

        # ?token= for the <video> element, on both routes
        query = {"token": created["auditor"]}
        async with http.get(base + video["url"], params=query) as response:
            assert response.status == 200
            assert await response.read() == whole
        listing = f"{base}/api/sessions/{session}/recordings"
        async with http.get(listing, params=query) as response:
            assert response.status == 200
            assert (await response.json())["recordings"] == recordings
            assert response.headers["Cache-Control"] == "private, no-store"


@pytest.mark.slow
async def test_recordings_refuse_other_roles_and_unlogged_names(
    media_app: tuple[str, web.Application],
) -> None:
    base, app = media_app
    created = await create_session(base, load_lot())
    other = await create_session(base, load_lot())
    session = created["session"]
    tokens, recordings = await record_seat(base, created, 2.0)
    video = next(r for r in recordings if r["track"] == "video")
    # a file in the session's folder that no event names
    (app[CONFIG_DATA_DIR] / "recordings" / session / "stray.webm").write_bytes(b"not logged")
    expert = tokens[sorted(tokens)[-1]]
    listing = f"{base}/api/sessions/{session}/recordings"
    async with aiohttp.ClientSession() as http:

        async def status(url: str | URL, token: str | None = None, **kw: Any) -> int:
            headers = bearer(token) if token else {}
            async with http.get(url, headers=headers, **kw) as response:
                await response.read()
                return response.status

        for url in (listing, base + video["url"]):
            assert await status(url, created["public"]) == 403
            assert await status(url, expert) == 403
            assert await status(url, other["auditor"]) == 403  # another session's auditor
            assert await status(url, None) == 401
            assert await status(url, None, params={"token": created["public"]}) == 403
            assert await status(url, None, params={"token": expert}) == 403

        auditor = created["auditor"]
        root = f"{base}/api/sessions/{session}/recordings/"
        assert await status(root + "stray.webm", auditor) == 404
        assert await status(root + "nothing.webm", auditor) == 404
        for raw in ("..%2Fnode.key", "..%2F..%2Fnode.key", "%2E%2E", "..", "..%5Cnode.key"):
            assert await status(URL(root + raw, encoded=True), auditor) == 404, raw
        assert await status(URL(root + "../../../node.key", encoded=True), auditor) == 404
        unknown = f"{base}/api/sessions/nosuchsession/recordings"
        assert await status(unknown, ADMIN) == 404
