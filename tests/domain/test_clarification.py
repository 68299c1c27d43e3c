"""Clarification (澄清): a member's question, the supervisor's approval, the bidder's one answer
through its narrow token; never while blind codes are open; the public screen sees none."""

from __future__ import annotations

from typing import Any

from server.domain.clarification import AnswerClarification, ReviewClarification, bidder_subject
from server.domain.commands import AdvancePhase, CloseBlind
from server.domain.errors import Code
from server.domain.roles import Principal, Role
from server.domain.snapshot import state_from_json, state_to_json
from server.domain.views import Viewer, event_view, state_view
from tests.domain.driver import ADMIN, SUP, S, Session
from tests.domain.test_pause import refused, scoring

QUESTION = {"bidder": "B3", "question": "请说明项目经理的社保缴纳证明"}


def _scoring_revealed(lot: dict[str, Any]) -> Session:
    session = scoring(lot)
    if session.state.blind_open:
        refused(
            Code.PHASE_NOT_READY,
            lambda: session.expert("host-1", "clarification.draft", **QUESTION),
        )
        for seat in list(session.state.seats):
            for bidder in session.state.lot.bidders:
                for criterion in ("T1", "T2", "T3", "T4", "T5"):
                    fields = session.blind_fields(
                        seat, {"bidder": bidder.id, "criterion": criterion}
                    )
                    session.expert(seat, "score.set", **fields, value="3")
        session.run(SUP, CloseBlind())
    return session


def _bidder(bidder: str, cid: str) -> Principal:
    return Principal(Role.BIDDER, S, bidder_subject(bidder, cid))


def test_a_question_goes_out_once_approved_and_is_answered_once(lot_json: dict[str, Any]) -> None:
    session = _scoring_revealed(lot_json)
    (drafted,) = session.expert("host-2", "clarification.draft", **QUESTION)
    cid = drafted.data["clarification"]
    refused(Code.FORBIDDEN, lambda: session.run(_bidder("B3", cid), AnswerClarification("x")))
    refused(Code.FORBIDDEN, lambda: session.run(ADMIN, ReviewClarification(cid, True)))
    (approved,) = session.run(SUP, ReviewClarification(cid, True))
    assert approved.data == {"clarification": cid, "bidder": "B3"}
    refused(Code.PROPOSAL_CLOSED, lambda: session.run(SUP, ReviewClarification(cid, True)))
    refused(Code.FORBIDDEN, lambda: session.run(_bidder("B2", cid), AnswerClarification("x")))
    refused(Code.REASON_REQUIRED, lambda: session.run(_bidder("B3", cid), AnswerClarification("")))
    (answered,) = session.run(_bidder("B3", cid), AnswerClarification("见附件社保证明"))
    assert (answered.actor, answered.data["answer"]) == ("bidder:B3.CL1", "见附件社保证明")
    refused(
        Code.ALREADY_ANSWERED, lambda: session.run(_bidder("B3", cid), AnswerClarification("再答"))
    )
    member = state_view(session.state, Viewer(Role.EXPERT, "host-1"))  # not the asker
    assert member["clarifications"][cid]["answer"] == "见附件社保证明"
    public = Viewer(Role.PUBLIC)
    assert "clarifications" not in state_view(session.state, public)
    for event in session.events:
        if event.type.startswith("clarification."):
            assert event_view(event, public, False) == {"seq": event.seq, "type": "hidden"}
    assert (
        state_from_json(state_to_json(session.state)).clarifications == session.state.clarifications
    )


def test_bad_questions_are_refused(lot_json: dict[str, Any]) -> None:
    session = _scoring_revealed(lot_json)
    refused(
        Code.UNKNOWN_BIDDER,
        lambda: session.expert("host-1", "clarification.draft", bidder="B9", question="?"),
    )
    refused(
        Code.REASON_REQUIRED,
        lambda: session.expert("host-1", "clarification.draft", bidder="B1", question=" "),
    )
    refused(Code.UNKNOWN_CLARIFICATION, lambda: session.run(SUP, ReviewClarification("CL7", True)))
    (drafted,) = session.expert("host-1", "clarification.draft", **QUESTION)
    cid = drafted.data["clarification"]
    refused(Code.REASON_REQUIRED, lambda: session.run(SUP, ReviewClarification(cid, False)))
    session.run(SUP, ReviewClarification(cid, False, "涉及实质性内容"))
    refused(Code.FORBIDDEN, lambda: session.run(_bidder("B3", cid), AnswerClarification("x")))


def test_no_question_before_scoring(lot_json: dict[str, Any]) -> None:
    session = Session(lot_json)
    session.enrol_all()
    session.run(SUP, AdvancePhase("sign_in"))
    refused(Code.WRONG_PHASE, lambda: session.expert("host-1", "clarification.draft", **QUESTION))
