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
    committee_chair,
    committee_rejection,
    committee_time,
    conduct,
    faults,
    inspection,
    media,
    pause,
    recovery,
    report_signing,
    rollback,
    scoring,
    sealing,
)
from server.domain.blind import assigned_draft, blind_criteria, revealed_draft
from server.domain.errors import Code, CommandError
from server.domain.events import Draft
from server.domain.lot import parse_lot
from server.domain.roles import FULL_VIEW_ROLES, Principal, Role
from server.domain.scoring import MAX_COMMENT_CHARS, PLEDGE_ID, check_value
from server.domain.signing import (
    SCHEME_ED25519,
    parse_signed,
    public_key_from_b64,
    verify_signature,
)
from server.domain.state import NEXT_PHASE, Phase, SessionState

__all__ = ["MAX_COMMENT_CHARS", "PLEDGE_ID", "check_value"]  # re-exported for older imports

MAX_COMMAND_ID = 64
_COMMAND_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

Handler = Callable[[SessionState, str, dict[str, Any], dict[str, Any]], list[Draft]]


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
)


def staff_command(kind: Any, envelope: dict[str, Any]) -> Command | None:
    """The unsigned staff command an envelope ``{"id", "type", ...}`` stands for, if any."""
    if kind == "phase.advance":
        return AdvancePhase(str(envelope.get("to")))
    if kind in ("rejection.approve", "rejection.decline"):
        reason = envelope.get("reason")
        return ReviewRejection(
            str(envelope.get("proposal")),
            kind == "rejection.approve",
            reason if isinstance(reason, str) else None,
        )
    if kind == "blind.close" and "signed" not in envelope:
        return CloseBlind()
    if kind == "enrolment.reset":
        reason = envelope.get("reason")
        return access.ResetEnrolment(envelope.get("seat", ""), reason)
    if kind == "session.pause":
        # checked by check_pause
        return pause.PauseSession(envelope.get("reason"), envelope.get("fault", False))
    if kind == "session.resume":
        return pause.ResumeSession(envelope.get("reason"))
    if kind == "phase.rollback":
        return rollback.PhaseRollback(envelope.get("reason"), envelope.get("seats"))
    if kind in ("rollback.approve", "rollback.decline"):
        approve = kind == "rollback.approve"
        return rollback.ReviewRollback(envelope.get("rollback"), approve, envelope.get("reason"))
    if kind == "misconduct.record":
        fields = ("seat", "category", "note", "evidence")
        return conduct.RecordMisconduct(*(envelope.get(k) for k in fields))
    if kind == "expert.rate":
        return conduct.RateExpert(*(envelope.get(k) for k in ("seat", "rating", "note")))
    if kind == "seat.recover":  # the shell hands out the new code (server/app/handlers)
        return recovery.RecoverSeat(envelope.get("seat"), envelope.get("reason"))
    if kind == "session.seal":  # the tenderer's decision on a referred fault, by the admin
        return sealing.SealSession("tenderer", envelope.get("reason"))
    return None


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
    """A seat enrols one key before scoring starts, or a new one after its recovery."""
    seat = _expert_seat(state, principal)
    early = state.phase in (Phase.PREPARED, Phase.SIGN_IN)
    if not early and not (recovery.recovering(state, seat) and state.phase is not Phase.CLOSED):
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
    seat = _expert_seat(state, principal)
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
    if isinstance(command, sealing.SealSession):
        return sealing.check_seal(state, principal, command)
    if isinstance(command, faults.FaultTimer):
        return faults.check_timer(state, principal, command)
    if isinstance(command, Enrol):
        return check_enrol(state, principal, command)
    if isinstance(command, pause.PauseSession):
        return pause.check_pause(state, principal, command)
    if isinstance(command, pause.ResumeSession):
        return pause.check_resume(state, principal, command)
    if isinstance(command, media.MediaRecord):
        return media.check_media(state, principal, command)
    if isinstance(command, access.RevokeTokens):
        return access.check_revoke(state, principal, command)
    if isinstance(command, access.ResetEnrolment):
        return access.check_reset(state, principal, command)
    if isinstance(command, recovery.RecoverSeat):  # a failed device: also while paused
        return recovery.check_recover(state, principal, command)
    if isinstance(command, conduct.RecordMisconduct):  # what happened, also while paused
        return conduct.check_record(state, principal, command)
    if isinstance(command, conduct.RateExpert):
        return conduct.check_rate(state, principal, command)
    if isinstance(command, inspection.InspectionFlag):  # a record of what happened
        return inspection.check_flag(state, principal, command)
    # Everything below moves the evaluation on: nothing of it while it is paused.
    pause.refuse_while_paused(state)
    if isinstance(command, AdvancePhase):
        return check_advance(state, principal, command)
    if isinstance(command, ReviewRejection):
        return check_review_rejection(state, principal, command)
    if isinstance(command, CloseBlind):
        return check_close_blind(state, principal)
    if isinstance(command, report_signing.IssueReport):
        return report_signing.check_issue(state, principal, command)
    if isinstance(command, rollback.PhaseRollback):
        return rollback.check_phase_rollback(state, principal, command)
    if isinstance(command, rollback.ReviewRollback):
        return rollback.check_review(state, principal, command)
    return check_signed(state, principal, command_id, command)
