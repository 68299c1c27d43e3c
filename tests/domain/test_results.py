"""Results through the rules engine: the sample day end to end, visibility, properties."""

from __future__ import annotations

import copy
import json
from decimal import Decimal as D
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.commands import CreateSession, decide
from server.domain.events import Event, seal
from server.domain.folding import fold
from server.domain.results import results
from server.domain.results_view import flags_view, results_view
from server.domain.roles import Role
from server.domain.state import SessionState
from server.domain.views import Viewer
from tests.conftest import DEMO_LOT
from tests.domain.driver import (
    ADMIN,
    EXPECTED_RANKING,
    EXPECTED_TOTALS,
    SEATS,
    S,
    Session,
    sample_day,
)


def run_day(lot: dict[str, Any], until: str | None = None) -> Session:
    """The sample day, stopping before the first step whose type is ``until``."""
    session = Session(lot)
    session.enrol_all()
    for step in sample_day():
        kind = step[1]["type"] if step[0] == "staff" else step[2]
        if kind == until:
            break
        session.step(step)
    return session


def test_sample_day_ranks_as_computed_by_hand(lot_json: dict[str, Any]) -> None:
    # B4 rejected; 4 valid bids > 3: drop 36,480,000 (B2) and 33,950,000 (B3);
    # B = (35,120,000 + 34,760,000) / 2 = 34,940,000.
    # P1 = 50 - 1.0 x D above B, 50 - 0.5 x |D| below, D = (P - B) / B x 100:
    exact = {
        "B1": 50 - Fraction(180_000 * 100, 34_940_000),
        "B2": 50 - Fraction(1_540_000 * 100, 34_940_000),
        "B3": 50 - Fraction(1, 2) * Fraction(990_000 * 100, 34_940_000),
        "B5": 50 - Fraction(1, 2) * Fraction(180_000 * 100, 34_940_000),
    }
    # Technical: every seat gives the base scores; trimmed means (7 > 5 experts) drop one
    # highest and one lowest: B5/T1 [2.5, 7.5 x5, 8.5] -> 7.5 (the outliers never count);
    # B2/T2 [5.5 x5, 6, 6] -> (5.5 x 4 + 6) / 5 = 5.6.
    technical = {"B1": 26, "B2": Fraction("28.6"), "B3": 23, "B5": 25.5}
    objective = {"B1": 7 + 4, "B2": 6 + 5, "B3": 8 + 3, "B5": 7 + 4}  # C1 + C2
    credit = {"B1": 5, "B2": 4, "B3": 3, "B5": 1}  # AAA, AA, A, B
    by_hand = {b: Fraction(technical[b]) + objective[b] + credit[b] + exact[b] for b in exact}
    # 91.4848..., 89.1924..., 85.5832..., 87.2424...
    for bidder, total in by_hand.items():
        cents = (total * 100 + Fraction(1, 2)).__floor__()
        assert D(cents) / 100 == EXPECTED_TOTALS[bidder]

    session = run_day(lot_json)
    assert session.state.phase == "closed"
    result = results(session.state)
    assert {b: r.total for b, r in result.bidders.items() if r.total is not None} == EXPECTED_TOTALS
    assert result.bidders["B4"].rejected
    assert result.bidders["B4"].total is None
    assert result.bidders["B4"].items["P1"].value is None
    for bidder, value in exact.items():
        assert abs(Fraction(result.bidders[bidder].items["P1"].value or 0) - value) < Fraction(
            1, 10**30
        )
    ranking = [(r.bidder, r.rank, r.recommended) for r in result.ranking]
    assert ranking == EXPECTED_RANKING
    assert sum(r.recommended for r in result.ranking) == 3
    assert result.rejected == {
        "B4": {
            "proposal": "R1",
            "ground": "unsigned_unsealed",
            "reason": "投标保证金凭证未经法定代表人签字",
        }
    }
    # credit points come from the ratings, never from a typed cell
    assert not any("/C3" in key for cells in session.state.cells.values() for key in cells)


