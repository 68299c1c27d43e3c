"""Commands: checked against the current projection, they become events or a typed error.

``decide`` is the single entry point. It is pure: the state, the authenticated principal and the
command come in, drafts of events come out (the store gives them ``seq`` and time), or a
``CommandError`` with a stable code says why nothing happened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from server.domain.errors import Code, CommandError
from server.domain.events import Draft
from server.domain.lot import Lot, parse_lot
from server.domain.roles import FULL_VIEW_ROLES, Principal, Role
from server.domain.signing import (
    SCHEME_ED25519,
    parse_signed,
    public_key_from_b64,
    verify_signature,
)
from server.domain.state import NEXT_PHASE, Phase, SessionState, cell_key

PLEDGE_ID = "evalroom-pledge-v1"  # the text of 承诺书 the seat page shows; its id is what is signed
MAX_COMMENT_CHARS = 2000
MAX_COMMAND_ID = 64
_DECIMAL = re.compile(r"^(0|[1-9][0-9]{0,6})(\.[0-9]{1,4})?$")
_COMMAND_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
SIGNED_TYPES = frozenset({"expert.sign_in", "score.set", "sheet.submit"})


@dataclass(frozen=True, slots=True)
class CreateSession:
    lot: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Enrol:
    """A seat enrols its public key; the one-time code was checked by the shell."""

    public_key: str  # base64 of the raw 32-byte Ed25519 public key


@dataclass(frozen=True, slots=True)
class SignedCommand:
    """An expert command carrying the exact bytes the expert signed."""

    type: str
    signed: str
    sig: str | None


@dataclass(frozen=True, slots=True)
class AdvancePhase:
    to: str


Command = CreateSession | Enrol | SignedCommand | AdvancePhase


def check_command_id(command_id: Any) -> str:
    """A client command id: 1..64 characters of ``[A-Za-z0-9_.:-]``."""
    if not isinstance(command_id, str) or not _COMMAND_ID.match(command_id):
        raise CommandError(Code.MALFORMED, "command id must be 1..64 chars of [A-Za-z0-9_.:-]")
    return command_id


def check_create(principal: Principal, command: CreateSession) -> list[Draft]:
    """Only an admin creates a session; the lot must be valid."""
    if principal.role is not Role.ADMIN:
        raise CommandError(Code.FORBIDDEN, "only an admin creates sessions")
    lot = parse_lot(command.lot)
    data = {"lot": dict(lot.raw), "seats": lot.seat_ids()}
    return [Draft("session.created", principal.actor, data)]


def _expert_seat(state: SessionState, principal: Principal) -> str:
    seat = principal.seat
    if seat is None:
        raise CommandError(Code.FORBIDDEN, f"a {principal.role} cannot do what only an expert does")
    if seat not in state.seats:
        raise CommandError(Code.UNKNOWN_SEAT, f"no seat {seat} in this session")
    return seat


def check_enrol(state: SessionState, principal: Principal, command: Enrol) -> list[Draft]:
    """A seat enrols exactly one key, before scoring starts."""
    seat = _expert_seat(state, principal)
    if state.phase not in (Phase.PREPARED, Phase.SIGN_IN):
        raise CommandError(Code.WRONG_PHASE, f"enrolment is closed in phase {state.phase}")
    if state.seats[seat].key is not None:
        raise CommandError(Code.ALREADY_ENROLLED, f"seat {seat} already has a key")
    public_key_from_b64(command.public_key)
    key = {"scheme": SCHEME_ED25519, "public": command.public_key}
    return [Draft("seat.enrolled", principal.actor, {"seat": seat, "key": key})]


def check_advance(state: SessionState, principal: Principal, command: AdvancePhase) -> list[Draft]:
    """Supervisors move the session forward one phase when it is ready."""
    if principal.role not in FULL_VIEW_ROLES or principal.role is Role.AUDITOR:
        raise CommandError(Code.FORBIDDEN, "only a supervisor or admin changes the phase")
    expected = NEXT_PHASE.get(state.phase)
    if expected is None or command.to != expected:
        raise CommandError(
            Code.WRONG_PHASE, f"phase {state.phase} can only move to {expected}", phase=state.phase
        )
    seats = state.seats.values()
    if expected is Phase.SCORING:
        missing = [s.seat for s in seats if not s.signed_in]
        if missing:
            raise CommandError(Code.PHASE_NOT_READY, "seats not signed in", seats=missing)
    if expected is Phase.REVIEW:
        missing = [s.seat for s in seats if not s.submitted]
        if missing:
            raise CommandError(Code.PHASE_NOT_READY, "sheets not submitted", seats=missing)
    data = {"from": str(state.phase), "to": str(expected)}
    return [Draft("phase.changed", principal.actor, data)]


def check_value(lot: Lot, bidder: Any, criterion: Any, value: Any) -> str:
    """A typed score: known bidder and criterion, a decimal string within range and on step."""
    if not isinstance(bidder, str) or lot.bidder(bidder) is None:
        raise CommandError(Code.UNKNOWN_BIDDER, f"no bidder {bidder!r} in this lot")
    found = lot.criterion(criterion) if isinstance(criterion, str) else None
    if found is None:
        raise CommandError(Code.UNKNOWN_CRITERION, f"no criterion {criterion!r} in this lot")
    if not found.typed:
        raise CommandError(Code.NOT_SCORABLE, f"{found.id} is {found.kind}: never typed")
    if not isinstance(value, str) or not _DECIMAL.match(value):
        raise CommandError(Code.MALFORMED, 'value must be a decimal string such as "7.5"')
    number = Decimal(value)
    if not found.min <= number <= found.max:
        raise CommandError(Code.OUT_OF_RANGE, f"{found.id} takes {found.min}..{found.max}")
    step = found.step or Decimal(1)  # typed criteria always have one (parse_lot)
    if (number - found.min) % step != 0:
        raise CommandError(Code.OFF_STEP, f"{found.id} moves in steps of {found.step}")
    return value


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


def _signed_draft(
    state: SessionState, seat: str, command: SignedCommand, body: dict[str, Any], raw: bytes
) -> Draft:
    actor = f"{Role.EXPERT}:{seat}"
    proof = {"signed": raw.decode("utf-8"), "sig": command.sig}
    seat_state = state.seats[seat]
    if command.type == "expert.sign_in":
        if state.phase is not Phase.SIGN_IN:
            raise CommandError(Code.WRONG_PHASE, f"sign-in is not open in phase {state.phase}")
        if seat_state.signed_in:
            raise CommandError(Code.ALREADY_SIGNED_IN, f"seat {seat} already signed in")
        if body.get("pledge") != PLEDGE_ID:
            raise CommandError(Code.MALFORMED, f"pledge must be {PLEDGE_ID!r}")
        data = {"seat": seat, "pledge": PLEDGE_ID, **proof}
        return Draft("expert.signed_in", actor, data)
    if state.phase is not Phase.SCORING:
        raise CommandError(Code.WRONG_PHASE, f"scoring is not open in phase {state.phase}")
    if not seat_state.signed_in:
        raise CommandError(Code.NOT_SIGNED_IN, f"seat {seat} has not signed in")
    if seat_state.submitted:
        raise CommandError(Code.SHEET_SUBMITTED, f"seat {seat} already submitted its sheet")
    if command.type == "sheet.submit":
        required = state.lot.typed_cells()
        have = state.cells[seat]
        missing = [cell_key(b, c) for b, c in required if cell_key(b, c) not in have]
        if missing:
            raise CommandError(Code.SHEET_INCOMPLETE, "empty cells", cells=missing[:20])
        return Draft("sheet.submitted", actor, {"seat": seat, "cells": len(required), **proof})
    value = check_value(state.lot, body.get("bidder"), body.get("criterion"), body.get("value"))
    criterion = state.lot.criterion(body["criterion"])
    comment = body.get("comment")
    if comment is not None and (not isinstance(comment, str) or len(comment) > MAX_COMMENT_CHARS):
        raise CommandError(Code.MALFORMED, f"comment must be text of at most {MAX_COMMENT_CHARS}")
    if criterion is not None and criterion.comment_required and not (comment or "").strip():
        raise CommandError(Code.COMMENT_REQUIRED, f"{criterion.id} needs a comment")
    data = {"seat": seat, "bidder": body["bidder"], "criterion": body["criterion"], "value": value}
    if comment is not None:
        data["comment"] = comment
    return Draft("score.set", actor, {**data, **proof})


def check_signed(
    state: SessionState, principal: Principal, command_id: str, command: SignedCommand
) -> list[Draft]:
    """An expert's signed command: the signature, its binding, then the command's own rules."""
    seat = _expert_seat(state, principal)
    if command.type not in SIGNED_TYPES:
        raise CommandError(Code.UNKNOWN_COMMAND, f"unknown signed command {command.type!r}")
    key = state.seats[seat].key
    if key is None:
        raise CommandError(Code.NOT_ENROLLED, f"seat {seat} has not enrolled a key")
    raw, body = parse_signed(command.signed)
    verify_signature(key, raw, command.sig)
    _check_binding(state, seat, command_id, command, body)
    return [_signed_draft(state, seat, command, body, raw)]


def decide(
    state: SessionState | None, principal: Principal, command_id: str, command: Command
) -> list[Draft]:
    """Check ``command`` from ``principal`` against ``state``; return the drafts to append."""
    check_command_id(command_id)
    if isinstance(command, CreateSession):
        if state is not None:
            raise CommandError(Code.MALFORMED, "session already exists")
        return check_create(principal, command)
    if state is None:
        raise CommandError(Code.UNKNOWN_SESSION, f"no session {principal.session}")
    if principal.session != state.session:
        raise CommandError(Code.FORBIDDEN, "token is for another session")
    if isinstance(command, Enrol):
        return check_enrol(state, principal, command)
    if isinstance(command, AdvancePhase):
        return check_advance(state, principal, command)
    return check_signed(state, principal, command_id, command)
