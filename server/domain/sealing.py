"""The seal (封存): the event after which a session takes nothing more, only exports.

A session is sealed for one of three causes:

- ``closed``: after the close, once the node has ended the media room and logged every
  recording (the shell's sealer). An archive can then prove that nothing came after: the seal is
  the log's last event, under the final signed checkpoint (``server.auditlog.verify_closure``).
- ``fault``: the fault rule's deadline passed during evaluation (:mod:`server.domain.faults`).
- ``tenderer``: a fault before the start went to the tenderer, who decided to stop; the admin
  records that decision with its reason.

Once sealed every command is refused with ``sealed``: scores, staff steps, media facts, access
changes, even a resume. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.domain.committee import text_of
from server.domain.errors import Code, CommandError
from server.domain.events import Check, Draft, Event, StaffParser
from server.domain.fees import computed_draft
from server.domain.roles import Principal, Role, require
from server.domain.state import Phase, Seal, SessionState

CAUSES = frozenset({"closed", "fault", "tenderer"})
MAX_REASON = 500


@dataclass(frozen=True, slots=True)
class SealSession:
    """Seal the session: ``closed`` by the node, ``tenderer`` by the admin (with a reason)."""

    cause: str
    reason: Any = None


def check_seal(state: SessionState, principal: Principal, command: SealSession) -> list[Draft]:
    """The close's seal by the node, or the tenderer's decision on a referred fault."""
    if command.cause == "closed":
        require(principal, Role.NODE, "only the node seals a closed session")
        if state.phase is not Phase.CLOSED:
            raise CommandError(Code.WRONG_PHASE, "the session is not closed")
        fees = computed_draft(state, principal.actor)  # settled with the seal, when a catalogue
        sealed = Draft("session.sealed", principal.actor, {"cause": "closed"})
        return [sealed] if fees is None else [fees, sealed]
    if command.cause == "tenderer":
        require(principal, Role.ADMIN, "only the admin records the tenderer's decision")
        if state.paused is None or state.paused.referred_ms is None:
            raise CommandError(Code.NOT_DUE, "no fault has been referred to the tenderer")
        reason = text_of({"reason": command.reason}, "reason", True, MAX_REASON)
        return [Draft("session.sealed", principal.actor, {"cause": "tenderer", "reason": reason})]
    raise CommandError(
        Code.MALFORMED, f"a seal's cause is closed or tenderer, not {command.cause!r}"
    )


def refuse_if_sealed(state: SessionState) -> None:
    """Raise ``sealed`` once the session is sealed (the first check of every command)."""
    if state.sealed is not None:
        raise CommandError(
            Code.SEALED, f"the session is sealed ({state.sealed.cause}): nothing but an export"
        )


def _sealed(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.sealed = Seal(data["cause"], event.time_ms, event.seq)


def _fees(state: SessionState, data: dict[str, Any], event: Event) -> None:
    state.fees = {**data, "seq": event.seq}


SEAL_FOLDS = {"session.sealed": _sealed, "fees.computed": _fees}


CHECKS: dict[type, Check] = {SealSession: check_seal}
# The tenderer's decision on a referred fault (the admin, POST …/seal); the node seals itself.
STAFF_COMMANDS: dict[str, StaffParser] = {
    "session.seal": lambda e: SealSession("tenderer", e.get("reason"))
}
