"""The pure parts of recordings: manifest JSON, sidecar JSON, pts → wall time, VP8 headers."""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from recordings.manifest import (
    Manifest,
    SenderReport,
    check_name,
    manifest_from_json,
    vp8_is_keyframe,
    vp8_size,
    wall_ms_of,
)
from recordings.part import Part, part_from_json
from tests.recordings.media import vp8_frames

T0 = 1_700_000_000_000
PURE = ["manifest.py", "part.py"]
IO = {"os", "io", "time", "datetime", "random", "secrets", "asyncio", "socket", "av", "pathlib"}


@pytest.mark.parametrize("name", PURE)
def test_pure_modules_do_no_io_and_read_no_clock(name: str) -> None:
    path = Path(__file__).resolve().parents[2] / "recordings" / name
    imported = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported & IO == set()
    assert imported - {"__future__", "re", "collections", "dataclasses", "typing"} <= {"recordings"}


def _manifest(**changes: Any) -> Manifest:
    base = Manifest(
        session="s-0a1b2c3d4e5f",
        seat="v1-1",
        track="video",
        file="v1-1-video-1700000000000.webm",
        codec="VP8",
        sha256="ab" * 32,
        size=123_456,
        packets=60,
        keyframes=2,
        start_ms=T0,
        end_ms=T0 + 1967,
        clock_rate=90000,
        first_pts=5_000_000,
        sender_reports=(SenderReport(5_000_000, T0), SenderReport(5_090_000, T0 + 1000)),
        gaps=1,
        cut=False,
    )
    return dataclasses.replace(base, **changes)


def _only_json_safe(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _only_json_safe(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_only_json_safe(v) for v in value)
    return isinstance(value, str | int | bool) and not isinstance(value, float)


def test_manifest_round_trips_through_json_with_integers_only() -> None:
    manifest = _manifest()
    obj = manifest.to_json()
    assert _only_json_safe(obj)
    assert manifest_from_json(json.loads(json.dumps(obj))) == manifest
    assert obj["sender_reports"] == [
        {"rtp": 5_000_000, "ntp_ms": T0},
        {"rtp": 5_090_000, "ntp_ms": T0 + 1000},
    ]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("size", True),
        ("size", 1.0),
        ("packets", -1),
        ("start_ms", "1700000000000"),
        ("clock_rate", 0),
        ("cut", 0),
        ("track", "screen"),
        ("codec", "opus"),
        ("sha256", "AB" * 32),
        ("sha256", "ab" * 31),
        ("file", "../v1-1-video-1.webm"),
        ("file", ".hidden.webm"),
        ("end_ms", T0 - 1),
        ("sender_reports", [{"rtp": 1, "ntp_ms": 2}] * 9),
        ("sender_reports", [{"rtp": 1, "ntp_ms": 2.5}]),
        ("sender_reports", [{"rtp": 1}]),
    ],
)
def test_manifest_from_json_refuses_anything_off(key: str, value: object) -> None:
    obj = _manifest().to_json()
    obj[key] = value
    with pytest.raises(ValueError, match="manifest"):
        manifest_from_json(obj)


def test_manifest_from_json_refuses_missing_and_extra_keys() -> None:
    obj = _manifest().to_json()
    with pytest.raises(ValueError, match="unexpected"):
        manifest_from_json({**obj, "extra": 1})
    del obj["gaps"]
    with pytest.raises(ValueError, match="missing"):
        manifest_from_json(obj)
    with pytest.raises(ValueError, match="object"):
        manifest_from_json([obj])


def test_part_round_trips_and_validates() -> None:
    part = Part("s-1", "v1-1", "audio", "opus", 48000, "v1-1-audio-5.webm", 5)
    assert part_from_json(json.loads(json.dumps(part.to_json()))) == part
    later = dataclasses.replace(
        part, first_pts=7, first_arrival_ms=9, sender_reports=(SenderReport(1, 2),)
    )
    assert part_from_json(later.to_json()) == later
    for key, value in [("format", "x"), ("codec", "VP8"), ("first_pts", 1.5), ("file", "a/b")]:
        with pytest.raises(ValueError, match=r"part|sidecar|file"):
            part_from_json({**part.to_json(), key: value})


def test_check_name_refuses_paths() -> None:
    assert check_name("v1-1", "seat") == "v1-1"
    for bad in ["", ".", "..", ".hidden", "a/b", "a\\b", "a\nb", "北京-1", "x" * 129]:
        with pytest.raises(ValueError, match="file name"):
            check_name(bad, "seat")


def test_wall_ms_of_maps_through_the_nearest_report() -> None:
    assert wall_ms_of(1000, 90000, []) is None
    reports = [SenderReport(90_000, T0), SenderReport(900_000, T0 + 9_000 + 7)]
    assert wall_ms_of(90_000, 90000, reports) == T0
    assert wall_ms_of(0, 90000, reports) == T0 - 1000  # before the first report
    assert wall_ms_of(180_045, 90000, reports) == T0 + 1001  # 1000.5 ms rounds up
    assert wall_ms_of(180_044, 90000, reports) == T0 + 1000
    # Nearer the second report, its 7 ms of drift is what counts.
    assert wall_ms_of(810_000, 90000, reports) == T0 + 8_007


def test_audio_and_video_line_up_through_sender_reports() -> None:
    # aiortc starts every track's clock near 0; here video started 500 ms after audio. The
    # reports (both sent at about T0 + 2 s, with a few ms of jitter) carry the offset.
    audio_reports = [SenderReport(2 * 48000, T0 + 2000), SenderReport(5 * 48000, T0 + 5003)]
    video_reports = [SenderReport(135_000, T0 + 2004), SenderReport(405_000, T0 + 5001)]
    audio_start = wall_ms_of(0, 48000, audio_reports)
    video_start = wall_ms_of(0, 90000, video_reports)
    assert audio_start is not None
    assert video_start is not None
    assert abs((video_start - audio_start) - 500) <= 40


def test_vp8_headers_of_real_frames() -> None:
    frames = vp8_frames()
    data, _, keyframe = frames[0]
    assert keyframe
    assert vp8_is_keyframe(data)
    assert vp8_size(data) == (640, 480)
    inter = [d for d, _, k in frames if not k]
    assert inter
    assert not any(vp8_is_keyframe(d) for d in inter)
    assert all(vp8_size(d) is None for d in inter)


def test_vp8_size_masks_the_scaling_bits_and_refuses_bad_headers() -> None:
    header = b"\x10\x02\x00\x9d\x01\x2a" + (0x4000 | 320).to_bytes(2, "little")
    assert vp8_size(header + (0xC000 | 240).to_bytes(2, "little")) == (320, 240)
    assert vp8_size(header) is None  # too short
    assert vp8_size(b"\x10\x02\x00\x9d\x01\x2b" + bytes(4)) is None  # no start code
    assert vp8_size(b"\x10\x02\x00\x9d\x01\x2a" + bytes(4)) is None  # 0x0
    assert not vp8_is_keyframe(b"")
    assert not vp8_is_keyframe(b"\x11\x02\x00")
