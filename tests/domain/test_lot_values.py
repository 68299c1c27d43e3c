"""Lot values are exact (issue 10, deliverable 9), and a malformed lot is a typed ``bad_lot``.

A price with fractions of a yuan is scored with them, in the live session and in a replay of
its log alike; a price the lot cannot hold exactly (fractions of a fen, not positive) is refused
at creation; never truncated.
"""

from __future__ import annotations

import copy
from decimal import Decimal as D
from typing import Any

import pytest

from server.domain.commands import CreateSession, decide
from server.domain.errors import Code, CommandError
from server.domain.events import event_from_bytes
from server.domain.folding import fold
from server.domain.lot import parse_lot
from server.domain.results import results
from server.domain.rules.price import deviation_percent, parse_price_formula, price_scores
from tests.domain.driver import ADMIN, Session


def with_price(lot: dict[str, Any], bidder: int, price: Any) -> dict[str, Any]:
    changed = copy.deepcopy(lot)
    changed["bidders"][bidder]["price_cny"] = price
    return changed


def price_points(lot: dict[str, Any]) -> dict[str, D | None]:
    """The P1 score of every bidder, exactly, from a session created with ``lot``."""
    state = Session(lot).state
    return {b: r.items["P1"].value for b, r in results(state).bidders.items()}


@pytest.mark.parametrize("fraction", [35120000.99, "35120000.99"])
def test_fractions_of_a_yuan_are_scored(lot_json: dict[str, Any], fraction: Any) -> None:
    whole = price_points(lot_json)
    exact = price_points(with_price(lot_json, 0, fraction))
    assert exact != whole  # the .99 moved the benchmark and the scores
    # the same numbers the rules engine gives for the exact prices, computed independently
    prices = {b["id"]: D(str(b["price_cny"])) for b in lot_json["bidders"]}
    prices["B1"] = D("35120000.99")
    formula = parse_price_formula(lot_json["criteria"][-1]["formula"])
    assert exact == price_scores(formula, D(50), prices, prices)
    assert parse_lot(with_price(lot_json, 0, fraction)).bidders[0].price_cny == D("35120000.99")


def test_one_fen_changes_the_deviation(lot_json: dict[str, Any]) -> None:
    """B1 at 35,120,000.99 deviates from a benchmark by .99 yuan more than at 35,120,000."""
    benchmark = D(35_000_000)
    d_whole = deviation_percent(D(35_120_000), benchmark)
    d_fen = deviation_percent(D("35120000.99"), benchmark)
    assert d_fen - d_whole == D("0.99") / benchmark * 100


def test_the_log_keeps_and_a_replay_scores_the_same_fraction(lot_json: dict[str, Any]) -> None:
    lot = with_price(lot_json, 0, 35120000.99)
    session = Session(lot)
    created = session.events[0]
    assert created.data["lot"]["bidders"][0]["price_cny"] == "35120000.99"  # a string, exact
    replayed = fold([event_from_bytes(created.raw)])
    live = results(session.state).to_json()
    assert results(replayed).to_json() == live
    assert live["bidders"]["B1"]["price"] == "35120000.99"


@pytest.mark.parametrize(
    ("price", "why"),
    [
        ("35120000.999", "fractions of a fen"),
        (35120000.001, "fractions of a fen"),
        (0, "positive"),
        ("-5", "positive"),
        ("1e20", "positive"),
        ("NaN", "finite"),
        (True, "expected a number"),
        (None, "expected a number"),
    ],
)
def test_a_price_the_lot_cannot_hold_is_refused_at_creation(
    lot_json: dict[str, Any], price: Any, why: str
) -> None:
    with pytest.raises(CommandError) as caught:
        decide(None, ADMIN, "create", CreateSession(with_price(lot_json, 0, price)))
    assert caught.value.code is Code.BAD_LOT
    assert why in caught.value.message


def test_the_price_cap_is_exact_and_survives_normalization(lot_json: dict[str, Any]) -> None:
    lot = copy.deepcopy(lot_json)
    lot["project"]["max_price_cny"] = 38600000.5
    (draft,) = decide(None, ADMIN, "create", CreateSession(lot))
    assert parse_lot(lot).max_price_cny == D("38600000.5")
    # the log holds the cap as a string; read back it is the same cap (it used to become None)
    assert parse_lot(draft.data["lot"]).max_price_cny == D("38600000.5")


def _lot(lot_json: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(lot_json)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("venues",), "host"),
        (("venues",), [1, 2]),
        (("venues", 0, "seats"), "4"),
        (("venues", 0, "seats"), 2.5),
        (("venues", 0, "seats"), True),
        (("criteria",), {"T1": {}}),
        (("criteria", 0), "T1"),
        (("criteria", 7, "ratings"), [5, 4]),
        (("criteria", 8, "formula", "method"), "cheapest"),
        (("criteria", 8, "formula", "e_up"), "fast"),
        (("bidders",), None),
        (("bidders", 0), ["B1"]),
    ],
)
def test_a_malformed_lot_is_bad_lot(
    lot_json: dict[str, Any], path: tuple[Any, ...], value: Any
) -> None:
    with pytest.raises(CommandError) as caught:
        decide(None, ADMIN, "create", CreateSession(_lot(lot_json, path, value)))
    assert caught.value.code is Code.BAD_LOT


def test_an_integer_canonical_json_cannot_carry_is_bad_lot(lot_json: dict[str, Any]) -> None:
    """Sealing ``session.created`` would fail: refused at creation with a typed error instead."""
    lot = {**lot_json, "extra": {"n": 2**60}}
    with pytest.raises(CommandError) as caught:
        decide(None, ADMIN, "create", CreateSession(lot))
    assert caught.value.code is Code.BAD_LOT
