"""Ranking the responsive bids and marking the recommended candidates (评定分离).

Pure: no IO, no clock, stdlib only.

Decisions:

- **Who is ranked.** Only responsive bids: the caller leaves rejected bids out. For
  ``comprehensive`` the bidders are the keys of ``totals`` (each needs a price); for
  ``lowest_price`` they are the keys of ``prices`` and ``totals`` is not used.
- **Order.** ``comprehensive`` (综合评估法): higher total first; equal total, lower price first;
  equal total and equal price, one joint rank. ``lowest_price`` (经评审的最低投标价法): lower
  evaluated price first (the caller computes the evaluated price); equal evaluated price, one
  joint rank. Ranks are competition ranks: 1, 2, 2, 4. Bidders sharing a rank are listed by id.
- **Compare what is published.** Values are compared exactly as given. Pass the *rounded*
  final totals (``round_final``), so that "equal total" means equal on the published sheet and
  two totals of 85.004 and 85.001 tie at 85.00 rather than being split by invisible digits.
- **Candidates.** The bidders ranked within the first ``max_candidates`` (3) places are
  recommended. When a joint rank straddles the cut (ranks 1, 2, 3, 3 with 3 candidates), all the
  bidders of that rank are recommended and carry ``tie_at_cut``: the committee cannot split them
  and the tenderer decides (GLOSSARY, "Ties"). So more than ``max_candidates`` bidders are
  recommended only when some carry ``tie_at_cut``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from server.domain.rules.aggregate import RuleInputError, check_finite

DEFAULT_MAX_CANDIDATES = 3


class RankMethod(StrEnum):
    """The evaluation method that decides the order."""

    COMPREHENSIVE = "comprehensive"  # 综合评估法
    LOWEST_PRICE = "lowest_price"  # 经评审的最低投标价法


@dataclass(frozen=True)
class RankedBidder:
    """One line of the ranking.

    ``total`` is ``None`` for the lowest-price method; ``price`` is the bid price
    (comprehensive) or the evaluated price (lowest price).
    """

    bidder: str
    rank: int
    total: Decimal | None
    price: Decimal
    recommended: bool
    tie_at_cut: bool = False


def _sort_key(method: RankMethod, total: Decimal | None, price: Decimal) -> tuple[Decimal, ...]:
    if method is RankMethod.COMPREHENSIVE and total is not None:
        return (-total, price)
    return (price,)


def _entries(
    totals: Mapping[str, Decimal], prices: Mapping[str, Decimal], method: RankMethod
) -> list[tuple[str, Decimal | None, Decimal]]:
    if method is RankMethod.COMPREHENSIVE:
        missing = sorted(set(totals) - set(prices))
        if missing:
            raise RuleInputError(f"rank: no price for {', '.join(missing)}")
        bidders = list(totals)
    else:
        bidders = list(prices)
    entries: list[tuple[str, Decimal | None, Decimal]] = []
    for bidder in bidders:
        price = check_finite(prices[bidder], f"price of {bidder}")
        total = None
        if method is RankMethod.COMPREHENSIVE:
            total = check_finite(totals[bidder], f"total of {bidder}")
        entries.append((bidder, total, price))
    return entries


def rank(
    totals: Mapping[str, Decimal],
    prices: Mapping[str, Decimal],
    method: RankMethod | str = RankMethod.COMPREHENSIVE,
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
) -> list[RankedBidder]:
    """Rank the bidders and mark the recommended candidates, best first.

    See the module docstring for the order, joint ranks and ties at the cut.
    """
    try:
        how = RankMethod(method)
    except ValueError:
        raise RuleInputError(f"rank: unknown method {method!r}") from None
    if isinstance(max_candidates, bool) or max_candidates < 1:
        raise RuleInputError(f"rank: max_candidates must be >= 1, got {max_candidates!r}")
    keyed = [(_sort_key(how, t, p), b, t, p) for b, t, p in _entries(totals, prices, how)]
    keyed.sort(key=lambda e: (e[0], e[1]))

    # Equal keys share one competition rank: the position of the first of them.
    groups: list[tuple[int, list[tuple[str, Decimal | None, Decimal]]]] = []
    previous: tuple[Decimal, ...] | None = None
    for position, (key, bidder, total, price) in enumerate(keyed, start=1):
        if key != previous:
            groups.append((position, []))
            previous = key
        groups[-1][1].append((bidder, total, price))

    result: list[RankedBidder] = []
    for group_rank, members in groups:
        recommended = group_rank <= max_candidates
        tie_at_cut = recommended and group_rank + len(members) - 1 > max_candidates
        result.extend(
            RankedBidder(bidder, group_rank, total, price, recommended, tie_at_cut)
            for bidder, total, price in members
        )
    return result


def recommended_candidates(ranking: list[RankedBidder]) -> list[RankedBidder]:
    """The recommended lines of a ranking, in rank order."""
    return [line for line in ranking if line.recommended]
