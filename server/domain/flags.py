"""Live flags over the scoring sheets: deviation from the committee mean, objective mismatches.

Pure projections of the state, recomputed from the cells whenever asked (they are never stored:
a changed score changes its flags at once).

Decisions:

- **Deviation** (偏离度) is checked on subjective cells only, once at least
  :data:`MIN_SCORES_FOR_DEVIATION` experts scored the cell (with two scores both are always
  equally far from their mean, which says nothing). The threshold is the lot's optional
  ``committee.deviation_threshold`` (a fraction, default 0.30); the rule is
  :func:`server.domain.rules.deviation_flags` (strictly more than 30 % from the plain mean).
- **Objective mismatch**: an objective cell where the experts who scored it gave different
  values (:func:`server.domain.rules.objective_consensus`). The bidder has no total while it
  lasts; the experts concerned may correct that cell after submitting, and in ``review``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from server.domain.lot import CriterionKind
from server.domain.rules import Mismatch, deviation_flags, mean, objective_consensus
from server.domain.state import SessionState, cell_key

MIN_SCORES_FOR_DEVIATION = 3
DEFAULT_DEVIATION_THRESHOLD = Decimal("0.30")


@dataclass(frozen=True)
class DeviationFlag:
    """An expert's score more than the threshold away from the committee mean."""

    seat: str
    bidder: str
    criterion: str
    score: Decimal
    mean: Decimal


@dataclass(frozen=True)
class MismatchFlag:
    """Experts gave different values to one objective cell: value -> seats."""

    bidder: str
    criterion: str
    values: tuple[tuple[Decimal, tuple[str, ...]], ...]

    @property
    def seats(self) -> frozenset[str]:
        """Every seat involved in the mismatch."""
        return frozenset(s for _, seats in self.values for s in seats)


def deviation_threshold(state: SessionState) -> Decimal:
    """The lot's ``committee.deviation_threshold``, or 0.30."""
    raw = state.lot.raw.get("committee", {}).get("deviation_threshold")
    return Decimal(str(raw)) if raw is not None else DEFAULT_DEVIATION_THRESHOLD


def cell_scores(state: SessionState, bidder: str, criterion: str) -> dict[str, Decimal]:
    """Every seat's score of one cell, by seat (seats that have not scored it are absent)."""
    key = cell_key(bidder, criterion)
    return {seat: Decimal(cells[key].value) for seat, cells in state.cells.items() if key in cells}


def deviations(state: SessionState) -> list[DeviationFlag]:
    """Deviation flags of every subjective cell, by bidder, criterion and seat."""
    threshold = deviation_threshold(state)
    flags = []
    for bidder in state.lot.bidders:
        for criterion in state.lot.criteria:
            if criterion.kind is not CriterionKind.SUBJECTIVE:
                continue
            scores = cell_scores(state, bidder.id, criterion.id)
            if len(scores) < MIN_SCORES_FOR_DEVIATION:
                continue
            committee_mean = mean(list(scores.values()))
            for seat in deviation_flags(scores, threshold):
                flags.append(
                    DeviationFlag(seat, bidder.id, criterion.id, scores[seat], committee_mean)
                )
    return flags


def mismatches(state: SessionState) -> list[MismatchFlag]:
    """Objective cells where the experts who scored them disagree."""
    flags = []
    for bidder in state.lot.bidders:
        for criterion in state.lot.criteria:
            if criterion.kind is not CriterionKind.OBJECTIVE:
                continue
            scores = cell_scores(state, bidder.id, criterion.id)
            if not scores:
                continue
            agreed = objective_consensus(scores)
            if isinstance(agreed, Mismatch):
                flags.append(MismatchFlag(bidder.id, criterion.id, agreed.groups))
    return flags


def is_flagged(state: SessionState, seat: str, bidder: str, criterion: str) -> bool:
    """Whether ``seat``'s score of this cell is flagged now (deviation or mismatch)."""
    if any(
        f.seat == seat and f.bidder == bidder and f.criterion == criterion
        for f in deviations(state)
    ):
        return True
    return any(
        f.bidder == bidder and f.criterion == criterion and seat in f.seats
        for f in mismatches(state)
    )
