"""Aggregation of the experts' scores, objective consensus, deviation flags, final rounding."""

from __future__ import annotations

from decimal import Decimal as D
from decimal import localcontext

import pytest

from server.domain.rules import (
    Mismatch,
    RuleInputError,
    aggregate_item,
    bidder_total,
    bidder_totals,
    deviation_flags,
    group_subtotals,
    objective_consensus,
    round_final,
)


def scores(*values: str | int) -> list[D]:
    return [D(str(v)) for v in values]


def test_seven_experts_drop_one_high_one_low() -> None:
    # 7 > 5: drop 6 and 10; (7 + 7.5 + 8 + 8 + 8.5) / 5 = 39 / 5 = 7.8
    assert aggregate_item(scores(8, 6, "7.5", 10, 8, 7, "8.5"), trim_above=5) == D("7.8")


def test_five_experts_are_not_trimmed_when_trim_above_is_five() -> None:
    # 5 is not more than 5: (5 + 7 + 8 + 9 + 9.5) / 5 = 38.5 / 5 = 7.7
    # (trimming would have given (7 + 8 + 9) / 3 = 8)
    assert aggregate_item(scores(5, 7, 8, 9, "9.5"), trim_above=5) == D("7.7")


def test_six_experts_are_trimmed() -> None:
    # 6 > 5: drop 2 and 10; (6 + 7 + 8 + 9) / 4 = 30 / 4 = 7.5
    assert aggregate_item(scores(2, 6, 7, 8, 9, 10), trim_above=5) == D("7.5")


def test_trimming_drops_one_instance_of_repeated_extremes() -> None:
    # sorted 5 5 5 7 9 9 9: drop one 5 and one 9; (5 + 5 + 7 + 9 + 9) / 5 = 35 / 5 = 7
    assert aggregate_item(scores(9, 9, 9, 5, 5, 5, 7), trim_above=5) == 7


def test_no_trimming_when_not_configured() -> None:
    # (2 + 6 + 7 + 8 + 9 + 10) / 6 = 42 / 6 = 7
    assert aggregate_item(scores(2, 6, 7, 8, 9, 10), trim_above=None) == 7


def test_mean_is_not_rounded() -> None:
    # (8 + 8 + 8.5) / 3 = 24.5 / 3 = 8.1666...: kept to 50 digits, rounded only at the end
    value = aggregate_item(scores(8, 8, "8.5"), trim_above=5)
    assert value != D("8.17")
    assert value * 3 == D("24.5")
    assert round_final(value) == D("8.17")


def test_exact_even_in_a_low_precision_caller_context() -> None:
    with localcontext() as ctx:
        ctx.prec = 3
        value = aggregate_item(scores("1234.5", "1234.5", "1234.75"), trim_above=None)
    # (1234.5 + 1234.5 + 1234.75) / 3 = 3703.75 / 3 = 1234.5833...
    assert round_final(value) == D("1234.58")


def test_aggregate_bad_input() -> None:
    with pytest.raises(RuleInputError, match="no scores"):
        aggregate_item([], trim_above=5)
    with pytest.raises(RuleInputError, match="trim_above"):
        aggregate_item(scores(1, 2), trim_above=1)
    with pytest.raises(RuleInputError, match="finite"):
        aggregate_item([D("NaN")], trim_above=None)


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        ("0.125", 2, "0.13"),  # half-up; banker's rounding would give 0.12
        ("2.345", 2, "2.35"),  # half-up; banker's rounding would give 2.34
        ("2.3449999", 2, "2.34"),
        ("2.5", 0, "3"),
        ("85.0045", 3, "85.005"),
        ("7", 2, "7.00"),
    ],
)
def test_round_final_half_up(value: str, places: int, expected: str) -> None:
    result = round_final(D(value), places)
    assert result == D(expected)
    assert str(result) == expected


def test_round_final_bad_places() -> None:
    with pytest.raises(RuleInputError, match="places"):
        round_final(D(1), -1)


