"""The pure core end to end: decide -> seal -> apply, and every role's view (verify_action style).

For every event of a whole session and every viewer: take the viewer's state view before the
event, apply the event as that viewer sees it, and compare with a fresh state view after it. The
one exception is the event that reveals the results, which tells experts to resync.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.auditlog.canonical import CanonicalError, canonical_bytes, parse_canonical
from server.client.expert_pool import sample_fees, sample_pool, sample_rules
from server.domain.access import ResetEnrolment, RevokeTokens
from server.domain.clarification import AnswerClarification, bidder_subject
from server.domain.commands import (
    SIGNED_TYPES,
    AdvancePhase,
    CloseBlind,
    Enrol,
    ReviewRejection,
    decide,
    staff_command,
)
from server.domain.draw import parse_pool
from server.domain.draw_session import OpenDraw
from server.domain.errors import Code, CommandError
from server.domain.events import EVENT_SCHEMAS, event_from_bytes, schema_problems
from server.domain.faults import FaultTimer
from server.domain.folding import apply_event, fold
from server.domain.inspection import InspectionFlag, findings
from server.domain.pause import PauseSession, ResumeSession
from server.domain.report_signing import IssueReport
from server.domain.roles import Principal, Role
from server.domain.sealing import SealSession
from server.domain.snapshot import state_from_json, state_to_json
from server.domain.state import new_state
from server.domain.views import Viewer, apply_view, event_view, state_view
from tests.domain.driver import (
    ADMIN,
    SUP,
    S,
    Session,
    commit_all,
    make_draw,
    sample_day,
)
from tests.domain.media_steps import MEDIA, media_day
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


def whole_session(lot: dict[str, Any]) -> Session:
    session = Session(lot)
    seats = list(session.state.seats)
    session.enrol_all()
    session.run(SUP, AdvancePhase("sign_in"))
    for seat in seats:
        session.expert(seat, "expert.sign_in", pledge="evalroom-pledge-v1")
    session.run(SUP, AdvancePhase("scoring"))
    for seat in seats:
        for bidder, criterion in session.state.lot.typed_cells():
            session.expert(seat, "score.set", bidder=bidder, criterion=criterion, value="3")
        session.expert(seat, "score.set", bidder="B1", criterion="T1", value="4.5", comment="改")
        session.expert(seat, "sheet.submit")
    session.run(SUP, AdvancePhase("review"))
    session.run(SUP, AdvancePhase("closed"))
    return session


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


def full_day(lot: dict[str, Any]) -> Session:
    """The sample day plus a declined proposal: every event type at least once."""
    session = Session({**lot, "inspection": {}, "fees": sample_fees()})  # inspected, paid
    drawn(session)
    session.run(SUP, ResetEnrolment("host-1", "专家输错三次验证码，核实身份后重置"))
    session.run(ADMIN, RevokeTokens("public", "screen", "公共大屏链接外泄"))
    session.enrol_all()
    for step in sample_day():
        if step[1:3] == ("guest-1-1", "rejection.propose"):
            fields = {"bidder": "B2", "ground": "not_responsive", "reason": "工期不满足"}
            session.step(("expert", "host-2", "rejection.propose", fields))
            session.step(
                ("staff", {"type": "rejection.decline", "proposal": "R1", "reason": "无据"})
            )
        if step[0] == "staff" and step[1].get("proposal") == "R1":
            step = ("staff", {**step[1], "proposal": "R2"})
        if step[2:3] == ("rejection.vote",):
            step = (*step[:3], {**step[3], "proposal": "R2"})
        if step == ("staff", {"type": "phase.advance", "to": "closed"}):
            issue_and_sign_report(session)
            conduct_recorded(session)
        if step == ("staff", {"type": "phase.advance", "to": "scoring"}):
            fault_referred_and_resumed(session)
        if step == ("staff", {"type": "phase.advance", "to": "review"}):
            session.step(("staff", {"type": "session.pause", "reason": "副场网络中断"}))
            session.step(("staff", {"type": "session.resume", "reason": "网络恢复"}))
            sheet_reopened(session)
            seat_recovered(session)
            inspected(session)
        session.step(step)
        if step == ("staff", {"type": "phase.advance", "to": "review"}):
            review_rolled_back(session)
            clarified(session)
        if step == ("staff", {"type": "phase.advance", "to": "sign_in"}):
            recused_and_replaced(session)
    for record in media_day():  # recordings close and members leave after the session closed
        session.run(MEDIA, record)
    session.run(NODE, SealSession("closed"))  # then the node seals it
    return session


def drawn(session: Session) -> None:
    """The expert draw the day before: opened, one round abandoned (guest-2 withheld its
    share), opened again; every share committed and revealed; the node makes it."""
    pool = parse_pool(sample_pool())
    session.run(ADMIN, OpenDraw(pool, sample_rules()))
    commit_all(session)  # and nobody reveals: a new round
    make_draw(session, pool)


def recused_and_replaced(session: Session) -> None:
    """At the pledge guest-1-2 sees a bidder it worked for: declined once (no reason given
    that holds), declared again and approved; the reserve takes a new seat at guest-2."""
    reason = {"reason": "两年前曾为投标人 B3 提供咨询服务"}
    (first,) = session.expert("guest-1-2", "recusal.declare", **reason)
    decline = {"type": "recusal.decline", "recusal": first.data["recusal"], "reason": "请说明"}
    session.step(("staff", decline))
    (second,) = session.expert("guest-1-2", "recusal.declare", **reason)
    approve = {"type": "recusal.approve", "recusal": second.data["recusal"], "venue": "guest-2"}
    (replaced,) = session.step(("staff", approve))
    assert replaced.data["by"] == "guest-2-2"
    session.alias["guest-1-2"] = "guest-2-2"
    session.keys["guest-2-2"] = Ed25519PrivateKey.generate()
    session.run(
        Principal(Role.EXPERT, S, "guest-2-2"), Enrol(public_b64(session.keys["guest-2-2"]))
    )


def clarified(session: Session) -> None:
    """In review the committee asks B2 about its schedule: the first draft is declined, the
    second approved and answered by B2 with its narrow token."""
    question = {"bidder": "B2", "question": "请说明施工组织设计中第 3.2 节工期安排的依据"}
    (first,) = session.expert("host-1", "clarification.draft", **question)
    decline = {"type": "clarification.decline", "clarification": first.data["clarification"]}
    session.step(("staff", {**decline, "reason": "问题涉及报价实质内容，不得澄清"}))
    (second,) = session.expert("host-1", "clarification.draft", **question)
    cid = second.data["clarification"]
    session.step(("staff", {"type": "clarification.approve", "clarification": cid}))
    bidder = Principal(Role.BIDDER, S, bidder_subject("B2", cid))
    session.run(
        bidder, AnswerClarification("工期依据为招标文件第二章第 5 条，不改变投标文件实质内容")
    )


def sheet_reopened(session: Session) -> None:
    """A seat asks to reopen its sheet: declined once, then approved; it submits again."""
    reason = {"what": "sheet", "reason": "B3 技术分误填"}
    (first,) = session.expert("host-3", "rollback.request", **reason)
    decline = {"type": "rollback.decline", "rollback": first.data["rollback"], "reason": "理由不足"}
    session.step(("staff", decline))
    (second,) = session.expert("host-3", "rollback.request", **reason)
    session.step(("staff", {"type": "rollback.approve", "rollback": second.data["rollback"]}))
    session.expert("host-3", "sheet.submit")


def inspected(session: Session) -> None:
    """What the node's inspector does after scores came in: log every finding once."""
    found = findings(session.state)
    assert found  # the driver's clock fills a bidder's cells within milliseconds
    for finding in found:
        session.run(NODE, InspectionFlag(finding.rule, finding.seat, finding.subject))
    assert findings(session.state) == []


