"""Ranking: order, ties, joint ranks and recommended candidates."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from server.domain.rules import (
    RankedBidder,
    RankMethod,
    RuleInputError,
    rank,
    recommended_candidates,
)


def summary(ranking: list[RankedBidder]) -> list[tuple[str, int, bool, bool]]:
    return [(r.bidder, r.rank, r.recommended, r.tie_at_cut) for r in ranking]


def test_highest_total_first_and_lower_price_breaks_a_tie() -> None:
    totals = {"A": D(90), "B": D(85), "C": D(85), "D": D(80)}
    prices = {"A": D(100), "B": D(100), "C": D(90), "D": D(80)}
    # B and C tie at 85: C's price 90 < B's 100, so C ranks 2 and B 3
    assert summary(rank(totals, prices, "comprehensive")) == [
        ("A", 1, True, False),
        ("C", 2, True, False),
        ("B", 3, True, False),
        ("D", 4, False, False),
    ]


def test_equal_total_and_price_rank_jointly() -> None:
    totals = {"D": D(80), "C": D(85), "B": D("85.00"), "A": D(90)}
    prices = {"A": D(100), "B": D(95), "C": D("95.0"), "D": D(80)}
    # ranks 1, 2, 2, 4; the joint group fits within 3 places, so no tie at the cut
    ranking = rank(totals, prices, RankMethod.COMPREHENSIVE)
    assert summary(ranking) == [
        ("A", 1, True, False),
        ("B", 2, True, False),
        ("C", 2, True, False),
        ("D", 4, False, False),
    ]
    assert ranking[0].total == 90
    assert ranking[0].price == 100


def test_joint_rank_straddling_the_cut_is_all_recommended() -> None:
    totals = {"A": D(90), "B": D(88), "C": D(85), "D": D(85), "E": D(80)}
    prices = {"A": D(1), "B": D(1), "C": D(95), "D": D(95), "E": D(1)}
    ranking = rank(totals, prices)
    # ranks 1, 2, 3, 3, 5: C and D share place 3 and 4, both marked, the tenderer decides
    assert summary(ranking) == [
        ("A", 1, True, False),
        ("B", 2, True, False),
        ("C", 3, True, True),
        ("D", 3, True, True),
        ("E", 5, False, False),
    ]
    assert [r.bidder for r in recommended_candidates(ranking)] == ["A", "B", "C", "D"]


def test_everybody_tied() -> None:
    totals = dict.fromkeys("WXYZ", D(70))
    prices = dict.fromkeys("WXYZ", D(100))
    assert summary(rank(totals, prices)) == [(b, 1, True, True) for b in "WXYZ"]


def test_single_candidate_with_a_tie_for_first() -> None:
    totals = {"A": D(90), "B": D(90), "C": D(80)}
    prices = {"A": D(100), "B": D(100), "C": D(90)}
    assert summary(rank(totals, prices, max_candidates=1)) == [
        ("A", 1, True, True),
        ("B", 1, True, True),
        ("C", 3, False, False),
    ]


def test_fewer_bidders_than_candidates() -> None:
    assert summary(rank({"A": D(1), "B": D(2)}, {"A": D(5), "B": D(5)})) == [
        ("B", 1, True, False),
        ("A", 2, True, False),
    ]
    assert rank({}, {}) == []


def test_lowest_evaluated_price_first() -> None:
    evaluated = {"A": D(105), "B": D(98), "C": D(98), "D": D(120), "E": D(99)}
    ranking = rank({}, evaluated, "lowest_price")
    # 98 (B, C jointly), 99 (E, rank 3), 105 (A), 120 (D)
    assert summary(ranking) == [
        ("B", 1, True, False),
        ("C", 1, True, False),
        ("E", 3, True, False),
        ("A", 4, False, False),
        ("D", 5, False, False),
    ]
    assert all(r.total is None for r in ranking)


def test_bad_input() -> None:
    with pytest.raises(RuleInputError, match="unknown method"):
        rank({}, {}, "best_guess")
    with pytest.raises(RuleInputError, match="max_candidates"):
        rank({}, {}, max_candidates=0)
    with pytest.raises(RuleInputError, match="no price for B"):
        rank({"A": D(1), "B": D(2)}, {"A": D(1)})
    with pytest.raises(RuleInputError, match="finite"):
        rank({"A": D("NaN")}, {"A": D(1)})
