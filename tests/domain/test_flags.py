"""Live flags: deviation from the committee mean, objective mismatches, signed explanations."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from server.domain.commands import AdvancePhase
from server.domain.errors import Code, CommandError
from server.domain.flags import deviations, mismatches
from server.domain.roles import Role
from server.domain.views import Viewer, state_view
from tests.domain.driver import SEATS, SUP, Session


def scoring(lot: dict[str, Any]) -> Session:
    session = Session(lot)
    session.enrol_all()
    session.run(SUP, AdvancePhase("sign_in"))
    for seat in SEATS:
        session.expert(seat, "expert.sign_in", pledge="evalroom-pledge-v1")
    session.run(SUP, AdvancePhase("scoring"))  # no draw: bidders by id
    return session


def score(session: Session, values: list[str], criterion: str = "T1", bidder: str = "B1") -> None:
    for seat, value in zip(SEATS, values, strict=False):
        session.expert(seat, "score.set", bidder=bidder, criterion=criterion, value=value)


def test_deviation_needs_three_scores_and_more_than_thirty_percent(
    lot_json: dict[str, Any],
) -> None:
    session = scoring(lot_json)
    score(session, ["2", "8"])
    assert deviations(session.state) == []  # two scores say nothing
    score(session, ["2", "8", "8"])
    # mean 6; |2 - 6| = 4 > 1.8 flagged; |8 - 6| = 2 > 1.8 flagged too
    assert {f.seat for f in deviations(session.state)} == {"host-1", "host-2", "host-3"}
    score(session, ["5", "6", "7", "6"])  # mean 6, 30 % is 1.8: nobody beyond it
    assert deviations(session.state) == []


def test_the_lot_may_set_the_threshold(lot_json: dict[str, Any]) -> None:
    lot = copy.deepcopy(lot_json)
    lot["committee"]["deviation_threshold"] = 0.1
    session = scoring(lot)
    score(session, ["5", "6", "7", "6"])  # 10 % of 6 is 0.6
    assert {f.seat for f in deviations(session.state)} == {"host-1", "host-3"}


def test_objective_mismatch_is_flagged_not_averaged(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json)
    score(session, ["3", "3", "4"], criterion="C2")
    (flag,) = mismatches(session.state)
    assert flag.bidder == "B1"
    assert flag.seats == {"host-1", "host-2", "host-3"}
    session.expert("host-3", "score.set", bidder="B1", criterion="C2", value="3")
    assert mismatches(session.state) == []


def test_an_explanation_is_signed_and_only_for_a_flagged_score(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json)
    score(session, ["2", "8", "8", "8"])
    fields = {"bidder": "B1", "criterion": "T1", "text": "方案缺少关键措施"}
    with pytest.raises(CommandError) as info:
        session.expert("host-2", "flag.explain", **fields)
    assert info.value.code == Code.NOT_FLAGGED
    with pytest.raises(CommandError) as info:
        session.expert("host-1", "flag.explain", **{**fields, "text": ""})
    assert info.value.code == Code.REASON_REQUIRED
    (event,) = session.expert("host-1", "flag.explain", **fields)
    assert event.type == "flag.explained"
    assert event.data["signed"].startswith("{")
    assert event.data["sig"]
    mine = state_view(session.state, Viewer(Role.EXPERT, "host-1"))["committee"]
    other = state_view(session.state, Viewer(Role.EXPERT, "host-2"))["committee"]
    assert [e["text"] for e in mine["explanations"]] == ["方案缺少关键措施"]
    assert other["explanations"] == []


def test_a_submitted_sheet_may_fix_only_a_disputed_objective_cell(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json)
    for seat in SEATS:
        for bidder, criterion in session.state.lot.typed_cells():
            value = "2" if (seat, bidder, criterion) == ("host-4", "B3", "C2") else "3"
            session.expert(seat, "score.set", bidder=bidder, criterion=criterion, value=value)
        session.expert(seat, "sheet.submit")
    with pytest.raises(CommandError) as info:
        session.expert("host-4", "score.set", bidder="B3", criterion="C1", value="4")
    assert info.value.code == Code.SHEET_SUBMITTED
    session.run(SUP, AdvancePhase("review"))  # a mismatch does not block the phase
    with pytest.raises(CommandError) as info:
        session.expert("host-4", "score.set", bidder="B3", criterion="T1", value="4")
    assert info.value.code == Code.WRONG_PHASE
    session.expert("host-4", "score.set", bidder="B3", criterion="C2", value="3")
    assert mismatches(session.state) == []
    with pytest.raises(CommandError) as info:
        session.expert("host-4", "score.set", bidder="B3", criterion="C2", value="2")
    assert info.value.code == Code.WRONG_PHASE
