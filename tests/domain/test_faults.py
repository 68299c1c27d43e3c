"""The fault rule and the seal: deadlines by the clock passed in, who may act, and that a sealed
session takes nothing more (not even a resume or a media fact)."""

from __future__ import annotations

from typing import Any

import pytest

from server.domain.access import ResetEnrolment, RevokeTokens
from server.domain.commands import AdvancePhase
from server.domain.errors import Code, CommandError
from server.domain.faults import FaultTimer, deadline, due
from server.domain.lot import parse_lot
from server.domain.media import MediaRecord
from server.domain.pause import PauseSession, ResumeSession
from server.domain.roles import Principal, Role
from server.domain.sealing import SealSession
from server.domain.snapshot import state_from_json, state_to_json
from server.domain.views import Viewer, state_view
from tests.domain.days import whole_session
from tests.domain.driver import ADMIN, SUP, S, Session
from tests.domain.media_steps import MEDIA
from tests.domain.test_committee import signed_in
from tests.domain.test_pause import EXPERT, refused, scoring

NODE = Principal(Role.NODE, S, "timer")
HOUR = 3600_000
LEFT = {"member": "expert:host-1", "reason": "left"}


def fault(session: Session, reason: str = "主场视频服务器故障") -> int:
    """Declare a fault; the time its clock started."""
    (paused,) = session.run(SUP, PauseSession(reason, fault=True))
    assert paused.data == {"reason": reason, "fault": True}
    return paused.time_ms


def test_a_fault_before_the_start_goes_to_the_tenderer_after_two_hours(
    lot_json: dict[str, Any],
) -> None:
    session = signed_in(lot_json)
    since = fault(session)
    assert deadline(session.state) is not None
    assert not due(session.state, since + 2 * HOUR - 1)
    refused(Code.NOT_DUE, lambda: session.run(NODE, FaultTimer(since + 2 * HOUR - 1)))
    assert due(session.state, since + 2 * HOUR)
    (referred,) = session.run(NODE, FaultTimer(since + 2 * HOUR))
    assert (referred.type, referred.actor, referred.data) == (
        "fault.referred",
        "node:timer",
        {"rule": "before_start", "deadline": since + 2 * HOUR},
    )
    assert session.state.paused is not None
    assert session.state.paused.referred_ms is not None
    assert not due(session.state, since + 10 * HOUR)  # referred once; now the tenderer decides
    refused(Code.NOT_DUE, lambda: session.run(NODE, FaultTimer(since + 10 * HOUR)))
    view = state_view(session.state, Viewer(Role.SUPERVISOR))["paused"]
    assert view["fault"] is True
    assert view["referred"] == referred.time_ms
    assert "fault" not in state_view(session.state, Viewer(Role.PUBLIC))["paused"]
    snapshot = state_to_json(session.state)
    assert state_from_json(snapshot).paused == session.state.paused

    refused(Code.FORBIDDEN, lambda: session.run(SUP, SealSession("tenderer", "招标人决定")))
    refused(Code.REASON_REQUIRED, lambda: session.run(ADMIN, SealSession("tenderer")))
    (sealed,) = session.run(ADMIN, SealSession("tenderer", "招标人决定另行组织评标"))
    assert sealed.data == {"cause": "tenderer", "reason": "招标人决定另行组织评标"}
    assert session.state.sealed is not None
    assert session.state.sealed.cause == "tenderer"
    assert state_view(session.state, Viewer(Role.PUBLIC))["sealed"]["cause"] == "tenderer"


def test_the_tenderer_may_let_a_referred_fault_go_on(lot_json: dict[str, Any]) -> None:
    session = signed_in(lot_json)
    since = fault(session)
    refused(Code.NOT_DUE, lambda: session.run(ADMIN, SealSession("tenderer", "未移交")))
    session.run(NODE, FaultTimer(since + 2 * HOUR))
    session.run(SUP, ResumeSession("故障排除，招标人同意继续"))
    session.run(SUP, AdvancePhase("scoring"))
    assert session.state.paused is None
    assert session.state.sealed is None


