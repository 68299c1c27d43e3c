"""A recorder killed mid-stream: what recovery makes of its files, and the hand-over to the log."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from recordings.files import LOGGED_SUFFIX, MANIFEST_SUFFIX, PART_SUFFIX
from recordings.recovery import mark_logged, recover, settled, unlogged
from recordings.track_writer import TrackWriter
from tests.recordings import crash_child
from tests.recordings.media import AUDIO_RATE, VIDEO_RATE, vp8_frames
from tests.recordings.test_track_writer import decode_all, mode_of

ROOT = Path(__file__).resolve().parents[2]
RATES = {"video": VIDEO_RATE, "audio": AUDIO_RATE}
MAX_LOSS_MS = 350


def run_child(directory: Path, mode: str, kill_after_video: int | None = None) -> list[str]:
    """Run the recorder child; SIGKILL it after that many video frames; return what it wrote."""
    with subprocess.Popen(
        [sys.executable, "-m", "tests.recordings.crash_child", str(directory), mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        lines = []
        try:
            for line in child.stdout:
                lines.append(line.strip())
                videos = sum(seen.startswith("video") for seen in lines)
                if kill_after_video is not None and videos >= kill_after_video:
                    os.kill(child.pid, signal.SIGKILL)
                    break
            lines += child.stdout.read().splitlines()  # printed before the kill landed
        finally:
            child.kill()
            returncode = child.wait(timeout=10)
    assert returncode == -signal.SIGKILL
    return lines


def written(lines: list[str], track: str) -> list[int]:
    """The pts the child reported written for ``track``."""
    out = []
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and parts[0] == track:
            out.append(int(parts[1]))
    return out


def test_a_killed_recorder_loses_at_most_a_cluster(tmp_path: Path) -> None:
    lines = run_child(tmp_path, "paced", kill_after_video=50)  # about 1.7 s in
    manifests = {m.track: m for m in recover(tmp_path, now_ms=time.time_ns() // 1_000_000)}
    assert sorted(manifests) == ["audio", "video"]
    for track, manifest in manifests.items():
        sent = written(lines, track)
        rate = RATES[track]
        packets, decoded = decode_all(tmp_path / manifest.file)
        assert manifest.cut
        assert len(packets) == manifest.packets
        assert len(decoded) >= len(packets) - (1 if track == "audio" else 0)
        last_in_file_ms = max(int(p.pts) for p in packets if p.pts is not None)
        lost_ms = sent[-1] * 1000 // rate - last_in_file_ms
        print(f"{track}: {len(sent)} written, {len(packets)} in file, {lost_ms} ms lost")
        assert 0 <= lost_ms <= MAX_LOSS_MS
        frame_ms = 1000 * (sent[1] - sent[0]) / rate
        assert len(sent) - len(packets) <= MAX_LOSS_MS / frame_ms + 1
        if track == "video":
            assert all(
                isinstance(f, av.VideoFrame) and (f.width, f.height) == (640, 480) for f in decoded
            )
        data = (tmp_path / manifest.file).read_bytes()
        assert manifest.sha256 == hashlib.sha256(data).hexdigest()
        assert manifest.size == len(data)
        assert mode_of(tmp_path / manifest.file) == 0o400
        # The first sender report reached the sidecar: the cut file is still placed in time.
        assert manifest.start_ms == crash_child.WALL_START_MS
        assert manifest.end_ms == manifest.start_ms + last_in_file_ms
    assert not list(tmp_path.glob(f"*{PART_SUFFIX}*"))
    assert recover(tmp_path, now_ms=0) == []  # nothing left to do


def test_a_truncated_last_cluster_is_tolerated(tmp_path: Path) -> None:
    lines = run_child(tmp_path, "burst")
    assert len(written(lines, "video")) == 60
    (media,) = tmp_path.glob("*.webm")
    whole = len(decode_all(media)[0])
    assert 0 < whole < 60  # the open cluster died with the process
    with media.open("r+b") as f:  # and a crash in the middle of writing a cluster
        f.truncate(media.stat().st_size - 3000)
    (manifest,) = recover(tmp_path, now_ms=0)
    packets, decoded = decode_all(media)
    assert manifest.packets == len(packets) < whole
    assert len(decoded) == len(packets)
    assert manifest.first_pts == crash_child.VIDEO_BASE


def test_recovery_leaves_a_live_recording_alone(tmp_path: Path) -> None:
    writer = TrackWriter.create(tmp_path, "s-1", "v1-1", "video", "VP8", VIDEO_RATE, 1)
    for data, pts, key in vp8_frames()[:10]:
        writer.write(data, pts, key, 1)
    assert recover(tmp_path, now_ms=2) == []
    assert (tmp_path / (writer.file + PART_SUFFIX)).exists()
    assert writer.close(3).packets == 10


def test_recovery_tidies_what_a_crash_in_create_or_close_leaves(tmp_path: Path) -> None:
    orphan = tmp_path / "v1-1-video-1.webm"
    orphan.touch()  # killed between creating the file and its sidecar
    writer = TrackWriter.create(tmp_path, "s-1", "v1-1", "video", "VP8", VIDEO_RATE, 2)
    for data, pts, key in vp8_frames()[:5]:
        writer.write(data, pts, key, 2)
    manifest = writer.close(3)
    part = tmp_path / (writer.file + PART_SUFFIX)
    part.write_text("{}")  # killed after the manifest, before the sidecar went
    assert recover(tmp_path, now_ms=4) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        writer.file,
        writer.file + MANIFEST_SUFFIX,
    ]
    assert unlogged(tmp_path) == [manifest]


def test_manifests_are_handed_to_the_log_once(tmp_path: Path) -> None:
    writers = [
        TrackWriter.create(tmp_path, "s-1", seat, "video", "VP8", VIDEO_RATE, 1)
        for seat in ("v1-1", "v1-2")
    ]
    manifests = [w.close(2) for w in writers]
    assert unlogged(tmp_path) == manifests
    mark_logged(tmp_path, manifests[0])
    mark_logged(tmp_path, manifests[0])  # a crash after logging, logged again: harmless
    marker = tmp_path / (manifests[0].file + LOGGED_SUFFIX)
    assert marker.read_bytes() == b""
    assert mode_of(marker) == 0o400
    assert unlogged(tmp_path) == manifests[1:]


def test_unlogged_refuses_a_damaged_manifest(tmp_path: Path) -> None:
    writer = TrackWriter.create(tmp_path, "s-1", "v1-1", "video", "VP8", VIDEO_RATE, 1)
    writer.close(2)
    path = tmp_path / (writer.file + MANIFEST_SUFFIX)
    path.chmod(0o600)
    path.write_text(path.read_text().replace('"packets":0', '"packets":0.0'))
    with pytest.raises(ValueError, match=writer.file):
        unlogged(tmp_path)


def test_a_session_directory_is_settled_once_every_recording_is_closed_and_logged(
    tmp_path: Path,
) -> None:
    """What the seal waits for (``MediaService.end_session``): nothing being written, nothing
    converted yet, no manifest the log does not hold."""
    assert settled(tmp_path / "never-recorded")
    writer = TrackWriter.create(tmp_path, "s-1", "host-1", "video", "VP8", VIDEO_RATE, 1)
    for data, pts, key in vp8_frames(5):
        writer.write(data, pts, key, 1 + pts // 90)
    assert not settled(tmp_path)  # open: its sidecar is there
    manifest = writer.close(2)
    assert not settled(tmp_path)  # closed, not logged yet
    mark_logged(tmp_path, manifest)
    assert settled(tmp_path)
    janus = tmp_path / "janus"
    janus.mkdir()
    for name in ("host-2~1-video-1.mjr.part", "host-2~1-video-1.mjr"):  # writing, then unconverted
        (janus / name).write_bytes(b"MJR00002")
        assert not settled(tmp_path)
        (janus / name).unlink()
    (janus / "host-2~1-video-1.mjr.done").write_bytes(b"MJR00002")  # converted
    assert settled(tmp_path)
