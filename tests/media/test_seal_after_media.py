"""The close ends the media room and the seal waits for the recordings: a seat publishing when
the session closes is told ``ended``, its two recordings reach the log between the close and the
seal, a join afterwards is refused, and the archive proves the session whole."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from server.auditlog.archive import verify_archive
from server.client.seat import Client, SeatClient
from server.client.simulate import run_session
from tests.app.conftest import create_session, load_lot
from tests.media.peers import MediaPeer


async def test_the_seal_follows_the_recordings_of_a_seat_still_publishing(
    media_app: tuple[str, web.Application], tmp_path: Path
) -> None:
    base, _ = media_app
    lot = load_lot()
    created = await create_session(base, lot)
    peers: list[MediaPeer] = []
    ended: list[Any] = []

    async def publish(seats: list[SeatClient]) -> None:
        peer = MediaPeer(base, seats[0].token, decode=False)
        peers.append(peer)
        peer.sio.on("ended", ended.append, namespace="/media")
        await peer.connect()
        assert (await peer.join())["ok"]
        await peer.publish()
        await asyncio.sleep(2)  # packets flow and are written before the session goes on

    try:
        summary = await run_session(base, created, lot, on_enrolled=publish)
        late = MediaPeer(base, created["supervisor"][1], decode=False)
        peers.append(late)
        await late.connect()
        refused = await late.join()
    finally:
        for peer in peers:
            await peer.close()
    assert ended == [{"reason": "session_closed"}]
    assert refused["ok"] is False
    assert refused["error"]["code"] == "forbidden"

    auditor = Client(base, created["session"], created["auditor"])
    await auditor.connect()
    try:
        await auditor.wait_for_seq(summary["head"])
        log = [auditor.events[seq] for seq in sorted(auditor.events)]
    finally:
        await auditor.disconnect()
    close = next(
        e["seq"] for e in log if e["type"] == "phase.changed" and e["data"]["to"] == "closed"
    )
    after = [(e["type"], e["actor"]) for e in log if e["seq"] > close]
    assert after[-1] == ("session.sealed", "node:timer")
    assert log[-1]["seq"] == summary["head"]  # the close's ack named the seal
    assert after.count(("recording.closed", "media:node")) == 2  # both tracks, before the seal
    assert ("media.left", "media:node") in after

    url = f"{base}/api/sessions/{created['session']}/archive"
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {created['auditor']}"}
        async with http.get(url, headers=headers) as response:
            assert response.status == 200, await response.text()
            (tmp_path / "archive.zip").write_bytes(await response.read())
    report = verify_archive(tmp_path / "archive.zip")  # not allow_open: it is whole
    assert report.ok, report.problems
    assert report.counts["recordings"] == 2
    assert report.counts["seals"] == 1
