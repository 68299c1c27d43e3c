"""Combining the experts' scores for one item, and the arithmetic every rule module shares.

Pure: no IO, no clock, stdlib only. The other rule modules import their decimal context and
error type from here, so this module imports nothing from the rest of the repository.

Decisions:

- **Exact until the end.** Every function computes in a private decimal context with
  :data:`PRECISION` (50) significant digits and returns the *unrounded* value. Sums and
  differences of scores are exact; only a division that does not terminate (a mean over 3
  experts, a price ratio) is cut at 50 digits. With inputs of at most ~20 significant digits a
  quotient's true value lies at least ``10**-20`` (relatively) away from any half-way point of
  the final 2-decimal rounding unless it *is* that half-way point, in which case the division is
  exact; so cutting at 50 digits can never change the rounded result. :func:`round_final` is
  the single rounding step, ``ROUND_HALF_UP`` (四舍五入), not Python's banker's rounding.
- **Trimming** (:func:`aggregate_item`): when there are more than ``trim_above`` scores, exactly
  one highest and one lowest score are dropped (one instance each, even when several experts
  gave the same extreme value). ``trim_above`` must be at least 2 so that a score remains.
- **Objective items** (:func:`objective_consensus`) are never averaged: the experts agree (the
  value is returned) or a :class:`Mismatch` names each distinct value and who gave it. Values
  are compared numerically, so ``5`` and ``5.0`` agree.
- **Deviation flags** (:func:`deviation_flags`): the committee mean is the plain mean of *all*
  the scores given (no trimming: it is the reference the outlier is measured against). An
  expert is flagged when ``|score - mean| > threshold * |mean|`` (strictly greater: exactly 30 %
  is not flagged). When the mean is 0 and scores are non-negative every score is 0 and nobody
  is flagged; were negative scores ever allowed, a zero mean would flag every non-zero score,
  since any difference from zero is an unbounded relative deviation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

PRECISION = 50
"""Significant digits of every intermediate result (see the module docstring)."""

DEFAULT_PLACES = 2
DEFAULT_DEVIATION_THRESHOLD = Decimal("0.30")

_CONTEXT = Context(
    prec=PRECISION,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)


class RuleInputError(ValueError):
    """The numbers handed to a rule cannot be evaluated (empty, negative, not finite, ...)."""


@contextmanager
def high_precision() -> Iterator[Context]:
    """Run a block in the shared 50-digit decimal context, whatever the caller's context is."""
    with localcontext(_CONTEXT) as ctx:
        yield ctx


def check_finite(value: Decimal, what: str) -> Decimal:
    """Return ``value`` if it is a finite ``Decimal``; raise :class:`RuleInputError` otherwise."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise RuleInputError(f"{what}: expected a finite Decimal, got {value!r}")
    return value


def mean(values: Sequence[Decimal]) -> Decimal:
    """The arithmetic mean of a non-empty sequence, unrounded (50 significant digits)."""
    if not values:
        raise RuleInputError("mean of no values")
    with high_precision():
        return sum(values, Decimal(0)) / len(values)


def aggregate_item(scores: Sequence[Decimal], trim_above: int | None) -> Decimal:
    """The committee's value for one item of one bidder: the mean of the experts' scores.

    When ``trim_above`` is set and there are more than ``trim_above`` scores, exactly one highest
    and one lowest score are dropped first. The result is unrounded.
    """
    if not scores:
        raise RuleInputError("aggregate_item: no scores")
    for score in scores:
        check_finite(score, "aggregate_item score")
    if trim_above is not None and trim_above < 2:
        raise RuleInputError(f"aggregate_item: trim_above must be at least 2, got {trim_above}")
    ordered = sorted(scores)
    if trim_above is not None and len(ordered) > trim_above:
        ordered = ordered[1:-1]
    return mean(ordered)


@dataclass(frozen=True)
class Mismatch:
    """Experts disagree on an objective item: each distinct value with the experts who gave it.

    ``groups`` is ordered by value; the experts of each group are sorted.
    """

    groups: tuple[tuple[Decimal, tuple[str, ...]], ...]

    @property
    def values(self) -> tuple[Decimal, ...]:
        """The distinct values given, lowest first."""
        return tuple(value for value, _ in self.groups)

    def experts_for(self, value: Decimal) -> tuple[str, ...]:
        """The experts who gave ``value`` (numerically equal), or an empty tuple."""
        for given, experts in self.groups:
            if given == value:
                return experts
        return ()

    def __str__(self) -> str:
        parts = [f"{value} ({', '.join(experts)})" for value, experts in self.groups]
        return "objective item differs: " + "; ".join(parts)


def objective_consensus(values: Mapping[str, Decimal]) -> Decimal | Mismatch:
    """The agreed value of an objective item, or a :class:`Mismatch` when experts differ.

    Objective items are counted from the documents, so every expert must give the same value;
    a difference is flagged for the committee to resolve, never averaged away. When all agree
    the value of the first expert in sorted id order is returned (numerically all are equal).
    """
    if not values:
        raise RuleInputError("objective_consensus: no values")
    by_value: dict[Decimal, list[str]] = {}
    for expert in sorted(values):
        value = check_finite(values[expert], f"objective value of {expert}")
        by_value.setdefault(value, []).append(expert)
    if len(by_value) == 1:
        return next(iter(by_value))
    groups = tuple((value, tuple(by_value[value])) for value in sorted(by_value))
    return Mismatch(groups)


def deviation_flags(
    scores: Mapping[str, Decimal], threshold: Decimal = DEFAULT_DEVIATION_THRESHOLD
) -> list[str]:
    """Experts whose score differs from the committee mean by more than ``threshold`` x mean.

    ``threshold`` is a fraction (0.30 means 30 %). Returns the flagged expert ids, sorted; an
    empty mapping flags nobody. See the module docstring for the behaviour at a zero mean.
    """
    check_finite(threshold, "deviation threshold")
    if threshold < 0:
        raise RuleInputError(f"deviation threshold must not be negative, got {threshold}")
    if not scores:
        return []
    for expert, score in scores.items():
        check_finite(score, f"score of {expert}")
    committee_mean = mean(list(scores.values()))
    with high_precision():
        limit = threshold * abs(committee_mean)
        return sorted(e for e, s in scores.items() if abs(s - committee_mean) > limit)


def round_final(value: Decimal, places: int = DEFAULT_PLACES) -> Decimal:
    """Round a final result half-up (四舍五入) to ``places`` decimals; the only rounding step."""
    check_finite(value, "round_final")
    if places < 0:
        raise RuleInputError(f"round_final: places must not be negative, got {places}")
    with high_precision():
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
