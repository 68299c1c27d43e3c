"""Roll-back (回退) with the supervisor's approval, only ever as new events that say what they undo.

Nothing is deleted or rewritten: a roll-back is a request, a supervisor's decision, and on
approval the compensating events, each naming the ``seq`` of the event it undoes:

- an expert asks to reopen its own submitted sheet during scoring (signed ``rollback.request``
  with ``what: "sheet"`` and a reason); approved, ``sheet.reopened`` lets it score again;
- a supervisor asks to take the evaluation back from review to scoring before the report is
  issued (``phase.rollback``: a reason and the seats whose sheets reopen); approved by the
  *other* supervisor (four eyes), ``phase.rolled_back`` and a ``sheet.reopened`` per seat.

A decline (``rollback.declined``) needs a reason. What the scores were stays in the log: a
reopened sheet's later ``score.set`` events follow the earlier ones. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.domain.committee import text_of
from server.domain.errors import Code, CommandError
from server.domain.events import Check, Draft, Event, StaffParser
from server.domain.roles import Principal, Role, require
from server.domain.scoring import actor_of
from server.domain.state import Phase, Rollback, SessionState

ROLLBACK_EVENTS = frozenset(
    {"rollback.requested", "rollback.declined", "sheet.reopened", "phase.rolled_back"}
)
# Events about one seat's sheet: another expert sees them only once results are revealed.
ROLLBACK_SEAT_EVENTS = frozenset({"rollback.requested", "rollback.declined", "sheet.reopened"})


@dataclass(frozen=True, slots=True)
class PhaseRollback:
    """A supervisor asks to take the evaluation back from review to scoring."""

    reason: Any
    seats: Any  # the seats whose sheets reopen (checked: a non-empty list of submitted seats)


@dataclass(frozen=True, slots=True)
class ReviewRollback:
    """A supervisor approves a roll-back request, or declines it with a reason."""

    rollback: Any
    approve: bool
    reason: Any = None


def _supervisor(principal: Principal) -> None:
    require(principal, Role.SUPERVISOR, "only a supervisor rolls back or decides on it")


def _open_request(state: SessionState, kind: str, seat: str | None) -> None:
    for found in state.rollbacks.values():
        if found.status == "requested" and found.kind == kind and (seat in found.seats or not seat):
            raise CommandError(Code.ALREADY_REQUESTED, f"roll-back {found.id} is still open")


def _next_id(state: SessionState) -> str:
    return f"RB{len(state.rollbacks) + 1}"


def check_request(
    state: SessionState, seat: str, body: dict[str, Any], proof: dict[str, Any]
) -> list[Draft]:
    """``rollback.request`` (signed): an expert asks to reopen its own submitted sheet."""
    if body.get("what") != "sheet":  # the only roll-back an expert asks for (more may follow)
        raise CommandError(Code.MALFORMED, "an expert's roll-back request is what: 'sheet'")
    if state.phase is not Phase.SCORING:
        raise CommandError(Code.WRONG_PHASE, "a sheet is reopened only during scoring")
    if not state.seats[seat].submitted:
        raise CommandError(Code.NOT_SUBMITTED, f"seat {seat} has not submitted its sheet")
    reason = text_of(body, "reason")
    _open_request(state, "sheet", seat)
    data = {"rollback": _next_id(state), "kind": "sheet", "seat": seat, "reason": reason}
    return [Draft("rollback.requested", actor_of(seat), {**data, **proof})]


def check_phase_rollback(
    state: SessionState, principal: Principal, command: PhaseRollback
) -> list[Draft]:
    """A supervisor asks to go back from review to scoring, naming the sheets that reopen."""
    _supervisor(principal)
    if state.phase is not Phase.REVIEW:
        raise CommandError(Code.WRONG_PHASE, "only review goes back to scoring")
    if state.report is not None:
        raise CommandError(Code.REPORT_ISSUED, "the report is issued: nothing goes back now")
    reason = text_of({"reason": command.reason}, "reason")
    seats = command.seats
    if not isinstance(seats, list) or not seats or not all(isinstance(s, str) for s in seats):
        raise CommandError(Code.MALFORMED, "seats: a non-empty list of seat ids")
    for seat in seats:
        if seat not in state.seats:
            raise CommandError(Code.UNKNOWN_SEAT, f"no seat {seat} in this session")
    _open_request(state, "phase", None)
    data: dict[str, Any] = {"rollback": _next_id(state), "kind": "phase"}
    data |= {"to": str(Phase.SCORING), "seats": sorted(set(seats)), "reason": reason}
    return [Draft("rollback.requested", principal.actor, data)]


def check_review(state: SessionState, principal: Principal, command: ReviewRollback) -> list[Draft]:
    """Approve (the compensating events) or decline (with a reason) an open request."""
    _supervisor(principal)
    found = state.rollbacks.get(command.rollback) if isinstance(command.rollback, str) else None
    if found is None:
        raise CommandError(Code.UNKNOWN_ROLLBACK, f"no roll-back {command.rollback!r}")
    if found.status != "requested":
        raise CommandError(Code.PROPOSAL_CLOSED, f"roll-back {found.id} is {found.status}")
    seat_field = {"seat": found.seats[0]} if found.kind == "sheet" else {}
    if not command.approve:
        reason = text_of({"reason": command.reason}, "reason")
        data = {"rollback": found.id, **seat_field, "reason": reason}
        return [Draft("rollback.declined", principal.actor, data)]
    if found.kind == "sheet":
        return _reopen_sheet(state, principal, found)
    return _roll_back_phase(state, principal, found)


def _reopened(state: SessionState, actor: str, rollback: str, seat: str) -> Draft:
    undone = state.seats[seat].submitted_seq
    return Draft("sheet.reopened", actor, {"rollback": rollback, "seat": seat, "undone": undone})


def _reopen_sheet(state: SessionState, principal: Principal, found: Rollback) -> list[Draft]:
    seat = found.seats[0]
    if state.phase is not Phase.SCORING:
        raise CommandError(Code.WRONG_PHASE, "a sheet is reopened only during scoring")
    if not state.seats[seat].submitted:
        raise CommandError(Code.NOT_SUBMITTED, f"seat {seat} has not submitted its sheet")
    return [_reopened(state, principal.actor, found.id, seat)]


def _roll_back_phase(state: SessionState, principal: Principal, found: Rollback) -> list[Draft]:
    if found.by == principal.actor:
        raise CommandError(Code.FORBIDDEN, "the other supervisor approves this roll-back")
    if state.phase is not Phase.REVIEW:
        raise CommandError(Code.WRONG_PHASE, "only review goes back to scoring")
    if state.report is not None:
        raise CommandError(Code.REPORT_ISSUED, "the report is issued: nothing goes back now")
    data = {"rollback": found.id, "from": str(Phase.REVIEW), "to": str(Phase.SCORING)}
    drafts = [Draft("phase.rolled_back", principal.actor, {**data, "undone": state.phase_seq})]
    for seat in found.seats:
        if state.seats[seat].submitted:
            drafts.append(_reopened(state, principal.actor, found.id, seat))
    return drafts


def _requested(state: SessionState, data: dict[str, Any], event: Event) -> None:
    seats = tuple(data["seats"]) if data["kind"] == "phase" else (data["seat"],)
    rollback = Rollback(data["rollback"], data["kind"], seats, data["reason"], event.actor)
    state.rollbacks[rollback.id] = rollback
    rollback.seq = event.seq


def _declined(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.rollbacks[data["rollback"]].status = "declined"


def _sheet_reopened(state: SessionState, data: dict[str, Any], event: Event) -> None:
    seat = state.seats[data["seat"]]
    seat.submitted, seat.submitted_seq = False, 0
    state.rollbacks[data["rollback"]].status = "approved"


def _phase_rolled_back(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.phase = Phase(data["to"])
    state.phase_seq = event.seq
    state.phase_times.pop(data["from"], None)
    state.phase_times[data["to"]] = event.time_ms
    state.rollbacks[data["rollback"]].status = "approved"


ROLLBACK_FOLDS = {
    "rollback.requested": _requested,
    "rollback.declined": _declined,
    "sheet.reopened": _sheet_reopened,
    "phase.rolled_back": _phase_rolled_back,
}


CHECKS: dict[type, Check] = {
    PhaseRollback: check_phase_rollback,
    ReviewRollback: check_review,
}
STAFF_COMMANDS: dict[str, StaffParser] = {
    "phase.rollback": lambda e: PhaseRollback(e.get("reason"), e.get("seats")),
    "rollback.approve": lambda e: ReviewRollback(e.get("rollback"), True),
    "rollback.decline": lambda e: ReviewRollback(e.get("rollback"), False, e.get("reason")),
}
