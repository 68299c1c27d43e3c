"""Media facts as the node's media service logs them, for the domain tests."""

from __future__ import annotations

from typing import Any

from server.domain.media import MediaRecord
from server.domain.roles import Principal, Role

MEDIA = Principal(Role.MEDIA, "s-1", "node")
H1 = "expert:host-1"

RECORDING: dict[str, Any] = {
    "seat": "host-1",
    "track": "video",
    "file": "host-1-video-1764500000000.mkv",
    "codec": "VP8",
    "sha256": "ab" * 32,
    "size": 123_456,
    "packets": 598,
    "keyframes": 3,
    "start_ms": 1_764_500_000_000,
    "end_ms": 1_764_500_020_000,
    "clock_rate": 90_000,
    "first_pts": 0,
    "sender_reports": [{"rtp": 0, "ntp_ms": 1_764_500_000_000}],
    "gaps": 0,
    "cut": False,
}


def media_day() -> list[MediaRecord]:
    """A seat joins, flickers, mutes, goes dark, its recording closes, and it leaves."""
    return [
        MediaRecord("media.joined", {"member": H1, "publishes": True}),
        MediaRecord("media.joined", {"member": "supervisor:sup-1", "publishes": False}),
        MediaRecord("media.state", {"member": H1, "conn": "pub", "state": "connected"}),
        MediaRecord("media.muted", {"member": H1, "kind": "audio", "muted": True}),
        MediaRecord("media.alert", {"member": H1, "kind": "video", "dark_ms": 30_000}),
        MediaRecord("recording.closed", dict(RECORDING)),
        MediaRecord("media.left", {"member": H1, "reason": "leave"}),
    ]
