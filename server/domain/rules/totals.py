"""A bidder's total from the committee's per-criterion values, rounded once at the end.

Pure: no IO, no clock, stdlib only.

Decisions:

- The inputs are the *unrounded* per-criterion values (``aggregate_item`` for subjective
  items, the agreed objective value, the credit points, the price score). They are summed
  exactly and the sum is rounded once, half-up, to ``places`` decimals; ``places=None`` returns
  the unrounded sum. Rounding each item first can move a total by a cent or more: three items
  of 8.1666..., 5.1666... and 4.1666... total 17.50, whereas 8.17 + 5.17 + 4.17 = 17.51.
- When ``maxima`` (criterion id -> maximum points) is given, every bidder must have a value for
  exactly those criteria, each within [0, maximum]; otherwise :class:`RuleInputError`. The
  total then lies within [0, sum of maxima].
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from server.domain.rules.aggregate import (
    DEFAULT_PLACES,
    RuleInputError,
    check_finite,
    high_precision,
    round_final,
)


def _check_values(
    bidder: str, values: Mapping[str, Decimal], maxima: Mapping[str, Decimal] | None
) -> None:
    for criterion, value in values.items():
        check_finite(value, f"{bidder}/{criterion}")
    if maxima is None:
        return
    missing = sorted(set(maxima) - set(values))
    unknown = sorted(set(values) - set(maxima))
    if missing or unknown:
        raise RuleInputError(
            f"{bidder}: missing criteria {missing or 'none'}, unknown criteria {unknown or 'none'}"
        )
    for criterion, value in values.items():
        top = check_finite(maxima[criterion], f"maximum of {criterion}")
        if not 0 <= value <= top:
            raise RuleInputError(f"{bidder}/{criterion}: {value} is outside [0, {top}]")


def bidder_total(
    values: Mapping[str, Decimal],
    maxima: Mapping[str, Decimal] | None = None,
    places: int | None = DEFAULT_PLACES,
    bidder: str = "bidder",
) -> Decimal:
    """The total of one bidder's per-criterion values, rounded half-up once at the end.

    ``places=None`` returns the exact sum. ``bidder`` only names the bidder in error messages.
    """
    _check_values(bidder, values, maxima)
    with high_precision():
        total = sum(values.values(), Decimal(0))
    return total if places is None else round_final(total, places)


def bidder_totals(
    values: Mapping[str, Mapping[str, Decimal]],
    maxima: Mapping[str, Decimal] | None = None,
    places: int | None = DEFAULT_PLACES,
) -> dict[str, Decimal]:
    """Totals of every bidder (bidder id -> criterion id -> value), each rounded once at the end."""
    return {
        bidder: bidder_total(per_criterion, maxima, places, bidder)
        for bidder, per_criterion in sorted(values.items())
    }


def group_subtotals(
    values: Mapping[str, Decimal],
    groups: Mapping[str, str],
    places: int | None = DEFAULT_PLACES,
) -> dict[str, Decimal]:
    """One bidder's subtotal per criterion group (technical, commercial, price, ...).

    ``groups`` maps criterion id -> group. Each subtotal is rounded on its own for display; the
    bidder's total must still come from :func:`bidder_total`, never from summing rounded
    subtotals.
    """
    unknown = sorted(set(values) - set(groups))
    if unknown:
        raise RuleInputError(f"group_subtotals: no group for {', '.join(unknown)}")
    sums: dict[str, Decimal] = {}
    with high_precision():
        for criterion, value in sorted(values.items()):
            check_finite(value, criterion)
            group = groups[criterion]
            sums[group] = sums.get(group, Decimal(0)) + value
    if places is None:
        return sums
    return {group: round_final(total, places) for group, total in sums.items()}
