"""Who may see the results and the flags, and in what form.

Results and flags are computed on request from the state (:mod:`results`, :mod:`flags`); they
are not folded by clients, so clients ask for them (socket.io ``results``) when an event
changes them.

Decisions:

- **Results**: supervisors, auditors and admins always (live); experts once the results are
  revealed (``review``, ``closed``); the public screen never (it shows progress only).
- **Flags**: supervisors, auditors and admins see every flag with the score and the committee
  mean; the chair sees the same (their duty is to raise it with the expert); any other expert
  sees only the flags on their own scores, without the mean or the others' values, which is
  what they need to write an explanation. Until the blind part is revealed a blind cell is
  named, for an expert (chair included), by that expert's own code and never by the bidder.
"""

from __future__ import annotations

from typing import Any

from server.domain.flags import deviations, mismatches
from server.domain.results import results
from server.domain.roles import FULL_VIEW_ROLES, PUBLIC_VIEW_ROLES, Role
from server.domain.rules import round_final
from server.domain.state import SessionState
from server.domain.views import Viewer


def results_view(state: SessionState, viewer: Viewer) -> dict[str, Any] | None:
    """The results as ``viewer`` may see them, or None when they may not (yet)."""
    if viewer.role in FULL_VIEW_ROLES or (viewer.role is Role.EXPERT and state.revealed):
        return results(state).to_json()
    return None


def _cell_name(state: SessionState, viewer: Viewer, bidder: str, criterion: str) -> dict[str, Any]:
    found = state.lot.criterion(criterion)
    blind = state.blind
    hidden = viewer.role is Role.EXPERT and blind is not None and not blind.revealed
    if hidden and found is not None and found.blind and blind is not None and viewer.seat:
        return {"bidder": None, "code": blind.code_of(viewer.seat, bidder), "criterion": criterion}
    return {"bidder": bidder, "criterion": criterion}


def _explained(state: SessionState, seat: str, bidder: str, criterion: str) -> bool:
    return any(
        e.seat == seat and e.bidder == bidder and e.criterion == criterion
        for e in state.committee.explanations
    )


def flags_view(state: SessionState, viewer: Viewer) -> list[dict[str, Any]] | None:
    """Deviation and mismatch flags as ``viewer`` may see them (None for the public screen)."""
    if viewer.role in PUBLIC_VIEW_ROLES:
        return None
    everything = viewer.role in FULL_VIEW_ROLES or (
        viewer.seat is not None and viewer.seat == state.committee.chair
    )
    flags: list[dict[str, Any]] = []
    for d in deviations(state):
        if not everything and d.seat != viewer.seat:
            continue
        item: dict[str, Any] = {"kind": "deviation", "seat": d.seat}
        item.update(_cell_name(state, viewer, d.bidder, d.criterion))
        if everything:
            item.update(score=str(d.score), mean=str(round_final(d.mean)))
        item["explained"] = _explained(state, d.seat, d.bidder, d.criterion)
        flags.append(item)
    for m in mismatches(state):
        if not everything and viewer.seat not in m.seats:
            continue
        item = {"kind": "mismatch", **_cell_name(state, viewer, m.bidder, m.criterion)}
        if everything:
            item["values"] = {str(value): list(seats) for value, seats in m.values}
        flags.append(item)
    return flags
