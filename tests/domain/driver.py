"""Drive a session through the pure core, and the sample lot's day as a script of commands.

``Session`` runs commands through ``decide -> seal -> apply_event`` with real Ed25519 keys.
``sample_day()`` is the scenario of ``shared/SCENARIO.md`` on the sample lot as plain steps, so a
through-the-server test can replay the same day with real clients: each step is either
``("staff", envelope)`` (a supervisor's unsigned command) or ``("expert", seat, type, fields)``
(a signed command). Blind cells are written with ``"bidder"``; a runner turns them into the
seat's code with :func:`with_codes` and the ``blind.assigned`` data, which only the harness can
know (it reads the event as a supervisor); with no draw in the log the fields go unchanged.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.client.expert_pool import sample_rules
from server.domain.commands import (
    AdvancePhase,
    CloseBlind,
    Command,
    CreateSession,
    Enrol,
    ReviewRejection,
    decide,
    staff_command,
)
from server.domain.draw import Pool, share_commitment
from server.domain.draw_session import CommitShare, MakeDraw, OpenDraw, RevealShare
from server.domain.events import Event, seal
from server.domain.folding import apply_event
from server.domain.roles import Principal, Role
from server.domain.state import SessionState, new_state
from tests.helpers import public_b64, signed

S = "s-1"
ADMIN = Principal(Role.ADMIN, S, "admin")
SUP = Principal(Role.SUPERVISOR, S, "sup-1")
NODE = Principal(Role.NODE, S, "timer")
DRAW = "0f" * 16  # the shell's random draw; fixed here so the test is replayable
SEATS = ["host-1", "host-2", "host-3", "host-4", "guest-1-1", "guest-1-2", "guest-2-1"]
Step = tuple[Any, ...]


class Session:
    """A session driven through the pure core only."""

    def __init__(self, lot: dict[str, Any]) -> None:
        self.clock = itertools.count(1000)
        (draft,) = decide(None, ADMIN, "create", CreateSession(lot))
        self.events: list[Event] = [seal(draft, S, 1, next(self.clock))]
        self.state: SessionState = new_state(self.events[0])
        self.keys = {seat: Ed25519PrivateKey.generate() for seat in self.state.seats}
        self.ids = itertools.count()
        self.alias: dict[str, str] = {}  # a recused seat -> the seat that replaced it

    def run(self, principal: Principal, command: Command, command_id: str = "") -> list[Event]:
        """Decide and apply one command; the new events."""
        command_id = command_id or f"c{next(self.ids)}"
        new = []
        for draft in decide(self.state, principal, command_id, command):
            event = seal(draft, S, self.state.seq + 1, next(self.clock))
            apply_event(self.state, event)
            new.append(event)
        self.events.extend(new)
        return new

    def expert(self, seat: str, kind: str, **fields: Any) -> list[Event]:
        """A signed command of ``seat``."""
        cmd = f"c{next(self.ids)}"
        command = signed(self.keys[seat], S, seat, kind, cmd, **fields)
        return self.run(Principal(Role.EXPERT, S, seat), command, cmd)

    def code_of(self, seat: str, bidder: str) -> str:
        """The code ``seat`` sees for ``bidder`` (the harness reads the draw)."""
        assert self.state.blind is not None
        code = self.state.blind.code_of(seat, bidder)
        assert code is not None
        return code

    def blind_fields(self, seat: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Fields naming a bidder, turned into the seat's code where the cell is blind now."""
        blind = self.state.blind
        if blind is None or blind.revealed:
            return fields
        draw = {
            "seats": blind.to_json(),
            "criteria": [c.id for c in self.state.lot.criteria if c.blind],
        }
        return with_codes(fields, seat, draw)

    def step(self, step: Step) -> list[Event]:
        """Run one step of a script such as :func:`sample_day`."""
        if step[0] == "staff":
            return self.run(SUP, staff(step[1]))
        _, seat, kind, fields = step
        seat = self.alias.get(seat, seat)
        return self.expert(seat, kind, **self.blind_fields(seat, fields))

    def enrol_all(self) -> None:
        """Every seat enrols its key."""
        for seat in self.state.seats:
            self.run(Principal(Role.EXPERT, S, seat), Enrol(public_b64(self.keys[seat])))