def test_price_points_before_any_rejection(lot_json: dict[str, Any]) -> None:
    session = run_day(lot_json, until="rejection.propose")
    result = results(session.state)
    p1 = {b: r.items["P1"].to_json()["value"] for b, r in result.bidders.items()}
    assert p1 == {"B1": "49.53", "B2": "47.10", "B3": "47.88", "B4": "43.10", "B5": "49.02"}
    assert [r.bidder for r in result.ranking] == ["B1", "B2", "B5", "B3", "B4"]


def test_a_mismatch_withholds_the_total(lot_json: dict[str, Any]) -> None:
    session = run_day(lot_json, until="sheet.submit")
    result = results(session.state)
    assert result.bidders["B3"].items["C2"].mismatch
    assert result.bidders["B3"].total is None
    assert result.ranking == []
    assert not result.complete


def test_who_sees_results_and_flags(lot_json: dict[str, Any]) -> None:
    session = run_day(lot_json, until="blind.close")
    state = session.state
    assert results_view(state, Viewer(Role.SUPERVISOR)) is not None
    assert results_view(state, Viewer(Role.EXPERT, "host-1")) is None
    assert results_view(state, Viewer(Role.PUBLIC)) is None
    assert flags_view(state, Viewer(Role.PUBLIC)) is None
    sup = flags_view(state, Viewer(Role.SUPERVISOR)) or []
    deviation = [f for f in sup if f["kind"] == "deviation"]
    assert {(f["seat"], f["bidder"], f["criterion"]) for f in deviation} == {("host-1", "B5", "T1")}
    assert deviation[0]["score"] == "2.5"
    assert deviation[0]["mean"] == "6.93"  # (2.5 + 5 x 7.5 + 8.5) / 7 = 6.928...
    assert deviation[0]["explained"]
    mismatch = [f for f in sup if f["kind"] == "mismatch"]
    assert mismatch == [
        {
            "kind": "mismatch",
            "bidder": "B3",
            "criterion": "C2",
            "values": {"2": ["host-4"], "3": sorted(set(SEATS) - {"host-4"})},
        }
    ]
    # the chair (host-1) sees every flag, blind cells by their own code until the reveal
    chair = flags_view(state, Viewer(Role.EXPERT, "host-1")) or []
    (dev,) = [f for f in chair if f["kind"] == "deviation"]
    assert dev["bidder"] is None
    assert dev["code"] == session.code_of("host-1", "B5")
    assert "score" in dev
    # another expert sees only the flags on their own scores, without the others' values
    own = flags_view(state, Viewer(Role.EXPERT, "host-4")) or []
    assert own == [{"kind": "mismatch", "bidder": "B3", "criterion": "C2"}]
    # every seat that scored a disputed cell is part of the mismatch; no one else's deviation
    assert flags_view(state, Viewer(Role.EXPERT, "host-2")) == own
    closed = run_day(lot_json).state
    assert results_view(closed, Viewer(Role.EXPERT, "host-2")) is not None


def test_control_fraction_benchmark_uses_the_lot_control_price(lot_json: dict[str, Any]) -> None:
    lot = copy.deepcopy(lot_json)
    p1 = next(c for c in lot["criteria"] if c["id"] == "P1")
    p1["formula"] = {
        "method": "deviation",
        "benchmark": "control_fraction",
        "fraction": 0.9,
        "e_up": 1,
        "e_down": 0.5,
    }
    session = run_day(lot, until="rejection.propose")
    # B = 38,600,000 x 0.9 = 34,740,000; B5 34,760,000: D = 20,000 / 347,400 = 0.0575...
    value = results(session.state).bidders["B5"].items["P1"].value
    assert value is not None
    assert abs(Fraction(value) - (50 - Fraction(20_000, 347_400))) < Fraction(1, 10**30)


def test_lowest_price_method_ranks_by_price(lot_json: dict[str, Any]) -> None:
    lot = copy.deepcopy(lot_json)
    lot["project"]["method"] = "lowest_price"
    session = run_day(lot)
    ranking = results(session.state).ranking
    assert [r.bidder for r in ranking] == ["B3", "B5", "B1", "B2"]  # B4 rejected
    assert [r.recommended for r in ranking] == [True, True, True, False]


