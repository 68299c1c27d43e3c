"""Live media in the log: who joined the media room, connection states, mutes, alerts, and the
manifest of every closed recording.

These events are written by the node's media service (the principal with role ``media``, which
no token can stand for), never by a client. They are state changes only: the shell debounces
connection states and reports silence once per dark period, so the log never grows per packet
or per second. ``recording.closed`` binds each recording file (its SHA-256 and size) into the
signed log, so an archive's checkpoint covers every recording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from server.domain.errors import Code, CommandError
from server.domain.events import Check, Draft, schema_problems
from server.domain.roles import Principal, Role
from server.domain.state import SessionState

MEDIA_EVENTS = frozenset(
    {"media.joined", "media.left", "media.state", "media.muted", "media.alert", "recording.closed"}
)
CONNECTION_STATES = frozenset(
    {"new", "connecting", "connected", "disconnected", "failed", "closed"}
)
KINDS = frozenset({"audio", "video"})
MAX_TEXT = 128
MAX_SENDER_REPORTS = 8
_MEMBER = re.compile(r"^(expert|supervisor):[A-Za-z0-9_.-]{1,64}$")
_FILE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
RECORDING_INTS = ("size", "packets", "keyframes", "start_ms", "end_ms", "clock_rate", "first_pts")
RECORDING_INTS_GAPS = ("gaps",)


@dataclass(frozen=True, slots=True)
class MediaRecord:
    """A media fact the shell observed, to be logged as the event of the same type."""

    type: str
    data: dict[str, Any]


def _fail(message: str) -> CommandError:
    return CommandError(Code.MALFORMED, message)


def _check_member(state: SessionState, member: Any) -> None:
    if not isinstance(member, str) or not _MEMBER.match(member):
        raise _fail(f"media member {member!r} is not expert:<seat> or supervisor:<name>")
    role, _, subject = member.partition(":")
    if role == "expert" and not state.ever_seated(subject):  # a recused seat's leave is logged
        raise CommandError(Code.UNKNOWN_SEAT, f"no seat {subject} in this session")


def _int(data: dict[str, Any], key: str) -> None:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(f"{key} must be a non-negative integer")


def _check_recording(state: SessionState, data: dict[str, Any]) -> None:
    if not state.ever_seated(data["seat"]):  # a recused seat's recording closes after it left
        raise CommandError(Code.UNKNOWN_SEAT, f"no seat {data['seat']} in this session")
    if data["track"] not in KINDS:
        raise _fail("track must be audio or video")
    if not isinstance(data["file"], str) or not _FILE.match(data["file"]):
        raise _fail("file must be a plain file name")
    if not isinstance(data["sha256"], str) or not _HEX64.match(data["sha256"]):
        raise _fail("sha256 must be 64 lowercase hex digits")
    if not isinstance(data["codec"], str) or len(data["codec"]) > MAX_TEXT:
        raise _fail("codec must be a short text")
    for key in (*RECORDING_INTS, *RECORDING_INTS_GAPS):
        _int(data, key)
    if not isinstance(data["cut"], bool):
        raise _fail("cut must be true or false")
    reports = data["sender_reports"]
    if not isinstance(reports, list) or len(reports) > MAX_SENDER_REPORTS:
        raise _fail(f"sender_reports must be a list of at most {MAX_SENDER_REPORTS}")
    for report in reports:
        if not isinstance(report, dict) or set(report) != {"rtp", "ntp_ms"}:
            raise _fail("a sender report is {rtp, ntp_ms}")
        for key in ("rtp", "ntp_ms"):
            if isinstance(report[key], bool) or not isinstance(report[key], int):
                raise _fail(f"sender report {key} must be an integer")


def check_media(state: SessionState, principal: Principal, command: MediaRecord) -> list[Draft]:
    """A media fact from the node's media service becomes its event, once checked."""
    if principal.role is not Role.MEDIA:
        raise CommandError(Code.FORBIDDEN, "only the node's media service records media events")
    if not isinstance(command.type, str) or command.type not in MEDIA_EVENTS:
        raise CommandError(Code.UNKNOWN_COMMAND, f"unknown media event {command.type!r}")
    data = command.data
    problems = schema_problems(command.type, data)
    if problems:
        raise _fail(f"{command.type}: {', '.join(problems)}")
    if command.type == "recording.closed":
        _check_recording(state, data)
    else:
        _check_member(state, data["member"])
    if "kind" in data and data["kind"] not in KINDS:
        raise _fail("kind must be audio or video")
    if command.type == "media.state" and data["state"] not in CONNECTION_STATES:
        raise _fail(f"unknown connection state {data['state']!r}")
    for key in ("publishes", "muted"):
        if key in data and not isinstance(data[key], bool):
            raise _fail(f"{key} must be true or false")
    for key in ("conn", "reason"):
        if key in data and (not isinstance(data[key], str) or len(data[key]) > MAX_TEXT):
            raise _fail(f"{key} must be a text of at most {MAX_TEXT} characters")
    if "dark_ms" in data:
        _int(data, "dark_ms")
    return [Draft(command.type, principal.actor, dict(data))]


def concerns_seat(event_type: str, data: dict[str, Any], seat: str | None) -> bool:
    """Whether a media event is about ``seat`` (an expert sees only media events about itself)."""
    if event_type == "recording.closed":
        return data.get("seat") == seat
    return seat is not None and data.get("member") == f"expert:{seat}"


CHECKS: dict[type, Check] = {MediaRecord: check_media}
