"""TrackWriter on real VP8 and Opus packets: files that decode, hashes, modes, keyframes."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path
from typing import Any

import av
import pytest

from recordings.files import MANIFEST_SUFFIX, PART_SUFFIX
from recordings.manifest import SenderReport, manifest_from_json
from recordings.part import part_from_json
from recordings.track_writer import TrackWriter
from tests.recordings.media import AUDIO_RATE, OPUS_FRAME, VIDEO_RATE, opus_frames, vp8_frames

T0 = 1_700_000_000_000
BASE = 5_000_000  # RTP clocks do not start at 0


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def decode_all(path: Path) -> tuple[list[av.Packet[Any]], list[av.VideoFrame | av.AudioFrame]]:
    """Every packet of the file's only stream, and every frame they decode to."""
    packets: list[av.Packet[Any]] = []
    frames: list[av.VideoFrame | av.AudioFrame] = []
    with av.open(str(path)) as container:
        stream = container.streams[0]
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            packets.append(packet)
            frames += [f for f in packet.decode() if isinstance(f, av.VideoFrame | av.AudioFrame)]
    return packets, frames


def _video(directory: Path, now_ms: int = T0) -> TrackWriter:
    return TrackWriter.create(directory, "s-1", "v1-1", "video", "VP8", VIDEO_RATE, now_ms)


