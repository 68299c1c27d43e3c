"""What a finished recording is, as it goes into the session's signed log (PURE: no IO, no clock).

A :class:`Manifest` describes one file holding one track of one seat: its hash and size, how many
packets and keyframes it holds, the wall time of its first and last frame, and the RTCP sender
reports that tie its timestamps to the sender's clock (that is how two tracks of a seat, or two
seats, are lined up afterwards). The log is canonical JSON with integers only, so every field is
an int, a string, a bool or a list of those.

Also here: the VP8 frame-header helpers (RFC 6386 §9.1) the writer needs to find keyframes and the
picture size without a decoder, and the pts → sender wall time mapping.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Track = Literal["audio", "video"]
TRACKS: tuple[Track, ...] = ("audio", "video")
CODEC_OF_TRACK: Mapping[str, str] = {"video": "VP8", "audio": "opus"}
MAX_SENDER_REPORTS = 8

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
# Seat ids, session ids and file names as the log accepts them (server/domain/media.py): ASCII
# letters, digits, "_", "-", "."; no leading dot, so neither hidden files nor ".." come out of it.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$")
_VP8_START_CODE = b"\x9d\x01\x2a"


def check_name(value: str, what: str) -> str:
    """Return ``value`` if it can be part of a file name; ValueError naming ``what`` otherwise."""
    if not isinstance(value, str) or not _SAFE_NAME.match(value):
        raise ValueError(f"{what} {value!r} cannot be used in a file name")
    return value


@dataclass(frozen=True, slots=True)
class SenderReport:
    """One RTCP sender report: a track timestamp and the sender's wall time at that instant.

    ``rtp`` is in the track's clock units, unwrapped, in the same units as the pts handed to the
    writer; ``ntp_ms`` is the SR's NTP timestamp as milliseconds since the Unix epoch.
    """

    rtp: int
    ntp_ms: int

    def to_json(self) -> dict[str, int]:
        """The report as a JSON object of two integers."""
        return {"rtp": self.rtp, "ntp_ms": self.ntp_ms}


@dataclass(frozen=True, slots=True)
class Manifest:
    """One closed recording file, as appended to the session's log.

    ``start_ms``/``end_ms`` are the wall time (UTC ms) of the first and last frame: through the
    sender reports when there is one, else the receiver's arrival clock. ``cut`` says the writer
    was killed and :func:`recordings.recovery.recover` closed the file on the next start.
    """

    session: str
    seat: str
    track: str
    file: str
    codec: str
    sha256: str
    size: int
    packets: int
    keyframes: int
    start_ms: int
    end_ms: int
    clock_rate: int
    first_pts: int
    sender_reports: tuple[SenderReport, ...]
    gaps: int
    cut: bool

    def to_json(self) -> dict[str, Any]:
        """The manifest as JSON-safe values (ints, strings, bools, lists; never floats)."""
        return {
            "session": self.session,
            "seat": self.seat,
            "track": self.track,
            "file": self.file,
            "codec": self.codec,
            "sha256": self.sha256,
            "size": self.size,
            "packets": self.packets,
            "keyframes": self.keyframes,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "clock_rate": self.clock_rate,
            "first_pts": self.first_pts,
            "sender_reports": [r.to_json() for r in self.sender_reports],
            "gaps": self.gaps,
            "cut": self.cut,
        }


_STR_FIELDS = ("session", "seat", "track", "file", "codec", "sha256")
_INT_FIELDS = ("size", "packets", "keyframes", "start_ms", "end_ms", "clock_rate", "first_pts")
_COUNT_FIELDS = ("size", "packets", "keyframes", "gaps")
_FIELDS = {*_STR_FIELDS, *_INT_FIELDS, "sender_reports", "gaps", "cut"}


def _int(value: object, where: str) -> int:
    # bool is an int subclass in Python; a JSON true is not a count.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{where}: expected an integer")
    return value


def sender_report_from_json(obj: object, where: str = "sender report") -> SenderReport:
    """Parse ``{"rtp": int, "ntp_ms": int}``; ValueError on anything else."""
    if not isinstance(obj, dict) or set(obj) != {"rtp", "ntp_ms"}:
        raise ValueError(f"{where}: expected an object with rtp and ntp_ms")
    return SenderReport(_int(obj["rtp"], f"{where}.rtp"), _int(obj["ntp_ms"], f"{where}.ntp_ms"))


def sender_reports_from_json(obj: object, where: str) -> tuple[SenderReport, ...]:
    """Parse a list of at most :data:`MAX_SENDER_REPORTS` sender reports."""
    if not isinstance(obj, list) or len(obj) > MAX_SENDER_REPORTS:
        raise ValueError(f"{where}: expected a list of at most {MAX_SENDER_REPORTS} reports")
    return tuple(sender_report_from_json(r, f"{where}[{i}]") for i, r in enumerate(obj))


def manifest_from_json(obj: object) -> Manifest:
    """Parse and validate what :meth:`Manifest.to_json` produced; ValueError on anything off."""
    if not isinstance(obj, dict):
        raise ValueError("manifest: expected an object")
    if set(obj) != _FIELDS:
        missing, extra = sorted(_FIELDS - set(obj)), sorted(set(obj) - _FIELDS)
        raise ValueError(f"manifest: missing {missing}, unexpected {extra}")
    for key in _STR_FIELDS:
        if not isinstance(obj[key], str):
            raise ValueError(f"manifest.{key}: expected a string")
    ints = {key: _int(obj[key], f"manifest.{key}") for key in (*_INT_FIELDS, "gaps")}
    if not isinstance(obj["cut"], bool):
        raise ValueError("manifest.cut: expected a boolean")
    track, codec = obj["track"], obj["codec"]
    if track not in TRACKS or CODEC_OF_TRACK[track] != codec:
        raise ValueError(f"manifest: track {track!r} with codec {codec!r}")
    if not _SHA256_HEX.match(obj["sha256"]):
        raise ValueError("manifest.sha256: expected 64 lowercase hex digits")
    check_name(obj["file"], "manifest.file")
    if any(ints[key] < 0 for key in _COUNT_FIELDS) or ints["clock_rate"] <= 0:
        raise ValueError("manifest: negative count or non-positive clock rate")
    if ints["end_ms"] < ints["start_ms"]:
        raise ValueError("manifest: end_ms before start_ms")
    return Manifest(
        session=obj["session"],
        seat=obj["seat"],
        track=track,
        file=obj["file"],
        codec=codec,
        sha256=obj["sha256"],
        size=ints["size"],
        packets=ints["packets"],
        keyframes=ints["keyframes"],
        start_ms=ints["start_ms"],
        end_ms=ints["end_ms"],
        clock_rate=ints["clock_rate"],
        first_pts=ints["first_pts"],
        sender_reports=sender_reports_from_json(obj["sender_reports"], "manifest.sender_reports"),
        gaps=ints["gaps"],
        cut=obj["cut"],
    )


def wall_ms_of(pts: int, clock_rate: int, reports: Sequence[SenderReport]) -> int | None:
    """The sender's wall time (UTC ms) of ``pts``, through the report nearest to it.

    The nearest report keeps the drift between the sender's media clock and its wall clock out of
    the result as far as the reports allow. None when there is no report.
    """
    if not reports:
        return None
    if clock_rate <= 0:
        raise ValueError("clock_rate must be positive")
    nearest = min(reports, key=lambda r: abs(pts - r.rtp))
    # Integer rounding to the nearest millisecond: the log holds no floats.
    delta = (pts - nearest.rtp) * 1000
    return nearest.ntp_ms + (2 * delta + clock_rate) // (2 * clock_rate)


def span_ms(
    first_pts: int,
    last_pts: int,
    clock_rate: int,
    reports: Sequence[SenderReport],
    first_arrival_ms: int,
    last_arrival_ms: int,
) -> tuple[int, int]:
    """``(start_ms, end_ms)`` of the frames ``first_pts``..``last_pts``.

    Through the sender reports when there is one (the sender's clock lines tracks up); else the
    receiver's arrival times. The end is never before the start, even if the arrival clock stepped.
    """
    start = wall_ms_of(first_pts, clock_rate, reports)
    end = wall_ms_of(last_pts, clock_rate, reports)
    start_ms = first_arrival_ms if start is None else start
    end_ms = last_arrival_ms if end is None else end
    return start_ms, max(start_ms, end_ms)


def vp8_is_keyframe(data: bytes) -> bool:
    """Whether a VP8 frame is a keyframe: bit 0 of the frame tag is 0 (RFC 6386 §9.1)."""
    return len(data) >= 3 and data[0] & 1 == 0


def vp8_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe header, None for an inter frame or a bad header.

    After the 3-byte frame tag come the start code 9d 01 2a and two little-endian 16-bit
    fields whose low 14 bits are the width and height (the top 2 bits are the scaling mode).
    """
    if len(data) < 10 or not vp8_is_keyframe(data) or data[3:6] != _VP8_START_CODE:
        return None
    width = int.from_bytes(data[6:8], "little") & 0x3FFF
    height = int.from_bytes(data[8:10], "little") & 0x3FFF
    if width == 0 or height == 0:
        return None
    return width, height
