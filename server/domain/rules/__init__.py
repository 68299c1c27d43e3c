"""The evaluation rules: price points, aggregation of experts' scores, totals and ranking.

A pure engine (stdlib only: no IO, no clock, no asyncio, nothing else from the repository), so the
projections can fold events through it and a replay recomputes the same numbers. Inputs are plain
``Decimal`` values keyed by string ids; results are exact, unrounded ``Decimal`` values except
where a function says it rounds, and rounding happens once, at the end, half-up (四舍五入).

- :mod:`~server.domain.rules.price`: :func:`parse_price_formula`, :func:`price_scores`.
- :mod:`~server.domain.rules.aggregate`: :func:`aggregate_item`, :func:`objective_consensus`,
  :func:`deviation_flags`, :func:`round_final`.
- :mod:`~server.domain.rules.totals`: :func:`bidder_total`, :func:`bidder_totals`.
- :mod:`~server.domain.rules.ranking`: :func:`rank`.

Each module's docstring records the decisions it makes where the rules leave a choice.
"""

from server.domain.rules.aggregate import (
    PRECISION,
    Mismatch,
    RuleInputError,
    aggregate_item,
    deviation_flags,
    mean,
    objective_consensus,
    round_final,
)
from server.domain.rules.price import (
    Benchmark,
    PriceFormula,
    PriceMethod,
    RuleConfigError,
    deviation_percent,
    parse_price_formula,
    price_benchmark,
    price_score,
    price_scores,
)
from server.domain.rules.ranking import RankedBidder, RankMethod, rank, recommended_candidates
from server.domain.rules.totals import bidder_total, bidder_totals, group_subtotals

__all__ = [
    "PRECISION",
    "Benchmark",
    "Mismatch",
    "PriceFormula",
    "PriceMethod",
    "RankMethod",
    "RankedBidder",
    "RuleConfigError",
    "RuleInputError",
    "aggregate_item",
    "bidder_total",
    "bidder_totals",
    "deviation_flags",
    "deviation_percent",
    "group_subtotals",
    "mean",
    "objective_consensus",
    "parse_price_formula",
    "price_benchmark",
    "price_score",
    "price_scores",
    "rank",
    "recommended_candidates",
    "round_final",
]
