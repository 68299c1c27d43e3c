"""A recorder process for the crash tests: ``python -m tests.recordings.crash_child DIR MODE``.

It records one seat's audio and video with :class:`TrackWriter` and prints ``<track> <pts>`` after
each frame is written (flushed), so the parent knows what had reached the writer when it sent
SIGKILL. MODE ``paced`` delivers frames in real time for 3 s (video at 30 fps, audio every 20 ms)
and then waits to be killed; ``burst`` writes 60 video frames at once and kills itself.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

from recordings.manifest import SenderReport
from recordings.track_writer import TrackWriter
from tests.recordings.media import AUDIO_RATE, FPS, VIDEO_RATE, opus_frames, vp8_frames

SESSION, SEAT = "s-crash", "v1-1"
WALL_START_MS = 1_700_000_000_000
VIDEO_BASE, AUDIO_BASE = 5_000_000, 7_000_000  # RTP clocks do not start at 0


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def paced(directory: Path) -> None:
    """Record 3 s in real time, then sleep until killed."""
    video_frames = vp8_frames(3 * FPS)
    audio_frames = opus_frames(150)
    now_ms = time.time_ns() // 1_000_000
    video = TrackWriter.create(directory, SESSION, SEAT, "video", "VP8", VIDEO_RATE, now_ms)
    audio = TrackWriter.create(directory, SESSION, SEAT, "audio", "opus", AUDIO_RATE, now_ms)
    video.sender_report(SenderReport(VIDEO_BASE, WALL_START_MS))
    audio.sender_report(SenderReport(AUDIO_BASE, WALL_START_MS))
    timeline = [(pts / VIDEO_RATE, "video", data, pts, key) for data, pts, key in video_frames]
    timeline += [(pts / AUDIO_RATE, "audio", data, pts, key) for data, pts, key in audio_frames]
    timeline.sort(key=lambda item: (item[0], item[1]))
    _say("ready")
    start = time.monotonic()
    for at, track, data, pts, key in timeline:
        time.sleep(max(0.0, start + at - time.monotonic()))
        arrival = time.time_ns() // 1_000_000
        if track == "video":
            video.write(data, VIDEO_BASE + pts, key, arrival)
        else:
            audio.write(data, AUDIO_BASE + pts, key, arrival)
        _say(f"{track} {pts}")
    time.sleep(60)


def burst(directory: Path) -> None:
    """Write 60 video frames as fast as possible, then SIGKILL ourselves."""
    video = TrackWriter.create(directory, SESSION, SEAT, "video", "VP8", VIDEO_RATE, 1)
    for data, pts, key in vp8_frames(60):
        video.write(data, VIDEO_BASE + pts, key, WALL_START_MS + pts // 90)
        _say(f"video {pts}")
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    {"paced": paced, "burst": burst}[sys.argv[2]](Path(sys.argv[1]))
