"""Blind and staggered review: codes per seat, each seat's own order, the logged reveal."""

from __future__ import annotations

from typing import Any

import pytest

from server.domain.blind import CODE_ALPHABET, assign_codes
from server.domain.commands import AdvancePhase, CloseBlind
from server.domain.errors import Code, CommandError
from server.domain.folding import apply_event
from server.domain.roles import Role
from server.domain.state import new_state
from server.domain.views import Viewer, event_view, state_view
from tests.domain.driver import DRAW, SEATS, SUP, Session

BIDDERS = ["B1", "B2", "B3", "B4", "B5"]


def scoring(lot: dict[str, Any], draw: str | None = DRAW) -> Session:
    session = Session(lot)
    session.enrol_all()
    session.run(SUP, AdvancePhase("sign_in"))
    for seat in SEATS:
        session.expert(seat, "expert.sign_in", pledge="evalroom-pledge-v1")
    session.run(SUP, AdvancePhase("scoring", draw))
    return session


def test_codes_are_per_seat_unique_and_replayable() -> None:
    first = assign_codes(DRAW, SEATS, BIDDERS)
    assert assign_codes(DRAW, SEATS, BIDDERS) == first
    assert assign_codes("1e" * 16, SEATS, BIDDERS) != first
    for pairs in first.values():
        codes = [c for c, _ in pairs]
        assert sorted(b for _, b in pairs) == BIDDERS
        assert len(set(codes)) == len(codes)
        assert all(len(c) == 4 and set(c) <= set(CODE_ALPHABET) for c in codes)
        assert not set(codes) & set(BIDDERS)
    # staggered: the seats do not all see the same order, nor the same codes
    assert len({tuple(b for _, b in pairs) for pairs in first.values()}) > 1
    assert len({c for pairs in first.values() for c, _ in pairs}) == len(SEATS) * len(BIDDERS)


@pytest.mark.parametrize("draw", ["", "xyz", "0f" * 8, "0F" * 16])
def test_a_bad_draw_is_refused(draw: str) -> None:
    with pytest.raises(CommandError) as info:
        assign_codes(draw, SEATS, BIDDERS)
    assert info.value.code == Code.MALFORMED


def test_scoring_starts_with_the_draw(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json)
    assert [e.type for e in session.events[-2:]] == ["phase.changed", "blind.assigned"]
    assert session.events[-1].data["criteria"] == ["T1", "T2", "T3", "T4", "T5"]
    assert session.state.blind_open


def test_without_a_draw_there_is_no_blind_part(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json, None)
    assert session.state.blind is None
    session.expert("host-1", "score.set", bidder="B1", criterion="T1", value="5")


def test_blind_cells_are_scored_by_the_seats_own_code(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json)
    mine = session.code_of("host-1", "B2")
    (event,) = session.expert("host-1", "score.set", code=mine, criterion="T1", value="5")
    assert "bidder" not in event.data
    assert event.data["code"] == mine
    assert session.state.cells["host-1"]["B2/T1"].code == mine
    theirs = session.code_of("host-2", "B2")
    cases = [
        ({"bidder": "B2", "criterion": "T1", "value": "5"}, Code.BLIND_CODE_REQUIRED),
        ({"code": theirs, "criterion": "T1", "value": "5"}, Code.UNKNOWN_BIDDER),
        ({"code": mine, "criterion": "C1", "value": "5"}, Code.MALFORMED),
        ({"code": mine, "bidder": "B2", "criterion": "T1", "value": "5"}, Code.BLIND_CODE_REQUIRED),
    ]
    for fields, code in cases:
        with pytest.raises(CommandError) as info:
            session.expert("host-1", "score.set", **fields)
        assert info.value.code == code
    session.expert("host-1", "score.set", bidder="B2", criterion="C1", value="5")


def _fill_blind(session: Session) -> None:
    for seat in SEATS:
        for bidder in BIDDERS:
            for criterion in ("T1", "T2", "T3", "T4", "T5"):
                code = session.code_of(seat, bidder)
                session.expert(seat, "score.set", code=code, criterion=criterion, value="3")


def test_the_mapping_stays_hidden_from_experts_and_public(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json)
    _fill_blind(session)
    state = new_state(session.events[0])
    for event in session.events[1:]:
        apply_event(state, event)
        for seat in SEATS:
            seen = event_view(event, Viewer(Role.EXPERT, seat), state.revealed)
            if event.type == "blind.assigned":
                assert seen["data"]["seats"] == {
                    seat: [[c, None] for c, _ in event.data["seats"][seat]]
                }
            if event.type == "score.set" and seen.get("data"):
                assert "bidder" not in seen["data"]
        public = event_view(event, Viewer(Role.PUBLIC), state.revealed)
        if event.type == "blind.assigned":
            assert public["data"]["seats"] == {}
    for seat in SEATS:
        view = state_view(session.state, Viewer(Role.EXPERT, seat))
        assert all(b is None for _, b in view["blind"]["seats"][seat])
        assert set(view["blind"]["seats"]) == {seat}
        blind_keys = [k for k in view["cells"][seat] if k.endswith(("T1", "T2"))]
        assert all(k.split("/")[0] not in BIDDERS for k in blind_keys)
    sup = state_view(session.state, Viewer(Role.SUPERVISOR))
    assert "B1/T1" in sup["cells"]["host-1"]
    assert all(b in BIDDERS for _, b in sup["blind"]["seats"]["host-1"])


def test_only_the_chair_or_a_supervisor_closes_the_blind_part(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json)
    with pytest.raises(CommandError) as info:
        session.run(SUP, CloseBlind())
    assert info.value.code == Code.PHASE_NOT_READY
    _fill_blind(session)
    with pytest.raises(CommandError) as info:
        session.expert("host-2", "blind.close")
    assert info.value.code == Code.NOT_CHAIR
    (event,) = session.run(SUP, CloseBlind())
    assert event.type == "blind.revealed"
    assert event.data["seats"] == session.state.blind.to_json()  # type: ignore[union-attr]
    with pytest.raises(CommandError) as info:
        session.run(SUP, CloseBlind())
    assert info.value.code == Code.BLIND_CLOSED
    code = session.code_of("host-1", "B1")
    for fields in ({"code": code}, {"bidder": "B1"}):
        with pytest.raises(CommandError) as info:
            session.expert("host-1", "score.set", criterion="T1", value="4", **fields)
        assert info.value.code == Code.BLIND_CLOSED
    view = state_view(session.state, Viewer(Role.EXPERT, "host-1"))
    assert "B1/T1" in view["cells"]["host-1"]


def test_review_reveals_the_blind_part_if_nobody_did(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json)
    _fill_blind(session)
    for seat in SEATS:
        for bidder in BIDDERS:
            for criterion in ("C1", "C2"):
                session.expert(seat, "score.set", bidder=bidder, criterion=criterion, value="3")
        session.expert(seat, "sheet.submit")
    events = session.run(SUP, AdvancePhase("review"))
    assert [e.type for e in events] == ["blind.revealed", "phase.changed"]


def test_an_incomplete_sheet_names_blind_cells_by_code(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json)
    with pytest.raises(CommandError) as info:
        session.expert("host-1", "sheet.submit")
    cells = info.value.details["cells"]
    blind = [c for c in cells if c.endswith(("/T1", "/T2", "/T3", "/T4", "/T5"))]
    assert blind
    assert all(c.split("/")[0] not in BIDDERS for c in blind)
