"""Expert conduct (专家行为记录): misconduct records by the categories of 条例 Art. 71, and a
behaviour rating of every member before the close (专家考评).

A supervisor records misconduct as it happens: the seat, the category, what happened, and a
pointer to the evidence (a ``seq`` of the log and, where a recording shows it, a time in ms UTC).
In review, before the close, a supervisor rates each member once. Both are events of the
supervisor; experts and the public screen do not see them (they go to the expert-management
authority with the archive). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.domain.committee import text_of
from server.domain.errors import Code, CommandError
from server.domain.events import Check, Draft, Event, StaffParser
from server.domain.roles import FULL_VIEW_ROLES, Principal, Role, require
from server.domain.state import Misconduct, Phase, Rating, SessionState

# 条例 Art. 71 (评标委员会成员的违法行为): stable code -> (zh-CN, English).
CATEGORIES: dict[str, tuple[str, str]] = {
    "recusal_not_declared": ("应当回避而不回避", "Did not recuse despite a conflict of interest"),
    "left_post": ("擅离职守", "Left the post during the evaluation"),
    "against_method": (
        "不按照招标文件规定的评标标准和方法评标",
        "Scored against the evaluation standards and method of the tender documents",
    ),
    "private_contact": ("私下接触投标人", "Private contact with a bidder"),
    "accepted_influence": (
        "向招标人征询确定中标人的意向或者接受倾向、排斥特定投标人的要求",
        "Sought the tenderer's preference or accepted a request to favour or exclude a bidder",
    ),
    "failed_to_reject": (
        "对依法应当否决的投标不提出否决意见",
        "Did not propose rejecting a bid that must be rejected by law",
    ),
    "induced_clarification": (
        "暗示或者诱导投标人作出澄清、说明，或者接受投标人主动提出的澄清、说明",
        "Induced a bidder's clarification, or accepted one the bidder offered unasked",
    ),
    "other": (
        "其他不客观、不公正履行职务的行为",
        "Other conduct that is not objective or impartial",
    ),
}
# The usual four grades of an expert's appraisal.
RATINGS = ("excellent", "good", "pass", "fail")
RECORD_PHASES = frozenset({Phase.SIGN_IN, Phase.SCORING, Phase.REVIEW})
CONDUCT_EVENTS = frozenset({"misconduct.recorded", "expert.rated"})
MAX_NOTE = 2000


@dataclass(frozen=True, slots=True)
class RecordMisconduct:
    """A supervisor records an expert's misconduct, with a pointer to the evidence."""

    seat: Any
    category: Any
    note: Any
    evidence: Any = None  # {"seq"?: n, "recording_ms"?: t}


@dataclass(frozen=True, slots=True)
class RateExpert:
    """A supervisor rates a member's conduct (once per member, in review)."""

    seat: Any
    rating: Any
    note: Any = None


def _supervisor(principal: Principal) -> None:
    require(principal, Role.SUPERVISOR, "only a supervisor records an expert's conduct")


def _seat(state: SessionState, seat: Any) -> str:
    return state.seat_named(seat).seat


def _evidence(state: SessionState, evidence: Any) -> dict[str, int]:
    if evidence is None:
        return {}
    if not isinstance(evidence, dict) or not set(evidence) <= {"seq", "recording_ms"}:
        raise CommandError(Code.MALFORMED, "evidence is {seq?, recording_ms?}")
    for key, value in evidence.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise CommandError(Code.MALFORMED, f"evidence {key} must be a non-negative integer")
    if "seq" in evidence and not 1 <= evidence["seq"] <= state.seq:
        raise CommandError(Code.MALFORMED, f"evidence seq must be within 1..{state.seq}")
    return dict(evidence)


