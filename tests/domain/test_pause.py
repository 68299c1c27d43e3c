"""Pause and resume: who may, when, what is refused while paused, and what still goes through."""

from __future__ import annotations

from typing import Any

import pytest

from server.domain.access import ResetEnrolment
from server.domain.commands import AdvancePhase
from server.domain.errors import Code, CommandError
from server.domain.pause import PauseSession, ResumeSession
from server.domain.roles import Principal, Role
from server.domain.snapshot import state_from_json, state_to_json
from tests.domain.driver import SUP, S, Session
from tests.domain.test_committee import signed_in

EXPERT = Principal(Role.EXPERT, S, "host-1")


def scoring(lot: dict[str, Any]) -> Session:
    session = signed_in(lot)
    session.run(SUP, AdvancePhase("scoring"))
    return session


def refused(code: Code, run: Any) -> None:
    with pytest.raises(CommandError) as caught:
        run()
    assert caught.value.code is code


def test_a_pause_stops_every_step_until_the_resume(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json)
    bidder, criterion = session.state.lot.typed_cells()[0]
    (paused,) = session.run(SUP, PauseSession("副场音视频中断"))
    assert (paused.type, paused.actor, paused.data) == (
        "session.paused",
        "supervisor:sup-1",
        {"reason": "副场音视频中断"},
    )
    assert session.state.paused is not None
    assert session.state.paused.since_ms == paused.time_ms
    score = {"bidder": bidder, "criterion": criterion, "value": "3"}
    refused(Code.PAUSED, lambda: session.expert("host-1", "score.set", **score))
    refused(Code.PAUSED, lambda: session.expert("host-1", "time.request"))
    refused(Code.PAUSED, lambda: session.run(SUP, AdvancePhase("review")))
    refused(Code.PAUSED, lambda: session.run(SUP, PauseSession("again")))
    # what keeps the room on the record still goes through
    refused(Code.ALREADY_ENROLLED, lambda: session.run(SUP, ResetEnrolment("host-1")))
    snapshot = state_to_json(session.state)
    assert state_to_json(state_from_json(snapshot)) == snapshot
    assert state_from_json(snapshot).paused == session.state.paused

    (resumed,) = session.run(SUP, ResumeSession())
    assert (resumed.type, resumed.data) == ("session.resumed", {})
    assert session.state.paused is None
    session.expert("host-1", "score.set", **score)
    refused(Code.NOT_PAUSED, lambda: session.run(SUP, ResumeSession()))


@pytest.mark.parametrize("reason", [None, "", "   ", 7, "x" * 501])
def test_a_pause_needs_a_reason(lot_json: dict[str, Any], reason: Any) -> None:
    session = scoring(lot_json)
    refused(Code.REASON_REQUIRED, lambda: session.run(SUP, PauseSession(reason)))
    assert session.state.paused is None


def test_only_a_supervisor_pauses_and_only_while_the_evaluation_runs(
    lot_json: dict[str, Any],
) -> None:
    session = Session(lot_json)
    refused(Code.WRONG_PHASE, lambda: session.run(SUP, PauseSession("未开始")))
    session = scoring(lot_json)
    refused(Code.FORBIDDEN, lambda: session.run(EXPERT, PauseSession("专家要求")))
    session.run(SUP, PauseSession("休息"))
    refused(Code.FORBIDDEN, lambda: session.run(EXPERT, ResumeSession()))