def test_a_fault_during_evaluation_seals_after_four_hours(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json)
    since = fault(session, "副场网络中断")
    refused(Code.NOT_DUE, lambda: session.run(NODE, FaultTimer(since + 2 * HOUR)))
    (sealed,) = session.run(NODE, FaultTimer(since + 4 * HOUR))
    assert sealed.data == {"cause": "fault", "rule": "during", "deadline": since + 4 * HOUR}
    assert session.state.sealed is not None
    assert session.state.sealed.cause == "fault"
    assert deadline(session.state) is None
    snapshot = state_to_json(session.state)
    assert state_from_json(snapshot).sealed == session.state.sealed


def test_a_fault_fixed_in_time_stops_the_clock(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json)
    since = fault(session)
    session.run(SUP, ResumeSession("已修复"))
    assert deadline(session.state) is None
    refused(Code.NOT_DUE, lambda: session.run(NODE, FaultTimer(since + 5 * HOUR)))
    session.run(SUP, PauseSession("午休"))  # a pause that is not a fault has no clock
    assert deadline(session.state) is None


def test_a_lot_sets_its_own_fault_minutes(lot_json: dict[str, Any]) -> None:
    lot = {**lot_json, "faults": {"during_minutes": 30}}
    session = scoring(lot)
    since = fault(session)
    assert not due(session.state, since + 30 * 60_000 - 1)
    assert due(session.state, since + 30 * 60_000)
    assert session.state.lot.faults.before_start == 120  # the other one keeps its default


@pytest.mark.parametrize(
    "faults",
    [{"during_minutes": 0}, {"during_minutes": "4h"}, {"hours": 4}, [4], {"during_minutes": True}],
)
def test_a_lot_with_bad_fault_minutes_is_refused(lot_json: dict[str, Any], faults: Any) -> None:
    with pytest.raises(CommandError) as caught:
        parse_lot({**lot_json, "faults": faults})
    assert caught.value.code is Code.BAD_LOT


def test_only_the_node_applies_the_rule_and_seals_a_close(lot_json: dict[str, Any]) -> None:
    session = scoring(lot_json)
    refused(Code.MALFORMED, lambda: session.run(SUP, PauseSession("x", fault="yes")))
    since = fault(session)
    for who in (SUP, ADMIN, MEDIA, EXPERT):
        refused(Code.FORBIDDEN, lambda who=who: session.run(who, FaultTimer(since + 5 * HOUR)))
        refused(Code.FORBIDDEN, lambda who=who: session.run(who, SealSession("closed")))
    refused(Code.WRONG_PHASE, lambda: session.run(NODE, SealSession("closed")))
    refused(Code.MALFORMED, lambda: session.run(NODE, SealSession("fault")))  # the timer's own


def test_a_sealed_session_takes_nothing_more(lot_json: dict[str, Any]) -> None:
    session = whole_session(lot_json)
    (sealed,) = session.run(NODE, SealSession("closed"))
    assert (sealed.actor, sealed.data) == ("node:timer", {"cause": "closed"})
    head = session.state.seq
    attempts = [
        lambda: session.run(NODE, SealSession("closed")),
        lambda: session.run(SUP, PauseSession("封存后")),
        lambda: session.run(SUP, ResumeSession()),
        lambda: session.run(SUP, ResetEnrolment("host-1")),
        lambda: session.run(ADMIN, RevokeTokens("public", "screen")),
        lambda: session.run(MEDIA, MediaRecord("media.left", LEFT)),
        lambda: session.expert("host-1", "time.request"),
        lambda: session.run(NODE, FaultTimer(head * HOUR)),
    ]
    for attempt in attempts:
        refused(Code.SEALED, attempt)
    assert session.state.seq == head
