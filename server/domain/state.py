"""The session projection's types: what a fold of the event log holds.

Folding is :mod:`server.domain.folding` (one function per event type, in a table); the snapshot
codec is :mod:`server.domain.snapshot`. Nothing here looks at a clock or does IO.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from server.domain.errors import Code, CommandError
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
    submitted_seq: int = 0  # the seq of its sheet.submitted while submitted (a roll-back names it)
    enrolled_seq: int = 0  # the seq of the seat.enrolled that recorded its key
    revoked_seq: int = 0  # the seq of its last seat.key_revoked (server/domain/recovery.py)
    signed_in_ms: int = 0  # when it signed the pledge (a fee's time starts, fees.py)


@dataclass
class Cell:
    value: str
    comment: str | None
    seq: int
    code: str | None = None  # the blind code the expert signed, for a blind criterion
    first_ms: int = 0  # when the cell was first filled (the inspection's pace rule)


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
class Rollback:
    """A roll-back request (回退, server/domain/rollback.py) and what became of it."""

    id: str
    kind: str  # "sheet" (an expert's own) or "phase" (review back to scoring)
    seats: tuple[str, ...]
    reason: str
    by: str  # the requesting actor
    seq: int = 0
    status: str = "requested"  # requested, approved, declined


@dataclass
class Misconduct:
    """A misconduct record (条例 Art. 71, server/domain/conduct.py)."""

    id: str
    seat: str
    category: str
    note: str
    evidence: dict[str, int]
    by: str
    seq: int


@dataclass
class Rating:
    """A member's conduct rating, given in review."""

    rating: str
    note: str | None
    by: str
    seq: int


@dataclass
class Conduct:
    records: dict[str, Misconduct] = field(default_factory=dict)
    ratings: dict[str, Rating] = field(default_factory=dict)  # seat -> rating


@dataclass
class Pause:
    """The evaluation is paused (暂停): why, since when, by which event."""

    reason: str
    since_ms: int
    seq: int
    fault: bool = False  # a fault (故障): the fault rule's clock runs (server/domain/faults.py)
    referred_ms: int | None = None  # a fault before the start went to the tenderer at this time


@dataclass
class Seal:
    """The session is sealed (封存): why (closed, fault, tenderer), when, by which event."""

    cause: str
    since_ms: int
    seq: int


@dataclass
class Recusal:
    """A member's declared recusal (回避, server/domain/recusal.py) and what became of it."""

    id: str
    seat: str
    reason: str
    seq: int
    status: str = "declared"  # declared, declined, approved


@dataclass
class Replacement:
    """A recused seat and the seat that replaced it (a reserve of the draw, when there was one)."""

    seat: str
    by: str
    venue: str
    recusal: str
    seq: int
    reserve: int | None = None  # the reserve's rank in draw.made
    specialty: str | None = None
    venue_of_seat: str = ""  # the recused seat's own venue
    signed_in_ms: int = 0  # when the recused seat signed in (0: never): its fee's time
    time_ms: int = 0  # when it was replaced: its fee's time ends


@dataclass
class Clarification:
    """A question to a bidder (澄清, server/domain/clarification.py) and what became of it."""

    id: str
    seat: str
    bidder: str
    question: str
    seq: int
    status: str = "drafted"  # drafted, approved, declined, answered
    answer: str | None = None  # the bidder's answer (or, declined, the supervisor's reason)
    answered_seq: int = 0


@dataclass
class DrawState:
    """The expert draw (server/domain/draw_session.py): what it is over, the participants'
    commitments and reveals, and the committee it made (commitments to identities, no names)."""

    pool: str  # the pool's SHA-256 (hex)
    size: int
    rules: dict[str, Any]  # normalized (draw.Rules.to_json)
    participants: tuple[str, ...]
    seq: int  # the draw.opened
    committed: dict[str, str] = field(default_factory=dict)  # participant -> commitment
    revealed: dict[str, str] = field(default_factory=dict)  # participant -> share
    made: dict[str, Any] | None = None  # draw.made's data and "seq"


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
    paused: Pause | None = None  # server/domain/pause.py
    sealed: Seal | None = None  # server/domain/sealing.py
    rollbacks: dict[str, Rollback] = field(default_factory=dict)  # server/domain/rollback.py
    phase_seq: int = 0  # the seq of the event that entered the current phase
    conduct: Conduct = field(default_factory=Conduct)  # server/domain/conduct.py
    # "rule|seat|subject" -> {"rule", "seat", "subject", "detail", "seq"}: inspection.py
    inspection: dict[str, dict[str, Any]] = field(default_factory=dict)
    draw: DrawState | None = None  # server/domain/draw_session.py
    recusals: dict[str, Recusal] = field(default_factory=dict)  # server/domain/recusal.py
    replacements: list[Replacement] = field(default_factory=list)
    clarifications: dict[str, Clarification] = field(default_factory=dict)
    # media.alert of expert seats, {"seq", "seat", "kind", "dark_ms"}: the inspection's dark rule
    media_alerts: list[dict[str, Any]] = field(default_factory=list)
    fees: dict[str, Any] | None = None  # fees.computed's data (server/domain/fees.py)

    def seat_named(self, seat: Any) -> SeatState:
        """The seat of that id, or ``unknown_seat`` (for ids that come in a command)."""
        found = self.seats.get(seat) if isinstance(seat, str) else None
        if found is None:
            raise CommandError(Code.UNKNOWN_SEAT, f"no seat {seat!r} in this session")
        return found

    def ever_seated(self, seat: str) -> bool:
        """Whether ``seat`` is a member now or was one until a replacement (its media facts and
        recordings are still logged after it left)."""
        return seat in self.seats or any(r.seat == seat for r in self.replacements)

    def joined_late(self, seat: str) -> bool:
        """Whether ``seat`` replaced a recused member (it enrols and signs in when it comes)."""
        return any(r.by == seat for r in self.replacements)

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


def end_seat_tokens(state: SessionState, seat: str) -> None:
    """Move the seat's expert token generation on: its tokens lose their rights (a device
    replaced, a member replaced)."""
    key = token_key("expert", seat)
    state.token_generations[key] = state.token_generations.get(key, 0) + 1


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
