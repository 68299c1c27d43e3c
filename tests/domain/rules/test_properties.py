"""Properties of the rules engine, checked with hypothesis."""

from __future__ import annotations

import itertools
import math
import random
from decimal import Decimal as D
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.rules import (
    Benchmark,
    PriceFormula,
    PriceMethod,
    RankedBidder,
    aggregate_item,
    bidder_total,
    deviation_flags,
    objective_consensus,
    parse_price_formula,
    price_benchmark,
    price_scores,
    rank,
    round_final,
)

relaxed = settings(deadline=None, max_examples=150)

prices_st = st.lists(
    st.decimals(min_value=1000, max_value=10**8, places=2, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=12,
)
points_st = st.decimals(min_value=0, max_value=100, places=2)
rate_st = st.decimals(min_value=0, max_value=3, places=2)
score_st = st.decimals(min_value=0, max_value=10, places=1)


@st.composite
def formulas(draw: st.DrawFn) -> PriceFormula:
    method = draw(st.sampled_from(PriceMethod))
    if method is PriceMethod.LOWEST:
        return PriceFormula(method, rejected_in_benchmark=draw(st.booleans()))
    benchmark = draw(st.sampled_from(Benchmark))
    return PriceFormula(
        method,
        benchmark,
        trim_above_bids=draw(st.integers(2, 6)) if benchmark is Benchmark.TRIMMED_MEAN else None,
        e_up=draw(rate_st),
        e_down=draw(rate_st),
        max_deduction=draw(st.none() | points_st),
        control_price=draw(st.integers(1000, 10**8).map(D))
        if benchmark is Benchmark.CONTROL_FRACTION
        else None,
        fraction=draw(st.decimals(min_value="0.5", max_value=1, places=3))
        if benchmark is Benchmark.CONTROL_FRACTION
        else None,
        interpolate_below_one_point=draw(st.booleans()),
        rejected_in_benchmark=draw(st.booleans()),
    )


def bids(prices: list[D]) -> dict[str, D]:
    return {f"B{i}": p for i, p in enumerate(prices)}


@relaxed
@given(formulas(), points_st, prices_st)
def test_scores_stay_within_zero_and_w(formula: PriceFormula, w: D, prices: list[D]) -> None:
    scores = price_scores(formula, w, bids(prices), bids(prices).keys())
    assert all(0 <= s <= w for s in scores.values())


@relaxed
@given(formulas(), points_st, prices_st)
def test_price_order_against_the_benchmark(formula: PriceFormula, w: D, prices: list[D]) -> None:
    # A higher price never scores more, for the lowest method everywhere and for the deviation
    # method at or above the benchmark. Below the benchmark the deviation method rewards moving
    # toward it (it punishes abnormally low bids), so there a LOWER price never scores more.
    offers = bids(prices)
    scores = price_scores(formula, w, offers, offers.keys())
    b = price_benchmark(formula, prices)
    for x in offers:
        for y in offers:
            if offers[x] >= offers[y] and (formula.method is PriceMethod.LOWEST or offers[y] >= b):
                assert scores[x] <= scores[y]
            if offers[x] <= offers[y] <= b and formula.method is PriceMethod.DEVIATION:
                assert scores[x] <= scores[y]


@relaxed
@given(formulas(), points_st, prices_st)
def test_higher_price_never_scores_more_without_a_low_price_penalty(
    formula: PriceFormula, w: D, prices: list[D]
) -> None:
    # With e_down = 0 the deviation method, like the lowest method, is monotone everywhere.
    if formula.method is PriceMethod.DEVIATION:
        config = formula.to_config() | {"e_down": "0"}
        formula = parse_price_formula(config)
    offers = bids(prices)
    scores = price_scores(formula, w, offers, offers.keys())
    ordered = sorted(offers, key=lambda bidder: offers[bidder])
    assert all(scores[a] >= scores[b] for a, b in itertools.pairwise(ordered))


@relaxed
@given(formulas(), points_st, prices_st, st.randoms(use_true_random=False))
def test_bidder_order_and_names_change_nothing(
    formula: PriceFormula, w: D, prices: list[D], rnd: random.Random
) -> None:
    shuffled = list(enumerate(prices))
    rnd.shuffle(shuffled)
    forward = price_scores(formula, w, bids(prices), bids(prices).keys())
    backward = price_scores(formula, w, {f"B{i}": p for i, p in shuffled}, bids(prices).keys())
    assert forward == backward
    renamed_ids = [f"X{i}" for i, _ in shuffled]
    renamed = price_scores(
        formula, w, dict(zip(renamed_ids, [p for _, p in shuffled], strict=True)), renamed_ids
    )
    assert sorted(renamed.values()) == sorted(forward.values())


def exact_half_up(x: Fraction, places: int = 2) -> Fraction:
    scale = 10**places
    return Fraction(math.floor(x * scale + Fraction(1, 2)), scale)


def exact_price_score(formula: PriceFormula, w: D, prices: list[D], price: D) -> Fraction:
    """An independent reference in exact rational arithmetic."""
    ps = sorted(Fraction(p) for p in prices)
    if formula.method is PriceMethod.LOWEST or formula.benchmark is Benchmark.LOWEST:
        b = ps[0]
    elif formula.benchmark is Benchmark.CONTROL_FRACTION:
        b = Fraction(formula.control_price or 0) * Fraction(formula.fraction or 0)
    else:
        if formula.benchmark is Benchmark.TRIMMED_MEAN and len(ps) > (formula.trim_above_bids or 0):
            ps = ps[1:-1]
        b = sum(ps, Fraction(0)) / len(ps)
    if formula.method is PriceMethod.LOWEST:
        return b / Fraction(price) * Fraction(w)
    d = (Fraction(price) - b) / b * 100
    if not formula.interpolate_below_one_point:
        d = Fraction(math.trunc(d))
    rate = Fraction(formula.e_up or 0) if d > 0 else Fraction(formula.e_down or 0)
    deduction = rate * abs(d)
    if formula.max_deduction is not None:
        deduction = min(deduction, Fraction(formula.max_deduction))
    return max(Fraction(w) - deduction, Fraction(0))


@relaxed
@given(formulas(), points_st, prices_st)
def test_rounded_scores_match_exact_rational_arithmetic(
    formula: PriceFormula, w: D, prices: list[D]
) -> None:
    scores = price_scores(formula, w, bids(prices), bids(prices).keys())
    for bidder, price in bids(prices).items():
        exact = exact_price_score(formula, w, prices, price)
        assert Fraction(round_final(scores[bidder])) == exact_half_up(exact)
        assert abs(Fraction(scores[bidder]) - exact) < Fraction(1, 10**30)


@relaxed
@given(formulas())
def test_formula_config_round_trip(formula: PriceFormula) -> None:
    assert parse_price_formula(formula.to_config()) == formula


@relaxed
@given(prices_st.filter(lambda ps: len(ps) >= 3), st.integers(1, 10**6))
def test_trimmed_benchmark_ignores_how_extreme_the_extremes_are(
    prices: list[D], extra: int
) -> None:
    trimmed = PriceFormula(PriceMethod.DEVIATION, Benchmark.TRIMMED_MEAN, 2, e_up=D(1), e_down=D(1))
    ordered = sorted(prices)
    higher = [*ordered[:-1], ordered[-1] + extra]
    lower = [ordered[0] / (1 + extra), *ordered[1:]]
    base = price_benchmark(trimmed, ordered)
    assert price_benchmark(trimmed, higher) == base
    assert price_benchmark(trimmed, lower) == base


@relaxed
@given(
    st.lists(score_st, min_size=1, max_size=11),
    st.none() | st.integers(2, 7),
    st.randoms(use_true_random=False),
)
def test_aggregate_ignores_expert_order(
    scores: list[D], trim: int | None, rnd: random.Random
) -> None:
    shuffled = list(scores)
    rnd.shuffle(shuffled)
    value = aggregate_item(scores, trim)
    assert aggregate_item(shuffled, trim) == value
    assert min(scores) <= value <= max(scores)


@relaxed
@given(st.integers(2, 7), st.data())
def test_trimming_never_uses_a_removed_score(trim: int, data: st.DataObject) -> None:
    scores = data.draw(st.lists(score_st, min_size=trim + 1, max_size=trim + 6))
    bump = data.draw(st.decimals(min_value="0.1", max_value=1000, places=1))
    ordered = sorted(scores)
    base = aggregate_item(ordered, trim)
    assert aggregate_item([*ordered[:-1], ordered[-1] + bump], trim) == base
    assert aggregate_item([ordered[0] - bump, *ordered[1:]], trim) == base


@relaxed
@given(st.dictionaries(st.text("EXPRT0123", min_size=1, max_size=4), score_st, max_size=9))
def test_flags_and_consensus_ignore_expert_order(scores: dict[str, D]) -> None:
    reversed_scores = dict(reversed(list(scores.items())))
    assert deviation_flags(scores) == deviation_flags(reversed_scores)
    if scores:
        assert objective_consensus(scores) == objective_consensus(reversed_scores)


@relaxed
@given(st.lists(st.tuples(score_st, score_st), min_size=1, max_size=9))
def test_totals_within_bounds(items: list[tuple[D, D]]) -> None:
    maxima = {f"C{i}": max(a, b) for i, (a, b) in enumerate(items)}
    values = {f"C{i}": min(a, b) for i, (a, b) in enumerate(items)}
    top = sum(maxima.values(), D(0))
    assert 0 <= bidder_total(values, maxima) <= top
    assert 0 <= bidder_total(values, maxima, places=None) <= top


def _better(method: str, a: RankedBidder, b: RankedBidder) -> bool:
    if method == "lowest_price":
        return a.price < b.price
    assert a.total is not None
    assert b.total is not None
    return a.total > b.total or (a.total == b.total and a.price < b.price)


@relaxed
@given(
    st.lists(st.tuples(st.integers(60, 64), st.integers(1, 3)), min_size=0, max_size=9),
    st.integers(1, 4),
    st.sampled_from(["comprehensive", "lowest_price"]),
)
def test_ranking_properties(rows: list[tuple[int, int]], cut: int, method: str) -> None:
    totals = {f"B{i}": D(t) for i, (t, _) in enumerate(rows)}
    prices = {f"B{i}": D(p) for i, (_, p) in enumerate(rows)}
    ranking = rank(totals, prices, method, cut)
    again = rank(dict(reversed(totals.items())), dict(reversed(prices.items())), method, cut)
    assert ranking == again
    assert sorted(r.bidder for r in ranking) == sorted(totals)
    for position, line in enumerate(ranking, start=1):
        better = [other for other in ranking if _better(method, other, line)]
        assert line.rank == 1 + len(better)  # competition ranks: 1, 2, 2, 4
        assert line.rank <= position
        assert line.recommended == (line.rank <= cut)
    marked = sum(r.recommended for r in ranking)
    if any(r.tie_at_cut for r in ranking):
        assert marked > cut
    else:
        assert marked == min(cut, len(ranking))


@relaxed
@given(st.decimals(min_value=-(10**6), max_value=10**6, places=6), st.integers(0, 4))
def test_round_final_is_half_up(value: D, places: int) -> None:
    half = Fraction(1, 2 * 10**places)
    x = Fraction(value)
    expected = Fraction(math.floor(abs(x) * 10**places + Fraction(1, 2)), 10**places)
    assert abs(Fraction(round_final(value, places))) == expected
    assert abs(Fraction(round_final(value, places)) - x) <= half
