"""Recusal and replacement (条例 Art. 48): declared by the seat, decided by a supervisor, the
next reserve of the same specialty at a new seat, the recused member's scores void."""

from __future__ import annotations

import copy
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.client.expert_pool import sample_pool
from server.domain.access import token_generation
from server.domain.commands import AdvancePhase, Enrol, staff_command
from server.domain.draw import parse_pool
from server.domain.errors import Code
from server.domain.recusal import ReviewRecusal, next_seat
from server.domain.results import results
from server.domain.roles import Principal, Role
from server.domain.snapshot import state_from_json, state_to_json
from server.domain.views import Viewer, event_view, state_view
from tests.domain.driver import (
    ADMIN,
    SUP,
    S,
    Session,
    make_draw,
)
from tests.domain.test_pause import refused
from tests.helpers import public_b64

NODE = Principal(Role.NODE, S, "timer")
REASON = {"reason": "曾为投标人 B3 提供咨询服务"}


def _plain(lot: dict[str, Any]) -> dict[str, Any]:
    """The sample lot without blind criteria (a replacement waits while codes are open)."""
    plain = copy.deepcopy(lot)
    for criterion in plain["criteria"]:
        criterion.pop("blind", None)
    return plain


def _session(lot: dict[str, Any], drawn: bool = True) -> Session:
    session = Session(lot)
    if drawn:
        make_draw(session, parse_pool(sample_pool(400)))
    session.enrol_all()
    session.run(SUP, AdvancePhase("sign_in"))
    return session


def _replace(session: Session, seat: str, venue: str | None = None) -> Any:
    (declared,) = session.expert(seat, "recusal.declare", **REASON)
    (replaced,) = session.run(SUP, ReviewRecusal(declared.data["recusal"], True, venue))
    new = replaced.data["by"]
    session.keys[new] = Ed25519PrivateKey.generate()
    session.run(Principal(Role.EXPERT, S, new), Enrol(public_b64(session.keys[new])))
    return replaced


def test_the_reserve_of_the_same_specialty_takes_a_new_seat(lot_json: dict[str, Any]) -> None:
    session = _session(lot_json)
    made = session.state.draw.made if session.state.draw else None
    assert made is not None
    specialty = next(m["specialty"] for m in made["members"] if m["seat"] == "guest-1-2")
    replaced = _replace(session, "guest-1-2", "guest-2")
    reserve = next(r for r in made["reserves"] if r["specialty"] == specialty)
    assert replaced.data == {
        "recusal": "RC1",
        "seat": "guest-1-2",
        "by": "guest-2-2",
        "venue": "guest-2",
        "specialty": specialty,
        "reserve": reserve["rank"],
        "identity": reserve["identity"],
    }
    assert "guest-1-2" not in session.state.seats
    assert token_generation(session.state, "expert", "guest-1-2") == 1  # its tokens are dead
    refused(Code.UNKNOWN_SEAT, lambda: session.expert("guest-1-2", "expert.sign_in", pledge="x"))
    view = state_view(session.state, Viewer(Role.PUBLIC))
    assert view["replacements"] == [
        {"seat": "guest-1-2", "by": "guest-2-2", "venue": "guest-2", "seq": replaced.seq}
    ]
    assert state_to_json(state_from_json(state_to_json(session.state))) == state_to_json(
        session.state
    )


def test_reserves_run_out_by_specialty(lot_json: dict[str, Any]) -> None:
    """Each specialty of the sample rules has one reserve: a second recusal of it has none."""
    session = _session(lot_json)
    made = session.state.draw.made if session.state.draw else None
    assert made is not None
    specialty = next(m["specialty"] for m in made["members"] if m["seat"] == "host-1")
    same = [m["seat"] for m in made["members"] if m["specialty"] == specialty]
    _replace(session, same[0])
    (declared,) = session.expert(same[1], "recusal.declare", **REASON)
    refused(
        Code.NO_RESERVE, lambda: session.run(SUP, ReviewRecusal(declared.data["recusal"], True))
    )
    # the replacement seat counts as that specialty too
    new = session.state.replacements[0].by
    (again,) = session.expert(new, "recusal.declare", **REASON)
    refused(Code.NO_RESERVE, lambda: session.run(SUP, ReviewRecusal(again.data["recusal"], True)))


