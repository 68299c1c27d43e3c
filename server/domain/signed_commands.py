"""Signed expert commands: the signature, its binding to the seat, session and command id, then
the command's own check, looked up by type in :data:`SIGNED_HANDLERS` (a concept adds its own
from its module). Split from :mod:`server.domain.commands`, whose ``decide`` calls
:func:`check_signed` last. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.domain import (
    clarification,
    committee_chair,
    committee_rejection,
    committee_time,
    recusal,
    report_signing,
    rollback,
    scoring,
)
from server.domain.blind import revealed_draft
from server.domain.errors import Code, CommandError
from server.domain.events import Draft
from server.domain.roles import Principal
from server.domain.signing import parse_signed, verify_signature
from server.domain.state import Phase, SessionState

Handler = Callable[[SessionState, str, dict[str, Any], dict[str, Any]], list[Draft]]


@dataclass(frozen=True, slots=True)
class SignedCommand:
    """An expert command carrying the exact bytes the expert signed."""

    type: str
    signed: str
    sig: str | None


def expert_seat(state: SessionState, principal: Principal) -> str:
    """The seat of an expert principal that is a member now (``forbidden``, ``unknown_seat``)."""
    seat = principal.seat
    if seat is None:
        raise CommandError(Code.FORBIDDEN, f"a {principal.role} cannot do what only an expert does")
    if seat not in state.seats:
        raise CommandError(Code.UNKNOWN_SEAT, f"no seat {seat} in this session")
    return seat


def _chair_close_blind(
    state: SessionState, seat: str, body: dict[str, Any], proof: dict[str, Any]
) -> list[Draft]:
    if state.committee.chair != seat:
        raise CommandError(Code.NOT_CHAIR, "only the chair closes the blind part")
    if state.phase is not Phase.SCORING:
        raise CommandError(Code.WRONG_PHASE, f"no blind part to close in phase {state.phase}")
    revealed = revealed_draft(state, scoring.actor_of(seat))
    # The chair's signed command is in the log, so the archive proves who closed the blind part.
    return [Draft(revealed.type, revealed.actor, {**revealed.data, "seat": seat, **proof})]


# Signed expert commands: type -> the check that turns the verified body into drafts.
SIGNED_HANDLERS: dict[str, Handler] = {
    "expert.sign_in": scoring.check_sign_in,
    "score.set": scoring.check_score,
    "sheet.submit": scoring.check_submit,
    "flag.explain": scoring.check_explain,
    "blind.close": _chair_close_blind,
    "chair.vote": committee_chair.check_chair_vote,
    "rejection.propose": committee_rejection.check_propose_rejection,
    "rejection.vote": committee_rejection.check_rejection_vote,
    "time.request": committee_time.check_time_request,
    "report.sign": report_signing.check_sign,
    "rollback.request": rollback.check_request,
    "recusal.declare": recusal.check_declare,
    "clarification.draft": clarification.check_draft,
}
SIGNED_TYPES = frozenset(SIGNED_HANDLERS)


def _check_binding(
    state: SessionState, seat: str, command_id: str, command: SignedCommand, body: dict[str, Any]
) -> None:
    expected = {"session": state.session, "seat": seat, "cmd": command_id, "type": command.type}
    for key, want in expected.items():
        if body.get(key) != want:
            raise CommandError(
                Code.PAYLOAD_MISMATCH, f"signed {key} is {body.get(key)!r}, expected {want!r}"
            )
    if not isinstance(body.get("t"), int):
        raise CommandError(Code.MALFORMED, "signed payload needs the client time 't' (ms)")


def check_signed(
    state: SessionState, principal: Principal, command_id: str, command: SignedCommand
) -> list[Draft]:
    """An expert's signed command: the signature, its binding, then the command's own rules."""
    seat = expert_seat(state, principal)
    if command.type not in SIGNED_TYPES:
        raise CommandError(Code.UNKNOWN_COMMAND, f"unknown signed command {command.type!r}")
    key = state.seats[seat].key
    if key is None:
        raise CommandError(Code.NOT_ENROLLED, f"seat {seat} has not enrolled a key")
    raw, body = parse_signed(command.signed)
    verify_signature(key, raw, command.sig)
    _check_binding(state, seat, command_id, command, body)
    proof = {"signed": raw.decode("utf-8"), "sig": command.sig}
    return SIGNED_HANDLERS[command.type](state, seat, body, proof)
