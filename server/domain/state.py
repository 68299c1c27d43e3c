"""The session projection: a fold of the event log.

``apply_event`` updates a ``SessionState`` in place (the projector owns its state; copying a large
state for every event would make a replay of a long session quadratic). It never looks at a clock
or does IO. ``state_to_json``/``state_from_json`` round-trip a state for snapshots.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from server.domain.events import Event
from server.domain.lot import Lot, parse_lot


class Phase(StrEnum):
    """Session phases, in order."""

    PREPARED = "prepared"
    SIGN_IN = "sign_in"
    SCORING = "scoring"
    REVIEW = "review"
    CLOSED = "closed"


NEXT_PHASE: dict[Phase, Phase] = {
    Phase.PREPARED: Phase.SIGN_IN,
    Phase.SIGN_IN: Phase.SCORING,
    Phase.SCORING: Phase.REVIEW,
    Phase.REVIEW: Phase.CLOSED,
}

# Once scoring is over every expert may see the committee's scores (the results are revealed).
REVEALED_PHASES = frozenset({Phase.REVIEW, Phase.CLOSED})


@dataclass
class SeatState:
    seat: str
    venue: str
    key: str | None = None  # base64 raw Ed25519 public key, once enrolled
    signed_in: bool = False
    submitted: bool = False


@dataclass
class Cell:
    value: str
    comment: str | None
    seq: int


@dataclass
class SessionState:
    session: str
    lot: Lot
    seq: int = 0
    phase: Phase = Phase.PREPARED
    seats: dict[str, SeatState] = field(default_factory=dict)
    # seat -> "bidder/criterion" -> cell
    cells: dict[str, dict[str, Cell]] = field(default_factory=dict)

    @property
    def revealed(self) -> bool:
        """Whether experts may see each other's scores."""
        return self.phase in REVEALED_PHASES


def cell_key(bidder: str, criterion: str) -> str:
    """The key of one cell of a scoring sheet."""
    return f"{bidder}/{criterion}"


def new_state(created: Event) -> SessionState:
    """The state right after ``session.created``."""
    lot = parse_lot(created.data["lot"])
    seats = {}
    for venue in lot.venues:
        for seat in venue.seat_ids():
            seats[seat] = SeatState(seat=seat, venue=venue.id)
    return SessionState(
        session=created.session,
        lot=lot,
        seq=created.seq,
        seats=seats,
        cells={seat: {} for seat in seats},
    )


def apply_event(state: SessionState, event: Event) -> None:
    """Fold one event into the state. Events must come in ``seq`` order, without gaps."""
    if event.seq != state.seq + 1:
        raise ValueError(f"event seq {event.seq} does not follow state seq {state.seq}")
    data = event.data
    if event.type == "seat.enrolled":
        state.seats[data["seat"]].key = data["key"]["public"]
    elif event.type == "phase.changed":
        state.phase = Phase(data["to"])
    elif event.type == "expert.signed_in":
        state.seats[data["seat"]].signed_in = True
    elif event.type == "score.set":
        key = cell_key(data["bidder"], data["criterion"])
        state.cells[data["seat"]][key] = Cell(data["value"], data.get("comment"), event.seq)
    elif event.type == "sheet.submitted":
        state.seats[data["seat"]].submitted = True
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


def state_to_json(state: SessionState) -> dict[str, Any]:
    """A snapshot of the state, as canonical-safe JSON."""
    return {
        "session": state.session,
        "seq": state.seq,
        "phase": str(state.phase),
        "lot": dict(state.lot.raw),
        "seats": {
            s.seat: {"venue": s.venue, "key": s.key, "signed_in": s.signed_in, "sub": s.submitted}
            for s in state.seats.values()
        },
        "cells": {
            seat: {k: [c.value, c.comment, c.seq] for k, c in cells.items()}
            for seat, cells in state.cells.items()
        },
    }


def state_from_json(obj: dict[str, Any]) -> SessionState:
    """Rebuild a state from :func:`state_to_json`."""
    return SessionState(
        session=obj["session"],
        lot=parse_lot(obj["lot"]),
        seq=obj["seq"],
        phase=Phase(obj["phase"]),
        seats={
            seat: SeatState(seat, s["venue"], s["key"], s["signed_in"], s["sub"])
            for seat, s in obj["seats"].items()
        },
        cells={
            seat: {k: Cell(v[0], v[1], v[2]) for k, v in cells.items()}
            for seat, cells in obj["cells"].items()
        },
    )
