"""The expert draw in the session log: randomness no single party controls.

1. The admin opens the draw over a pool and the tender's rules (``draw.opened``: the pool's
   SHA-256 and size, the normalized rules, the participants). The pool itself stays outside the
   log (it names people); the shell keeps it and the archive carries it, bound by the hash.
2. Every participant, the host venue, each guest venue (a venue token each) and the supervisors
   (one share between them, the first supervisor's), commits to a random 32-byte share:
   ``draw.committed`` holds ``SHA-256(canonical {participant, session, share})`` only.
3. Once every participant has committed, each reveals its share (``draw.revealed``, checked
   against its commitment). Nobody can choose a share after seeing another's, and a share that
   is withheld stops the draw: the log shows who has not revealed, and the draw is not made.
4. With every share revealed, the node makes the draw: the seed is
   :func:`server.domain.draw.seed_of` over the shares, the pool hash and the rules, and
   ``draw.made`` records the committee as :func:`server.domain.draw.select` draws it (seats,
   specialties, identity commitments; no names, no ids). ``evalroom verify`` recomputes it.

An unfinished draw can be opened again (a participant withheld its share, the rules were wrong):
the new ``draw.opened`` starts over and the old round stays in the log. Not once every share is
revealed: the committee is then determined (only making it is left), and a new round would let
the admin, who holds the pool, draw again until it liked the result. A made draw is final,
and a session with a draw leaves ``prepared`` only once the draw is made. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from server.domain.draw import Pool, Rules, eligible, outcome_json, parse_rules, seed_of, select
from server.domain.draw import share_commitment as share_commitment
from server.domain.errors import Code, CommandError
from server.domain.events import Check, Draft, Event, StaffParser
from server.domain.roles import FULL_VIEW_ROLES, Principal, Role, require
from server.domain.state import DrawState, Phase, SessionState

SUPERVISORS = "supervisor"  # the participant name of the supervisors' share
DRAW_EVENTS = frozenset({"draw.opened", "draw.committed", "draw.revealed", "draw.made"})
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class OpenDraw:
    """The admin opens a draw over ``pool`` (parsed by the shell from the file it keeps)."""

    pool: Pool
    rules: Any


@dataclass(frozen=True, slots=True)
class CommitShare:
    commitment: Any


@dataclass(frozen=True, slots=True)
class RevealShare:
    share: Any


@dataclass(frozen=True, slots=True)
class MakeDraw:
    """The node makes the draw once every share is revealed; ``pool`` is the one opened."""

    pool: Pool


def participants(state: SessionState) -> tuple[str, ...]:
    """Every venue of the lot (host first) and the supervisors."""
    return (*(v.id for v in state.lot.venues), SUPERVISORS)


def participant_of(state: SessionState, principal: Principal) -> str:
    """Whose share ``principal`` holds: its venue, or the supervisors'; ``not_participant``."""
    if principal.role is Role.VENUE and principal.subject in participants(state):
        return principal.subject
    if principal.role is Role.SUPERVISOR:
        return SUPERVISORS
    raise CommandError(Code.NOT_PARTICIPANT, "only a venue or a supervisor holds a share")


def feasible(pool: Pool, rules: Rules) -> None:
    """Refuse a draw that could run out of experts whatever the seed (``pool_too_small``):
    each specialty needs its own count and reserves beyond what the specialties before it
    might take."""
    taken_before = 0
    for need in rules.needs:
        wanted = need.count + need.reserves
        have = sum(
            1 for e in pool.experts if need.specialty in e.specialties and eligible(e, rules)
        )
        if have - taken_before < wanted:
            raise CommandError(
                Code.POOL_TOO_SMALL,
                f"{need.specialty}: {have} eligible experts, {wanted + taken_before} needed",
                specialty=need.specialty,
            )
        taken_before += wanted


def _open(state: SessionState) -> DrawState:
    if state.draw is None:
        raise CommandError(Code.NO_DRAW, "no expert draw is open")
    if state.draw.made is not None:
        raise CommandError(Code.DRAW_MADE, "the experts are drawn")
    return state.draw


