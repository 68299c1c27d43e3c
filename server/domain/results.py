"""The committee's results: a pure projection of the state through the rules engine.

``results(state)`` computes, per bidder, the value of every criterion, the total and the
ranking, from the cells the experts signed and the lot. Nothing here is stored: a replay to any
``seq`` recomputes the same numbers.

Decisions:

- **Subjective** items: :func:`~server.domain.rules.aggregate_item` over the seats that scored
  the cell, trimming one highest and one lowest above ``committee.trim_extremes_above``.
- **Objective** items: the agreed value; while experts differ the cell is a mismatch, it has no
  value and the bidder no total (the move to review is refused until they agree).
- **Credit** items come from the bidder's rating in the lot's table; a rating that is not in
  the table scores 0 (the bid carries no recognized rating). Experts never type them
  (``score.set`` refuses them as ``not_scorable``).
- **Price** items: the lot's formula; the control price of a ``control_fraction`` benchmark is
  ``project.max_price_cny`` unless the formula sets its own. Rejected bids get no price score
  and stay out of the benchmark unless the formula sets ``rejected_in_benchmark``.
- **Totals** are rounded once (half-up, 2 decimals); items are shown rounded but summed
  unrounded. A bidder missing any value (an empty cell, a mismatch) has no total, and the
  ranking is given only when every bid that is not rejected has a total.
- **Ranking**: ``comprehensive`` by total (ties: lower price, then joint rank);
  ``lowest_price`` (经评审的最低投标价法) by price. At most three recommended candidates.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from server.domain.flags import cell_scores
from server.domain.lot import Criterion, CriterionKind, Lot
from server.domain.rules import (
    Mismatch,
    RankedBidder,
    RankMethod,
    aggregate_item,
    bidder_total,
    objective_consensus,
    parse_price_formula,
    price_scores,
    rank,
    round_final,
)
from server.domain.state import SessionState


@dataclass(frozen=True)
class ItemResult:
    """One criterion of one bidder: its exact value (None while unknown) and how it came."""

    criterion: str
    value: Decimal | None
    scores: int = 0  # how many experts' scores went in (typed items)
    trimmed: bool = False
    mismatch: bool = False

    def to_json(self) -> dict[str, Any]:
        """Rounded for display; the exact value is what the total sums."""
        shown = None if self.value is None else str(round_final(self.value))
        return {
            "value": shown,
            "scores": self.scores,
            "trimmed": self.trimmed,
            "mismatch": self.mismatch,
        }


@dataclass(frozen=True)
class BidderResult:
    """A bidder's items, total and whether the bid was rejected."""

    bidder: str
    price: Decimal  # yuan, exact (fen included)
    items: dict[str, ItemResult]
    total: Decimal | None
    rejected: bool


@dataclass(frozen=True)
class Results:
    """The whole result: every bidder, the ranking (when complete) and the rejections."""

    method: str
    bidders: dict[str, BidderResult]
    ranking: list[RankedBidder]
    rejected: dict[str, dict[str, str]]  # bidder -> proposal, ground, reason

    @property
    def complete(self) -> bool:
        """Whether every bid that is not rejected has a total (and so there is a ranking)."""
        return bool(self.ranking)

    def to_json(self) -> dict[str, Any]:
        """JSON for clients: decimals as strings."""
        return {
            "method": self.method,
            "complete": self.complete,
            "bidders": {
                b.bidder: {
                    "price": str(b.price),
                    "rejected": b.rejected,
                    "total": None if b.total is None else str(b.total),
                    "items": {c: item.to_json() for c, item in b.items.items()},
                }
                for b in self.bidders.values()
            },
            "ranking": [
                {
                    "bidder": r.bidder,
                    "rank": r.rank,
                    "total": None if r.total is None else str(r.total),
                    "price": str(r.price),
                    "recommended": r.recommended,
                    "tie_at_cut": r.tie_at_cut,
                }
                for r in self.ranking
            ],
            "rejected": self.rejected,
        }


def _typed_item(state: SessionState, criterion: Criterion, bidder: str) -> ItemResult:
    scores = cell_scores(state, bidder, criterion.id)
    if not scores:
        return ItemResult(criterion.id, None)
    if criterion.kind is CriterionKind.OBJECTIVE:
        agreed = objective_consensus(scores)
        if isinstance(agreed, Mismatch):
            return ItemResult(criterion.id, None, len(scores), mismatch=True)
        return ItemResult(criterion.id, agreed, len(scores))
    trim = state.lot.trim_extremes_above
    value = aggregate_item(list(scores.values()), trim)
    return ItemResult(
        criterion.id, value, len(scores), trimmed=trim is not None and len(scores) > trim
    )


def credit_points(criterion: Criterion, rating: str) -> Decimal:
    """The credit points of a rating (0 for a rating the table does not know)."""
    return criterion.ratings.get(rating, Decimal(0))


def _price_items(lot: Lot, criterion: Criterion, valid: set[str]) -> dict[str, Decimal]:
    config = dict(criterion.formula or {})
    if config.get("benchmark") == "control_fraction" and config.get("control_price") is None:
        config["control_price"] = lot.max_price_cny
    formula = parse_price_formula(config)
    prices = {b.id: b.price_cny for b in lot.bidders}
    return price_scores(formula, criterion.max, prices, valid)


def rank_method(lot: Lot) -> RankMethod:
    """The lot's method as a ranking method (``comprehensive`` unless it says lowest price)."""
    if lot.method in ("lowest_price", "lowest_evaluated_price"):
        return RankMethod.LOWEST_PRICE
    return RankMethod.COMPREHENSIVE


def results(state: SessionState) -> Results:
    """The results the log supports right now (see the module docstring)."""
    lot = state.lot
    rejections = state.committee.rejected()
    valid = {b.id for b in lot.bidders} - set(rejections)
    prices = {
        c.id: _price_items(lot, c, valid) for c in lot.criteria if c.kind is CriterionKind.PRICE
    }
    maxima = {c.id: c.max for c in lot.criteria}
    bidders: dict[str, BidderResult] = {}
    for bidder in lot.bidders:
        items: dict[str, ItemResult] = {}
        for c in lot.criteria:
            if c.typed:
                items[c.id] = _typed_item(state, c, bidder.id)
            elif c.kind is CriterionKind.CREDIT:
                items[c.id] = ItemResult(c.id, credit_points(c, bidder.credit))
            else:
                items[c.id] = ItemResult(c.id, prices[c.id].get(bidder.id))
        values = {c: i.value for c, i in items.items() if i.value is not None}
        rejected = bidder.id in rejections
        total = None
        if not rejected and len(values) == len(items):
            total = bidder_total(values, maxima, bidder=bidder.id)
        bidders[bidder.id] = BidderResult(bidder.id, bidder.price_cny, items, total, rejected)
    return Results(
        method=str(rank_method(lot)),
        bidders=bidders,
        ranking=_ranking(lot, bidders, valid),
        rejected={
            b: {"proposal": p.id, "ground": p.ground, "reason": p.reason}
            for b, p in sorted(rejections.items())
        },
    )


def _ranking(lot: Lot, bidders: dict[str, BidderResult], valid: set[str]) -> list[RankedBidder]:
    method = rank_method(lot)
    prices = {b: bidders[b].price for b in valid}
    if method is RankMethod.LOWEST_PRICE:
        return rank({}, prices, method) if prices else []
    totals = {b: bidders[b].total for b in valid}
    if not totals or any(t is None for t in totals.values()):
        return []
    return rank({b: t for b, t in totals.items() if t is not None}, prices, method)
