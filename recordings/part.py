"""The sidecar of a recording being written: what a crash must not lose (PURE: no IO, no clock).

``<file>.part.json`` lives next to the media file from its creation until its manifest is written.
If the writer is killed, :func:`recordings.recovery.recover` rebuilds the manifest from it and from
what can still be demuxed. It holds the identity of the recording and the few facts the file
itself cannot tell: the first pts (the file's timestamps start at 0), the arrival time of the first
frame and the first sender report (so a cut audio file and a cut video file still line up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recordings.manifest import (
    CODEC_OF_TRACK,
    TRACKS,
    SenderReport,
    check_name,
    sender_reports_from_json,
)

PART_FORMAT = "evalroom-recording-part/1"
_KEYS = {
    "format",
    "session",
    "seat",
    "track",
    "codec",
    "clock_rate",
    "file",
    "created_ms",
    "first_pts",
    "first_arrival_ms",
    "sender_reports",
}


@dataclass(frozen=True, slots=True)
class Part:
    """The sidecar's content; ``first_pts``/``first_arrival_ms`` are None before the first frame."""

    session: str
    seat: str
    track: str
    codec: str
    clock_rate: int
    file: str
    created_ms: int
    first_pts: int | None = None
    first_arrival_ms: int | None = None
    sender_reports: tuple[SenderReport, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The sidecar as JSON-safe values."""
        return {
            "format": PART_FORMAT,
            "session": self.session,
            "seat": self.seat,
            "track": self.track,
            "codec": self.codec,
            "clock_rate": self.clock_rate,
            "file": self.file,
            "created_ms": self.created_ms,
            "first_pts": self.first_pts,
            "first_arrival_ms": self.first_arrival_ms,
            "sender_reports": [r.to_json() for r in self.sender_reports],
        }


def _opt_int(value: object, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{where}: expected an integer or null")
    return value


def part_from_json(obj: object) -> Part:
    """Parse a sidecar written by :meth:`Part.to_json`; ValueError on anything off."""
    if not isinstance(obj, dict) or set(obj) != _KEYS or obj["format"] != PART_FORMAT:
        raise ValueError(f"not a {PART_FORMAT} sidecar")
    for key in ("session", "seat", "track", "codec", "file"):
        if not isinstance(obj[key], str):
            raise ValueError(f"part.{key}: expected a string")
    if obj["track"] not in TRACKS or CODEC_OF_TRACK[obj["track"]] != obj["codec"]:
        raise ValueError(f"part: track {obj['track']!r} with codec {obj['codec']!r}")
    clock_rate, created_ms = obj["clock_rate"], obj["created_ms"]
    if _opt_int(clock_rate, "part.clock_rate") is None or clock_rate <= 0:
        raise ValueError("part.clock_rate: expected a positive integer")
    if _opt_int(created_ms, "part.created_ms") is None:
        raise ValueError("part.created_ms: expected an integer")
    return Part(
        session=obj["session"],
        seat=obj["seat"],
        track=obj["track"],
        codec=obj["codec"],
        clock_rate=clock_rate,
        file=check_name(obj["file"], "part.file"),
        created_ms=created_ms,
        first_pts=_opt_int(obj["first_pts"], "part.first_pts"),
        first_arrival_ms=_opt_int(obj["first_arrival_ms"], "part.first_arrival_ms"),
        sender_reports=sender_reports_from_json(obj["sender_reports"], "part.sender_reports"),
    )
