"""The fault rule (故障处理): what a fault's pause turns into when its time runs out.

A supervisor declares a fault by pausing with ``fault: true`` (:mod:`server.domain.pause`). The
local rule (GLOSSARY, Lijiang; minutes per lot, :class:`server.domain.lot.FaultRules`):

- before the start (sign-in), a fault not fixed within ``before_start`` minutes goes to the
  tenderer (``fault.referred``), who decides: go on (a supervisor resumes) or stop (the admin
  records the decision as the seal, :mod:`server.domain.sealing`);
- during evaluation (scoring, review), a fault not fixed within ``during`` minutes seals the
  session (``session.sealed``, cause ``fault``): the committee is re-formed in a new session.

The clock starts at the fault's pause: the lot carries no scheduled start time, so a fault found
before the scheduled start reaches the tenderer early rather than late. Pure: the time is an
argument. The node's timer asks :func:`due` and submits :class:`FaultTimer` with the time it
read; the domain checks the deadline again against that time when the command is decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.domain.errors import Code, CommandError
from server.domain.events import Check, Draft, Event
from server.domain.roles import Principal, Role, require
from server.domain.state import Phase, SessionState

BEFORE_START = frozenset({Phase.SIGN_IN})
DURING = frozenset({Phase.SCORING, Phase.REVIEW})
MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class FaultTimer:
    """The node's timer: a fault's deadline may have passed at ``now_ms``."""

    now_ms: int


@dataclass(frozen=True, slots=True)
class Deadline:
    """When the running fault's rule applies: ``before_start`` (refer) or ``during`` (seal)."""

    rule: str
    at_ms: int


def deadline(state: SessionState) -> Deadline | None:
    """The deadline of the fault the session is paused for, if its clock runs."""
    pause = state.paused
    if pause is None or not pause.fault or state.sealed is not None:
        return None
    rules = state.lot.faults
    if state.phase in BEFORE_START and pause.referred_ms is None:
        return Deadline("before_start", pause.since_ms + rules.before_start * MINUTE_MS)
    if state.phase in DURING:
        return Deadline("during", pause.since_ms + rules.during * MINUTE_MS)
    return None


def due(state: SessionState, now_ms: int) -> bool:
    """Whether the node's timer should submit :class:`FaultTimer` now."""
    passed = deadline(state)
    return passed is not None and now_ms >= passed.at_ms


def check_timer(state: SessionState, principal: Principal, command: FaultTimer) -> list[Draft]:
    """A passed deadline: before the start the fault goes to the tenderer, during it seals."""
    require(principal, Role.NODE, "only the node's timer applies the fault rule")
    passed = deadline(state)
    if passed is None:
        raise CommandError(Code.NOT_DUE, "no fault's clock is running")
    if command.now_ms < passed.at_ms:
        raise CommandError(Code.NOT_DUE, f"the fault rule applies at {passed.at_ms}")
    data = {"rule": passed.rule, "deadline": passed.at_ms}
    if passed.rule == "before_start":
        return [Draft("fault.referred", principal.actor, data)]
    return [Draft("session.sealed", principal.actor, {"cause": "fault", **data})]


def _referred(state: SessionState, data: dict[str, Any], event: Event) -> None:
    if state.paused is not None:
        state.paused.referred_ms = event.time_ms


FAULT_FOLDS = {"fault.referred": _referred}


CHECKS: dict[type, Check] = {FaultTimer: check_timer}  # no staff command: only the node's timer