def conduct_recorded(session: Session) -> None:
    """A misconduct record pointing at the log, and every member rated before the close."""
    record = {"seat": "guest-2-1", "category": "left_post", "note": "离席 12 分钟未报告"}
    evidence = {"seq": session.state.seq, "recording_ms": 1_795_000_000_000}
    session.step(("staff", {"type": "misconduct.record", **record, "evidence": evidence}))
    for seat in session.state.seats:
        rating = "pass" if seat == "guest-2-1" else "good"
        session.step(("staff", {"type": "expert.rate", "seat": seat, "rating": rating}))


def seat_recovered(session: Session) -> None:
    """host-4's device fails: a supervisor approves a new key, which the seat enrols."""
    session.step(("staff", {"type": "seat.recover", "seat": "host-4", "reason": "笔记本电脑故障"}))
    session.keys["host-4"] = Ed25519PrivateKey.generate()
    session.run(Principal(Role.EXPERT, S, "host-4"), Enrol(public_b64(session.keys["host-4"])))


def review_rolled_back(session: Session) -> None:
    """Back from review to scoring for one sheet (two supervisors), then review again."""
    back = {"type": "phase.rollback", "reason": "复核发现 host-2 漏评", "seats": ["host-2"]}
    (requested,) = session.step(("staff", back))
    session.run(SUP2, staff_command("rollback.approve", {"rollback": requested.data["rollback"]}))
    session.expert("host-2", "sheet.submit")
    session.step(("staff", {"type": "phase.advance", "to": "review"}))


def fault_referred_and_resumed(session: Session) -> None:
    """A fault before the start, referred to the tenderer after 2 h, who lets it go on."""
    (paused,) = session.step(
        ("staff", {"type": "session.pause", "reason": "主场评标系统故障", "fault": True})
    )
    session.run(NODE, FaultTimer(paused.time_ms + 2 * 3600_000))
    session.step(("staff", {"type": "session.resume", "reason": "招标人决定继续"}))


REPORT_1, REPORT_2 = "a1" * 32, "b2" * 32


def issue_and_sign_report(session: Session) -> None:
    """A report issued, signed once, corrected and re-issued, then signed and dissented."""
    session.run(SUP, IssueReport(REPORT_1, "c3" * 32, 120_000, "d4" * 32))
    session.expert("host-1", "report.sign", report=REPORT_1)
    session.run(SUP, IssueReport(REPORT_2, "e5" * 32, 121_000, "d4" * 32))
    session.expert("host-1", "report.sign", report=REPORT_2)
    session.expert("host-2", "report.sign", report=REPORT_2, dissent="对 B5 的排序有保留意见")


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
