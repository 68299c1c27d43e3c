"""Price points: the tender's price formula, its benchmark price, and each bidder's price score.

Pure: no IO, no clock, stdlib only. Two methods (GLOSSARY, "Scoring rules"):

- ``lowest`` (低价优先): benchmark B = the lowest valid price; score = B / P x W.
- ``deviation`` (偏差率): D = (P - B) / B x 100, in percentage points; the deduction is
  ``e_up x D`` above the benchmark and ``e_down x |D|`` below it, capped by ``max_deduction``
  when the tender sets one; score = W - deduction, never below 0. The benchmark B is one of
  ``mean``, ``trimmed_mean`` (with more than ``trim_above_bids`` prices, drop the single highest
  and the single lowest first), ``lowest``, or ``control_fraction`` (``control_price x fraction``).

Decisions:

- **Config is strict.** :func:`parse_price_formula` rejects unknown keys and parameters that the
  chosen method or benchmark does not use (a typo must not silently change the scores). JSON
  ``null`` counts as absent. Numbers may be ints, floats (converted through ``str``, so ``1.0``
  is exactly 1), decimal strings (the log's normalized form) or ``Decimal``; never ``bool``.
- **Defaults** follow the glossary: a deviation formula without ``benchmark`` uses
  ``trimmed_mean`` with ``trim_above_bids`` 3; ``interpolate_below_one_point`` is true.
- **Whole points.** With ``interpolate_below_one_point`` false the deviation is counted in whole
  percentage points, truncated toward zero: D = 0.4 deducts nothing, D = 2.9 deducts 2 x e,
  D = -2.9 deducts 2 x e_down. With the default (true) D = 0.4 deducts 0.4 x e.
- **Rejected bids** (not in ``valid``) never receive a price score. They are left out of the
  benchmark unless the formula sets ``rejected_in_benchmark``.
- **Unrounded.** Scores are returned unrounded (50 significant digits, see
  :mod:`server.domain.rules.aggregate`); round the bidder's total once, at the end.
- Every price must be positive; ``W`` (the criterion's maximum) must not be negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import TypeVar

from server.domain.rules.aggregate import RuleInputError, check_finite, high_precision, mean

DEFAULT_TRIM_ABOVE_BIDS = 3

_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")


class RuleConfigError(ValueError):
    """The tender's rule configuration is invalid; the message names the offending key."""


class PriceMethod(StrEnum):
    """How price points are computed."""

    LOWEST = "lowest"  # score = lowest valid price / price x W
    DEVIATION = "deviation"  # score = W - deduction proportional to the deviation from B


class Benchmark(StrEnum):
    """How the benchmark price B of the deviation method is obtained."""

    MEAN = "mean"
    TRIMMED_MEAN = "trimmed_mean"
    LOWEST = "lowest"
    CONTROL_FRACTION = "control_fraction"


@dataclass(frozen=True)
class PriceFormula:
    """A validated price formula; build it with :func:`parse_price_formula` from tender config."""

    method: PriceMethod
    benchmark: Benchmark = Benchmark.LOWEST
    trim_above_bids: int | None = None
    e_up: Decimal | None = None
    e_down: Decimal | None = None
    max_deduction: Decimal | None = None
    control_price: Decimal | None = None
    fraction: Decimal | None = None
    interpolate_below_one_point: bool = True
    rejected_in_benchmark: bool = False

    def __post_init__(self) -> None:
        _check_formula(self)

    def to_config(self) -> dict[str, object]:
        """The formula as JSON-ready config (decimals as strings), accepted by the parser."""
        out: dict[str, object] = {"method": self.method.value}
        if self.method is PriceMethod.DEVIATION:
            out["benchmark"] = self.benchmark.value
            out["interpolate_below_one_point"] = self.interpolate_below_one_point
        if self.trim_above_bids is not None:
            out["trim_above_bids"] = self.trim_above_bids
        for key in ("e_up", "e_down", "max_deduction", "control_price", "fraction"):
            value = getattr(self, key)
            if value is not None:
                out[key] = str(value)
        out["rejected_in_benchmark"] = self.rejected_in_benchmark
        return out


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise RuleConfigError(message)


