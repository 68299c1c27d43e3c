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
    code_reset_ms: int = 0  # when a supervisor last cleared the seat's wrong-code back-off


@dataclass
class Cell:
    value: str
    comment: str | None
    seq: int
    code: str | None = None  # the blind code the expert signed, for a blind criterion


@dataclass
class BlindState:
    """The blind draw (暗标错位评审): per seat, its codes in the seat's own order."""

    # seat -> [(code, bidder), ...] in the order that seat sees the bidders
    seats: dict[str, list[tuple[str, str]]]
    revealed: bool = False

    def bidder_of(self, seat: str, code: str) -> str | None:
        """The bidder behind ``code`` on ``seat``'s sheet, if the code is one of the seat's."""
        return next((b for c, b in self.seats.get(seat, []) if c == code), None)

    def code_of(self, seat: str, bidder: str) -> str | None:
        """The code ``seat`` sees for ``bidder``."""
        return next((c for c, b in self.seats.get(seat, []) if b == bidder), None)

    def to_json(self) -> dict[str, list[list[str]]]:
        """The draw as event data: ``{seat: [[code, bidder], ...]}``."""
        return {seat: [[c, b] for c, b in pairs] for seat, pairs in self.seats.items()}


@dataclass
class Proposal:
    """A proposal to reject a bid (否决投标) and its votes."""

    id: str
    seat: str
    bidder: str
    ground: str
    reason: str
    seq: int
    status: str = "proposed"  # proposed, approved (voting), declined, rejected, kept
    votes: dict[str, bool] = field(default_factory=dict)


@dataclass
class Explanation:
    """An expert's signed explanation of a flagged score."""

    seat: str
    bidder: str
    code: str | None
    criterion: str
    text: str
    seq: int


@dataclass
class ReportSignature:
    """A member's signature of the report hash, with a dissent (保留意见) when given."""

    dissent: str | None
    signed: str
    sig: str
    seq: int
    time_ms: int


@dataclass
class ReportState:
    """The issued evaluation report: hashes of its PDF and content, and who signed it."""

    hash: str  # SHA-256 hex of the unsigned PDF: what members sign
    content: str  # SHA-256 hex of the canonical report content
    bytes: int
    font: str
    seq: int
    signatures: dict[str, ReportSignature] = field(default_factory=dict)


@dataclass
class Committee:
    """Decisions of the committee: chair, rejections, time extensions, flag explanations."""

    chair: str | None = None
    chair_round: int = 1
    chair_votes: dict[str, str] = field(default_factory=dict)  # current round: seat -> candidate
    proposals: dict[str, Proposal] = field(default_factory=dict)
    time_round: int = 1
    time_requests: list[str] = field(default_factory=list)  # current round, in order
    extensions: int = 0
    explanations: list[Explanation] = field(default_factory=list)

    def rejected(self) -> dict[str, Proposal]:
        """Rejected bids: bidder -> the proposal that rejected it."""
        return {p.bidder: p for p in self.proposals.values() if p.status == "rejected"}


@dataclass
class SessionState:
    session: str
    lot: Lot
    seq: int = 0
    phase: Phase = Phase.PREPARED
    seats: dict[str, SeatState] = field(default_factory=dict)
    # seat -> "bidder/criterion" -> cell (blind cells too: the code is resolved when folded)
    cells: dict[str, dict[str, Cell]] = field(default_factory=dict)
    blind: BlindState | None = None
    committee: Committee = field(default_factory=Committee)
    report: ReportState | None = None
    # "role:subject" -> the token generation in force (server/domain/access.py); absent is 0
    token_generations: dict[str, int] = field(default_factory=dict)
    # phase -> when it began (ms): the pages' clocks ("scoring for 1 h 20 min")
    phase_times: dict[str, int] = field(default_factory=dict)

    @property
    def revealed(self) -> bool:
        """Whether experts may see each other's scores."""
        return self.phase in REVEALED_PHASES

    @property
    def blind_open(self) -> bool:
        """Whether blind criteria are being scored by code right now."""
        return self.blind is not None and not self.blind.revealed

    def blind_bidder(self, seat: str, code: Any) -> str:
        """The bidder behind a code that the domain already accepted (folding trusts the log)."""
        bidder = self.blind.bidder_of(seat, code) if self.blind and isinstance(code, str) else None
        if bidder is None:
            raise ValueError(f"code {code!r} of seat {seat} is not in the blind draw")
        return bidder


