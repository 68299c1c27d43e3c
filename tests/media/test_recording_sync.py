"""What the recordings and the log say about time: A/V alignment, dark seats, mutes."""

from __future__ import annotations

import asyncio
import zipfile
from pathlib import Path

import aiohttp
import pytest

from recordings.manifest import SenderReport, wall_ms_of
from server.auditlog.archive import verify_archive
from tests.media.peers import MediaPeer
from tests.media.room_scenario import until
from tests.media.scenarios import OneSeat, av_alignment, check_alignment

pytestmark = pytest.mark.slow


async def test_audio_and_video_align_through_sender_reports(
    one_seat: OneSeat, tmp_path: Path
) -> None:
    """Video starts 0.5 s after audio; both files start at pts 0, the manifests say when."""
    media_server = one_seat.base
    created = one_seat.created
    result = await av_alignment(one_seat)
    check_alignment(result)
    by_track = result["manifests"]
    for manifest in by_track.values():
        assert manifest["sender_reports"], "aligned from sender reports, not arrival"
        reports = [SenderReport(**r) for r in manifest["sender_reports"]]
        mapped = wall_ms_of(manifest["first_pts"], manifest["clock_rate"], reports)
        assert mapped == manifest["start_ms"]

    # The archive carries both files, and the verifier binds them to the signed log.
    await asyncio.sleep(1.5)  # the next checkpoint covers the recording.closed events
    url = f"{media_server}/api/sessions/{created['session']}/archive"
    auditor = {"Authorization": f"Bearer {created['auditor']}"}
    async with aiohttp.ClientSession() as http, http.get(url, headers=auditor) as response:
        assert response.status == 200
        (tmp_path / "archive.zip").write_bytes(await response.read())
    report = verify_archive(tmp_path / "archive.zip", allow_open=True)  # a session still open
    assert report.ok, [str(p) for p in report.problems]
    assert report.counts["recordings"] == 2
    with zipfile.ZipFile(tmp_path / "archive.zip") as zf:
        names = set(zf.namelist())
    assert {f"recordings/{m['file']}" for m in by_track.values()} <= names
    assert not any(n.endswith((".logged", ".part.json")) for n in names)


async def test_a_dark_camera_alerts_once_and_a_muted_microphone_never(one_seat: OneSeat) -> None:
    media_server = one_seat.base
    created = one_seat.created
    seat = one_seat.seat
    supervisor = MediaPeer(media_server, created["supervisor"][0], decode=False)
    publisher = MediaPeer(media_server, one_seat.token, decode=False)
    try:
        for peer in (supervisor, publisher):  # a supervisor in the room gets the status
            await peer.connect()
            assert (await peer.join())["ok"]
        await publisher.publish()
        await until(lambda: len(supervisor.status) >= 2, 20, "status")
        assert (await publisher.call("mute", {"kind": "audio", "muted": True}))["ok"]
        assert publisher.camera is not None
        assert publisher.microphone is not None
        publisher.microphone.paused.set()  # muted and silent: on purpose, so no alert
        publisher.camera.paused.set()
        await until(lambda: one_seat.of_type("media.alert"), 20, "alert")
        await asyncio.sleep(4)  # still dark: no second alert
        alerts = one_seat.of_type("media.alert")
        assert alerts == [{"member": f"expert:{seat}", "kind": "video", "dark_ms": 3000}]
        muted = one_seat.of_type("media.muted")
        assert muted == [{"member": f"expert:{seat}", "kind": "audio", "muted": True}]
        publisher.camera.paused.clear()
        await asyncio.sleep(2)
        assert len(one_seat.of_type("media.alert")) == 1
        states = one_seat.of_type("media.state")
        assert {
            "member": f"expert:{seat}",
            "conn": f"p.{created['session']}.{seat}",
            "state": "connected",
        } in states
    finally:
        await publisher.close()
        await supervisor.close()


async def test_a_clean_stop_records_every_frame_the_seat_sent(one_seat: OneSeat) -> None:
    """Nothing stays behind in the receiver's jitter buffer when a connection closes."""
    media_server = one_seat.base
    publisher = MediaPeer(media_server, one_seat.token, decode=False)
    try:
        await publisher.connect()
        assert (await publisher.join())["ok"]
        await publisher.publish()
        await asyncio.sleep(3)
        assert publisher.camera is not None
        assert publisher.microphone is not None
        publisher.camera.paused.set()
        publisher.microphone.paused.set()
        await asyncio.sleep(1)  # whatever was encoded has gone out
        assert publisher.pub is not None
        audio_sender = next(s for s in publisher.pub.getSenders() if s.kind == "audio")
        outbound = [r for r in (await audio_sender.getStats()).values() if r.type == "outbound-rtp"]
        # One Opus packet per RTP packet; the encoder may hold back the first 20 ms, so count
        # what went out. Video: one frame per picture the camera gave.
        sent = {"video": publisher.camera.sent, "audio": outbound[0].packetsSent}
        await publisher.close()
        await until(lambda: len(one_seat.of_type("recording.closed")) == 2, 20, "manifests")
    finally:
        await publisher.close()
    recorded = {m["track"]: m["packets"] for m in one_seat.of_type("recording.closed")}
    assert recorded == sent
