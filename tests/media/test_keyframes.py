"""Keyframes: a recording starts at one it asked for, and a loss asks for the next one."""

from __future__ import annotations

from typing import Any

import pytest

from server.client.seat import Client
from signaling.embedded import seam
from tests.app.conftest import create_session, load_lot
from tests.media.peers import MediaPeer
from tests.media.replay import Replay, audio_replay, video_replay
from tests.media.room_scenario import enrolled_tokens, until

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
    media_server: str, answers: bool
) -> None:
    """The seat's stream starts inside a GOP (the next keyframe of its own is 1.7 s away)."""
    created = await create_session(media_server, load_lot())
    tokens = await enrolled_tokens(media_server, created)
    seat = sorted(tokens)[0]
    supervisor = MediaPeer(media_server, created["supervisor"][0], decode=False)
    await supervisor.connect()
    assert (await supervisor.join())["ok"]
    video = video_replay(FPS, start_at=5)  # keyframes at 0 and 30 of 60
    watcher = Client(media_server, created["session"], created["supervisor"][1])
    await watcher.connect()
    try:
        publisher = await publish_replay(media_server, tokens[seat], video, answers)
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
        await watcher.disconnect()
    wait_ms = finals()[0]["keyframe_wait_ms"]
    if answers:
        assert video.keyframes_on_request >= 1
        assert 0 <= wait_ms <= 200, wait_ms
    else:  # the control: without the request, the recording waits for the stream's own
        assert video.keyframes_on_request == 0
        assert wait_ms >= 1500, wait_ms
