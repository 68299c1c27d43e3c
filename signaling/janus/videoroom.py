"""VideoRoom requests and what the backend reads from SDP and events (PURE: no IO, no clock).

One room per evaluation session, named after it (``string_ids`` in process.py's configuration),
recording every publisher into ``rec_dir``; one publisher per seat, whose ``display`` is the seat;
subscribers join with the publisher's id and the mids of the kinds they may receive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PLUGIN = "janus.plugin.videoroom"
MAX_PUBLISHERS = 64  # VideoRoom's default is 3
ERROR_ROOM_EXISTS = 427
ERROR_NO_SUCH_ROOM = 426
KINDS = ("audio", "video")
_DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")

Json = dict[str, Any]


def create_room(room: str, secret: str, rec_dir: str) -> Json:
    """A private, non-permanent room recording VP8 + Opus into ``rec_dir``."""
    return {
        "request": "create",
        "room": room,
        "permanent": False,
        "is_private": True,
        "secret": secret,
        "publishers": MAX_PUBLISHERS,
        "audiocodec": "opus",
        "videocodec": "vp8",
        "record": True,
        "rec_dir": rec_dir,
        "notify_joining": False,
    }


def destroy_room(room: str, secret: str) -> Json:
    """Destroy a room (its publishers' recordings close)."""
    return {"request": "destroy", "room": room, "secret": secret, "permanent": False}


def join_publisher(room: str, seat: str) -> Json:
    """Join ``room`` as the publisher of ``seat``."""
    return {"request": "join", "ptype": "publisher", "room": room, "display": seat}


def configure_publisher(recording_base: str) -> Json:
    """Publish (sent with the seat's offer), recording to ``<rec_dir>/<base>-<kind>-<mindex>``."""
    return {"request": "configure", "audio": True, "video": True, "filename": recording_base}


def join_subscriber(room: str, feed: str, mids: list[str]) -> Json:
    """Subscribe to the streams ``mids`` of publisher ``feed``; Janus answers with its offer."""
    return {
        "request": "join",
        "ptype": "subscriber",
        "room": room,
        "streams": [{"feed": feed, "mid": mid} for mid in mids],
    }


START: Json = {"request": "start"}
UNPUBLISH: Json = {"request": "unpublish"}
LEAVE: Json = {"request": "leave"}


@dataclass(frozen=True, slots=True)
class Media:
    """One m-line of an SDP."""

    kind: str
    mid: str | None
    port: int
    direction: str


def sdp_media(sdp: str) -> list[Media]:
    """The m-lines of an SDP with their mid, port and direction (sendrecv when unsaid)."""
    media: list[Media] = []
    current: dict[str, Any] | None = None
    for raw in sdp.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            if current is not None:
                media.append(Media(**current))
            parts = line[2:].split()
            port = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            current = {"kind": parts[0], "mid": None, "port": port, "direction": "sendrecv"}
        elif current is not None and line.startswith("a=mid:"):
            current["mid"] = line[len("a=mid:") :]
        elif current is not None and line[2:] in _DIRECTIONS and line.startswith("a="):
            current["direction"] = line[2:]
    if current is not None:
        media.append(Media(**current))
    return media


def offered_mids(offer: str) -> dict[str, str]:
    """Kind -> mid of the first audio and the first video the seat sends in its offer."""
    mids: dict[str, str] = {}
    for m in sdp_media(offer):
        if (
            m.kind in KINDS
            and m.mid is not None
            and m.port
            and m.direction in ("sendrecv", "sendonly")
        ):
            mids.setdefault(m.kind, m.mid)
    return mids


def accepted_kinds(answer: str, mids: dict[str, str]) -> list[str]:
    """The kinds of ``mids`` that Janus's answer accepted (port not 0, not inactive)."""
    accepted = {m.mid for m in sdp_media(answer) if m.port and m.direction != "inactive" and m.mid}
    return [kind for kind in KINDS if mids.get(kind) in accepted]


def connection_state(event: Json) -> str | None:
    """The connection state a core event means: ``webrtcup`` connected, ``hangup`` closed (or
    failed when ICE failed); None for any other event."""
    kind = event.get("janus")
    if kind == "webrtcup":
        return "connected"
    if kind == "hangup":
        reason = str(event.get("reason", ""))
        return "failed" if "ICE failed" in reason or "timeout" in reason.lower() else "closed"
    return None


def media_kind(event: Json) -> str | None:
    """The kind a ``media`` or ``slowlink`` event is about (``type`` in 1.x, ``media`` in 0.x)."""
    kind = event.get("type", event.get("media"))
    return kind if kind in KINDS else None