def draw_principal(participant: str) -> Principal:
    """Who holds ``participant``'s share of the draw: its venue's token, or a supervisor."""
    return SUP if participant == "supervisor" else Principal(Role.VENUE, S, participant)


def draw_shares(state: SessionState) -> dict[str, str]:
    """A share per participant of the open draw (fixed, so a test is replayable)."""
    assert state.draw is not None
    return {p: hashlib.sha256(p.encode()).hexdigest() for p in state.draw.participants}


def draw_commitment(participant: str, share: str) -> str:
    return share_commitment(S, participant, share)


def commit_all(session: Session) -> dict[str, str]:
    """Every participant of the open draw commits to its share; the shares."""
    shares = draw_shares(session.state)
    for participant, share in shares.items():
        session.run(draw_principal(participant), CommitShare(draw_commitment(participant, share)))
    return shares


def reveal_all(session: Session, shares: dict[str, str]) -> None:
    for participant, share in shares.items():
        session.run(draw_principal(participant), RevealShare(share))


def make_draw(session: Session, pool: Pool) -> None:
    """A whole draw over ``pool`` with the sample rules: opened, committed, revealed, made."""
    session.run(ADMIN, OpenDraw(pool, sample_rules()))
    reveal_all(session, commit_all(session))
    session.run(NODE, MakeDraw(pool))


def with_codes(fields: dict[str, Any], seat: str, assigned: dict[str, Any]) -> dict[str, Any]:
    """A step's fields with a blind criterion's ``bidder`` replaced by ``seat``'s code.

    ``assigned`` is the data of the ``blind.assigned`` event (as a supervisor sees it); pass the
    fields unchanged once ``blind.revealed`` is in the log.
    """
    if fields.get("criterion") not in assigned["criteria"] or "bidder" not in fields:
        return fields
    code = next(c for c, b in assigned["seats"][seat] if b == fields["bidder"])
    rest = {k: v for k, v in fields.items() if k != "bidder"}
    return {**rest, "code": code}


def staff(envelope: dict[str, Any]) -> Command:
    """A staff envelope as a domain command (the shell adds the draw when moving to scoring)."""
    kind = envelope["type"]
    if kind == "phase.advance":
        return AdvancePhase(envelope["to"], DRAW if envelope["to"] == "scoring" else None)
    if kind == "blind.close":
        return CloseBlind()
    command = staff_command(kind, envelope)
    if command is not None and not isinstance(command, ReviewRejection):
        return command
    return ReviewRejection(
        envelope["proposal"], kind == "rejection.approve", envelope.get("reason")
    )


# The experts' technical scores of the sample day: bidder -> T1..T5, given by every seat unless
# VARIATIONS says otherwise.
TECHNICAL = {
    "B1": ("8", "5", "5", "5", "3"),
    "B2": ("9", "5.5", "5", "5.5", "3.5"),
    "B3": ("7", "4.5", "4.5", "4.5", "2.5"),
    "B4": ("6", "4", "4", "4", "2"),
    "B5": ("7.5", "5", "5", "5", "3"),
}
VARIATIONS = {
    ("host-1", "B5", "T1"): "2.5",  # the deviation flag of the scenario, explained
    ("guest-2-1", "B5", "T1"): "8.5",
    ("host-1", "B2", "T2"): "6",
    ("host-2", "B2", "T2"): "6",
}
OBJECTIVE = {
    "B1": ("7", "4"),
    "B2": ("6", "5"),
    "B3": ("8", "3"),
    "B4": ("5", "3"),
    "B5": ("7", "4"),
}