def rules_of(state: SessionState, rules: Any) -> Rules:
    """The rules as this lot reads them (its bidders always avoided)."""
    bidders = tuple(b.name for b in state.lot.bidders)
    return parse_rules(rules, len(state.seats), bidders)


def check_open(state: SessionState, principal: Principal, command: OpenDraw) -> list[Draft]:
    """A draw before sign-in, over a pool that can fill every specialty."""
    require(principal, Role.ADMIN, "only the admin opens the expert draw")
    if state.phase is not Phase.PREPARED:
        raise CommandError(Code.WRONG_PHASE, "experts are drawn before sign-in")
    if state.draw is not None and state.draw.made is not None:
        raise CommandError(Code.DRAW_MADE, "the experts are drawn")
    if state.draw is not None and not withheld(state.draw):
        # Every share is out: the committee is determined, and whoever holds the pool could
        # compute it. Opening again now would let the admin draw until it liked the result.
        raise CommandError(Code.DRAW_MADE, "every share is revealed: the draw is only made now")
    rules = rules_of(state, command.rules)
    feasible(command.pool, rules)
    data = {
        "pool": command.pool.hash,
        "name": command.pool.name,
        "size": len(command.pool.experts),
        "rules": rules.to_json(),
        "participants": list(participants(state)),
    }
    return [Draft("draw.opened", principal.actor, data)]


def check_commit(state: SessionState, principal: Principal, command: CommitShare) -> list[Draft]:
    draw = _open(state)
    who = participant_of(state, principal)
    if who in draw.committed:
        raise CommandError(Code.ALREADY_COMMITTED, f"{who} has committed its share")
    if not isinstance(command.commitment, str) or not _HEX64.match(command.commitment):
        raise CommandError(Code.MALFORMED, "a commitment is 64 lowercase hex digits")
    data = {"participant": who, "commitment": command.commitment}
    return [Draft("draw.committed", principal.actor, data)]


def check_reveal(state: SessionState, principal: Principal, command: RevealShare) -> list[Draft]:
    draw = _open(state)
    who = participant_of(state, principal)
    waiting = [p for p in draw.participants if p not in draw.committed]
    if waiting:
        raise CommandError(
            Code.DRAW_NOT_READY, "shares are revealed once all are committed", waiting=waiting
        )
    if who in draw.revealed:
        raise CommandError(Code.ALREADY_COMMITTED, f"{who} has revealed its share")
    if not isinstance(command.share, str) or not _HEX64.match(command.share):
        raise CommandError(Code.MALFORMED, "a share is 64 lowercase hex digits")
    if share_commitment(state.session, who, command.share) != draw.committed[who]:
        raise CommandError(Code.BAD_REVEAL, f"this share is not the one {who} committed to")
    return [Draft("draw.revealed", principal.actor, {"participant": who, "share": command.share})]


def withheld(draw: DrawState) -> list[str]:
    """Participants whose share is not revealed yet (a draw is made only without any)."""
    return [p for p in draw.participants if p not in draw.revealed]


def check_make(state: SessionState, principal: Principal, command: MakeDraw) -> list[Draft]:
    """The committee, from every revealed share and the pool that was opened."""
    require(principal, Role.NODE, "the node makes the draw once every share is revealed")
    draw = _open(state)
    missing = withheld(draw)
    if missing:
        raise CommandError(Code.DRAW_NOT_READY, "shares are not revealed", waiting=missing)
    if command.pool.hash != draw.pool:
        raise CommandError(Code.MALFORMED, "this is not the pool the draw was opened over")
    shares = {p: draw.revealed[p] for p in draw.participants}
    seed = seed_of(state.session, draw.pool, draw.rules, shares)
    rules = rules_of(state, draw.rules)
    outcome = select(command.pool, rules, bytes.fromhex(seed), tuple(state.seats))
    return [Draft("draw.made", principal.actor, {"seed": seed, **outcome_json(outcome, seed)})]