def token_key(role: str, subject: str) -> str:
    """The key of a role and subject in :attr:`SessionState.token_generations`."""
    return f"{role}:{subject}"


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
    chair = lot.raw.get("committee", {}).get("chair")
    return SessionState(
        session=created.session,
        lot=lot,
        seq=created.seq,
        seats=seats,
        cells={seat: {} for seat in seats},
        committee=Committee(chair=chair if chair in seats else None),  # a named chair
        phase_times={str(Phase.PREPARED): created.time_ms},
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
        state.phase_times[data["to"]] = event.time_ms
    elif event.type == "expert.signed_in":
        state.seats[data["seat"]].signed_in = True
    elif event.type == "score.set":
        code = data.get("code")
        bidder = data.get("bidder") or state.blind_bidder(data["seat"], code)
        key = cell_key(bidder, data["criterion"])
        state.cells[data["seat"]][key] = Cell(data["value"], data.get("comment"), event.seq, code)
    elif event.type == "sheet.submitted":
        state.seats[data["seat"]].submitted = True
    elif event.type == "blind.assigned":
        pairs = {s: [(c, b) for c, b in codes] for s, codes in data["seats"].items()}
        state.blind = BlindState(pairs)
    elif event.type == "blind.revealed" and state.blind is not None:
        state.blind.revealed = True
    elif event.type == "report.issued":
        fields = {k: data[k] for k in ("content", "bytes", "font")}
        state.report = ReportState(data["report"], seq=event.seq, **fields)
    elif event.type == "report.signed" and state.report is not None:
        state.report.signatures[data["seat"]] = ReportSignature(
            data.get("dissent"), data["signed"], data["sig"], event.seq, event.time_ms
        )
    elif event.type == "enrolment.reset":
        state.seats[data["seat"]].code_reset_ms = event.time_ms
    elif event.type == "tokens.revoked":
        state.token_generations[token_key(data["role"], data["subject"])] = data["generation"]
    else:
        apply_committee_event(state, event)
    state.seq = event.seq


def apply_committee_event(state: SessionState, event: Event) -> None:
    """Fold the committee's decisions (chair, rejections, time, explanations)."""
    data, com = event.data, state.committee
    kind = event.type
    if kind == "chair.voted":
        com.chair_votes[data["seat"]] = data["candidate"]
    elif kind == "chair.round_ended":
        com.chair_round = data["round"] + 1
        com.chair_votes = {}
    elif kind == "chair.elected":
        com.chair = data["seat"]
        com.chair_votes = {}
    elif kind == "rejection.proposed":
        fields = {k: data[k] for k in ("seat", "bidder", "ground", "reason")}
        com.proposals[data["proposal"]] = Proposal(data["proposal"], seq=event.seq, **fields)
    elif kind == "rejection.approved":
        com.proposals[data["proposal"]].status = "approved"
    elif kind == "rejection.declined":
        com.proposals[data["proposal"]].status = "declined"
    elif kind == "rejection.voted":
        com.proposals[data["proposal"]].votes[data["seat"]] = data["vote"] == "yes"
    elif kind == "rejection.decided":
        com.proposals[data["proposal"]].status = data["outcome"]
    elif kind == "time.requested":
        com.time_requests.append(data["seat"])
    elif kind == "time.extended":
        com.extensions += 1
        com.time_round = data["round"] + 1
        com.time_requests = []
    elif kind == "flag.explained":
        code = data.get("code")
        bidder = data.get("bidder") or state.blind_bidder(data["seat"], code)
        com.explanations.append(
            Explanation(data["seat"], bidder, code, data["criterion"], data["text"], event.seq)
        )


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
            s.seat: {
                "venue": s.venue,
                "key": s.key,
                "signed_in": s.signed_in,
                "sub": s.submitted,
                "reset": s.code_reset_ms,
            }
            for s in state.seats.values()
        },
        "cells": {
            seat: {k: [c.value, c.comment, c.seq, c.code] for k, c in cells.items()}
            for seat, cells in state.cells.items()
        },
        "blind": None
        if state.blind is None
        else {"seats": state.blind.to_json(), "revealed": state.blind.revealed},
        "committee": _committee_to_json(state.committee),
        "report": _report_to_json(state.report),
        "tokens": dict(state.token_generations),
        "phase_times": dict(state.phase_times),
    }


