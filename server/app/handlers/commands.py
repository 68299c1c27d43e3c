"""Client commands: parsed from their envelope, routed, acknowledged after the commit."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from server.app.committer import Committer
from server.app.handlers.clarification import ClarificationHandler
from server.app.handlers.enrolment import EnrolmentHandler
from server.app.handlers.reports import ReportHandler
from server.app.sealer import Sealer
from server.domain.clarification import ReviewClarification
from server.domain.commands import (
    SIGNED_TYPES,
    AdvancePhase,
    Command,
    SignedCommand,
    check_command_id,
    staff_command,
)
from server.domain.errors import Code, CommandError
from server.domain.recovery import RecoverSeat
from server.domain.recusal import ReviewRecusal
from server.domain.roles import Principal
from server.domain.untrusted import check_untrusted

MAX_ENVELOPE_CHARS = 16_384


def parse_envelope(envelope: Any) -> tuple[str, Command]:
    """A client command ``{"id", "type", ...}`` as a domain command.

    Every value is bounded first (:func:`check_untrusted`): nothing a client sends reaches the
    committer's batch unless every store and signer accepts it.
    """
    if not isinstance(envelope, dict):
        raise CommandError(Code.MALFORMED, "a command is a JSON object")
    check_untrusted(envelope, "command")
    if sum(len(str(v)) for v in envelope.values()) > MAX_ENVELOPE_CHARS:
        raise CommandError(Code.TOO_LARGE, f"command over {MAX_ENVELOPE_CHARS} characters")
    command_id = check_command_id(envelope.get("id"))
    kind = envelope.get("type")
    staff = staff_command(kind, envelope)
    if staff is not None:
        return command_id, staff
    if isinstance(kind, str) and kind in SIGNED_TYPES:
        sig = envelope.get("sig")
        if sig is not None and not isinstance(sig, str):
            raise CommandError(Code.MALFORMED, "'sig' must be base64 text")
        return command_id, SignedCommand(kind, envelope.get("signed"), sig)  # type: ignore[arg-type]
    raise CommandError(Code.UNKNOWN_COMMAND, f"unknown command type {kind!r}")


class CommandHandler:
    """One client command at a time, through the committer."""

    def __init__(self, committer: Committer, reports: ReportHandler) -> None:
        self._committer = committer
        self._reports = reports
        self.sealer: Sealer | None = None  # set by the app: the close waits for the seal
        self.enrolment: EnrolmentHandler | None = None  # set by the service: seat recovery
        self.clarifications: ClarificationHandler | None = None  # set by the service

    async def command(self, principal: Principal, envelope: Any) -> dict[str, Any]:
        """Run one client command; the ack comes after the commit."""
        if isinstance(envelope, dict) and envelope.get("type") == "report.issue":
            return await self._reports.issue(principal, check_untrusted(envelope, "command"))
        command_id, command = parse_envelope(envelope)
        if isinstance(command, RecoverSeat) and self.enrolment is not None:
            return await self.enrolment.recover(principal, command_id, command)  # a new code too
        if isinstance(command, ReviewClarification) and command.approve and self.clarifications:
            return await self.clarifications.approve(principal, command_id, command)  # a token
        if isinstance(command, ReviewRecusal) and command.approve and self.enrolment is not None:
            return await self.enrolment.replace(principal, command_id, command)  # the new seat's
        if isinstance(command, SignedCommand) and command.type == "report.sign":
            ack = await self._committer.submit(principal, command_id, command)
            await self._reports.refresh(principal.session)
            return ack
        if isinstance(command, AdvancePhase) and command.to == "scoring":
            # The blind codes (暗标错位评审) need randomness; the shell draws it, the domain
            # stays pure. A resend of the same id gets its stored ack before the draw is
            # looked at, so only the first, committed draw ever matters.
            command = replace(command, draw=secrets.token_hex(16))
        ack = await self._committer.submit(principal, command_id, command)
        if isinstance(command, AdvancePhase) and command.to == "closed" and self.sealer:
            # The close ends the media room and seals the session before it is answered, so
            # an export right after the ack holds the seal (if media is slow, the ticks do it).
            sealed = await self.sealer.seal_closed(principal.session)
            if sealed is not None:
                ack = {**ack, "sealed": sealed}
        return ack