def refuse_unfinished_draw(state: SessionState) -> None:
    """A session whose draw is open leaves ``prepared`` only with its committee drawn."""
    if state.draw is not None and state.draw.made is None:
        raise CommandError(
            Code.PHASE_NOT_READY, "the expert draw is not made", waiting=withheld(state.draw)
        )


def _opened(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.draw = DrawState(
        data["pool"], data["size"], data["rules"], tuple(data["participants"]), event.seq
    )


def _current(state: SessionState) -> DrawState:
    if state.draw is None:  # the domain decided these events only with a draw open
        raise ValueError("a draw event without draw.opened before it")
    return state.draw


def _committed(state: SessionState, data: dict[str, Any], event: Event) -> None:
    _current(state).committed[data["participant"]] = data["commitment"]


def _revealed(state: SessionState, data: dict[str, Any], event: Event) -> None:
    _current(state).revealed[data["participant"]] = data["share"]


def _made(state: SessionState, data: dict[str, Any], event: Event) -> None:
    _current(state).made = {**data, "seq": event.seq}


DRAW_FOLDS = {
    "draw.opened": _opened,
    "draw.committed": _committed,
    "draw.revealed": _revealed,
    "draw.made": _made,
}


def draw_event_view(data: dict[str, Any], event_type: str) -> dict[str, Any]:
    """What the public screen and a venue see of a draw event: who took part, never the pool,
    the rules (they name the bidders) or the committee."""
    if event_type == "draw.opened":
        return {"participants": data["participants"]}
    if event_type == "draw.made":
        return {}
    return {"participant": data["participant"]}


def draw_state_view(state: SessionState, role: Role) -> dict[str, Any] | None:
    """The draw as ``role`` sees it: staff all of it, the public screen and venues who has
    committed and revealed, experts nothing."""
    draw = state.draw
    if draw is None or role is Role.EXPERT:
        return None
    view: dict[str, Any] = {
        "participants": list(draw.participants),
        "committed": sorted(draw.committed),
        "revealed": sorted(draw.revealed),
        "made": draw.made is not None,
    }
    if role in FULL_VIEW_ROLES:
        view |= {"pool": draw.pool, "size": draw.size, "seq": draw.seq, "rules": draw.rules}
        view["commitments"] = dict(draw.committed)
        view["shares"] = dict(draw.revealed)
        view["committee"] = None if draw.made is None else dict(draw.made)
    return view


def apply_draw_view(view: dict[str, Any], event: dict[str, Any], role: Role) -> None:
    """Fold one draw event into a client's view (as :func:`draw_state_view` builds it)."""
    data, kind = event["data"], event["type"]
    full = role in FULL_VIEW_ROLES
    if role is Role.EXPERT:
        return
    if kind == "draw.opened":
        draw: dict[str, Any] = {
            "participants": list(data["participants"]),
            "committed": [],
            "revealed": [],
            "made": False,
        }
        if full:
            draw |= {"pool": data["pool"], "size": data["size"], "seq": event["seq"]}
            draw |= {"rules": data["rules"], "commitments": {}, "shares": {}, "committee": None}
        view["draw"] = draw
        return
    draw = view["draw"]
    if kind == "draw.made":
        draw["made"] = True
        if full:
            draw["committee"] = {**data, "seq": event["seq"]}
        return
    key = "committed" if kind == "draw.committed" else "revealed"
    draw[key] = sorted({*draw[key], data["participant"]})
    if full:
        store = "commitments" if kind == "draw.committed" else "shares"
        draw[store][data["participant"]] = data["commitment" if store == "commitments" else "share"]


CHECKS: dict[type, Check] = {
    OpenDraw: check_open,
    CommitShare: check_commit,
    RevealShare: check_reveal,
    MakeDraw: check_make,
}
# Envelopes of the participants (socket.io ``command`` or HTTP); opening and making the draw
# need the pool, which only the shell holds, so they have no envelope.
STAFF_COMMANDS: dict[str, StaffParser] = {
    "draw.commit": lambda e: CommitShare(e.get("commitment")),
    "draw.reveal": lambda e: RevealShare(e.get("share")),
}