def test_the_recused_members_scores_are_void(lot_json: dict[str, Any]) -> None:
    session = _session(_plain(lot_json), drawn=False)
    for seat in list(session.state.seats):
        session.expert(seat, "expert.sign_in", pledge="evalroom-pledge-v1")
    session.run(SUP, AdvancePhase("scoring"))
    for seat in list(session.state.seats):
        session.expert(
            seat, "score.set", bidder="B1", criterion="T1", value="2" if seat == "host-3" else "8"
        )
    replaced = _replace(session, "host-3")
    assert replaced.data == {"recusal": "RC1", "seat": "host-3", "by": "host-5", "venue": "host"}
    t1 = results(session.state).bidders["B1"].items["T1"]
    assert t1.scores == 6  # the six members still seated; host-3's 2 no longer counts
    assert t1.value == 8
    refused(Code.PHASE_NOT_READY, lambda: session.run(SUP, AdvancePhase("review")))  # host-5 owes
    new = replaced.data["by"]
    session.expert(new, "expert.sign_in", pledge="evalroom-pledge-v1")
    session.expert(new, "score.set", bidder="B1", criterion="T1", value="8")
    assert results(session.state).bidders["B1"].items["T1"].scores == 7


def test_a_replaced_chair_is_elected_again(lot_json: dict[str, Any]) -> None:
    session = _session(lot_json, drawn=False)
    for seat in list(session.state.seats):
        session.expert(seat, "expert.sign_in", pledge="evalroom-pledge-v1")
    for seat in list(session.state.seats):
        session.expert(seat, "chair.vote", round=1, candidate="host-2")
    assert session.state.committee.chair == "host-2"
    _replace(session, "host-2")
    assert session.state.committee.chair is None
    session.expert(
        "host-1", "chair.vote", round=session.state.committee.chair_round, candidate="host-1"
    )
    assert session.state.committee.chair_votes == {"host-1": "host-1"}


def test_decline_needs_a_reason_and_only_a_supervisor_decides(lot_json: dict[str, Any]) -> None:
    session = _session(lot_json, drawn=False)
    (declared,) = session.expert("host-1", "recusal.declare", **REASON)
    rid = declared.data["recusal"]
    refused(Code.ALREADY_REQUESTED, lambda: session.expert("host-1", "recusal.declare", **REASON))
    refused(Code.REASON_REQUIRED, lambda: session.run(SUP, ReviewRecusal(rid, False)))
    refused(Code.FORBIDDEN, lambda: session.run(ADMIN, ReviewRecusal(rid, True)))
    refused(Code.UNKNOWN_RECUSAL, lambda: session.run(SUP, ReviewRecusal("RC9", True)))
    refused(Code.MALFORMED, lambda: session.run(SUP, ReviewRecusal(rid, True, "mars")))
    (declined,) = session.run(
        SUP, staff_command("recusal.decline", {"recusal": rid, "reason": "无关联"})
    )
    assert declined.data == {"recusal": rid, "seat": "host-1", "reason": "无关联"}
    refused(Code.PROPOSAL_CLOSED, lambda: session.run(SUP, ReviewRecusal(rid, True)))
    expert_view = state_view(session.state, Viewer(Role.EXPERT, "host-2"))
    assert expert_view["recusals"] == {}  # another member's conflict is not its business
    own = state_view(session.state, Viewer(Role.EXPERT, "host-1"))["recusals"]
    assert own[rid]["status"] == "declined"


def test_a_replacement_waits_while_blind_codes_are_open(lot_json: dict[str, Any]) -> None:
    session = _session(lot_json, drawn=False)
    for seat in list(session.state.seats):
        session.expert(seat, "expert.sign_in", pledge="evalroom-pledge-v1")
    session.run(SUP, AdvancePhase("scoring", draw="0f" * 16))
    (declared,) = session.expert("host-1", "recusal.declare", **REASON)
    rid = declared.data["recusal"]
    refused(Code.PHASE_NOT_READY, lambda: session.run(SUP, ReviewRecusal(rid, True)))


def test_seat_numbers_are_never_reused(lot_json: dict[str, Any]) -> None:
    session = _session(lot_json, drawn=False)
    assert next_seat(session.state, "guest-2") == "guest-2-2"
    _replace(session, "guest-2-1")
    assert "guest-2-1" not in session.state.seats
    assert next_seat(session.state, "guest-2") == "guest-2-3"
    assert next_seat(session.state, "host") == "host-5"


def test_a_replaced_seat_still_joined_somewhere_gets_no_codes(lot_json: dict[str, Any]) -> None:
    """The fan-out keeps a room for every seat that joined: the recused seat's view of the
    blind codes drawn after it left is empty, not a crash of the whole batch's fan-out."""
    session = _session(lot_json, drawn=False)
    _replace(session, "guest-1-2")
    for seat in list(session.state.seats):
        session.expert(seat, "expert.sign_in", pledge="evalroom-pledge-v1")
    session.run(SUP, AdvancePhase("scoring", draw="0f" * 16))
    assigned = next(e for e in session.events if e.type == "blind.assigned")
    gone = Viewer(Role.EXPERT, "guest-1-2")
    assert event_view(assigned, gone, False)["data"]["seats"] == {}
    assert state_view(session.state, gone)["blind"]["seats"] == {}
