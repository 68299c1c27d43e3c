"""Keyframes: a recording starts at one it asked for, and a loss asks for the next one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest

from signaling.embedded import seam
from tests.media.peers import MediaPeer
from tests.media.replay import Replay, audio_replay, video_replay
from tests.media.room_scenario import until
from tests.media.scenarios import OneSeat

pytestmark = pytest.mark.slow
FPS = 15


async def publish_replay(
    base: str, token: str, video: Replay, answers_keyframe_requests: bool
) -> MediaPeer:
    """A seat sending the replayed stream; it answers a keyframe request like an encoder."""
    peer = MediaPeer(base, token, decode=False)
    await peer.connect()
    assert (await peer.join())["ok"]
    audio = audio_replay()
    if answers_keyframe_requests:
        original = peer.publish_tracks

        async def publish_and_hook(a: Any, v: Any) -> dict[str, Any]:
            answer = await original(a, v)
            assert peer.pub is not None
            sender = next(s for s in peer.pub.getSenders() if s.kind == "video")
            seam.hook_sender(sender, video.keyframe_requested)
            return answer

        await publish_and_hook(audio, video)
    else:
        await peer.publish_tracks(audio, video)
    return peer


@pytest.mark.parametrize("answers", [True, False], ids=["encoder-answers", "encoder-deaf"])
async def test_a_recording_starts_at_the_keyframe_it_asked_for(
    one_seat: OneSeat, answers: bool
) -> None:
    """The seat's stream starts inside a GOP (the next keyframe of its own is 1.7 s away)."""
    media_server = one_seat.base
    created = one_seat.created
    watcher = one_seat.watcher
    supervisor = MediaPeer(media_server, created["supervisor"][0], decode=False)
    await supervisor.connect()
    assert (await supervisor.join())["ok"]
    video = video_replay(FPS, start_at=5)  # keyframes at 0 and 30 of 60
    try:
        publisher = await publish_replay(media_server, one_seat.token, video, answers)
        await until(lambda: video.sent >= 40, 20, "frames")
        await publisher.close()

        def finals() -> list[dict[str, Any]]:
            tracks = (t for s in supervisor.status for t in s["tracks"])
            return [t for t in tracks if t.get("final") and t["kind"] == "video"]

        await until(finals, 20, "final status")
        await until(
            lambda: any(e["type"] == "recording.closed" for e in watcher.events.values()),
            20,
            "manifest",
        )
    finally:
        await supervisor.close()
    wait_ms = finals()[0]["keyframe_wait_ms"]
    if answers:
        assert video.keyframes_on_request >= 1
        assert 0 <= wait_ms <= 200, wait_ms
    else:  # the control: without the request, the recording waits for the stream's own
        assert video.keyframes_on_request == 0
        assert wait_ms >= 1500, wait_ms


def final_counts(supervisor: MediaPeer, _n: int) -> dict[str, Any]:
    """The closing status of the seat's video track (empty until it came)."""
    for status in supervisor.status:
        for track in status["tracks"]:
            if track.get("final") and track["kind"] == "video":
                return dict(track)
    return {}


def lose_video_packets(peer: MediaPeer, count: int) -> list[int]:
    """The seat's next ``count`` video RTP packets are lost, and it never retransmits."""
    assert peer.pub is not None
    sender = next(s for s in peer.pub.getSenders() if s.kind == "video")
    sender._retransmit = _no_retransmission  # type: ignore[method-assign]
    transport = sender.transport
    send = transport._send_rtp
    ssrc = sender._ssrc
    lost: list[int] = []

    async def lossy(data: bytes) -> None:
        is_rtp = len(data) > 12 and not 72 <= data[1] & 0x7F <= 76  # RTCP types 200..204
        if is_rtp and int.from_bytes(data[8:12], "big") == ssrc and len(lost) < count:
            lost.append(int.from_bytes(data[2:4], "big"))
            return
        await send(data)

    transport._send_rtp = lossy  # type: ignore[method-assign]
    return lost


async def _no_retransmission(sequence_number: int) -> None:
    return None


async def test_a_loss_asks_for_a_keyframe_and_the_recording_resumes_at_it(
    one_seat: OneSeat, tmp_path: Path
) -> None:
    media_server = one_seat.base
    created = one_seat.created
    seat = one_seat.seat
    supervisor = MediaPeer(media_server, created["supervisor"][0], decode=False)
    await supervisor.connect()
    assert (await supervisor.join())["ok"]
    video = video_replay(FPS)
    try:
        publisher = await publish_replay(media_server, one_seat.token, video, True)
        await until(lambda: video.sent >= 30, 20, "frames")
        lost = lose_video_packets(publisher, 3)
        await until(lambda: len(lost) == 3, 10, "the loss")
        asked_before = video.keyframes_on_request
        await until(lambda: video.sent >= 75, 20, "frames after the loss")
        video.paused = True
        await publisher.close()
        await until(lambda: final_counts(supervisor, 1), 20, "final status")
    finally:
        await supervisor.close()
    final = final_counts(supervisor, 1)
    assert asked_before == 0
    assert video.keyframes_on_request >= 1  # the gap asked for a keyframe
    assert final["lost"] >= 3
    # Without skipping the hole at that keyframe, aiortc's buffer would hold everything after
    # the loss for 512 packets (about 11 s here): the recording would end at the loss.
    assert final["packets"] >= video.sent - FPS, (final, video.sent)
    # What was recorded decodes: the frames that depended on the lost packets were skipped.
    (path,) = (tmp_path / "recordings" / created["session"]).glob(f"{seat}-video-*.webm")
    with av.open(str(path)) as container:
        packets = [p for p in container.demux() if p.size]
        frames = [f for p in packets for f in p.decode()]
    assert len(frames) == len(packets) == final["packets"]
