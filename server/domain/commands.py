"""Commands: checked against the current projection, they become events or a typed error.

``decide`` is the single entry point. It is pure: the state, the authenticated principal and the
command come in, drafts of events come out (the store gives them ``seq`` and time), or a
``CommandError`` with a stable code says why nothing happened.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from server.domain import (
    access,
    clarification,
    committee_rejection,
    conduct,
    draw_session,
    faults,
    fees,
    inspection,
    media,
    pause,
    recovery,
    recusal,
    report_signing,
    rollback,
    sealing,
)
from server.domain.blind import assigned_draft, blind_criteria, revealed_draft
from server.domain.errors import Code, CommandError
from server.domain.events import Check, Draft
from server.domain.lot import parse_lot
from server.domain.roles import FULL_VIEW_ROLES, Principal, Role
from server.domain.scoring import MAX_COMMENT_CHARS, PLEDGE_ID, check_value
from server.domain.signed_commands import (
    SIGNED_HANDLERS,
    SIGNED_TYPES,
    SignedCommand,
    check_signed,
    expert_seat,
)
from server.domain.signing import SCHEME_ED25519, public_key_from_b64
from server.domain.state import NEXT_PHASE, Phase, SessionState

# Re-exported for older imports.
__all__ = [
    "MAX_COMMENT_CHARS",
    "PLEDGE_ID",
    "SIGNED_HANDLERS",
    "SIGNED_TYPES",
    "SignedCommand",
    "check_value",
]

MAX_COMMAND_ID = 64
_COMMAND_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass(frozen=True, slots=True)
class CreateSession:
    lot: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Enrol:
    """A seat enrols its public key; the one-time code was checked by the shell."""

    public_key: str  # base64 of the raw 32-byte Ed25519 public key


@dataclass(frozen=True, slots=True)
class AdvancePhase:
    """Move to the next phase. ``draw`` is the shell's random draw (hex) for the blind codes,
    used when moving to scoring a lot with blind criteria (see :mod:`server.domain.blind`)."""

    to: str
    draw: str | None = None


@dataclass(frozen=True, slots=True)
class ReviewRejection:
    """The supervisor approves a rejection proposal for the vote, or declines it."""

    proposal: str
    approve: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class CloseBlind:
    """A supervisor closes the blind part and reveals the codes (the chair signs it instead)."""


Command = (
    CreateSession
    | Enrol
    | SignedCommand
    | AdvancePhase
    | ReviewRejection
    | CloseBlind
    | report_signing.IssueReport
    | media.MediaRecord
    | access.RevokeTokens
    | access.ResetEnrolment
    | pause.PauseSession
    | pause.ResumeSession
    | faults.FaultTimer
    | sealing.SealSession
    | rollback.PhaseRollback
    | rollback.ReviewRollback
    | recovery.RecoverSeat
    | conduct.RecordMisconduct
    | conduct.RateExpert
    | inspection.InspectionFlag
    | inspection.ConnectionsSeen
    | draw_session.OpenDraw
    | draw_session.CommitShare
    | draw_session.RevealShare
    | draw_session.MakeDraw
    | recusal.ReviewRecusal
    | clarification.ReviewClarification
    | clarification.AnswerClarification
)


def _review_rejection(approve: bool) -> Callable[[dict[str, Any]], Command]:
    def parse(envelope: dict[str, Any]) -> Command:
        reason = envelope.get("reason")
        text = reason if isinstance(reason, str) else None
        return ReviewRejection(str(envelope.get("proposal")), approve, text)

    return parse


# Unsigned staff commands by envelope type; a concept adds its own from its module.
STAFF_COMMANDS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "phase.advance": lambda e: AdvancePhase(str(e.get("to"))),
    "rejection.approve": _review_rejection(True),
    "rejection.decline": _review_rejection(False),
    **access.STAFF_COMMANDS,
    **pause.STAFF_COMMANDS,
    **sealing.STAFF_COMMANDS,
    **rollback.STAFF_COMMANDS,
    **recovery.STAFF_COMMANDS,
    **conduct.STAFF_COMMANDS,
    **draw_session.STAFF_COMMANDS,
    **recusal.STAFF_COMMANDS,
    **clarification.STAFF_COMMANDS,
}


def staff_command(kind: Any, envelope: dict[str, Any]) -> Command | None:
    """The unsigned staff command an envelope ``{"id", "type", ...}`` stands for, if any."""
    if kind == "blind.close" and "signed" not in envelope:  # the chair's is signed
        return CloseBlind()
    parse = STAFF_COMMANDS.get(kind) if isinstance(kind, str) else None
    command: Command | None = parse(envelope) if parse is not None else None
    return command


def command_digest(command: Command) -> bytes:
    """SHA-256 of what the sender put in ``command``; a resend under the same id must match it.

    Parts the shell adds are left out, since a resend gets them anew: the blind draw of a move
    to scoring and the report rendered for ``report.issue``. A signed command is its signed
    text (an Ed25519 signature is a function of the text and the seat's key).
    """
    content: dict[str, Any]
    if isinstance(command, AdvancePhase):
        content = {"to": command.to}
    elif isinstance(command, report_signing.IssueReport | faults.FaultTimer):
        content = {}  # the rendering; the timer's reading of the clock
    elif isinstance(command, draw_session.OpenDraw | draw_session.MakeDraw):
        content = {"pool": command.pool.hash}  # the pool by its hash, not its 10,000 experts
        if isinstance(command, draw_session.OpenDraw):
            content["rules"] = command.rules
    elif isinstance(command, SignedCommand):
        content = {"type": command.type, "signed": command.signed}
    else:
        content = asdict(command)
    # ASCII escapes: any string hashes, even one a later check refuses.
    text = json.dumps(
        {"kind": type(command).__name__, **content}, sort_keys=True, ensure_ascii=True, default=str
    )
    return hashlib.sha256(text.encode("ascii")).digest()


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
    if "fees" in lot.raw:  # a catalogue that cannot pay would only fail at the seal
        fees.parse_catalogue(lot.raw["fees"], [v.id for v in lot.venues])
    data = {"lot": dict(lot.raw), "seats": lot.seat_ids()}
    return [Draft("session.created", principal.actor, data)]


def check_enrol(state: SessionState, principal: Principal, command: Enrol) -> list[Draft]:
    """A seat enrols one key before scoring starts, a new one after its recovery, or its first
    when it replaced a recused member (server/domain/recusal.py)."""
    seat = expert_seat(state, principal)
    early = state.phase in (Phase.PREPARED, Phase.SIGN_IN)
    late = recovery.recovering(state, seat) or state.joined_late(seat)
    if not early and not (late and state.phase is not Phase.CLOSED):
        raise CommandError(Code.WRONG_PHASE, f"enrolment is closed in phase {state.phase}")
    if state.seats[seat].key is not None:
        raise CommandError(Code.ALREADY_ENROLLED, f"seat {seat} already has a key")
    public_key_from_b64(command.public_key)
    key = {"scheme": SCHEME_ED25519, "public": command.public_key}
    return [Draft("seat.enrolled", principal.actor, {"seat": seat, "key": key})]


def _staff(principal: Principal) -> None:
    if principal.role not in FULL_VIEW_ROLES or principal.role is Role.AUDITOR:
        raise CommandError(Code.FORBIDDEN, "only a supervisor or admin does this")


def check_advance(state: SessionState, principal: Principal, command: AdvancePhase) -> list[Draft]:
    """Supervisors move the session forward one phase when it is ready.

    Moving to scoring commits the blind draw when the lot has blind criteria and the shell
    drew one; moving to review reveals the blind codes first if nobody closed the blind part.
    Objective mismatches do not block a phase: they stay flagged, the bidders concerned have no
    total (and there is no ranking) until the experts agree, which they may do in review.
    """
    _staff(principal)
    expected = NEXT_PHASE.get(state.phase)
    if expected is None or command.to != expected:
        raise CommandError(
            Code.WRONG_PHASE, f"phase {state.phase} can only move to {expected}", phase=state.phase
        )
    seats = state.seats.values()
    if expected is Phase.SIGN_IN:
        draw_session.refuse_unfinished_draw(state)
    if expected is Phase.SCORING:
        missing = [s.seat for s in seats if not s.signed_in]
        if missing:
            raise CommandError(Code.PHASE_NOT_READY, "seats not signed in", seats=missing)
    if expected is Phase.REVIEW:
        missing = [s.seat for s in seats if not s.submitted]
        if missing:
            raise CommandError(Code.PHASE_NOT_READY, "sheets not submitted", seats=missing)
    drafts = []
    if expected is Phase.REVIEW and state.blind_open:
        drafts.append(revealed_draft(state, principal.actor))
    data = {"from": str(state.phase), "to": str(expected)}
    drafts.append(Draft("phase.changed", principal.actor, data))
    if expected is Phase.SCORING and command.draw is not None and blind_criteria(state.lot):
        drafts.append(assigned_draft(state, principal.actor, command.draw))
    return drafts


def check_review_rejection(
    state: SessionState, principal: Principal, command: ReviewRejection
) -> list[Draft]:
    """Only a supervisor approves or declines a rejection proposal (not an admin)."""
    if principal.role is not Role.SUPERVISOR:
        raise CommandError(Code.FORBIDDEN, "only a supervisor approves rejection proposals")
    return committee_rejection.check_review_rejection(
        state, principal.actor, command.proposal, command.approve, command.reason
    )


def check_close_blind(state: SessionState, principal: Principal) -> list[Draft]:
    """A supervisor closes the blind part (the chair does it with a signed ``blind.close``)."""
    _staff(principal)
    if state.phase is not Phase.SCORING:
        raise CommandError(Code.WRONG_PHASE, f"no blind part to close in phase {state.phase}")
    return [revealed_draft(state, principal.actor)]


# Commands decided also while paused: what keeps the session on the record (enrolment, media
# facts, access, a device replaced, conduct, inspection), the pause itself, the node's timer.
KEEPS_THE_RECORD: dict[type, Check] = {
    Enrol: check_enrol,
    **sealing.CHECKS,
    **faults.CHECKS,
    **pause.CHECKS,
    **media.CHECKS,
    **access.CHECKS,
    **recovery.CHECKS,
    **conduct.CHECKS,
    **inspection.CHECKS,
    clarification.AnswerClarification: clarification.check_answer,  # from outside: recorded
}
# Staff commands that move the evaluation on (refused while paused); signed commands follow.
MOVES_ON: dict[type, Check] = {
    AdvancePhase: check_advance,
    ReviewRejection: check_review_rejection,
    CloseBlind: lambda state, principal, _command: check_close_blind(state, principal),
    **report_signing.CHECKS,
    **rollback.CHECKS,
    **draw_session.CHECKS,
    **recusal.CHECKS,
    clarification.ReviewClarification: clarification.check_review,
}


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
    sealing.refuse_if_sealed(state)  # a sealed session takes nothing more
    check = KEEPS_THE_RECORD.get(type(command))
    if check is not None:
        return check(state, principal, command)
    pause.refuse_while_paused(state)  # nothing that moves the evaluation on while paused
    check = MOVES_ON.get(type(command))
    if check is not None:
        return check(state, principal, command)
    if not isinstance(command, SignedCommand):
        raise CommandError(Code.UNKNOWN_COMMAND, f"no rule decides {type(command).__name__}")
    return check_signed(state, principal, command_id, command)
