"""Signaling messages from a client, each validated before anything acts on it.

The wire is socket.io events on the ``/media`` namespace, one JSON object per event. The
direction of each connection is fixed: a client offers only on the connection it publishes on
(``"pub"``) and answers the offers the server makes on the connections it sends down. Unknown keys
are refused, like every other input of the server, so a client bug shows at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Literal, TypeAlias, get_args

from signaling.policy import KINDS, Kind

MAX_SDP_BYTES = 64 * 1024
MAX_CANDIDATE_BYTES = 1024
MAX_MLINE_INDEX = 65535  # an unsigned short in the W3C RTCIceCandidateInit
PUB_CONN = "pub"

ConnState = Literal["new", "connecting", "connected", "disconnected", "failed", "closed"]
CONN_STATES: tuple[ConnState, ...] = get_args(ConnState)

_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}", re.ASCII)
# An SDP media id is an RFC 5888 token; empty is tolerated as some browsers have sent it.
_MID = re.compile(r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]{0,64}", re.ASCII)
# An ICE username fragment is made of ice-chars (RFC 8839): letters, digits, '+' and '/'.
_UFRAG = re.compile(r"[A-Za-z0-9+/]{0,256}", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class SignalCode(StrEnum):
    """Stable error codes of the signaling channel; clients switch on these."""

    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    UNKNOWN_MESSAGE = "unknown_message"


class SignalError(Exception):
    """A signaling message was refused before anything acted on it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def to_json(self) -> dict[str, str]:
        """The error as sent to the client."""
        return {"code": str(self.code), "message": self.message}


@dataclass(frozen=True, slots=True)
class Publish:
    """The client's offer on its publisher connection; ``restart`` marks an ICE restart."""

    type: ClassVar[Literal["publish"]] = "publish"
    sdp: str
    restart: bool = False


@dataclass(frozen=True, slots=True)
class SubscribeAnswer:
    """The client's answer to the server's offer on connection ``conn``."""

    type: ClassVar[Literal["subscribe_answer"]] = "subscribe_answer"
    conn: str
    sdp: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """A trickled ICE candidate on ``conn``; an empty ``candidate`` means end of candidates."""

    type: ClassVar[Literal["candidate"]] = "candidate"
    conn: str
    candidate: str
    sdp_mid: str | None = None
    sdp_mline_index: int | None = None
    ufrag: str | None = None


@dataclass(frozen=True, slots=True)
class Restart:
    """The client asks the server to restart ICE on ``conn``."""

    type: ClassVar[Literal["restart"]] = "restart"
    conn: str


@dataclass(frozen=True, slots=True)
class Mute:
    """The client muted or unmuted its microphone or camera."""

    type: ClassVar[Literal["mute"]] = "mute"
    kind: Kind
    muted: bool


@dataclass(frozen=True, slots=True)
class Leave:
    """The client leaves the media room (its socket may stay for the session's events)."""

    type: ClassVar[Literal["leave"]] = "leave"


@dataclass(frozen=True, slots=True)
class State:
    """The client's own view of the state of connection ``conn``."""

    type: ClassVar[Literal["state"]] = "state"
    conn: str
    state: ConnState


Message: TypeAlias = Publish | SubscribeAnswer | Candidate | Restart | Mute | Leave | State


def _malformed(message: str) -> SignalError:
    return SignalError(SignalCode.MALFORMED, message)


def _fields(data: Any, *required: str, optional: tuple[str, ...] = ()) -> Mapping[str, Any]:
    # socket.io hands a handler None when the client emits no argument: that is an empty object.
    if data is None:
        data = {}
    if not isinstance(data, Mapping) or not all(isinstance(k, str) for k in data):
        raise _malformed("a signaling message is a JSON object")
    unknown = set(data) - set(required) - set(optional)
    if unknown:
        # Echo a few names, cut short: the keys come from the client.
        names = ", ".join(repr(k[:40]) for k in sorted(unknown)[:5])
        raise _malformed(f"unknown keys: {names}")
    missing = set(required) - set(data)
    if missing:
        raise _malformed(f"missing keys: {', '.join(sorted(missing))}")
    return data


