"""Roll-back with approval: a reopened sheet and review taken back to scoring, only as new events
naming what they undo; who may ask, who may approve, and what each role sees."""

from __future__ import annotations

from typing import Any

from server.domain.commands import AdvancePhase
from server.domain.errors import Code
from server.domain.pause import PauseSession
from server.domain.report_signing import IssueReport
from server.domain.roles import Principal, Role
from server.domain.rollback import PhaseRollback, ReviewRollback
from server.domain.views import Viewer, event_view, state_view
from tests.domain.driver import SUP, S, Session
from tests.domain.test_pause import refused, scoring

SUP2 = Principal(Role.SUPERVISOR, S, "sup-2")
SHEET = {"what": "sheet", "reason": "B1 商务分误填"}


def submitted(lot: dict[str, Any]) -> Session:
    """Scoring, every cell filled and every sheet submitted."""
    session = scoring(lot)
    for seat in session.state.seats:
        for bidder, criterion in session.state.lot.typed_cells():
            fields = session.blind_fields(seat, {"bidder": bidder, "criterion": criterion})
            session.expert(seat, "score.set", **fields, value="3")
        session.expert(seat, "sheet.submit")
    return session


def test_a_reopened_sheet_names_the_submission_it_undoes(lot_json: dict[str, Any]) -> None:
    session = submitted(lot_json)
    submission = session.state.seats["host-1"].submitted_seq
    assert submission > 0
    (asked,) = session.expert("host-1", "rollback.request", **SHEET)
    assert (asked.type, asked.actor) == ("rollback.requested", "expert:host-1")
    assert {k: asked.data[k] for k in ("rollback", "kind", "seat")} == {
        "rollback": "RB1",
        "kind": "sheet",
        "seat": "host-1",
    }
    refused(Code.ALREADY_REQUESTED, lambda: session.expert("host-1", "rollback.request", **SHEET))
    hidden = event_view(asked, Viewer(Role.EXPERT, "host-2"), revealed=False)
    assert hidden["type"] == "hidden"  # another seat's request, before the results are revealed
    assert state_view(session.state, Viewer(Role.EXPERT, "host-2"))["rollbacks"] == {}
    assert "rollbacks" not in state_view(session.state, Viewer(Role.PUBLIC))
    (reopened,) = session.run(SUP, ReviewRollback("RB1", True))
    assert reopened.data == {"rollback": "RB1", "seat": "host-1", "undone": submission}
    assert not session.state.seats["host-1"].submitted
    assert session.state.rollbacks["RB1"].status == "approved"
    bidder, criterion = session.state.lot.typed_cells()[0]
    fields = session.blind_fields("host-1", {"bidder": bidder, "criterion": criterion})
    session.expert("host-1", "score.set", **fields, value="4")  # refused before the reopening
    refused(Code.PROPOSAL_CLOSED, lambda: session.run(SUP, ReviewRollback("RB1", True)))


def test_what_an_expert_may_not_ask(lot_json: dict[str, Any]) -> None:
    early = scoring(lot_json)
    refused(Code.NOT_SUBMITTED, lambda: early.expert("host-1", "rollback.request", **SHEET))
    session = submitted(lot_json)
    ask = session.expert
    refused(Code.MALFORMED, lambda: ask("host-1", "rollback.request", what="phase", reason="x"))
    refused(Code.REASON_REQUIRED, lambda: ask("host-1", "rollback.request", what="sheet"))
    ask("host-1", "rollback.request", **SHEET)
    expert = Principal(Role.EXPERT, S, "host-2")
    refused(Code.FORBIDDEN, lambda: session.run(expert, ReviewRollback("RB1", True)))
    refused(Code.UNKNOWN_ROLLBACK, lambda: session.run(SUP, ReviewRollback("RB9", True)))
    refused(Code.REASON_REQUIRED, lambda: session.run(SUP, ReviewRollback("RB1", False)))
    session.run(SUP, PauseSession("网络中断"))
    refused(Code.PAUSED, lambda: session.run(SUP, ReviewRollback("RB1", True)))


def test_review_goes_back_to_scoring_with_the_other_supervisors_approval(
    lot_json: dict[str, Any],
) -> None:
    session = submitted(lot_json)
    refused(Code.WRONG_PHASE, lambda: session.run(SUP, PhaseRollback("x", ["host-1"])))
    (review,) = [e for e in session.run(SUP, AdvancePhase("review")) if e.type == "phase.changed"]
    for seats, code in (
        ([], Code.MALFORMED),
        (["nobody"], Code.UNKNOWN_SEAT),
        ("host-1", Code.MALFORMED),
    ):
        refused(code, lambda seats=seats: session.run(SUP, PhaseRollback("复核", seats)))
    (asked,) = session.run(SUP, PhaseRollback("复核发现漏评", ["host-2", "host-1", "host-2"]))
    assert asked.data["seats"] == ["host-1", "host-2"]
    refused(Code.FORBIDDEN, lambda: session.run(SUP, ReviewRollback("RB1", True)))  # four eyes
    events = session.run(SUP2, ReviewRollback("RB1", True))
    assert [e.type for e in events] == ["phase.rolled_back", "sheet.reopened", "sheet.reopened"]
    assert events[0].data == {
        "rollback": "RB1",
        "from": "review",
        "to": "scoring",
        "undone": review.seq,
    }
    assert session.state.phase == "scoring"
    assert session.state.phase_seq == events[0].seq
    assert not session.state.seats["host-1"].submitted
    assert session.state.seats["host-3"].submitted  # not named: stays submitted
    seen = event_view(events[0], Viewer(Role.EXPERT, "host-3"), session.state.revealed)
    assert seen["resync"] is True  # others' scores hide again
    public = event_view(events[0], Viewer(Role.PUBLIC), session.state.revealed)
    assert public["data"] == {"from": "review", "to": "scoring"}


def test_nothing_goes_back_once_the_report_is_issued(lot_json: dict[str, Any]) -> None:
    session = submitted(lot_json)
    session.run(SUP, AdvancePhase("review"))
    session.run(SUP, PhaseRollback("复核", ["host-1"]))
    session.run(SUP, IssueReport("a1" * 32, "c3" * 32, 120_000, "d4" * 32))
    refused(Code.REPORT_ISSUED, lambda: session.run(SUP2, ReviewRollback("RB1", True)))
    refused(Code.REPORT_ISSUED, lambda: session.run(SUP, PhaseRollback("复核", ["host-1"])))