def test_rounding_once_at_the_end_differs_from_rounding_each_item() -> None:
    # three experts, no trimming (3 is not more than 5):
    # T1: (8 + 8 + 8.5) / 3 = 24.5 / 3 = 8.1666...
    # T2: (5 + 5 + 5.5) / 3 = 15.5 / 3 = 5.1666...
    # T3: (4 + 4 + 4.5) / 3 = 12.5 / 3 = 4.1666...
    # exact total = 52.5 / 3 = 17.5 -> 17.50
    # rounding each item first: 8.17 + 5.17 + 4.17 = 17.51 (wrong)
    items = {
        "T1": aggregate_item(scores(8, 8, "8.5"), 5),
        "T2": aggregate_item(scores(5, 5, "5.5"), 5),
        "T3": aggregate_item(scores(4, 4, "4.5"), 5),
    }
    assert bidder_total(items) == D("17.50")
    assert sum(round_final(v) for v in items.values()) == D("17.51")
    assert bidder_total(items, places=None) == D("17.5")


def test_totals_with_maxima() -> None:
    maxima = {"T1": D(10), "C1": D(8), "P1": D(50)}
    values = {
        "B1": {"T1": D("7.8"), "C1": D(6), "P1": D("49.5298")},
        "B2": {"T1": D("8.25"), "C1": D(8), "P1": D("47.1042")},
    }
    # B1: 7.8 + 6 + 49.5298 = 63.3298 -> 63.33; B2: 8.25 + 8 + 47.1042 = 63.3542 -> 63.35
    assert bidder_totals(values, maxima) == {"B1": D("63.33"), "B2": D("63.35")}
    with pytest.raises(RuleInputError, match=r"missing criteria \['P1'\]"):
        bidder_total({"T1": D(1), "C1": D(1)}, maxima)
    with pytest.raises(RuleInputError, match="outside"):
        bidder_total({"T1": D(11), "C1": D(1), "P1": D(1)}, maxima)


def test_group_subtotals() -> None:
    groups = {"T1": "technical", "T2": "technical", "P1": "price"}
    values = {"T1": D("8.125"), "T2": D("5.125"), "P1": D("40.004")}
    # technical 8.125 + 5.125 = 13.25; price 40.004 -> 40.00
    assert group_subtotals(values, groups) == {"technical": D("13.25"), "price": D("40.00")}
    with pytest.raises(RuleInputError, match="no group for X"):
        group_subtotals({"X": D(1)}, groups)


def test_objective_consensus_agrees() -> None:
    assert objective_consensus({"E1": D(5), "E2": D(5), "E3": D(5)}) == 5
    # numerically equal values agree
    assert objective_consensus({"E1": D(5), "E2": D("5.0")}) == 5


def test_objective_consensus_flags_a_mismatch() -> None:
    result = objective_consensus({"E3": D(6), "E1": D(5), "E2": D(5), "E4": D(3)})
    assert isinstance(result, Mismatch)
    assert result.groups == ((D(3), ("E4",)), (D(5), ("E1", "E2")), (D(6), ("E3",)))
    assert result.values == (D(3), D(5), D(6))
    assert result.experts_for(D("5.0")) == ("E1", "E2")
    assert result.experts_for(D(4)) == ()
    assert str(result) == "objective item differs: 3 (E4); 5 (E1, E2); 6 (E3)"


def test_objective_consensus_needs_values() -> None:
    with pytest.raises(RuleInputError, match="no values"):
        objective_consensus({})


def test_deviation_flags() -> None:
    # mean = (80 + 82 + 78 + 50 + 110) / 5 = 400 / 5 = 80; 30 % of 80 = 24
    # |50 - 80| = 30 > 24 and |110 - 80| = 30 > 24; |82 - 80| = 2
    committee = {"E1": D(80), "E2": D(82), "E3": D(78), "E4": D(50), "E5": D(110)}
    assert deviation_flags(committee) == ["E4", "E5"]
    # with a 40 % threshold: 32 > 30, nobody flagged
    assert deviation_flags(committee, D("0.40")) == []


def test_deviation_of_exactly_thirty_percent_is_not_flagged() -> None:
    # mean = (70 + 130) / 2 = 100; |70 - 100| = 30 = 0.30 x 100, not more
    assert deviation_flags({"E1": D(70), "E2": D(130)}) == []


def test_deviation_flags_at_zero_mean() -> None:
    assert deviation_flags({"E1": D(0), "E2": D(0)}) == []
    # only possible with negative scores: any non-zero score deviates from a zero mean
    assert deviation_flags({"E1": D(-1), "E2": D(1), "E3": D(0)}) == ["E1", "E2"]
    assert deviation_flags({}) == []
    with pytest.raises(RuleInputError, match="negative"):
        deviation_flags({"E1": D(1)}, D("-0.1"))