def _report_to_json(report: ReportState | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {
        "hash": report.hash,
        "content": report.content,
        "bytes": report.bytes,
        "font": report.font,
        "seq": report.seq,
        "signatures": {
            seat: [s.dissent, s.signed, s.sig, s.seq, s.time_ms]
            for seat, s in report.signatures.items()
        },
    }


def _report_from_json(obj: dict[str, Any] | None) -> ReportState | None:
    if obj is None:
        return None
    signatures = {seat: ReportSignature(*s) for seat, s in obj["signatures"].items()}
    return ReportState(
        obj["hash"], obj["content"], obj["bytes"], obj["font"], obj["seq"], signatures
    )


def _committee_to_json(com: Committee) -> dict[str, Any]:
    return {
        "chair": com.chair,
        "chair_round": com.chair_round,
        "chair_votes": dict(com.chair_votes),
        "proposals": {
            p.id: {
                "seat": p.seat,
                "bidder": p.bidder,
                "ground": p.ground,
                "reason": p.reason,
                "seq": p.seq,
                "status": p.status,
                "votes": dict(p.votes),
            }
            for p in com.proposals.values()
        },
        "time_round": com.time_round,
        "time_requests": list(com.time_requests),
        "extensions": com.extensions,
        "explanations": [
            [e.seat, e.bidder, e.code, e.criterion, e.text, e.seq] for e in com.explanations
        ],
    }


def _committee_from_json(obj: dict[str, Any]) -> Committee:
    return Committee(
        chair=obj["chair"],
        chair_round=obj["chair_round"],
        chair_votes=dict(obj["chair_votes"]),
        proposals={
            pid: Proposal(
                pid,
                p["seat"],
                p["bidder"],
                p["ground"],
                p["reason"],
                p["seq"],
                p["status"],
                dict(p["votes"]),
            )
            for pid, p in obj["proposals"].items()
        },
        time_round=obj["time_round"],
        time_requests=list(obj["time_requests"]),
        extensions=obj["extensions"],
        explanations=[Explanation(*e) for e in obj["explanations"]],
    )


def state_from_json(obj: dict[str, Any]) -> SessionState:
    """Rebuild a state from :func:`state_to_json`."""
    return SessionState(
        session=obj["session"],
        lot=parse_lot(obj["lot"]),
        seq=obj["seq"],
        phase=Phase(obj["phase"]),
        seats={
            seat: SeatState(seat, s["venue"], s["key"], s["signed_in"], s["sub"], s.get("reset", 0))
            for seat, s in obj["seats"].items()
        },
        cells={
            seat: {k: Cell(*v) for k, v in cells.items()} for seat, cells in obj["cells"].items()
        },
        blind=_blind_from_json(obj.get("blind")),
        committee=_committee_from_json(obj["committee"]) if "committee" in obj else Committee(),
        report=_report_from_json(obj.get("report")),
        token_generations=dict(obj.get("tokens", {})),
        phase_times=dict(obj.get("phase_times", {})),
    )


def _blind_from_json(obj: dict[str, Any] | None) -> BlindState | None:
    if obj is None:
        return None
    pairs = {seat: [(c, b) for c, b in codes] for seat, codes in obj["seats"].items()}
    return BlindState(pairs, obj["revealed"])
