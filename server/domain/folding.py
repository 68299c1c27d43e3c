"""Folding the event log into a session state: one function per event type, in a table.

``apply_event`` updates a ``SessionState`` in place (the projector owns its state; copying a large
state for every event would make a replay of a long session quadratic). It never looks at a clock
or does IO. A new concept adds its event types to :data:`FOLDS` from its own module (the
committee's are in :mod:`server.domain.committee_fold`); an event type without a fold (media,
recordings, access checks) leaves the state as it was, but still advances its ``seq``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from server.domain.clarification import CLARIFICATION_FOLDS
from server.domain.committee_fold import COMMITTEE_FOLDS
from server.domain.conduct import CONDUCT_FOLDS
from server.domain.draw_session import DRAW_FOLDS
from server.domain.events import Event
from server.domain.faults import FAULT_FOLDS
from server.domain.inspection import INSPECTION_FOLDS
from server.domain.pause import PAUSE_FOLDS
from server.domain.recovery import RECOVERY_FOLDS
from server.domain.recusal import RECUSAL_FOLDS
from server.domain.rollback import ROLLBACK_FOLDS
from server.domain.sealing import SEAL_FOLDS
from server.domain.state import (
    BlindState,
    Cell,
    Phase,
    ReportSignature,
    ReportState,
    SessionState,
    cell_key,
    new_state,
    token_key,
)

Fold = Callable[[SessionState, dict[str, Any], Event], None]


def _enrolled(state: SessionState, data: dict[str, Any], event: Event) -> None:
    seat = state.seats[data["seat"]]
    seat.key, seat.enrolled_seq = data["key"]["public"], event.seq


def _phase_changed(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.phase = Phase(data["to"])
    state.phase_seq = event.seq
    state.phase_times[data["to"]] = event.time_ms


def _signed_in(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.seats[data["seat"]].signed_in = True
    state.seats[data["seat"]].signed_in_ms = event.time_ms


def _score_set(state: SessionState, data: dict[str, Any], event: Event) -> None:
    code = data.get("code")
    bidder = data.get("bidder") or state.blind_bidder(data["seat"], code)
    key = cell_key(bidder, data["criterion"])
    earlier = state.cells[data["seat"]].get(key)
    first_ms = earlier.first_ms if earlier is not None else event.time_ms
    cell = Cell(data["value"], data.get("comment"), event.seq, code, first_ms)
    state.cells[data["seat"]][key] = cell


def _submitted(state: SessionState, data: dict[str, Any], event: Event) -> None:
    seat = state.seats[data["seat"]]
    seat.submitted, seat.submitted_seq = True, event.seq


def _blind_assigned(state: SessionState, data: dict[str, Any], event: Event) -> None:
    pairs = {s: [(c, b) for c, b in codes] for s, codes in data["seats"].items()}
    state.blind = BlindState(pairs)


def _blind_revealed(state: SessionState, data: dict[str, Any], event: Event) -> None:
    if state.blind is not None:
        state.blind.revealed = True


def _report_issued(state: SessionState, data: dict[str, Any], event: Event) -> None:
    fields = {k: data[k] for k in ("content", "bytes", "font")}
    state.report = ReportState(data["report"], seq=event.seq, **fields)


def _report_signed(state: SessionState, data: dict[str, Any], event: Event) -> None:
    if state.report is not None:
        state.report.signatures[data["seat"]] = ReportSignature(
            data.get("dissent"), data["signed"], data["sig"], event.seq, event.time_ms
        )


def _enrolment_reset(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.seats[data["seat"]].code_reset_ms = event.time_ms


def _tokens_revoked(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.token_generations[token_key(data["role"], data["subject"])] = data["generation"]


FOLDS: dict[str, Fold] = {
    "seat.enrolled": _enrolled,
    "phase.changed": _phase_changed,
    "expert.signed_in": _signed_in,
    "score.set": _score_set,
    "sheet.submitted": _submitted,
    "blind.assigned": _blind_assigned,
    "blind.revealed": _blind_revealed,
    "report.issued": _report_issued,
    "report.signed": _report_signed,
    "enrolment.reset": _enrolment_reset,
    "tokens.revoked": _tokens_revoked,
    **COMMITTEE_FOLDS,
    **PAUSE_FOLDS,
    **FAULT_FOLDS,
    **SEAL_FOLDS,
    **ROLLBACK_FOLDS,
    **RECOVERY_FOLDS,
    **CONDUCT_FOLDS,
    **INSPECTION_FOLDS,
    **DRAW_FOLDS,
    **RECUSAL_FOLDS,
    **CLARIFICATION_FOLDS,
}


def apply_event(state: SessionState, event: Event) -> None:
    """Fold one event into the state. Events must come in ``seq`` order, without gaps."""
    if event.seq != state.seq + 1:
        raise ValueError(f"event seq {event.seq} does not follow state seq {state.seq}")
    fold_one = FOLDS.get(event.type)
    if fold_one is not None:
        fold_one(state, event.data, event)
    state.seq = event.seq


def fold(events: Iterable[Event], state: SessionState | None = None) -> SessionState:
    """Fold events into ``state`` (or from the start when ``state`` is None)."""
    for event in events:
        if state is None:
            if event.type != "session.created" or event.seq != 1:
                raise ValueError("a session log starts with session.created at seq 1")
            state = new_state(event)
        else:
            apply_event(state, event)
    if state is None:
        raise ValueError("no events")
    return state
