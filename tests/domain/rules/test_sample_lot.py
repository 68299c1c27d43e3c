"""P1 price scores of the shared sample lot, checked against hand arithmetic."""

from __future__ import annotations

import json
from decimal import Decimal as D
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from server.domain.rules import (
    Benchmark,
    PriceMethod,
    parse_price_formula,
    price_benchmark,
    price_scores,
    round_final,
)

# The demo ships a copy of shared/data/sample-lot.json, so this runs without shared/ too.
SAMPLE = Path(__file__).parents[3] / "server" / "app" / "demo-lot.json"


@pytest.fixture
def lot() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return data


def p1(lot: dict[str, Any]) -> dict[str, Any]:
    (criterion,) = [c for c in lot["criteria"] if c["id"] == "P1"]
    return dict(criterion)


def prices_of(lot: dict[str, Any]) -> dict[str, D]:
    return {b["id"]: D(str(b["price_cny"])) for b in lot["bidders"]}


def test_formula_parses(lot: dict[str, Any]) -> None:
    formula = parse_price_formula(p1(lot)["formula"])
    assert formula.method is PriceMethod.DEVIATION
    assert formula.benchmark is Benchmark.TRIMMED_MEAN
    assert formula.trim_above_bids == 3
    assert formula.e_up == 1
    assert formula.e_down == D("0.5")
    assert formula.max_deduction is None


def test_p1_price_scores(lot: dict[str, Any]) -> None:
    criterion = p1(lot)
    formula = parse_price_formula(criterion["formula"])
    w = D(str(criterion["max"]))
    assert w == 50
    prices = prices_of(lot)

    # 5 bids > 3: drop the highest 37,900,000 (B4) and the lowest 33,950,000 (B3);
    # B = (35,120,000 + 36,480,000 + 34,760,000) / 3 = 106,360,000 / 3 = 35,453,333.33...
    benchmark = price_benchmark(formula, prices.values())
    assert benchmark * 3 == D(106_360_000)

    # D = (P - B) / B x 100 = (3P - 106,360,000) / 106,360,000 x 100
    #   = (3P - 106,360,000) / 1,063,600
    # B1: 3 x 35,120,000 = 105,360,000; D = -1,000,000 / 1,063,600 = -0.940203...
    #     deduction 0.5 x 0.940203... = 0.470101...; 50 - 0.470101... = 49.529898... -> 49.53
    # B2: 3 x 36,480,000 = 109,440,000; D = 3,080,000 / 1,063,600 = 2.895825...
    #     deduction 1.0 x 2.895825...; 50 - 2.895825... = 47.104174... -> 47.10
    # B3: 3 x 33,950,000 = 101,850,000; D = -4,510,000 / 1,063,600 = -4.240315...
    #     deduction 0.5 x 4.240315... = 2.120157...; 47.879842... -> 47.88
    # B4: 3 x 37,900,000 = 113,700,000; D = 7,340,000 / 1,063,600 = 6.901090...
    #     deduction 6.901090...; 43.098909... -> 43.10
    # B5: 3 x 34,760,000 = 104,280,000; D = -2,080,000 / 1,063,600 = -1.955622...
    #     deduction 0.5 x 1.955622... = 0.977811...; 49.022188... -> 49.02
    scores = price_scores(formula, w, prices, prices.keys())
    assert {b: round_final(s) for b, s in scores.items()} == {
        "B1": D("49.53"),
        "B2": D("47.10"),
        "B3": D("47.88"),
        "B4": D("43.10"),
        "B5": D("49.02"),
    }

    # The unrounded scores agree with the exact fractions above to far below a cent.
    exact = {
        "B1": 50 - Fraction(1, 2) * Fraction(1_000_000, 1_063_600),
        "B2": 50 - Fraction(3_080_000, 1_063_600),
        "B3": 50 - Fraction(1, 2) * Fraction(4_510_000, 1_063_600),
        "B4": 50 - Fraction(7_340_000, 1_063_600),
        "B5": 50 - Fraction(1, 2) * Fraction(2_080_000, 1_063_600),
    }
    for bidder, value in exact.items():
        assert abs(Fraction(scores[bidder]) - value) < Fraction(1, 10**40)


def test_p1_with_b3_rejected(lot: dict[str, Any]) -> None:
    formula = parse_price_formula(p1(lot)["formula"])
    prices = prices_of(lot)
    valid = prices.keys() - {"B3"}
    # 4 valid bids > 3: drop 37,900,000 (B4) and 34,760,000 (B5);
    # B = (35,120,000 + 36,480,000) / 2 = 35,800,000
    # B1: D = -680,000 / 358,000 = -1.899441...; 0.5 x -> 0.949720...; 49.050279... -> 49.05
    # B2: D = 680,000 / 358,000 = 1.899441...; 48.100558... -> 48.10
    # B4: D = 2,100,000 / 358,000 = 5.865921...; 44.134078... -> 44.13
    # B5: D = -1,040,000 / 358,000 = -2.905027...; 0.5 x -> 1.452513...; 48.547486... -> 48.55
    scores = price_scores(formula, D(50), prices, valid)
    assert {b: round_final(s) for b, s in scores.items()} == {
        "B1": D("49.05"),
        "B2": D("48.10"),
        "B4": D("44.13"),
        "B5": D("48.55"),
    }