def test_video_is_muxed_without_re_encoding_and_decodes(tmp_path: Path) -> None:
    frames = vp8_frames()
    writer = _video(tmp_path)
    assert writer.file == f"v1-1-video-{T0}.webm"
    assert mode_of(writer.path) == 0o600
    with pytest.raises(FileExistsError):
        _video(tmp_path)  # same name: never overwritten
    for data, pts, key in frames:
        writer.write(data, BASE + pts, key, T0 + pts // 90)
    manifest = writer.close(T0 + 5000)

    packets, decoded = decode_all(writer.path)
    assert len(packets) == len(frames) == manifest.packets == writer.packets
    assert [bytes(p) for p in packets] == [data for data, _, _ in frames]  # byte for byte
    assert [p.pts for p in packets] == [pts // 90 for _, pts, _ in frames]  # ms, from 0
    assert packets[0].is_keyframe
    assert len(decoded) == len(frames)
    assert all(isinstance(f, av.VideoFrame) and (f.width, f.height) == (640, 480) for f in decoded)
    assert manifest.keyframes == sum(int(key) for _, _, key in frames) == 2

    data = writer.path.read_bytes()
    assert manifest.sha256 == hashlib.sha256(data).hexdigest()
    assert manifest.size == len(data)
    assert (manifest.start_ms, manifest.end_ms) == (T0, T0 + frames[-1][1] // 90)
    assert (manifest.first_pts, manifest.codec, manifest.cut) == (BASE, "VP8", False)
    assert mode_of(writer.path) == 0o400
    manifest_path = tmp_path / (writer.file + MANIFEST_SUFFIX)
    assert mode_of(manifest_path) == 0o400
    assert manifest_from_json(json.loads(manifest_path.read_bytes())) == manifest
    assert not (tmp_path / (writer.file + PART_SUFFIX)).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [writer.file, manifest_path.name]
    assert writer.close(T0 + 9999) is manifest


def test_clean_close_writes_cues_and_duration(tmp_path: Path) -> None:
    writer = _video(tmp_path)
    for data, pts, key in vp8_frames():
        writer.write(data, pts, key, T0)
    writer.close(T0)
    with av.open(str(writer.path)) as container:
        assert container.duration is not None
        container.seek(1_000_000)  # 1 s in, through the cues
        packet = next(container.demux(container.streams[0]))
        assert packet.is_keyframe


def test_inter_frames_before_the_first_keyframe_are_skipped(tmp_path: Path) -> None:
    frames = vp8_frames()
    writer = _video(tmp_path)
    for data, pts, key in frames[1:3]:
        assert not key
        writer.write(data, pts, True, T0)  # a wrong flag: the frame tag decides
    assert (writer.packets, writer.counts.skipped_before_keyframe) == (0, 2)
    for data, pts, key in frames[3:]:
        writer.write(data, 90_000 + pts, key, T0)
    manifest = writer.close(T0)
    packets, decoded = decode_all(writer.path)
    assert packets[0].is_keyframe
    assert len(packets) == manifest.packets == len(frames) - 30  # up to the next keyframe
    assert writer.counts.skipped_before_keyframe == 2 + 27
    assert manifest.first_pts == 90_000 + frames[30][1]
    assert len(decoded) == len(packets)


def test_frames_going_backwards_are_dropped(tmp_path: Path) -> None:
    frames = vp8_frames()
    writer = _video(tmp_path)
    for data, pts, key in frames[:10]:
        writer.write(data, BASE + pts, key, T0)
    writer.write(frames[10][0], BASE + frames[5][1], False, T0)  # late, out of order
    writer.write(frames[10][0], BASE - 3000, False, T0)  # before the first frame
    manifest = writer.close(T0)
    assert (manifest.packets, writer.counts.dropped_out_of_order) == (10, 2)
    assert len(decode_all(writer.path)[0]) == 10


def test_audio_is_muxed_with_an_opus_header_and_decodes(tmp_path: Path) -> None:
    frames = opus_frames()
    writer = TrackWriter.create(tmp_path, "s-1", "v1-1", "audio", "opus", AUDIO_RATE, T0)
    for data, pts, key in frames:
        writer.write(data, BASE + pts, key, T0 + pts // 48)
    writer.lost(3)
    manifest = writer.close(T0 + 3000)
    packets, decoded = decode_all(writer.path)
    assert len(packets) == len(frames) == manifest.packets == manifest.keyframes
    assert [bytes(p) for p in packets] == [data for data, _, _ in frames]
    with av.open(str(writer.path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.extradata is not None
        assert stream.codec_context.extradata[:8] == b"OpusHead"
    samples = sum(f.samples for f in decoded if isinstance(f, av.AudioFrame))
    assert samples == len(frames) * OPUS_FRAME - 312  # the header's pre-skip, nothing else
    assert (manifest.codec, manifest.clock_rate, manifest.gaps) == ("opus", AUDIO_RATE, 1)
    assert manifest.sha256 == hashlib.sha256(writer.path.read_bytes()).hexdigest()


def test_sender_reports_place_the_tracks_and_are_bounded(tmp_path: Path) -> None:
    # Both clocks start at 0; video started 500 ms after audio (as aiortc does it).
    audio = TrackWriter.create(tmp_path, "s-1", "v1-1", "audio", "opus", AUDIO_RATE, T0)
    video = _video(tmp_path)
    for i in range(20):
        audio.sender_report(SenderReport(i * AUDIO_RATE, T0 + 1000 * i + i % 3))
        video.sender_report(SenderReport(i * VIDEO_RATE, T0 + 500 + 1000 * i - i % 2))
    part = part_from_json(json.loads((tmp_path / (video.file + PART_SUFFIX)).read_bytes()))
    assert part.sender_reports == (SenderReport(0, T0 + 500),)
    for data, pts, key in opus_frames()[:50]:
        audio.write(data, pts, key, T0 + 200)  # arrival times say nothing useful here
    for data, pts, key in vp8_frames()[:30]:
        video.write(data, pts, key, T0 + 200)
    a, v = audio.close(T0), video.close(T0)
    assert abs((v.start_ms - a.start_ms) - 500) <= 40
    assert len(v.sender_reports) == 8
    assert v.sender_reports[0] == SenderReport(0, T0 + 500)
    assert v.sender_reports[-1].rtp == 19 * VIDEO_RATE


def test_an_empty_recording_still_gets_a_manifest(tmp_path: Path) -> None:
    writer = _video(tmp_path)
    writer.write(vp8_frames()[1][0], 3000, False, T0)
    manifest = writer.close(T0 + 700)
    assert (manifest.packets, manifest.size, manifest.start_ms, manifest.end_ms) == (
        0,
        0,
        T0,
        T0 + 700,
    )
    with pytest.raises(RuntimeError, match="closed"):
        writer.write(vp8_frames()[0][0], 0, True, T0)


def test_create_refuses_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="file name"):
        TrackWriter.create(tmp_path, "s-1", "../x", "video", "VP8", VIDEO_RATE, T0)
    with pytest.raises(ValueError, match="recorded as"):
        TrackWriter.create(tmp_path, "s-1", "v1-1", "video", "opus", VIDEO_RATE, T0)
    with pytest.raises(ValueError, match="clock rate"):
        TrackWriter.create(tmp_path, "s-1", "v1-1", "audio", "opus", 16000, T0)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_create_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError("no muxer today")

    monkeypatch.setattr(av, "open", refuse)
    with pytest.raises(OSError, match="no muxer"):
        _video(tmp_path)
    assert list(tmp_path.iterdir()) == []
