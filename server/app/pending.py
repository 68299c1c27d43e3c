"""One command in the committer's queue, and deciding it alone against a projection.

Pure but for logging: ``check_one`` decides and seals one command without applying anything, so
a command that fails (even by a bug) fails alone and the batch it came in goes on.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from server.auditlog.canonical import CanonicalError
from server.domain.commands import Command, decide
from server.domain.errors import Code, CommandError
from server.domain.events import Event, seal
from server.domain.roles import Principal
from server.domain.state import SessionState
from server.store.log import StoredAck

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Committed:
    """A committed event and whether results were revealed once it applied."""

    event: Event
    revealed: bool


@dataclass
class Pending:
    principal: Principal
    command_id: str
    command: Command
    future: asyncio.Future[dict[str, Any]] = field(repr=False)
    digest: bytes = b""  # command_digest(command), compared with a stored ack's on a resend


def ack_for(events: list[Event]) -> dict[str, Any]:
    """The acknowledgement of a committed command: its last event's ``seq`` and hash."""
    last = events[-1]
    return {"ok": True, "seq": last.seq, "hash": last.hash.hex(), "count": len(events)}


def answer_resend(
    stored: StoredAck, command_id: str, digest: bytes
) -> dict[str, Any] | CommandError:
    """A command id already committed: its ack if the content is the same, else ``id_reused``."""
    if stored.digest is not None and stored.digest != digest:
        return CommandError(
            Code.ID_REUSED,
            f"command id {command_id} was committed with other content; use a new id",
            seq=stored.ack.get("seq"),
        )
    return stored.ack


def check_one(state: SessionState, pending: Pending, now: int) -> list[Event]:
    """Decide one command and seal its events, or raise a ``CommandError`` for it alone.

    Nothing is applied here, so a failure leaves the projection as it was and the batch goes on.
    Sealing is inside because it is where content that no canonical form accepts shows up.
    """
    principal, command_id = pending.principal, pending.command_id
    try:
        drafts = decide(state, principal, command_id, pending.command)
        return [
            seal(draft, principal.session, state.seq + 1 + n, now) for n, draft in enumerate(drafts)
        ]
    except CommandError:
        raise
    except (CanonicalError, UnicodeError) as exc:  # a client's content, not a server fault
        logger.info("command %s of %s refused: %s", command_id, principal.actor, exc)
        raise CommandError(Code.MALFORMED, f"content not accepted: {exc}") from None
    except Exception as exc:  # a bug: this command fails, not the batch it came in
        logger.exception("checking command %s of %s failed", command_id, principal.actor)
        raise CommandError(Code.INTERNAL, "the command could not be checked") from exc
