"""Who may still act: revoked tokens, reset enrolment back-off, and the back-off rule itself.

A token names its role, subject and a *generation* (``g``, 0 when absent). The admin revokes every
token of a role and subject by logging ``tokens.revoked`` with the next generation; from then on
only tokens of that generation are accepted, on new requests and on open sockets alike. Because the
rule is a fold of the log, every node applies the same revocation without sharing memory.

Wrong enrolment codes slow their *source* down, per seat and over all seats, by
:func:`backoff_ms`; they never lock a seat, so nobody without a token can keep a seat from
enrolling. A supervisor may clear a seat's back-off (``enrolment.reset``), which is logged.
Pure: no IO, no clock; the time is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.domain.errors import Code, CommandError
from server.domain.events import Check, Draft, StaffParser
from server.domain.roles import Principal, Role, require
from server.domain.state import SessionState, token_key

ACCESS_EVENTS = frozenset({"tokens.revoked", "enrolment.reset"})
# A venue's token too: leaked before its share is committed, it could commit in the venue's
# place; revoked, the venue gets a new one (and the admin opens the draw again if need be).
REVOCABLE_ROLES = frozenset({Role.SUPERVISOR, Role.AUDITOR, Role.PUBLIC, Role.VENUE})
MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class RevokeTokens:
    """The admin revokes every token of ``role``/``subject`` issued so far."""

    role: str
    subject: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ResetEnrolment:
    """A supervisor clears the wrong-code back-off of one seat (every source)."""

    seat: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Backoff:
    """How wrong enrolment codes slow their source down (config: ``EVALROOM_ENROL_*``)."""

    free_per_seat: int = 3  # wrong codes from one source for one seat before any wait
    free_per_source: int = 20  # wrong codes from one source over every seat before any wait
    first_wait_ms: int = 1_000  # the first wait; each further failure doubles it
    max_wait_ms: int = 15 * 60 * 1000


def backoff_ms(failures: int, free: int, rule: Backoff) -> int:
    """How long a source waits after ``failures`` wrong codes (0 while within ``free``)."""
    if failures < free:
        return 0
    doublings = min(failures - free, 40)  # 2**40 s is past any cap: no overflow, no float
    return min(rule.first_wait_ms << doublings, rule.max_wait_ms)


def retry_at_ms(last_ms: int, failures: int, free: int, rule: Backoff) -> int:
    """The earliest time a source may try again after its last wrong code."""
    return last_ms + backoff_ms(failures, free, rule)


def token_generation(state: SessionState, role: str, subject: str) -> int:
    """The generation a token of ``role``/``subject`` must carry to be accepted."""
    return state.token_generations.get(token_key(role, subject), 0)


def _reason(reason: Any) -> str | None:
    if reason is None:
        return None
    if not isinstance(reason, str) or not 0 < len(reason) <= MAX_REASON:
        raise CommandError(Code.MALFORMED, f"reason must be 1..{MAX_REASON} characters")
    return reason


def check_revoke(state: SessionState, principal: Principal, command: RevokeTokens) -> list[Draft]:
    """Only the admin revokes; only staff and venue tokens (a seat's key ends by its recovery or
    its replacement)."""
    require(principal, Role.ADMIN, "only the admin revokes tokens")
    try:
        role = Role(command.role)
    except ValueError:
        role = None
    if role not in REVOCABLE_ROLES:
        allowed = ", ".join(sorted(REVOCABLE_ROLES))
        raise CommandError(Code.MALFORMED, f"role must be one of {allowed}")
    if not isinstance(command.subject, str) or not 0 < len(command.subject) <= 64:
        raise CommandError(Code.MALFORMED, "subject must be 1..64 characters")
    generation = token_generation(state, str(role), command.subject) + 1
    data: dict[str, Any] = {"role": str(role), "subject": command.subject}
    data["generation"] = generation
    reason = _reason(command.reason)
    if reason is not None:
        data["reason"] = reason
    return [Draft("tokens.revoked", principal.actor, data)]


def check_reset(state: SessionState, principal: Principal, command: ResetEnrolment) -> list[Draft]:
    """A supervisor clears a seat's back-off; an enrolled seat has nothing to reset."""
    require(principal, Role.SUPERVISOR, "only a supervisor resets enrolment attempts")
    seat = state.seat_named(command.seat)
    if seat.key is not None:
        raise CommandError(Code.ALREADY_ENROLLED, f"seat {seat.seat} has enrolled already")
    data: dict[str, Any] = {"seat": seat.seat}
    reason = _reason(command.reason)
    if reason is not None:
        data["reason"] = reason
    return [Draft("enrolment.reset", principal.actor, data)]


CHECKS: dict[type, Check] = {
    RevokeTokens: check_revoke,
    ResetEnrolment: check_reset,
}
STAFF_COMMANDS: dict[str, StaffParser] = {
    "enrolment.reset": lambda e: ResetEnrolment(e.get("seat", ""), e.get("reason")),
}
