"""The pure core end to end: decide -> seal -> apply, and every role's view (verify_action style).

For every event of a whole session and every viewer: take the viewer's state view before the
event, apply the event as that viewer sees it, and compare with a fresh state view after it. The
one exception is the event that reveals the results, which tells experts to resync.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from server.auditlog.canonical import CanonicalError, canonical_bytes, parse_canonical
from server.domain.commands import (
    SIGNED_TYPES,
    AdvancePhase,
    CloseBlind,
    Enrol,
    ReviewRejection,
    decide,
    staff_command,
)
from server.domain.errors import Code, CommandError
from server.domain.events import EVENT_SCHEMAS, event_from_bytes, schema_problems
from server.domain.folding import apply_event, fold
from server.domain.pause import PauseSession, ResumeSession
from server.domain.report_signing import IssueReport
from server.domain.roles import Principal, Role
from server.domain.snapshot import state_from_json, state_to_json
from server.domain.state import new_state
from server.domain.views import Viewer, apply_view, event_view, state_view
from tests.domain.days import REPORT_1, REPORT_2, full_day, whole_session
from tests.domain.driver import (
    SUP,
    S,
    Session,
    sample_day,
)
from tests.helpers import public_b64, signed

NODE = Principal(Role.NODE, S, "timer")
SUP2 = Principal(Role.SUPERVISOR, S, "sup-2")
VIEWERS = [
    Viewer(Role.SUPERVISOR),
    Viewer(Role.PUBLIC),
    Viewer(Role.VENUE),  # a venue's staff, for the expert draw
    Viewer(Role.EXPERT, "host-1"),  # the chair of the sample day
    Viewer(Role.EXPERT, "guest-2-1"),
    Viewer(Role.EXPERT, "guest-1-2"),  # recused at the pledge (full_day)
    Viewer(Role.EXPERT, "guest-2-2"),  # the reserve that replaced it
]


def test_every_event_matches_its_schema_and_round_trips(lot_json: dict[str, Any]) -> None:
    session = whole_session(lot_json)
    assert {e.type for e in session.events} == {
        "session.created",
        "seat.enrolled",
        "phase.changed",
        "expert.signed_in",
        "score.set",
        "sheet.submitted",
    }
    for event in session.events:
        assert schema_problems(event.type, event.data) == []
        assert parse_canonical(event.raw)["seq"] == event.seq
        assert event_from_bytes(event.raw) == event
    assert [e.seq for e in session.events] == list(range(1, len(session.events) + 1))


def test_fold_from_zero_equals_live_state(lot_json: dict[str, Any]) -> None:
    session = whole_session(lot_json)
    assert state_to_json(fold(session.events)) == state_to_json(session.state)
    assert session.state.phase == "closed"
    assert session.state.cells["host-1"]["B1/T1"].value == "4.5"


def test_full_day_has_every_event_type(lot_json: dict[str, Any]) -> None:
    session = full_day(lot_json)
    assert {e.type for e in session.events} == set(EVENT_SCHEMAS)
    for event in session.events:
        assert schema_problems(event.type, event.data) == [], event.type
        assert event_from_bytes(event.raw) == event
    assert state_to_json(fold(session.events)) == state_to_json(session.state)
    snapshot = state_to_json(session.state)
    assert parse_canonical(canonical_bytes(snapshot)) == snapshot  # snapshots are stored canonical
    assert state_to_json(state_from_json(snapshot)) == snapshot


@pytest.mark.parametrize("viewer", VIEWERS, ids=lambda v: f"{v.role}-{v.seat}")
@pytest.mark.parametrize("run", [whole_session, full_day], ids=["plain", "full_day"])
def test_verify_action_for_every_event(lot_json: dict[str, Any], viewer: Viewer, run: Any) -> None:
    events = run(lot_json).events
    state = new_state(events[0])
    view = state_view(state, viewer)
    for event in events[1:]:
        apply_event(state, event)
        seen = event_view(event, viewer, state.revealed)
        if seen.get("resync"):
            view = state_view(state, viewer)  # the client refetches, as the protocol says
            continue
        before = copy.deepcopy(view)
        apply_view(view, seen, viewer)
        assert view == state_view(state, viewer), (event.type, event.seq, before)


def _walk(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [*value.keys(), *(x for v in value.values() for x in _walk(v))]
    if isinstance(value, list):
        return [x for v in value for x in _walk(v)]
    return [value]


@pytest.mark.parametrize("run", [whole_session, full_day], ids=["plain", "full_day"])
def test_public_screen_sees_no_scores_no_names(lot_json: dict[str, Any], run: Any) -> None:
    session = run(lot_json)
    names = {b["name"] for b in lot_json["bidders"]}
    for event in session.events:
        seen = _walk(event_view(event, Viewer(Role.PUBLIC), session.state.revealed))
        assert not {"value", "comment", "sig", "signed", "key", "actor"} & set(seen)
        assert not {"text", "reason", "candidate", "vote", "tally", "ground"} & set(seen)
        assert not names & set(seen)
        if event.type in ("blind.assigned", "blind.revealed"):  # never which code is which bidder
            assert event_view(event, Viewer(Role.PUBLIC), True)["data"]["seats"] == {}
    blind = state_view(session.state, Viewer(Role.PUBLIC))["blind"]
    assert blind is None or blind["seats"] == {}


def test_expert_sees_no_other_score_before_reveal(lot_json: dict[str, Any]) -> None:
    session = whole_session(lot_json)
    state = new_state(session.events[0])
    me = Viewer(Role.EXPERT, "host-1")
    for event in session.events[1:]:
        apply_event(state, event)
        seen = event_view(event, me, state.revealed)
        if event.type == "score.set" and event.data["seat"] != "host-1" and not state.revealed:
            assert seen == {"seq": event.seq, "type": "hidden"}
        if event.type == "score.set" and event.data["seat"] == "host-1":
            assert seen["data"]["value"] == event.data["value"]


def _scoring(lot: dict[str, Any]) -> Session:
    session = Session(lot)
    for seat in session.state.seats:
        session.run(Principal(Role.EXPERT, S, seat), Enrol(public_b64(session.keys[seat])))
    session.run(SUP, AdvancePhase("sign_in"))
    for seat in session.state.seats:
        session.expert(seat, "expert.sign_in", pledge="evalroom-pledge-v1")
    session.run(SUP, AdvancePhase("scoring"))
    return session


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"bidder": "B9", "criterion": "T1", "value": "5"}, Code.UNKNOWN_BIDDER),
        ({"bidder": "B1", "criterion": "T9", "value": "5"}, Code.UNKNOWN_CRITERION),
        ({"bidder": "B1", "criterion": "T1", "value": "10.5"}, Code.OUT_OF_RANGE),
        ({"bidder": "B1", "criterion": "T1", "value": "7.3"}, Code.OFF_STEP),
        ({"bidder": "B1", "criterion": "C3", "value": "5"}, Code.NOT_SCORABLE),
        ({"bidder": "B1", "criterion": "P1", "value": "5"}, Code.NOT_SCORABLE),
        ({"bidder": "B1", "criterion": "T1", "value": "07"}, Code.MALFORMED),
        ({"bidder": "B1", "criterion": "T1", "value": 7}, Code.MALFORMED),
        ({"bidder": "B1", "criterion": "T1", "value": "5", "comment": "x" * 2001}, Code.MALFORMED),
    ],
)
def test_bad_scores_are_refused(lot_json: Any, fields: dict[str, Any], code: Code) -> None:
    session = _scoring(lot_json)
    head = session.state.seq
    with pytest.raises(CommandError) as info:
        session.expert("host-1", "score.set", **fields)
    assert info.value.code == code
    assert session.state.seq == head


def test_signature_binding(lot_json: Any) -> None:
    session = _scoring(lot_json)
    me = Principal(Role.EXPERT, S, "host-1")
    key = session.keys["host-1"]
    score = {"bidder": "B1", "criterion": "T1", "value": "5"}
    cases = [
        (signed(key, "s-other", "host-1", "score.set", "a", **score), "a", Code.PAYLOAD_MISMATCH),
        (signed(key, S, "host-2", "score.set", "b", **score), "b", Code.PAYLOAD_MISMATCH),
        (signed(key, S, "host-1", "score.set", "c", **score), "other", Code.PAYLOAD_MISMATCH),
        (
            signed(session.keys["host-2"], S, "host-1", "score.set", "d", **score),
            "d",
            Code.BAD_SIGNATURE,
        ),
    ]
    for command, command_id, code in cases:
        with pytest.raises(CommandError) as info:
            decide(session.state, me, command_id, command)
        assert info.value.code == code
    good = signed(key, S, "host-1", "score.set", "e", **score)
    for broken in (
        type(good)(good.type, good.signed, None),
        type(good)(good.type, good.signed.replace('"5"', '"6"'), good.sig),
        type(good)(good.type, good.signed.replace(",", ", "), good.sig),
    ):
        with pytest.raises(CommandError) as info:
            decide(session.state, me, "e", broken)
        assert info.value.code in (Code.BAD_SIGNATURE, Code.MALFORMED)


def test_phase_rules(lot_json: Any) -> None:
    session = Session(lot_json)
    with pytest.raises(CommandError) as info:
        session.run(SUP, AdvancePhase("scoring"))
    assert info.value.code == Code.WRONG_PHASE
    session.run(SUP, AdvancePhase("sign_in"))
    with pytest.raises(CommandError) as info:
        session.run(SUP, AdvancePhase("scoring"))
    assert info.value.code == Code.PHASE_NOT_READY
    with pytest.raises(CommandError) as info:
        session.run(Principal(Role.PUBLIC, S, "screen"), AdvancePhase("scoring"))
    assert info.value.code == Code.FORBIDDEN


def test_canonical_bytes_profile() -> None:
    assert (
        canonical_bytes({"b": 1, "a": ["中", None, True]})
        == '{"a":["中",null,true],"b":1}'.encode()
    )
    for bad in ({"x": 1.5}, {"é": 1}, {"x": 2**60}):
        with pytest.raises(CanonicalError):
            canonical_bytes(bad)
    for text in (b'{"a":1,"a":2}', b'{"a":1.0}', b'{"b":1,"a":2}', b'{"a": 1}', b"NaN"):
        with pytest.raises(CanonicalError):
            parse_canonical(text)


@pytest.mark.parametrize(
    ("envelope", "expected"),
    [
        ({"type": "phase.advance", "to": "scoring"}, AdvancePhase("scoring")),
        ({"type": "rejection.approve", "proposal": "R1"}, ReviewRejection("R1", True)),
        (
            {"type": "rejection.decline", "proposal": "R1", "reason": "无据"},
            ReviewRejection("R1", False, "无据"),
        ),
        ({"type": "blind.close"}, CloseBlind()),
        ({"type": "blind.close", "signed": "{}"}, None),  # the chair's signed close
        ({"type": "score.set", "signed": "{}"}, None),
        ({"type": "session.pause", "reason": "断网"}, PauseSession("断网")),
        ({"type": "session.resume"}, ResumeSession(None)),
    ],
)
def test_staff_commands_from_envelopes(envelope: dict[str, Any], expected: Any) -> None:
    assert staff_command(envelope["type"], envelope) == expected
    assert {"chair.vote", "rejection.propose", "rejection.vote"} <= SIGNED_TYPES


def test_report_issue_and_signing_rules(lot_json: Any) -> None:
    session = full_day(lot_json)
    report = session.state.report
    assert report is not None
    assert report.hash == REPORT_2
    assert set(report.signatures) == {"host-1", "host-2"}  # the first signature was superseded
    assert report.signatures["host-2"].dissent == "对 B5 的排序有保留意见"
    events = [e.type for e in session.events]
    assert events.count("report.issued") == 2
    assert events.count("report.signed") == 3
    # The same day, stopped in review, for the refusals.
    day = Session(lot_json)
    day.enrol_all()
    for step in sample_day()[:-1]:
        day.step(step)

    def refused(run: Any) -> str:
        with pytest.raises(CommandError) as info:
            run()
        return str(info.value.code)

    assert refused(lambda: day.expert("host-1", "report.sign", report=REPORT_1)) == "no_report"
    expert = Principal(Role.EXPERT, S, "host-1")
    issue = IssueReport(REPORT_1, "c3" * 32, 1, "d4" * 32)
    assert refused(lambda: day.run(expert, issue)) == "forbidden"
    assert refused(lambda: day.run(SUP, IssueReport("XY", "c3" * 32, 1, "d4" * 32))) == "malformed"
    assert refused(lambda: day.run(SUP, IssueReport(REPORT_1, "c3" * 32, 0, "d4" * 32))) == (
        "malformed"
    )
    day.run(SUP, issue)
    assert refused(lambda: day.run(SUP, issue)) == "report_issued"
    assert refused(lambda: day.expert("host-3", "report.sign", report=REPORT_2)) == "stale_report"
    assert refused(lambda: day.expert("host-3", "report.sign", report="nope")) == "malformed"
    long = "x" * 2001
    assert refused(lambda: day.expert("host-3", "report.sign", report=REPORT_1, dissent=long)) == (
        "malformed"
    )
    day.expert("host-3", "report.sign", report=REPORT_1)
    assert refused(lambda: day.expert("host-3", "report.sign", report=REPORT_1)) == (
        "already_signed"
    )
    day.run(SUP, AdvancePhase("closed"))
    assert refused(lambda: day.expert("host-4", "report.sign", report=REPORT_1)) == "wrong_phase"