def check_record(
    state: SessionState, principal: Principal, command: RecordMisconduct
) -> list[Draft]:
    """A misconduct record: a known seat, a category of Art. 71, a note, evidence that exists."""
    _supervisor(principal)
    if state.phase not in RECORD_PHASES:
        raise CommandError(Code.WRONG_PHASE, f"no evaluation to record in phase {state.phase}")
    seat = _seat(state, command.seat)
    if not isinstance(command.category, str) or command.category not in CATEGORIES:
        raise CommandError(Code.MALFORMED, "category must be one of " + ", ".join(CATEGORIES))
    note = text_of({"note": command.note}, "note", True, MAX_NOTE)
    record: dict[str, Any] = {"misconduct": f"M{len(state.conduct.records) + 1}", "seat": seat}
    record |= {"category": command.category, "note": note}
    evidence = _evidence(state, command.evidence)
    if evidence:
        record["evidence"] = evidence
    return [Draft("misconduct.recorded", principal.actor, record)]


def check_rate(state: SessionState, principal: Principal, command: RateExpert) -> list[Draft]:
    """A member's rating, once, in review (before the close seals the session)."""
    _supervisor(principal)
    if state.phase is not Phase.REVIEW:
        raise CommandError(Code.WRONG_PHASE, "members are rated in review, before the close")
    seat = _seat(state, command.seat)
    if command.rating not in RATINGS:
        raise CommandError(Code.MALFORMED, "rating must be one of " + ", ".join(RATINGS))
    if seat in state.conduct.ratings:
        raise CommandError(Code.ALREADY_RATED, f"seat {seat} is rated already")
    data: dict[str, Any] = {"seat": seat, "rating": command.rating}
    note = text_of({"note": command.note}, "note", False, MAX_NOTE)
    if note is not None:
        data["note"] = note
    return [Draft("expert.rated", principal.actor, data)]


def conduct_view(state: SessionState, role: Role) -> dict[str, Any] | None:
    """Records and ratings for supervisors, auditors and the admin; nothing for anyone else."""
    if role not in FULL_VIEW_ROLES:
        return None
    conduct = state.conduct
    return {
        "records": {
            r.id: {
                "seat": r.seat,
                "category": r.category,
                "note": r.note,
                "evidence": dict(r.evidence),
                "by": r.by,
                "seq": r.seq,
            }
            for r in conduct.records.values()
        },
        "ratings": {
            seat: {"rating": r.rating, "note": r.note, "by": r.by, "seq": r.seq}
            for seat, r in conduct.ratings.items()
        },
    }


def apply_conduct_view(view: dict[str, Any], event: dict[str, Any]) -> None:
    """Fold one conduct event into a full view (what the console does)."""
    conduct, data = view.get("conduct"), event["data"]
    if conduct is None:
        return
    if event["type"] == "misconduct.recorded":
        conduct["records"][data["misconduct"]] = {
            "seat": data["seat"],
            "category": data["category"],
            "note": data["note"],
            "evidence": dict(data.get("evidence", {})),
            "by": event["actor"],
            "seq": event["seq"],
        }
    else:
        entry = {"rating": data["rating"], "note": data.get("note"), "by": event["actor"]}
        conduct["ratings"][data["seat"]] = {**entry, "seq": event["seq"]}


def _recorded(state: SessionState, data: dict[str, Any], event: Event) -> None:
    fields = {k: data[k] for k in ("seat", "category", "note")}
    evidence = dict(data.get("evidence", {}))
    record = Misconduct(
        data["misconduct"], **fields, evidence=evidence, by=event.actor, seq=event.seq
    )
    state.conduct.records[record.id] = record


def _rated(state: SessionState, data: dict[str, Any], event: Event) -> None:
    rating = Rating(data["rating"], data.get("note"), event.actor, event.seq)
    state.conduct.ratings[data["seat"]] = rating


CONDUCT_FOLDS = {"misconduct.recorded": _recorded, "expert.rated": _rated}


CHECKS: dict[type, Check] = {
    RecordMisconduct: check_record,
    RateExpert: check_rate,
}
STAFF_COMMANDS: dict[str, StaffParser] = {
    "misconduct.record": lambda e: RecordMisconduct(
        e.get("seat"), e.get("category"), e.get("note"), e.get("evidence")
    ),
    "expert.rate": lambda e: RateExpert(e.get("seat"), e.get("rating"), e.get("note")),
}