def _bool(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise _malformed(f"{key!r} must be true or false")
    return value


def _conn(data: Mapping[str, Any]) -> str:
    value = data["conn"]
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise _malformed("'conn' must be an id of 1 to 64 letters, digits or _.:-")
    return value


def _sized(data: Mapping[str, Any], key: str, limit: int) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise _malformed(f"{key!r} must be a string")
    # The character count bounds the byte count from below: refuse huge strings before encoding.
    try:
        too_large = len(value) > limit or len(value.encode("utf-8")) > limit
    except UnicodeEncodeError as exc:  # a lone surrogate (\ud800) in the JSON
        raise _malformed(f"{key!r} is not valid text") from exc
    if too_large:
        raise SignalError(SignalCode.TOO_LARGE, f"{key!r} is over {limit} bytes")
    return value


def _sdp(data: Mapping[str, Any]) -> str:
    value = _sized(data, "sdp", MAX_SDP_BYTES)
    if not value.startswith(("v=0\r\n", "v=0\n")):
        raise _malformed("'sdp' must be a session description starting with v=0")
    return value


def _publish(data: Any) -> Publish:
    fields = _fields(data, "sdp", optional=("restart",))
    return Publish(sdp=_sdp(fields), restart=_bool(fields, "restart"))


def _subscribe_answer(data: Any) -> SubscribeAnswer:
    fields = _fields(data, "conn", "sdp")
    conn = _conn(fields)
    if conn == PUB_CONN:
        raise _malformed("the client offers on 'pub'; it answers only on connections sent down")
    return SubscribeAnswer(conn=conn, sdp=_sdp(fields))


def _token(fields: Mapping[str, Any], key: str, pattern: re.Pattern[str]) -> str | None:
    value = fields.get(key)
    if value is not None and (not isinstance(value, str) or not pattern.fullmatch(value)):
        raise _malformed(f"{key!r} must be null or a short token")
    return value


def _candidate(data: Any) -> Candidate:
    # usernameFragment is part of RTCIceCandidate.toJSON(), which clients send as it is.
    optional = ("sdpMid", "sdpMLineIndex", "usernameFragment")
    fields = _fields(data, "conn", "candidate", optional=optional)
    text = _sized(fields, "candidate", MAX_CANDIDATE_BYTES)
    # The text becomes an SDP attribute line on the other side: a line break would inject lines.
    if text and (not text.startswith("candidate:") or _CONTROL.search(text)):
        raise _malformed("'candidate' must be empty or one 'candidate:' line")
    mid = _token(fields, "sdpMid", _MID)
    index = fields.get("sdpMLineIndex")
    if index is not None and (
        not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= MAX_MLINE_INDEX
    ):
        raise _malformed(f"'sdpMLineIndex' must be null or an integer 0..{MAX_MLINE_INDEX}")
    # What addIceCandidate requires: a candidate must say which m-line it belongs to.
    if text and mid is None and index is None:
        raise _malformed("a candidate needs 'sdpMid' or 'sdpMLineIndex'")
    return Candidate(_conn(fields), text, mid, index, _token(fields, "usernameFragment", _UFRAG))


def _restart(data: Any) -> Restart:
    return Restart(conn=_conn(_fields(data, "conn")))


def _mute(data: Any) -> Mute:
    fields = _fields(data, "kind", "muted")
    if fields["kind"] not in KINDS:
        raise _malformed("'kind' must be 'audio' or 'video'")
    return Mute(kind=fields["kind"], muted=_bool(fields, "muted"))


def _leave(data: Any) -> Leave:
    _fields(data)
    return Leave()


def _state(data: Any) -> State:
    fields = _fields(data, "conn", "state")
    if fields["state"] not in CONN_STATES:
        raise _malformed(f"'state' must be one of {', '.join(CONN_STATES)}")
    return State(conn=_conn(fields), state=fields["state"])


_PARSERS: dict[str, Callable[[Any], Message]] = {
    "publish": _publish,
    "subscribe_answer": _subscribe_answer,
    "candidate": _candidate,
    "restart": _restart,
    "mute": _mute,
    "leave": _leave,
    "state": _state,
}
MESSAGE_TYPES = frozenset(_PARSERS)


def parse_message(event: str, data: Any) -> Message:
    """The message of socket.io event ``event`` with payload ``data``, or raise SignalError."""
    parser = _PARSERS.get(event) if isinstance(event, str) else None
    if parser is None:
        raise SignalError(SignalCode.UNKNOWN_MESSAGE, f"unknown signaling message {event!r:.80}")
    return parser(data)
