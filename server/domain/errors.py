"""Typed errors with stable codes; they become HTTP or socket.io errors only at the boundary."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Code(StrEnum):
    """Stable error codes; clients switch on these, never on the message."""

    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    UNAUTHENTICATED = "unauthenticated"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 - an error code, not a password
    TOKEN_REVOKED = "token_revoked"  # noqa: S105 - an error code, not a password
    FORBIDDEN = "forbidden"
    UNKNOWN_SESSION = "unknown_session"
    UNKNOWN_SEAT = "unknown_seat"
    UNKNOWN_BIDDER = "unknown_bidder"
    UNKNOWN_CRITERION = "unknown_criterion"
    UNKNOWN_COMMAND = "unknown_command"
    BAD_CODE = "bad_enrolment_code"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    RATE_LIMITED = "rate_limited"
    REQUEST_TIMEOUT = "request_timeout"
    TOO_MANY_CONNECTIONS = "too_many_connections"
    ALREADY_ENROLLED = "already_enrolled"
    NOT_ENROLLED = "not_enrolled"
    BAD_KEY = "bad_key"
    BAD_SIGNATURE = "bad_signature"
    PAYLOAD_MISMATCH = "payload_mismatch"
    WRONG_PHASE = "wrong_phase"
    NOT_SIGNED_IN = "not_signed_in"
    ALREADY_SIGNED_IN = "already_signed_in"
    NOT_SCORABLE = "not_scorable"
    OUT_OF_RANGE = "out_of_range"
    OFF_STEP = "off_step"
    COMMENT_REQUIRED = "comment_required"
    SHEET_SUBMITTED = "sheet_submitted"
    SHEET_INCOMPLETE = "sheet_incomplete"
    PHASE_NOT_READY = "phase_not_ready"
    BAD_LOT = "bad_lot"
    BLIND_CODE_REQUIRED = "blind_code_required"
    BLIND_CLOSED = "blind_closed"
    BLIND_NOT_ASSIGNED = "blind_not_assigned"
    NOT_CHAIR = "not_chair"
    CHAIR_ELECTED = "chair_elected"
    ALREADY_VOTED = "already_voted"
    ALREADY_RATED = "already_rated"
    UNKNOWN_PROPOSAL = "unknown_proposal"
    PROPOSAL_CLOSED = "proposal_closed"
    NOT_APPROVED = "not_approved"
    UNKNOWN_GROUND = "unknown_ground"
    REASON_REQUIRED = "reason_required"
    ALREADY_REJECTED = "already_rejected"
    ALREADY_REQUESTED = "already_requested"
    NOT_FLAGGED = "not_flagged"
    REPORT_NOT_READY = "report_not_ready"
    REPORT_ISSUED = "report_issued"
    NO_REPORT = "no_report"
    PAUSED = "paused"
    NOT_PAUSED = "not_paused"
    SEALED = "sealed"  # the session is sealed (封存): nothing but an export
    NOT_SUBMITTED = "not_submitted"  # a roll-back of a sheet that is not submitted
    UNKNOWN_ROLLBACK = "unknown_rollback"
    NOT_DUE = "not_due"  # a fault rule's deadline has not passed (or there is none)
    STALE_REPORT = "stale_report"
    # The expert draw (server/domain/draw.py, draw_session.py)
    POOL_TOO_SMALL = "pool_too_small"  # a specialty has fewer eligible experts than it needs
    NOT_PARTICIPANT = "not_participant"  # this principal holds no share of the draw
    NO_DRAW = "no_draw"  # no draw is open
    ALREADY_COMMITTED = "already_committed"
    BAD_REVEAL = "bad_reveal"  # the share does not match its commitment
    DRAW_NOT_READY = "draw_not_ready"  # reveals before every commitment, or a draw not revealed
    DRAW_MADE = "draw_made"  # the draw is made: nothing about it changes any more
    UNKNOWN_RECUSAL = "unknown_recusal"
    UNKNOWN_CLARIFICATION = "unknown_clarification"
    ALREADY_ANSWERED = "already_answered"
    NO_RESERVE = "no_reserve"  # no reserve of the recused member's specialty is left
    ALREADY_SIGNED = "already_signed"
    ID_REUSED = "id_reused"  # a command id already committed with other content
    BAD_ORIGIN = "bad_origin"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    INTERNAL = "internal"


class CommandError(Exception):
    """A command was refused; nothing was stored."""

    def __init__(self, code: Code, message: str, **details: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details

    def detached(self) -> CommandError:
        """This refusal without the frames it was raised through (its traceback and the
        exception it replaced): kept for a later answer, or answered, it would otherwise hold
        those frames, and everything they refer to, in a reference cycle until the next full
        collection. A refusal is a client's answer, not a bug to trace."""
        self.__traceback__ = None
        self.__context__ = None
        self.__cause__ = None
        return self

    def to_json(self) -> dict[str, Any]:
        """The error as sent to clients."""
        body: dict[str, Any] = {"code": str(self.code), "message": self.message}
        if self.details:
            body["details"] = self.details
        return body
