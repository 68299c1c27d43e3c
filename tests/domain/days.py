"""The sessions the pure-core tests run: ``whole_session`` (a plain day: enrol, sign in, score,
submit, close) and ``full_day`` (the sample day with every event type at least once: the draw,
a recusal, a clarification, pauses and the fault rule, roll-backs, a seat's recovery, the
inspection, conduct, the report, media and fees, then the seal). Each step of ``full_day`` is a
small function named after what happens.
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.client.expert_pool import sample_fees, sample_pool, sample_rules
from server.domain.access import ResetEnrolment, RevokeTokens
from server.domain.clarification import AnswerClarification, bidder_subject
from server.domain.commands import (
    AdvancePhase,
    Enrol,
    staff_command,
)
from server.domain.draw import parse_pool
from server.domain.draw_session import OpenDraw
from server.domain.faults import FaultTimer
from server.domain.inspection import InspectionFlag, findings
from server.domain.report_signing import IssueReport
from server.domain.roles import Principal, Role
from server.domain.sealing import SealSession
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
from tests.helpers import public_b64

NODE = Principal(Role.NODE, S, "timer")
SUP2 = Principal(Role.SUPERVISOR, S, "sup-2")


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