@settings(max_examples=25, deadline=None)
@given(st.permutations(SEATS))
def test_the_order_of_experts_changes_nothing(seats: list[str]) -> None:
    lot = _lot()
    state = _scored(lot)
    before = results(state).to_json()
    rename = dict(zip(SEATS, seats, strict=True))
    shuffled = {rename[seat]: cells for seat, cells in state.cells.items()}
    state.cells = {seat: shuffled[seat] for seat in reversed(seats)}
    assert results(state).to_json() == before


@settings(max_examples=25, deadline=None)
@given(st.permutations(["B1", "B2", "B3", "B4", "B5"]))
def test_the_order_of_bidders_changes_nothing(order: list[str]) -> None:
    lot = _lot()
    before = results(_scored(lot)).to_json()
    shuffled = copy.deepcopy(lot)
    shuffled["bidders"] = sorted(lot["bidders"], key=lambda b: order.index(b["id"]))
    after = results(_scored(shuffled)).to_json()
    assert after["bidders"] == before["bidders"]
    assert after["ranking"] == before["ranking"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 20), min_size=7, max_size=7),
    st.integers(0, 20),
    st.integers(0, 20),
)
def test_trimming_never_uses_a_removed_score(values: list[int], low: int, high: int) -> None:
    # Push the lowest score lower and the highest higher: the trimmed mean must not move.
    lot = _lot()
    state = _scored(lot)
    ordered = sorted(range(7), key=lambda i: values[i])
    cells = [state.cells[seat] for seat in SEATS]
    for i, seat_cells in enumerate(cells):
        seat_cells["B1/T1"].value = str(D(values[i]) / 2)
    before = results(state).bidders["B1"].items["T1"].value
    lowest, highest = ordered[0], ordered[-1]
    cells[lowest]["B1/T1"].value = str(min(D(values[lowest]), D(low)) / 2)
    cells[highest]["B1/T1"].value = str(max(D(values[highest]), D(high)) / 2)
    assert results(state).bidders["B1"].items["T1"].value == before


def _lot() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEMO_LOT.read_text("utf-8"))
    return data


_DAY: list[Event] = []


def _scored_events() -> list[Event]:
    """The sample day up to the review (every sheet scored, B4 rejected), run once."""
    if not _DAY:
        session = Session(_lot())
        session.enrol_all()
        for step in sample_day():
            if step[0] == "staff" and step[1].get("to") == "review":
                break
            session.step(step)
        _DAY.extend(session.events)
    return _DAY


def _scored(lot: dict[str, Any]) -> SessionState:
    """The cached day folded under ``lot`` (the same lot, its bidders possibly reordered)."""
    events = _scored_events()
    (created,) = decide(None, ADMIN, "create", CreateSession(lot))
    return fold([seal(created, S, 1, events[0].time_ms), *events[1:]])


def test_fold_replays_the_same_results(lot_json: dict[str, Any]) -> None:
    session = run_day(lot_json)
    assert results(fold(session.events)).to_json() == results(session.state).to_json()


@pytest.mark.parametrize("rating", ["AAA", "D", ""])
def test_credit_points_from_the_rating(lot_json: dict[str, Any], rating: str) -> None:
    lot = copy.deepcopy(lot_json)
    lot["bidders"][0]["credit"] = rating
    session = Session(lot)
    item = results(session.state).bidders["B1"].items["C3"]
    assert item.value == {"AAA": D(5)}.get(rating, D(0))


def test_rejected_bids_stay_in_the_benchmark_when_the_tender_says_so(
    lot_json: dict[str, Any],
) -> None:
    lot = copy.deepcopy(lot_json)
    p1 = next(c for c in lot["criteria"] if c["id"] == "P1")
    p1["formula"]["rejected_in_benchmark"] = True
    result = results(run_day(lot).state)
    # B4 is rejected (no price score) but its price still counts: the benchmark is that of all
    # five bids, so the others keep the scores they had before the rejection.
    p1_values = {b: r.items["P1"].to_json()["value"] for b, r in result.bidders.items()}
    assert p1_values == {"B1": "49.53", "B2": "47.10", "B3": "47.88", "B4": None, "B5": "49.02"}
