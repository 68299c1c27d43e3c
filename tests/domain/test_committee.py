"""Committee decisions: chair vote rounds, rejection of a bid (Art. 51), time extension."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from server.domain.commands import AdvancePhase, ReviewRejection
from server.domain.committee_rejection import GROUNDS
from server.domain.errors import Code, CommandError
from server.domain.roles import Principal, Role
from server.domain.views import Viewer, state_view
from tests.domain.driver import ADMIN, SEATS, SUP, S, Session


def signed_in(lot: dict[str, Any]) -> Session:
    session = Session(lot)
    session.enrol_all()
    session.run(SUP, AdvancePhase("sign_in"))
    for seat in session.state.seats:
        session.expert(seat, "expert.sign_in", pledge="evalroom-pledge-v1")
    return session


def refused(session: Session, code: Code, seat: str, kind: str, **fields: Any) -> None:
    head = session.state.seq
    with pytest.raises(CommandError) as info:
        session.expert(seat, kind, **fields)
    assert info.value.code == code, info.value
    assert session.state.seq == head


def test_seven_grounds_with_stable_codes_and_both_languages() -> None:
    assert list(GROUNDS) == [
        "unsigned_unsealed",
        "consortium_no_agreement",
        "unqualified",
        "multiple_bids_or_prices",
        "price_below_cost_or_above_cap",
        "not_responsive",
        "collusion_or_fraud",
    ]
    for zh, en in GROUNDS.values():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)
        assert en.isascii()


def test_chair_rounds_until_a_majority_of_members(lot_json: dict[str, Any]) -> None:
    session = signed_in(lot_json)
    refused(session, Code.PAYLOAD_MISMATCH, "host-1", "chair.vote", round=2, candidate="host-1")
    refused(session, Code.UNKNOWN_SEAT, "host-1", "chair.vote", round=1, candidate="nobody")
    # 3 + 3 + 1: no majority of 7 (4 needed), the round ends with its tally
    for seat, vote in zip(SEATS, ["host-1", "host-2"] * 3 + ["host-3"], strict=True):
        events = session.expert(seat, "chair.vote", round=1, candidate=vote)
        if seat == "host-3":
            refused(session, Code.ALREADY_VOTED, seat, "chair.vote", round=1, candidate="host-1")
    assert [e.type for e in events] == ["chair.voted", "chair.round_ended"]
    assert events[-1].data == {"round": 1, "tally": {"host-1": 3, "host-2": 3, "host-3": 1}}
    assert session.state.committee.chair_round == 2
    # 4 of 7 is a majority of the members; the round still waits for every vote
    for seat, vote in zip(SEATS, ["host-2"] * 4 + ["host-1"] * 3, strict=True):
        events = session.expert(seat, "chair.vote", round=2, candidate=vote)
    assert events[-1].type == "chair.elected"
    assert events[-1].data == {"seat": "host-2", "round": 2, "tally": {"host-1": 3, "host-2": 4}}
    assert session.state.committee.chair == "host-2"
    refused(session, Code.CHAIR_ELECTED, "host-1", "chair.vote", round=3, candidate="host-1")


def test_a_named_chair_needs_no_vote(lot_json: dict[str, Any]) -> None:
    lot = copy.deepcopy(lot_json)
    lot["committee"]["chair"] = "guest-1-1"
    session = signed_in(lot)
    assert session.state.committee.chair == "guest-1-1"
    assert state_view(session.state, Viewer(Role.PUBLIC)).get("committee") is None
    expert = state_view(session.state, Viewer(Role.EXPERT, "host-1"))
    assert expert["committee"]["chair"] == "guest-1-1"


def test_rejection_is_proposed_approved_and_decided_by_majority(lot_json: dict[str, Any]) -> None:
    session = signed_in(lot_json)
    session.run(SUP, AdvancePhase("scoring"))
    base = {"bidder": "B4", "ground": "unsigned_unsealed", "reason": "保证金凭证未签字"}
    refused(session, Code.UNKNOWN_GROUND, "host-1", "rejection.propose", **{**base, "ground": "x"})
    refused(session, Code.REASON_REQUIRED, "host-1", "rejection.propose", **{**base, "reason": " "})
    refused(session, Code.UNKNOWN_BIDDER, "host-1", "rejection.propose", **{**base, "bidder": "B9"})
    (proposed,) = session.expert("host-1", "rejection.propose", **base)
    assert proposed.data["proposal"] == "R1"
    refused(session, Code.ALREADY_REQUESTED, "host-2", "rejection.propose", **base)
    refused(session, Code.NOT_APPROVED, "host-2", "rejection.vote", proposal="R1", vote="yes")
    for principal in (Principal(Role.EXPERT, S, "host-1"), ADMIN):
        with pytest.raises(CommandError) as info:
            session.run(principal, ReviewRejection("R1", True))
        assert info.value.code == Code.FORBIDDEN
    session.run(SUP, ReviewRejection("R1", True))
    with pytest.raises(CommandError) as info:
        session.run(SUP, ReviewRejection("R1", True))
    assert info.value.code == Code.PROPOSAL_CLOSED
    refused(session, Code.MALFORMED, "host-2", "rejection.vote", proposal="R1", vote="maybe")
    refused(session, Code.UNKNOWN_PROPOSAL, "host-2", "rejection.vote", proposal="R9", vote="yes")
    votes = ["yes", "yes", "no", "yes", "yes", "no", "yes"]
    for seat, vote in zip(SEATS, votes, strict=True):
        events = session.expert(seat, "rejection.vote", proposal="R1", vote=vote)
        if seat == "host-1":
            refused(session, Code.ALREADY_VOTED, seat, "rejection.vote", proposal="R1", vote="no")
    decided = events[-1]
    assert decided.type == "rejection.decided"
    assert decided.data == {
        "proposal": "R1",
        "bidder": "B4",
        "ground": "unsigned_unsealed",
        "outcome": "rejected",
        "yes": 5,
        "no": 2,
    }
    assert set(session.state.committee.rejected()) == {"B4"}
    refused(session, Code.ALREADY_REJECTED, "host-3", "rejection.propose", **base)


def test_three_of_seven_yes_keeps_the_bid(lot_json: dict[str, Any]) -> None:
    session = signed_in(lot_json)
    reason = {"ground": "not_responsive", "reason": "工期不满足招标文件"}
    session.expert("host-3", "rejection.propose", bidder="B2", **reason)
    session.run(SUP, ReviewRejection("R1", True))
    for seat, vote in zip(SEATS, ["yes"] * 3 + ["no"] * 4, strict=True):
        events = session.expert(seat, "rejection.vote", proposal="R1", vote=vote)
    assert events[-1].data["outcome"] == "kept"
    assert session.state.committee.rejected() == {}
    # a kept bid may be proposed again on new grounds
    session.expert("host-3", "rejection.propose", bidder="B2", ground="unqualified", reason="资质")


def test_a_declined_proposal_needs_a_reason_and_ends_there(lot_json: dict[str, Any]) -> None:
    session = signed_in(lot_json)
    session.expert("host-3", "rejection.propose", bidder="B2", ground="unqualified", reason="x")
    with pytest.raises(CommandError) as info:
        session.run(SUP, ReviewRejection("R1", False))
    assert info.value.code == Code.REASON_REQUIRED
    (event,) = session.run(SUP, ReviewRejection("R1", False, "资质证书在有效期内"))
    assert event.type == "rejection.declined"
    refused(session, Code.NOT_APPROVED, "host-2", "rejection.vote", proposal="R1", vote="yes")


@pytest.mark.parametrize(
    ("venues", "needed"),
    [([4, 2, 1], 3), ([5, 2, 2], 4), ([3, 1, 1], 2)],  # 7 -> 3, 9 -> 4, 5 -> 2: more than 1/3
)
def test_time_is_extended_when_more_than_a_third_ask(
    lot_json: dict[str, Any], venues: list[int], needed: int
) -> None:
    lot = copy.deepcopy(lot_json)
    for venue, seats in zip(lot["venues"], venues, strict=True):
        venue["seats"] = seats
    lot["committee"]["size"] = sum(venues)
    session = signed_in(lot)
    seats = list(session.state.seats)
    for n, seat in enumerate(seats[:needed], start=1):
        events = session.expert(seat, "time.request", reason="时间不够")
        if n < needed:
            assert [e.type for e in events] == ["time.requested"]
    assert [e.type for e in events] == ["time.requested", "time.extended"]
    assert events[-1].data == {"round": 1, "requests": needed, "members": len(seats)}
    assert session.state.committee.extensions == 1
    session.expert(seats[0], "time.request")  # a new round
    refused(session, Code.ALREADY_REQUESTED, seats[0], "time.request")


def test_committee_commands_need_a_signed_in_member(lot_json: dict[str, Any]) -> None:
    session = Session(lot_json)
    session.enrol_all()
    refused(session, Code.WRONG_PHASE, "host-1", "time.request")
    session.run(SUP, AdvancePhase("sign_in"))
    refused(session, Code.NOT_SIGNED_IN, "host-1", "chair.vote", round=1, candidate="host-1")


def test_other_experts_do_not_see_votes_before_review(lot_json: dict[str, Any]) -> None:
    session = signed_in(lot_json)
    session.expert("host-1", "chair.vote", round=1, candidate="host-2")
    session.expert("host-2", "time.request")
    mine = state_view(session.state, Viewer(Role.EXPERT, "host-1"))["committee"]
    assert mine["chair_votes"] == {"host-1": "host-2"}
    assert mine["time"]["requests"] == []
    sup = state_view(session.state, Viewer(Role.SUPERVISOR))["committee"]
    assert sup["time"]["requests"] == ["host-2"]