def _check_formula(f: PriceFormula) -> None:
    """Validate the combination of fields; shared by the parser and direct construction."""
    _require(isinstance(f.method, PriceMethod), f"method: not a PriceMethod: {f.method!r}")
    _require(isinstance(f.benchmark, Benchmark), f"benchmark: not a Benchmark: {f.benchmark!r}")
    deviation = f.method is PriceMethod.DEVIATION
    if not deviation:
        _require(f.benchmark is Benchmark.LOWEST, "benchmark: 'lowest' uses the lowest price")
        for key in ("e_up", "e_down", "max_deduction"):
            _require(getattr(f, key) is None, f"{key}: not used by method 'lowest'")
        _require(f.interpolate_below_one_point, "interpolate_below_one_point: not used by 'lowest'")
    else:
        _require(f.e_up is not None, "e_up: required by method 'deviation'")
        _require(f.e_down is not None, "e_down: required by method 'deviation'")
    for key in ("e_up", "e_down", "max_deduction", "control_price", "fraction"):
        value = getattr(f, key)
        _require(value is None or isinstance(value, Decimal), f"{key}: expected a Decimal")
    for key in ("e_up", "e_down", "max_deduction"):
        value = getattr(f, key)
        _require(value is None or (value.is_finite() and value >= 0), f"{key}: must be >= 0")
    trimmed = f.benchmark is Benchmark.TRIMMED_MEAN
    if trimmed:
        _require(
            isinstance(f.trim_above_bids, int) and f.trim_above_bids >= 2,
            f"trim_above_bids: must be an integer >= 2, got {f.trim_above_bids!r}",
        )
    else:
        _require(f.trim_above_bids is None, "trim_above_bids: only used by 'trimmed_mean'")
    if f.benchmark is Benchmark.CONTROL_FRACTION:
        cp, fr = f.control_price, f.fraction
        _require(cp is not None and cp.is_finite() and cp > 0, "control_price: must be > 0")
        _require(fr is not None and fr.is_finite() and 0 < fr <= 1, "fraction: must be in (0, 1]")
    else:
        for key in ("control_price", "fraction"):
            _require(getattr(f, key) is None, f"{key}: only used by 'control_fraction'")


_KEYS = frozenset(
    {
        "method",
        "benchmark",
        "trim_above_bids",
        "e_up",
        "e_down",
        "max_deduction",
        "control_price",
        "fraction",
        "interpolate_below_one_point",
        "rejected_in_benchmark",
    }
)


def _number(config: Mapping[str, object], key: str) -> Decimal | None:
    value = config.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise RuleConfigError(f"{key}: expected a number, got {value!r}")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except ArithmeticError as exc:
        raise RuleConfigError(f"{key}: {value!r} is not a number") from exc
    if not result.is_finite():
        raise RuleConfigError(f"{key}: {value!r} is not finite")
    return result


def _flag(config: Mapping[str, object], key: str, default: bool) -> bool:
    value = config.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise RuleConfigError(f"{key}: expected true or false, got {value!r}")
    return value


def _choice(config: Mapping[str, object], key: str, enum: type[_E], default: _E) -> _E:
    value = config.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise RuleConfigError(f"{key}: expected a string, got {value!r}")
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)
        raise RuleConfigError(f"{key}: {value!r} is not one of {allowed}") from None


def parse_price_formula(config: Mapping[str, object]) -> PriceFormula:
    """Parse and validate a price formula from tender config (e.g. sample-lot's ``P1.formula``).

    Raises :class:`RuleConfigError` naming the key at fault.
    """
    if not isinstance(config, Mapping):
        raise RuleConfigError(f"formula: expected an object, got {config!r}")
    unknown = sorted(str(k) for k in config if k not in _KEYS)
    if unknown:
        raise RuleConfigError(f"formula: unknown keys {', '.join(unknown)}")
    if config.get("method") is None:
        raise RuleConfigError("method: required ('lowest' or 'deviation')")
    method = _choice(config, "method", PriceMethod, PriceMethod.DEVIATION)
    deviation = method is PriceMethod.DEVIATION
    default = Benchmark.TRIMMED_MEAN if deviation else Benchmark.LOWEST
    benchmark = _choice(config, "benchmark", Benchmark, default)
    trim = config.get("trim_above_bids")
    if trim is not None and (isinstance(trim, bool) or not isinstance(trim, int)):
        raise RuleConfigError(f"trim_above_bids: expected an integer, got {trim!r}")
    if trim is None and benchmark is Benchmark.TRIMMED_MEAN:
        trim = DEFAULT_TRIM_ABOVE_BIDS
    return PriceFormula(
        method=method,
        benchmark=benchmark,
        trim_above_bids=trim,
        e_up=_number(config, "e_up"),
        e_down=_number(config, "e_down"),
        max_deduction=_number(config, "max_deduction"),
        control_price=_number(config, "control_price"),
        fraction=_number(config, "fraction"),
        interpolate_below_one_point=_flag(config, "interpolate_below_one_point", True),
        rejected_in_benchmark=_flag(config, "rejected_in_benchmark", False),
    )