def _sheet(seat: str) -> Iterator[Step]:
    for bidder, values in TECHNICAL.items():
        for n, value in enumerate(values, start=1):
            criterion = f"T{n}"
            value = VARIATIONS.get((seat, bidder, criterion), value)
            yield (
                "expert",
                seat,
                "score.set",
                {"bidder": bidder, "criterion": criterion, "value": value},
            )
    for bidder, (c1, c2) in OBJECTIVE.items():
        if seat == "host-4" and bidder == "B3":
            c2 = "2"  # the C2 mismatch of the scenario, corrected after re-reading
        for criterion, value in (("C1", c1), ("C2", c2)):
            yield (
                "expert",
                seat,
                "score.set",
                {"bidder": bidder, "criterion": criterion, "value": value},
            )


def sample_day() -> list[Step]:
    """The scenario's day on the sample lot, up to the closed session (see the module doc)."""
    steps: list[Step] = [("staff", {"type": "phase.advance", "to": "sign_in"})]
    steps += [("expert", s, "expert.sign_in", {"pledge": "evalroom-pledge-v1"}) for s in SEATS]
    # Chair: round 1 splits 3/3/1, round 2 elects host-1 with 5 of 7.
    first = ["host-1", "host-2", "host-1", "host-2", "host-1", "host-2", "guest-2-1"]
    second = ["host-1", "host-1", "host-2", "host-1", "host-1", "host-2", "host-1"]
    steps += [
        ("expert", s, "chair.vote", {"round": 1, "candidate": c})
        for s, c in zip(SEATS, first, strict=True)
    ]
    steps += [
        ("expert", s, "chair.vote", {"round": 2, "candidate": c})
        for s, c in zip(SEATS, second, strict=True)
    ]
    steps.append(("staff", {"type": "phase.advance", "to": "scoring"}))
    for seat in SEATS:
        steps += list(_sheet(seat))
    # Three of seven say the time is short: more than one third, so it is extended.
    steps += [("expert", s, "time.request", {"reason": "技术标内容多"}) for s in SEATS[4:]]
    steps.append(
        (
            "expert",
            "host-1",
            "flag.explain",
            {"bidder": "B5", "criterion": "T1", "text": "施工方案缺少管网不停水切换措施"},
        )
    )
    steps.append(("expert", "host-1", "blind.close", {}))
    steps += [("expert", s, "sheet.submit", {}) for s in SEATS]
    steps.append(
        ("expert", "host-4", "score.set", {"bidder": "B3", "criterion": "C2", "value": "3"})
    )
    # Rejection of B4 (bid bond certificate not signed): proposed, approved, 5 of 7 yes.
    steps.append(
        (
            "expert",
            "guest-1-1",
            "rejection.propose",
            {
                "bidder": "B4",
                "ground": "unsigned_unsealed",
                "reason": "投标保证金凭证未经法定代表人签字",
            },
        )
    )
    steps.append(("staff", {"type": "rejection.approve", "proposal": "R1"}))
    votes = ["yes", "yes", "no", "yes", "yes", "no", "yes"]
    steps += [
        ("expert", s, "rejection.vote", {"proposal": "R1", "vote": v})
        for s, v in zip(SEATS, votes, strict=True)
    ]
    steps.append(("staff", {"type": "phase.advance", "to": "review"}))
    steps.append(("staff", {"type": "phase.advance", "to": "closed"}))
    return steps


# Hand-computed expectations of the sample day (see test_sample_day.py for the arithmetic).
EXPECTED_TOTALS = {
    "B1": Decimal("91.48"),
    "B2": Decimal("89.19"),
    "B3": Decimal("85.58"),
    "B5": Decimal("87.24"),
}
EXPECTED_RANKING = [("B1", 1, True), ("B2", 2, True), ("B5", 3, True), ("B3", 4, False)]
