"""Seat recovery (设备故障换机): a seat whose device failed enrols a new key, only with a
supervisor's approval and a new one-time code.

A supervisor's ``seat.recover`` logs ``seat.key_revoked`` (the seat, the reason, the revoked
public key and the ``seq`` of the enrolment that recorded it). From then on the seat has no key:
nothing signed with the old key is accepted, and its expert tokens are of an earlier generation
(the old device loses its socket within a second). The shell hands the supervisor a new one-time
code, a secret kept outside the log as every enrolment code is; the seat enrols a new key with
it (``seat.enrolled`` again). What the seat signed before stays valid: each signature is checked
with the key in force at its ``seq``. Possible while paused (a failed device is what a fault
pause is for), never once closed. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.domain.committee import text_of
from server.domain.errors import Code, CommandError
from server.domain.events import Check, Draft, Event, StaffParser
from server.domain.roles import Principal, Role, require
from server.domain.state import Phase, SessionState, end_seat_tokens

MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class RecoverSeat:
    """A supervisor approves replacing a seat's key: the old one is revoked."""

    seat: Any
    reason: Any


def check_recover(state: SessionState, principal: Principal, command: RecoverSeat) -> list[Draft]:
    """Revoke an enrolled seat's key, with the reason, so that it can enrol a new one."""
    require(principal, Role.SUPERVISOR, "only a supervisor approves a seat's recovery")
    seat = state.seat_named(command.seat)
    if seat.key is None:
        raise CommandError(Code.NOT_ENROLLED, f"seat {seat.seat} has no key to replace")
    if state.phase is Phase.CLOSED:
        raise CommandError(Code.WRONG_PHASE, "the session is closed")
    reason = text_of({"reason": command.reason}, "reason", True, MAX_REASON)
    data = {"seat": seat.seat, "reason": reason, "key": seat.key, "enrolled": seat.enrolled_seq}
    return [Draft("seat.key_revoked", principal.actor, data)]


def recovering(state: SessionState, seat: str) -> bool:
    """Whether ``seat`` had its key revoked and has not enrolled a new one yet."""
    found = state.seats.get(seat)
    return found is not None and found.key is None and found.revoked_seq > 0


def _key_revoked(state: SessionState, data: dict[str, Any], event: Event) -> None:
    seat = state.seats[data["seat"]]
    seat.key, seat.revoked_seq = None, event.seq
    end_seat_tokens(state, seat.seat)


RECOVERY_FOLDS = {"seat.key_revoked": _key_revoked}


CHECKS: dict[type, Check] = {RecoverSeat: check_recover}
# The shell answers this one itself, with the new code (server/app/handlers/enrolment.py).
STAFF_COMMANDS: dict[str, StaffParser] = {
    "seat.recover": lambda e: RecoverSeat(e.get("seat"), e.get("reason"))
}