def _given(value: _T | None) -> _T:
    # __post_init__ guarantees the parameters of the chosen method; this narrows the type.
    if value is None:
        raise RuleConfigError("formula: a parameter the method needs is missing")
    return value


def _check_price(price: Decimal, what: str) -> Decimal:
    check_finite(price, what)
    if price <= 0:
        raise RuleInputError(f"{what}: a price must be positive, got {price}")
    return price


def price_benchmark(formula: PriceFormula, valid_prices: Iterable[Decimal]) -> Decimal:
    """The benchmark price B from the prices that count (unrounded).

    For the ``lowest`` method and the ``lowest`` benchmark: the lowest price. ``mean``: their
    mean. ``trimmed_mean``: their mean after dropping the single highest and single lowest when
    there are more than ``trim_above_bids``. ``control_fraction``: control price x fraction,
    whatever the prices. Raises :class:`RuleInputError` when no price counts.
    """
    prices = sorted(_check_price(p, "price") for p in valid_prices)
    with high_precision():
        if formula.benchmark is Benchmark.CONTROL_FRACTION:
            return _given(formula.control_price) * _given(formula.fraction)
        if not prices:
            raise RuleInputError("price_benchmark: no valid price")
        if formula.benchmark is Benchmark.LOWEST:
            return prices[0]
        trim_above = formula.trim_above_bids
        if formula.benchmark is Benchmark.TRIMMED_MEAN and len(prices) > _given(trim_above):
            prices = prices[1:-1]
        return mean(prices)


def deviation_percent(price: Decimal, benchmark: Decimal) -> Decimal:
    """D = (P - B) / B x 100, the deviation of a price from the benchmark in percentage points."""
    _check_price(price, "price")
    _check_price(benchmark, "benchmark")
    with high_precision():
        return (price - benchmark) / benchmark * 100


def price_score(
    formula: PriceFormula, max_points: Decimal, benchmark: Decimal, price: Decimal
) -> Decimal:
    """The price score of one bid against a known benchmark (unrounded), within [0, W]."""
    check_finite(max_points, "max_points")
    if max_points < 0:
        raise RuleInputError(f"max_points must not be negative, got {max_points}")
    _check_price(price, "price")
    _check_price(benchmark, "benchmark")
    with high_precision():
        if formula.method is PriceMethod.LOWEST:
            # A rejected lower price in the benchmark keeps B <= P; min() guards W anyway.
            return min(benchmark / price * max_points, max_points)
        d = deviation_percent(price, benchmark)
        if not formula.interpolate_below_one_point:
            d = d.to_integral_value(rounding=ROUND_DOWN)
        deduction = _given(formula.e_up) * d if d > 0 else _given(formula.e_down) * -d
        if formula.max_deduction is not None:
            deduction = min(deduction, formula.max_deduction)
        return max(max_points - deduction, Decimal(0))


def price_scores(
    formula: PriceFormula,
    max_points: Decimal,
    prices: Mapping[str, Decimal],
    valid: Iterable[str],
) -> dict[str, Decimal]:
    """Price scores of the valid bids, by bidder id (unrounded).

    ``prices`` holds every bid's price (rejected ones included); ``valid`` the ids of the bids
    that were not rejected. Rejected bids get no score and count in the benchmark only when the
    formula sets ``rejected_in_benchmark``. No valid bid: an empty result.
    """
    valid_ids = set(valid)
    missing = sorted(valid_ids - set(prices))
    if missing:
        raise RuleInputError(f"price_scores: no price for {', '.join(missing)}")
    for bidder, price in prices.items():
        _check_price(price, f"price of {bidder}")
    if not valid_ids:
        return {}
    counted = prices if formula.rejected_in_benchmark else {b: prices[b] for b in valid_ids}
    benchmark = price_benchmark(formula, counted.values())
    return {
        bidder: price_score(formula, max_points, benchmark, prices[bidder])
        for bidder in sorted(valid_ids)
    }
