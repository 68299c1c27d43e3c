"""The evaluation report in the log: issued by staff, signed (or dissented) by every member.

The shell renders the report PDF from the projection (``server/report``) and passes its hashes
in :class:`IssueReport`; the domain records them as ``report.issued``. Each member then signs
the SHA-256 of that PDF from their seat (``report.sign``, signed like a score), optionally with a
written dissent (保留意见): ``report.signed``. A member who does neither is shown as such in the
signed report; nothing forces a signature (the law records a refusal, it does not prevent it).

Decisions:

- The report is issued and signed in ``review``, once every bid that is not rejected has a total
  (the shell checks the ranking before rendering; the domain checks the phase and the hashes).
- Re-issuing (after a correction in review) replaces the current report; signatures of the old
  hash stay in the log but no longer count, and members sign the new hash.
- A member signs a given report once; signing a hash that is not the current report is refused
  (``stale_report``), so nobody signs pages they were not shown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from server.domain.errors import Code, CommandError
from server.domain.events import Check, Draft
from server.domain.roles import Principal, Role
from server.domain.scoring import MAX_COMMENT_CHARS, actor_of
from server.domain.state import Phase, SessionState

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class IssueReport:
    """Staff issue the report the shell rendered: hashes of the PDF, its content and font."""

    report: str
    content: str
    bytes: int
    font: str


def _hex(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _SHA256_HEX.match(value):
        raise CommandError(Code.MALFORMED, f"{what} must be a lowercase hex SHA-256")
    return value


def check_issue(state: SessionState, principal: Principal, command: IssueReport) -> list[Draft]:
    """``report.issue``: a supervisor or admin records the rendered report's hashes."""
    if principal.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise CommandError(Code.FORBIDDEN, "only a supervisor or admin issues the report")
    if state.phase is not Phase.REVIEW:
        raise CommandError(Code.WRONG_PHASE, f"the report is issued in review, not {state.phase}")
    if isinstance(command.bytes, bool) or not isinstance(command.bytes, int) or command.bytes <= 0:
        raise CommandError(Code.MALFORMED, "bytes must be a positive integer")
    data = {
        "report": _hex(command.report, "report"),
        "content": _hex(command.content, "content"),
        "bytes": command.bytes,
        "font": _hex(command.font, "font"),
    }
    if state.report is not None and state.report.hash == command.report:
        raise CommandError(Code.REPORT_ISSUED, "this report is already issued")
    return [Draft("report.issued", principal.actor, data)]


def check_sign(
    state: SessionState, seat: str, body: dict[str, Any], proof: dict[str, Any]
) -> list[Draft]:
    """``report.sign``: a member signs the current report's SHA-256, with an optional dissent."""
    if state.phase is not Phase.REVIEW:
        raise CommandError(Code.WRONG_PHASE, f"the report is signed in review, not {state.phase}")
    if state.report is None:
        raise CommandError(Code.NO_REPORT, "no report has been issued yet")
    wanted = _hex(body.get("report"), "report")
    if wanted != state.report.hash:
        raise CommandError(
            Code.STALE_REPORT, "that is not the current report", current=state.report.hash
        )
    if seat in state.report.signatures:
        raise CommandError(Code.ALREADY_SIGNED, f"{seat} already signed this report")
    data: dict[str, Any] = {"seat": seat, "report": wanted}
    dissent = body.get("dissent")
    if dissent is not None:
        if not isinstance(dissent, str) or not dissent.strip() or len(dissent) > MAX_COMMENT_CHARS:
            raise CommandError(Code.MALFORMED, f"a dissent is 1..{MAX_COMMENT_CHARS} characters")
        data["dissent"] = dissent
    return [Draft("report.signed", actor_of(seat), {**data, **proof})]


def report_state_view(state: SessionState) -> dict[str, Any] | None:
    """The report as members and staff see it (the public screen does not)."""
    report = state.report
    if report is None:
        return None
    return {
        "hash": report.hash,
        "content": report.content,
        "bytes": report.bytes,
        "signatures": {
            seat: {"seq": s.seq, "dissent": s.dissent} for seat, s in report.signatures.items()
        },
    }


def apply_report_view(view: dict[str, Any], kind: str, seq: int, data: dict[str, Any]) -> None:
    """Fold ``report.issued`` / ``report.signed`` into a client's view."""
    if kind == "report.issued":
        view["report"] = {
            "hash": data["report"],
            "content": data["content"],
            "bytes": data["bytes"],
            "signatures": {},
        }
    elif view.get("report") is not None:
        view["report"]["signatures"][data["seat"]] = {"seq": seq, "dissent": data.get("dissent")}


CHECKS: dict[type, Check] = {IssueReport: check_issue}
