"""Pause and resume (暂停评标): a supervisor stops the evaluation with a reason and resumes it.

While paused, nothing moves the evaluation on: every expert command and every staff step
(phase, blind close, rejection review, report) is refused with ``paused``; what keeps the room
safe and on the record still goes through (media facts, token revocation, an enrolment reset,
and the resume itself). A pause is possible from sign-in until the session closes. Pure: the
time of a pause is its event's time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.domain.committee import text_of
from server.domain.errors import Code, CommandError
from server.domain.events import Check, Draft, Event, StaffParser
from server.domain.roles import Principal, Role, require
from server.domain.state import Pause, Phase, SessionState

PAUSE_EVENTS = frozenset({"session.paused", "session.resumed"})
PAUSABLE_PHASES = frozenset({Phase.SIGN_IN, Phase.SCORING, Phase.REVIEW})
MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class PauseSession:
    """A supervisor pauses the evaluation; the reason is required (checked) and logged.

    ``fault`` marks a technical fault (故障): then the fault rule's clock runs
    (:mod:`server.domain.faults`) and the pause may end in the session's seal.
    """

    reason: str | None
    fault: Any = False  # checked: only true or false


@dataclass(frozen=True, slots=True)
class ResumeSession:
    """A supervisor resumes a paused evaluation (a note is optional)."""

    reason: str | None = None


def _supervisor(principal: Principal) -> None:
    require(principal, Role.SUPERVISOR, "only a supervisor pauses or resumes the evaluation")


def check_pause(state: SessionState, principal: Principal, command: PauseSession) -> list[Draft]:
    _supervisor(principal)
    if state.phase not in PAUSABLE_PHASES:
        raise CommandError(Code.WRONG_PHASE, f"nothing to pause in phase {state.phase}")
    if state.paused is not None:
        raise CommandError(Code.PAUSED, "the evaluation is paused already")
    reason = text_of({"reason": command.reason}, "reason", True, MAX_REASON)
    if not isinstance(command.fault, bool):
        raise CommandError(Code.MALFORMED, "fault must be true or false")
    data: dict[str, Any] = {"reason": reason}
    if command.fault:
        data["fault"] = True
    return [Draft("session.paused", principal.actor, data)]


def check_resume(state: SessionState, principal: Principal, command: ResumeSession) -> list[Draft]:
    _supervisor(principal)
    if state.paused is None:
        raise CommandError(Code.NOT_PAUSED, "the evaluation is not paused")
    data: dict[str, Any] = {}
    reason = text_of({"reason": command.reason}, "reason", False, MAX_REASON)
    if reason is not None:
        data["reason"] = reason
    return [Draft("session.resumed", principal.actor, data)]


def refuse_while_paused(state: SessionState) -> None:
    """Raise ``paused`` if the evaluation is paused (called for commands that move it on)."""
    if state.paused is not None:
        raise CommandError(Code.PAUSED, f"the evaluation is paused: {state.paused.reason}")


def _paused(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.paused = Pause(data["reason"], event.time_ms, event.seq, data.get("fault", False))


def _resumed(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.paused = None


PAUSE_FOLDS = {"session.paused": _paused, "session.resumed": _resumed}


CHECKS: dict[type, Check] = {
    PauseSession: check_pause,
    ResumeSession: check_resume,
}
STAFF_COMMANDS: dict[str, StaffParser] = {
    "session.pause": lambda e: PauseSession(e.get("reason"), e.get("fault", False)),
    "session.resume": lambda e: ResumeSession(e.get("reason")),
}
