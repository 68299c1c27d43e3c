"""Recusal and replacement (回避与替补, 条例 Art. 48): a member who must recuse declares it, a
supervisor approves, and the next reserve takes a new seat.

1. ``recusal.declare`` (signed by the seat, with its reason) in sign-in or scoring logs
   ``recusal.declared``; one open declaration per seat.
2. A supervisor declines it with a reason (``recusal.declined``), or approves it:
   ``seat.replaced`` names the recused seat and the new one (``<venue>-<n>``, a number never used
   at that venue; the supervisor may name another venue, by default the recused seat's own). With
   an expert draw in the log, the new seat is the next reserve of the recused member's specialty,
   by rank, and the event carries that reserve's identity commitment; ``no_reserve`` when none is
   left. The shell hands the supervisor the new seat's one-time enrolment code.
3. From ``seat.replaced`` on, the recused seat is no member: it leaves the seats (its scores no
   longer count, Art. 48: the replaced member's conclusions are void), its token generation moves
   on, and its committee acts of the moment go (its vote of the current chair round, its votes
   on open proposals, its time request; if it was the chair, the committee elects again). The new
   seat enrols, signs in and evaluates the whole sheet again.

While blind codes are open (scoring a blind part), a replacement waits (``phase_not_ready``) until
the blind part is revealed: codes are drawn for the committee at the start of scoring. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from server.domain.committee import text_of
from server.domain.errors import Code, CommandError
from server.domain.events import Check, Draft, Event, StaffParser
from server.domain.roles import FULL_VIEW_ROLES, Principal, Role, require
from server.domain.scoring import actor_of
from server.domain.state import (
    Phase,
    Recusal,
    Replacement,
    SeatState,
    SessionState,
    end_seat_tokens,
)

RECUSAL_PHASES = frozenset({Phase.SIGN_IN, Phase.SCORING})
# Events about one seat's recusal: other experts and the public screen do not see them.
RECUSAL_PRIVATE = frozenset({"recusal.declared", "recusal.declined"})
RECUSAL_EVENTS = RECUSAL_PRIVATE | {"seat.replaced"}
MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class ReviewRecusal:
    """A supervisor approves a declared recusal (optionally at another venue), or declines it."""

    recusal: Any
    approve: bool
    venue: Any = None
    reason: Any = None


def check_declare(
    state: SessionState, seat: str, body: dict[str, Any], proof: dict[str, Any]
) -> list[Draft]:
    """``recusal.declare`` (signed): a member declares a conflict of interest."""
    if state.phase not in RECUSAL_PHASES:
        raise CommandError(Code.WRONG_PHASE, "recusal is declared in sign-in or scoring")
    reason = text_of(body, "reason", True, MAX_REASON)
    for found in state.recusals.values():
        if found.seat == seat and found.status == "declared":
            raise CommandError(Code.ALREADY_REQUESTED, f"recusal {found.id} is still open")
    data = {"recusal": f"RC{len(state.recusals) + 1}", "seat": seat, "reason": reason}
    return [Draft("recusal.declared", actor_of(seat), {**data, **proof})]


def _declared(state: SessionState, recusal: Any) -> Recusal:
    found = state.recusals.get(recusal) if isinstance(recusal, str) else None
    if found is None:
        raise CommandError(Code.UNKNOWN_RECUSAL, f"no recusal {recusal!r}")
    if found.status != "declared":
        raise CommandError(Code.PROPOSAL_CLOSED, f"recusal {found.id} is {found.status}")
    return found


_SEAT_NUMBER = re.compile(r"^(.+)-(\d+)$")


def next_seat(state: SessionState, venue: str) -> str:
    """``<venue>-<n>``: one past every seat number ever used at ``venue`` (current or replaced)."""
    used = [*state.seats, *(r.seat for r in state.replacements)]
    numbers = [0]
    for seat in used:
        match = _SEAT_NUMBER.match(seat)
        if match and match.group(1) == venue:
            numbers.append(int(match.group(2)))
    return f"{venue}-{max(numbers) + 1}"


def specialty_of(state: SessionState, seat: str) -> str | None:
    """The specialty the draw gave ``seat`` (or the reserve that took it), if there was a draw."""
    made = state.draw.made if state.draw is not None else None
    if made is None:
        return None
    for replacement in state.replacements:
        if replacement.by == seat:
            return replacement.specialty
    return next((m["specialty"] for m in made["members"] if m["seat"] == seat), None)


def next_reserve(state: SessionState, specialty: str) -> dict[str, Any]:
    """The lowest-ranked reserve of ``specialty`` not used yet, or ``no_reserve``."""
    made = state.draw.made if state.draw is not None else None
    used = {r.reserve for r in state.replacements}
    for reserve in (made or {}).get("reserves", []):
        if reserve["specialty"] == specialty and reserve["rank"] not in used:
            return dict(reserve)
    raise CommandError(Code.NO_RESERVE, f"no reserve of {specialty} is left", specialty=specialty)


def check_review(state: SessionState, principal: Principal, command: ReviewRecusal) -> list[Draft]:
    require(principal, Role.SUPERVISOR, "only a supervisor decides on a recusal")
    found = _declared(state, command.recusal)
    if not command.approve:
        reason = text_of({"reason": command.reason}, "reason", True, MAX_REASON)
        data = {"recusal": found.id, "seat": found.seat, "reason": reason}
        return [Draft("recusal.declined", principal.actor, data)]
    if state.phase not in RECUSAL_PHASES:
        raise CommandError(Code.WRONG_PHASE, "a member is replaced in sign-in or scoring")
    if state.blind_open:
        raise CommandError(Code.PHASE_NOT_READY, "replace once the blind part is revealed")
    venue = state.seats[found.seat].venue if command.venue is None else command.venue
    if venue not in {v.id for v in state.lot.venues}:
        raise CommandError(Code.MALFORMED, f"no venue {venue!r} in this lot")
    replaced: dict[str, Any] = {"recusal": found.id, "seat": found.seat}
    replaced |= {"by": next_seat(state, venue), "venue": venue}
    specialty = specialty_of(state, found.seat)
    if specialty is not None:
        reserve = next_reserve(state, specialty)
        replaced |= {"specialty": specialty, "reserve": reserve["rank"]}
        replaced["identity"] = reserve["identity"]
    return [Draft("seat.replaced", principal.actor, replaced)]


def _recusal_declared(state: SessionState, data: dict[str, Any], event: Event) -> None:
    found = Recusal(data["recusal"], data["seat"], data["reason"], event.seq)
    state.recusals[found.id] = found


def _recusal_declined(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.recusals[data["recusal"]].status = "declined"


def _seat_replaced(state: SessionState, data: dict[str, Any], event: Event) -> None:
    seat, by = data["seat"], data["by"]
    state.recusals[data["recusal"]].status = "approved"
    gone = state.seats.pop(seat)
    del state.cells[seat]
    state.seats[by] = SeatState(by, data["venue"])
    state.cells[by] = {}
    end_seat_tokens(state, seat)
    replacement = Replacement(
        seat,
        by,
        data["venue"],
        data["recusal"],
        event.seq,
        reserve=data.get("reserve"),
        specialty=data.get("specialty"),
        venue_of_seat=gone.venue,
        signed_in_ms=gone.signed_in_ms,
        time_ms=event.time_ms,
    )
    state.replacements.append(replacement)
    com = state.committee
    if com.chair == seat:
        com.chair = None
    com.chair_votes = {s: c for s, c in com.chair_votes.items() if seat not in (s, c)}
    for proposal in com.proposals.values():
        proposal.votes.pop(seat, None)
    com.time_requests = [s for s in com.time_requests if s != seat]


RECUSAL_FOLDS = {
    "recusal.declared": _recusal_declared,
    "recusal.declined": _recusal_declined,
    "seat.replaced": _seat_replaced,
}


def recusal_state_view(state: SessionState, role: Role, seat: str | None) -> dict[str, Any]:
    """Recusals by id: staff see all, a member its own (the public screen none)."""
    return {
        r.id: {"seat": r.seat, "reason": r.reason, "status": r.status, "seq": r.seq}
        for r in state.recusals.values()
        if role in FULL_VIEW_ROLES or r.seat == seat
    }


def replacements_view(state: SessionState) -> list[dict[str, Any]]:
    """Who replaced whom: every role sees the seats change."""
    return [
        {"seat": r.seat, "by": r.by, "venue": r.venue, "seq": r.seq} for r in state.replacements
    ]


def apply_recusal_view(view: dict[str, Any], event: dict[str, Any], visible: bool) -> None:
    """Fold one viewed recusal event into a client's view; ``visible``: whether this viewer sees
    other seats' progress and cells (staff, the public screen, everyone once revealed)."""
    kind, data = event["type"], event["data"]
    recusals = view.get("recusals")
    if kind == "recusal.declared" and recusals is not None:
        entry = {"seat": data["seat"], "reason": data["reason"], "status": "declared"}
        recusals[data["recusal"]] = {**entry, "seq": event["seq"]}
        return
    found = recusals.get(data.get("recusal")) if recusals is not None else None
    if kind == "recusal.declined":
        if found is not None:
            found["status"] = "declined"
        return
    if found is not None:
        found["status"] = "approved"
    seat, by = data["seat"], data["by"]
    view["seats"].pop(seat, None)
    view["cells"].pop(seat, None)
    flag = False if visible else None
    view["seats"][by] = {"venue": data["venue"], "enrolled": flag, "signed_in": flag}
    view["seats"][by]["submitted"] = flag
    if visible:
        view["cells"][by] = {}
    view["replacements"].append({"seat": seat, "by": by, "venue": data["venue"]})
    view["replacements"][-1]["seq"] = event["seq"]
    committee = view.get("committee")
    if committee is None:
        return
    if committee["chair"] == seat:
        committee["chair"] = None
    votes = committee["chair_votes"]
    committee["chair_votes"] = {s: c for s, c in votes.items() if seat not in (s, c)}
    for proposal in committee["proposals"].values():
        proposal["votes"].pop(seat, None)
    committee["time"]["requests"] = [s for s in committee["time"]["requests"] if s != seat]


CHECKS: dict[type, Check] = {ReviewRecusal: check_review}
STAFF_COMMANDS: dict[str, StaffParser] = {
    "recusal.approve": lambda e: ReviewRecusal(e.get("recusal"), True, e.get("venue")),
    "recusal.decline": lambda e: ReviewRecusal(e.get("recusal"), False, None, e.get("reason")),
}
