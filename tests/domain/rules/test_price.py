"""Price points: worked examples computed by hand, and config parsing."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from server.domain.rules import (
    Benchmark,
    PriceFormula,
    PriceMethod,
    RuleConfigError,
    RuleInputError,
    deviation_percent,
    parse_price_formula,
    price_benchmark,
    price_score,
    price_scores,
    round_final,
)

# The published example (GLOSSARY): W = 30, e_up = 0.2, e_down = 0.1 per point, at most 5 off.
PUBLISHED = parse_price_formula(
    {"method": "deviation", "benchmark": "mean", "e_up": 0.2, "e_down": 0.1, "max_deduction": 5}
)
W30 = D(30)


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        # B = 100, P = 110: D = (110 - 100) / 100 x 100 = 10; 0.2 x 10 = 2; 30 - 2 = 28
        (D(110), D(28)),
        # P = 60: D = -40; 0.1 x 40 = 4; 30 - 4 = 26
        (D(60), D(26)),
        # P = 200: D = 100; 0.2 x 100 = 20, capped at 5; 30 - 5 = 25
        (D(200), D(25)),
        # P = 100: D = 0, nothing deducted
        (D(100), D(30)),
        # P = 75: D = -25; 0.1 x 25 = 2.5; 30 - 2.5 = 27.5
        (D(75), D("27.5")),
        # P = 10: D = -90; 0.1 x 90 = 9, capped at 5; 25
        (D(10), D(25)),
    ],
)
def test_published_example(price: D, expected: D) -> None:
    assert price_score(PUBLISHED, W30, D(100), price) == expected


def test_deviation_percent() -> None:
    # (110 - 100) / 100 x 100 = 10; (60 - 100) / 100 x 100 = -40
    assert deviation_percent(D(110), D(100)) == 10
    assert deviation_percent(D(60), D(100)) == -40


def test_trimmed_mean_benchmark_with_five_bids() -> None:
    formula = parse_price_formula(
        {"method": "deviation", "benchmark": "trimmed_mean", "trim_above_bids": 3}
        | {"e_up": "0.2", "e_down": "0.1", "max_deduction": "5"}
    )
    prices = {"A": D(90), "B": D(95), "C": D(100), "D": D(105), "E": D(130)}
    # 5 bids > 3: drop 90 and 130; B = (95 + 100 + 105) / 3 = 300 / 3 = 100
    assert price_benchmark(formula, prices.values()) == 100
    assert price_scores(formula, W30, prices, prices) == {
        "A": D(29),  # D = -10; 0.1 x 10 = 1; 30 - 1 = 29
        "B": D("29.5"),  # D = -5; 0.1 x 5 = 0.5; 29.5
        "C": D(30),  # D = 0
        "D": D(29),  # D = 5; 0.2 x 5 = 1; 29
        "E": D(25),  # D = 30; 0.2 x 30 = 6, capped at 5; 25
    }


def test_trimming_needs_more_bids_than_trim_above() -> None:
    formula = parse_price_formula({"method": "deviation", "e_up": 1, "e_down": 1})
    assert formula.benchmark is Benchmark.TRIMMED_MEAN  # the glossary's default
    assert formula.trim_above_bids == 3
    # 3 bids, not more than 3: B = (90 + 100 + 140) / 3 = 330 / 3 = 110
    assert price_benchmark(formula, [D(90), D(100), D(140)]) == 110
    # 4 bids: drop 90 and 400; B = (100 + 110) / 2 = 105
    assert price_benchmark(formula, [D(400), D(90), D(110), D(100)]) == 105
    # duplicates: drop ONE 100 and ONE 200; B = (100 + 100 + 200) / 3 = 133.33...
    b = price_benchmark(formula, [D(100), D(100), D(100), D(200), D(200)])
    assert round_final(b) == D("133.33")
    assert b * 3 == D(400)


def test_mean_benchmark_does_not_trim() -> None:
    formula = parse_price_formula(
        {"method": "deviation", "benchmark": "mean", "e_up": 1, "e_down": 1}
    )
    # (90 + 95 + 100 + 105 + 130) / 5 = 520 / 5 = 104
    assert price_benchmark(formula, [D(90), D(95), D(100), D(105), D(130)]) == 104


def test_lowest_price_method() -> None:
    formula = parse_price_formula({"method": "lowest"})
    prices = {"A": D(80), "B": D(100), "C": D(125)}
    # B = 80; A: 80/80 x 30 = 30; B: 80/100 x 30 = 24; C: 80/125 x 30 = 0.64 x 30 = 19.2
    assert price_scores(formula, W30, prices, prices) == {"A": 30, "B": 24, "C": D("19.2")}


def test_lowest_price_method_with_repeating_ratio_rounds_at_the_end() -> None:
    formula = parse_price_formula({"method": "lowest"})
    # 100 / 300 x 30 = 10 exactly only if the ratio is not rounded to 2 places first:
    # rounding 1/3 to 0.33 would give 0.33 x 30 = 9.90
    scores = price_scores(formula, W30, {"A": D(100), "B": D(300)}, {"A", "B"})
    assert round_final(scores["B"]) == D("10.00")


def test_deviation_with_lowest_benchmark() -> None:
    formula = parse_price_formula(
        {"method": "deviation", "benchmark": "lowest", "e_up": "0.2", "e_down": "0.1"}
    )
    prices = {"A": D(80), "B": D(100)}
    # B = 80; A: D = 0 -> 30; B: D = 20 / 80 x 100 = 25; 0.2 x 25 = 5; 25
    assert price_scores(formula, W30, prices, prices) == {"A": 30, "B": 25}


def test_control_fraction_benchmark() -> None:
    formula = parse_price_formula(
        {"method": "deviation", "benchmark": "control_fraction"}
        | {"control_price": 1_000_000, "fraction": 0.9, "e_up": 0.2, "e_down": 0.1}
    )
    prices = {"A": D(954_000), "B": D(855_000), "C": D(900_000)}
    # B = 1,000,000 x 0.9 = 900,000, whatever the bids
    assert price_benchmark(formula, prices.values()) == 900_000
    assert price_scores(formula, W30, prices, prices) == {
        "A": D("28.8"),  # D = 54,000 / 900,000 x 100 = 6; 0.2 x 6 = 1.2; 28.8
        "B": D("29.5"),  # D = -45,000 / 900,000 x 100 = -5; 0.1 x 5 = 0.5; 29.5
        "C": D(30),
    }


def test_score_never_below_zero() -> None:
    formula = parse_price_formula(
        {"method": "deviation", "benchmark": "mean", "e_up": 1, "e_down": 1}
    )
    # W = 10, B = 100, P = 125: D = 25; 1 x 25 = 25 > 10, no cap: 10 - 25 = -15 -> 0
    assert price_score(formula, D(10), D(100), D(125)) == 0
    # P = 105: D = 5; 10 - 5 = 5
    assert price_score(formula, D(10), D(100), D(105)) == 5


@pytest.mark.parametrize(
    ("price", "interpolated", "whole_points"),
    [
        # D = 0.4: 0.2 x 0.4 = 0.08 -> 29.92 | truncated to 0 points -> 30
        (D("100.4"), D("29.92"), D(30)),
        # D = 2.9: 0.2 x 2.9 = 0.58 -> 29.42 | 2 points: 0.2 x 2 = 0.4 -> 29.6
        (D("102.9"), D("29.42"), D("29.6")),
        # D = -2.9: 0.1 x 2.9 = 0.29 -> 29.71 | -2 points (toward zero): 0.1 x 2 -> 29.8
        (D("97.1"), D("29.71"), D("29.8")),
        # D = -0.99: 0.099 -> 29.901 | 0 points -> 30
        (D("99.01"), D("29.901"), D(30)),
    ],
)
def test_interpolation_below_one_point(price: D, interpolated: D, whole_points: D) -> None:
    config: dict[str, object] = {"method": "deviation", "benchmark": "mean"}
    config |= {"e_up": "0.2", "e_down": "0.1"}
    smooth = parse_price_formula(config)
    stepped = parse_price_formula(config | {"interpolate_below_one_point": False})
    assert smooth.interpolate_below_one_point
    assert price_score(smooth, W30, D(100), price) == interpolated
    assert price_score(stepped, W30, D(100), price) == whole_points


PRICES_WITH_REJECTED = {"A": D(90), "B": D(95), "C": D(100), "D": D(105), "E": D(130), "F": D(50)}
VALID = {"A", "B", "C", "D", "E"}  # F was rejected


def test_rejected_bids_get_no_score_and_do_not_count() -> None:
    scores = price_scores(PUBLISHED, W30, PRICES_WITH_REJECTED, VALID)
    assert set(scores) == VALID
    # benchmark from the five valid prices: (90 + 95 + 100 + 105 + 130) / 5 = 104
    # C: D = (100 - 104) / 104 x 100 = -3.846153...; 0.1 x 3.846153... = 0.3846...; 29.6153...
    assert round_final(scores["C"]) == D("29.62")


def test_rejected_in_benchmark_option() -> None:
    config = {"method": "deviation", "trim_above_bids": 3, "e_up": "0.2", "e_down": "0.1"}
    formula = parse_price_formula(config | {"rejected_in_benchmark": True})
    scores = price_scores(formula, W30, PRICES_WITH_REJECTED, VALID)
    assert "F" not in scores
    # all 6 prices count: drop 50 and 130; B = (90 + 95 + 100 + 105) / 4 = 390 / 4 = 97.5
    # A: D = -7.5 / 97.5 x 100 = -7.6923...; 0.1 x 7.6923... = 0.76923...; 29.23076...
    assert round_final(scores["A"]) == D("29.23")
    # C: D = 2.5 / 97.5 x 100 = 2.5641...; 0.2 x 2.5641... = 0.51282...; 29.48717...
    assert round_final(scores["C"]) == D("29.49")


def test_rejected_lower_price_in_lowest_method() -> None:
    formula = parse_price_formula({"method": "lowest", "rejected_in_benchmark": True})
    # B = 50 (rejected F counts); C: 50 / 100 x 30 = 15
    scores = price_scores(formula, W30, PRICES_WITH_REJECTED, VALID)
    assert scores["C"] == 15


def test_no_valid_bid_scores_nothing() -> None:
    assert price_scores(PUBLISHED, W30, {"A": D(100)}, set()) == {}


def test_bad_inputs() -> None:
    with pytest.raises(RuleInputError, match="no price for X"):
        price_scores(PUBLISHED, W30, {"A": D(100)}, {"A", "X"})
    with pytest.raises(RuleInputError, match="positive"):
        price_scores(PUBLISHED, W30, {"A": D(0)}, {"A"})
    with pytest.raises(RuleInputError, match="no valid price"):
        price_benchmark(PUBLISHED, [])
    with pytest.raises(RuleInputError, match="max_points"):
        price_score(PUBLISHED, D(-1), D(100), D(100))


def test_parse_converts_floats_exactly() -> None:
    formula = parse_price_formula(
        {"method": "deviation", "benchmark": "trimmed_mean", "trim_above_bids": 3}
        | {"e_up": 1.0, "e_down": 0.1, "max_deduction": None}
    )
    assert formula.method is PriceMethod.DEVIATION
    assert formula.e_up == 1
    assert formula.e_down == D("0.1")  # not 0.1000000000000000055511151231257827...
    assert formula.max_deduction is None
    assert not formula.rejected_in_benchmark


def test_to_config_round_trip() -> None:
    for formula in [
        PUBLISHED,
        parse_price_formula({"method": "lowest"}),
        parse_price_formula(
            {"method": "deviation", "benchmark": "control_fraction", "control_price": "1e6"}
            | {"fraction": "0.95", "e_up": 1, "e_down": 0, "interpolate_below_one_point": False}
        ),
    ]:
        assert parse_price_formula(formula.to_config()) == formula


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "method: required"),
        ({"method": "median"}, "method: 'median' is not one of"),
        ({"method": "lowest", "e_up": 1}, "e_up: not used"),
        ({"method": "lowest", "benchmark": "mean"}, "benchmark: 'lowest'"),
        ({"method": "deviation", "e_down": 1}, "e_up: required"),
        ({"method": "deviation", "e_up": 1}, "e_down: required"),
        ({"method": "deviation", "e_up": 1, "e_down": -1}, "e_down: must be >= 0"),
        ({"method": "deviation", "e_up": True, "e_down": 1}, "e_up: expected a number"),
        ({"method": "deviation", "e_up": "abc", "e_down": 1}, "e_up: 'abc' is not a number"),
        ({"method": "deviation", "e_up": "NaN", "e_down": 1}, "e_up: 'NaN' is not finite"),
        ({"method": "deviation", "e_up": 1, "e_down": 1, "max_deduction": -2}, "max_deduction"),
        ({"method": "deviation", "e_up": 1, "e_down": 1, "trim_above_bids": 1}, "trim_above_bids"),
        ({"method": "deviation", "e_up": 1, "e_down": 1, "trim_above_bids": 3.5}, "integer"),
        (
            {"method": "deviation", "benchmark": "mean", "trim_above_bids": 3}
            | {"e_up": 1, "e_down": 1},
            "trim_above_bids: only used by 'trimmed_mean'",
        ),
        ({"method": "deviation", "benchmark": "median", "e_up": 1}, "benchmark: 'median'"),
        (
            {"method": "deviation", "benchmark": "control_fraction", "e_up": 1, "e_down": 1},
            "control_price: must be > 0",
        ),
        (
            {"method": "deviation", "benchmark": "control_fraction", "control_price": 100}
            | {"fraction": 1.5, "e_up": 1, "e_down": 1},
            r"fraction: must be in \(0, 1\]",
        ),
        ({"method": "lowest", "fraction": 0.9}, "fraction: only used by 'control_fraction'"),
        ({"method": "lowest", "rejected_in_benchmark": "yes"}, "expected true or false"),
        ({"method": "lowest", "e_upp": 1}, "unknown keys e_upp"),
        ({"method": 1}, "method: expected a string"),
    ],
)
def test_bad_config(config: dict[str, object], message: str) -> None:
    with pytest.raises(RuleConfigError, match=message):
        parse_price_formula(config)


def test_bad_config_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="expected an object"):
        parse_price_formula([])  # type: ignore[arg-type]


def test_direct_construction_is_validated() -> None:
    with pytest.raises(RuleConfigError, match="e_up: required"):
        PriceFormula(PriceMethod.DEVIATION, Benchmark.MEAN)
    with pytest.raises(RuleConfigError, match="e_up: expected a Decimal"):
        PriceFormula(PriceMethod.DEVIATION, Benchmark.MEAN, e_up=0.2, e_down=D(0))  # type: ignore[arg-type]
