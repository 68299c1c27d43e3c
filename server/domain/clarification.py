"""Clarification (澄清, 条例 Art. 52): a written question to one bidder, drafted by a member,
approved by a supervisor, answered by the bidder through its own narrow token.

1. A member drafts (signed ``clarification.draft``: ``bidder``, ``question``) in scoring or review,
   never while blind codes are open (a question names its bidder): ``clarification.drafted``.
2. A supervisor approves (``clarification.approved``) or declines it with a reason
   (``clarification.declined``). On approval the shell hands the supervisor a token of role
   ``bidder`` for that bidder and that clarification only, to pass on through the platform.
3. The bidder reads its question and answers once (``clarification.answered``, actor
   ``bidder:<bidder>``) before the close. The answer may clarify, never change, the bid: the page
   says so, and the committee reads the answer in the log.

The bidder sees nothing else: its token opens no socket and no view; the public screen sees no
clarification. Members and staff see them all. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.domain.committee import text_of
from server.domain.errors import Code, CommandError
from server.domain.events import Check, Draft, Event, StaffParser
from server.domain.roles import Principal, Role, require
from server.domain.scoring import actor_of
from server.domain.state import Clarification, Phase, SessionState

CLARIFY_PHASES = frozenset({Phase.SCORING, Phase.REVIEW})
CLARIFICATION_EVENTS = frozenset(
    {
        "clarification.drafted",
        "clarification.approved",
        "clarification.declined",
        "clarification.answered",
    }
)
MAX_QUESTION = 2000
MAX_ANSWER = 5000


@dataclass(frozen=True, slots=True)
class ReviewClarification:
    """A supervisor approves a drafted question for sending, or declines it with a reason."""

    clarification: Any
    approve: bool
    reason: Any = None


@dataclass(frozen=True, slots=True)
class AnswerClarification:
    """The bidder's written answer (its token names the bidder and the clarification)."""

    answer: Any


def bidder_subject(bidder: str, clarification: str) -> str:
    """The subject of a bidder's token: one bidder, one clarification."""
    return f"{bidder}.{clarification}"


def check_draft(
    state: SessionState, seat: str, body: dict[str, Any], proof: dict[str, Any]
) -> list[Draft]:
    """``clarification.draft`` (signed): a member's question to one bidder."""
    if state.phase not in CLARIFY_PHASES:
        raise CommandError(Code.WRONG_PHASE, "clarifications are asked in scoring or review")
    if state.blind_open:
        raise CommandError(Code.PHASE_NOT_READY, "ask once the blind part is revealed")
    bidder = body.get("bidder")
    if not isinstance(bidder, str) or state.lot.bidder(bidder) is None:
        raise CommandError(Code.UNKNOWN_BIDDER, f"no bidder {bidder!r}")
    question = text_of(body, "question", True, MAX_QUESTION)
    data: dict[str, Any] = {"clarification": f"CL{len(state.clarifications) + 1}", "seat": seat}
    data |= {"bidder": bidder, "question": question}
    return [Draft("clarification.drafted", actor_of(seat), {**data, **proof})]


def _found(state: SessionState, clarification: Any) -> Clarification:
    found = state.clarifications.get(clarification) if isinstance(clarification, str) else None
    if found is None:
        raise CommandError(Code.UNKNOWN_CLARIFICATION, f"no clarification {clarification!r}")
    return found


def check_review(
    state: SessionState, principal: Principal, command: ReviewClarification
) -> list[Draft]:
    require(principal, Role.SUPERVISOR, "only a supervisor approves a clarification")
    found = _found(state, command.clarification)
    if found.status != "drafted":
        raise CommandError(Code.PROPOSAL_CLOSED, f"clarification {found.id} is {found.status}")
    if command.approve:
        data = {"clarification": found.id, "bidder": found.bidder}
        return [Draft("clarification.approved", principal.actor, data)]
    reason = text_of({"reason": command.reason}, "reason", True, 500)
    declined: dict[str, Any] = {"clarification": found.id, "reason": reason}
    return [Draft("clarification.declined", principal.actor, declined)]


def check_answer(
    state: SessionState, principal: Principal, command: AnswerClarification
) -> list[Draft]:
    """The bidder's answer, once, to its approved question, before the close."""
    require(principal, Role.BIDDER, "only the bidder answers its clarification")
    bidder, _, clarification = principal.subject.partition(".")
    found = _found(state, clarification)
    if found.bidder != bidder or found.status not in ("approved", "answered"):
        raise CommandError(Code.FORBIDDEN, "this token answers no open clarification")
    if found.status == "answered":
        raise CommandError(Code.ALREADY_ANSWERED, f"clarification {found.id} is answered")
    if state.phase is Phase.CLOSED:
        raise CommandError(Code.WRONG_PHASE, "the evaluation is closed")
    answer = text_of({"answer": command.answer}, "answer", True, MAX_ANSWER)
    data: dict[str, Any] = {"clarification": found.id, "bidder": bidder, "answer": answer}
    return [Draft("clarification.answered", principal.actor, data)]


def _drafted(state: SessionState, data: dict[str, Any], event: Event) -> None:
    fields = {k: data[k] for k in ("seat", "bidder", "question")}
    found = Clarification(data["clarification"], **fields, seq=event.seq)
    state.clarifications[found.id] = found


def _status(status: str) -> Any:
    def fold(state: SessionState, data: dict[str, Any], event: Event) -> None:
        found = state.clarifications[data["clarification"]]
        found.status = status
        if status == "answered":
            found.answer, found.answered_seq = data["answer"], event.seq
        elif status == "declined":
            found.answer = data["reason"]  # why it was not sent, in the answer's place

    return fold


CLARIFICATION_FOLDS = {
    "clarification.drafted": _drafted,
    "clarification.approved": _status("approved"),
    "clarification.declined": _status("declined"),
    "clarification.answered": _status("answered"),
}


def clarification_json(found: Clarification) -> dict[str, Any]:
    entry: dict[str, Any] = {"seat": found.seat, "bidder": found.bidder}
    entry |= {
        "question": found.question,
        "seq": found.seq,
        "status": found.status,
        "answer": found.answer,
    }
    return entry


def clarifications_view(state: SessionState) -> dict[str, Any]:
    """Every clarification by id (members and staff see them all)."""
    return {c.id: clarification_json(c) for c in state.clarifications.values()}


def apply_clarification_view(view: dict[str, Any], event: dict[str, Any]) -> None:
    clarifications, data = view.get("clarifications"), event["data"]
    if clarifications is None:
        return
    if event["type"] == "clarification.drafted":
        entry = {k: data[k] for k in ("seat", "bidder", "question")}
        clarifications[data["clarification"]] = {
            **entry,
            "seq": event["seq"],
            "status": "drafted",
            "answer": None,
        }
        return
    found = clarifications[data["clarification"]]
    found["status"] = event["type"].split(".", 1)[1]
    if event["type"] == "clarification.answered":
        found["answer"] = data["answer"]
    elif event["type"] == "clarification.declined":
        found["answer"] = data["reason"]


CHECKS: dict[type, Check] = {
    ReviewClarification: check_review,
    AnswerClarification: check_answer,
}
STAFF_COMMANDS: dict[str, StaffParser] = {
    "clarification.approve": lambda e: ReviewClarification(e.get("clarification"), True),
    "clarification.decline": lambda e: ReviewClarification(
        e.get("clarification"), False, e.get("reason")
    ),
}
