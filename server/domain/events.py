"""Events: the one source of truth. Every event is stored as canonical JSON bytes.

An event body is ``{"v", "session", "seq", "t", "type", "actor", "data"}``; ``t`` is milliseconds
since the Unix epoch (UTC), stamped by the shell and passed in, never read from a clock here.
The event hash is the RFC 6962 leaf hash of the body bytes, the same value the audit tree uses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.auditlog.canonical import canonical_bytes, parse_canonical

EVENT_VERSION = 1

# Every event type and the exact keys of its ``data`` (a key ending in "?" is optional).
# Tests check every emitted event against this table, like Zulip's per-event schemas.
EVENT_SCHEMAS: dict[str, frozenset[str]] = {
    "session.created": frozenset({"lot", "seats"}),
    "seat.enrolled": frozenset({"seat", "key"}),
    "phase.changed": frozenset({"from", "to"}),
    "expert.signed_in": frozenset({"seat", "pledge", "signed", "sig"}),
    # A blind criterion's score names the seat's code instead of the bidder (exactly one of them).
    "score.set": frozenset(
        {"seat", "bidder?", "code?", "criterion", "value", "comment?", "signed", "sig"}
    ),
    "sheet.submitted": frozenset({"seat", "cells", "signed", "sig"}),
    # Blind review: the draw committed at scoring start, and its logged reveal.
    "blind.assigned": frozenset({"seats", "criteria"}),
    # Closed by the chair's signed blind.close: the chair's seat and signature ride along.
    "blind.revealed": frozenset({"seats", "criteria", "seat?", "signed?", "sig?"}),
    # Committee decisions; every expert's proposal and vote carries its signature.
    "chair.voted": frozenset({"seat", "round", "candidate", "signed", "sig"}),
    "chair.round_ended": frozenset({"round", "tally"}),
    "chair.elected": frozenset({"seat", "round", "tally"}),
    "rejection.proposed": frozenset(
        {"proposal", "seat", "bidder", "ground", "reason", "signed", "sig"}
    ),
    "rejection.approved": frozenset({"proposal"}),
    "rejection.declined": frozenset({"proposal", "reason"}),
    "rejection.voted": frozenset({"proposal", "seat", "vote", "signed", "sig"}),
    "rejection.decided": frozenset({"proposal", "bidder", "ground", "outcome", "yes", "no"}),
    "time.requested": frozenset({"seat", "round", "reason?", "signed", "sig"}),
    "time.extended": frozenset({"round", "requests", "members"}),
    "flag.explained": frozenset({"seat", "bidder?", "code?", "criterion", "text", "signed", "sig"}),
    "report.issued": frozenset({"report", "content", "bytes", "font"}),
    "report.signed": frozenset({"seat", "report", "dissent?", "signed", "sig"}),
    # Access (server/domain/access.py): revoked tokens, a seat's enrolment back-off cleared.
    "tokens.revoked": frozenset({"role", "subject", "generation", "reason?"}),
    "enrolment.reset": frozenset({"seat", "reason?"}),
    # Pause and resume (server/domain/pause.py), by a supervisor.
    "session.paused": frozenset({"reason", "fault?"}),
    "session.resumed": frozenset({"reason?"}),
    # Expert conduct (server/domain/conduct.py), by a supervisor.
    "misconduct.recorded": frozenset({"misconduct", "seat", "category", "note", "evidence?"}),
    "expert.rated": frozenset({"seat", "rating", "note?"}),
    # The automated inspection (server/domain/inspection.py), by the node's inspector.
    "inspection.flagged": frozenset({"rule", "seat", "subject", "detail"}),
    # Seat recovery (server/domain/recovery.py): the old key revoked, by a supervisor.
    "seat.key_revoked": frozenset({"seat", "reason", "key", "enrolled"}),
    # Roll-back (server/domain/rollback.py): a request, a decision, the compensating events.
    "rollback.requested": frozenset(
        {"rollback", "kind", "seat?", "seats?", "to?", "reason", "signed?", "sig?"}
    ),
    "rollback.declined": frozenset({"rollback", "seat?", "reason"}),
    "sheet.reopened": frozenset({"rollback", "seat", "undone"}),
    "phase.rolled_back": frozenset({"rollback", "from", "to", "undone"}),
    # The fault rule (server/domain/faults.py) and the seal (server/domain/sealing.py).
    "fault.referred": frozenset({"rule", "deadline"}),
    "session.sealed": frozenset({"cause", "reason?", "rule?", "deadline?"}),
    # The expert draw (server/domain/draw_session.py): over a pool, shares committed then
    # revealed, the committee as commitments to identities.
    "draw.opened": frozenset({"pool", "name", "size", "rules", "participants"}),
    "draw.committed": frozenset({"participant", "commitment"}),
    "draw.revealed": frozenset({"participant", "share"}),
    "draw.made": frozenset({"seed", "members", "reserves"}),
    # Recusal and replacement (server/domain/recusal.py).
    "recusal.declared": frozenset({"recusal", "seat", "reason", "signed", "sig"}),
    "recusal.declined": frozenset({"recusal", "seat", "reason"}),
    "seat.replaced": frozenset(
        {"recusal", "seat", "by", "venue", "specialty?", "reserve?", "identity?"}
    ),
    # Clarification (server/domain/clarification.py).
    "clarification.drafted": frozenset(
        {"clarification", "seat", "bidder", "question", "signed", "sig"}
    ),
    "clarification.approved": frozenset({"clarification", "bidder"}),
    "clarification.declined": frozenset({"clarification", "reason"}),
    "clarification.answered": frozenset({"clarification", "bidder", "answer"}),
    # Expert fees (server/domain/fees.py), settled by the node with the seal after the close.
    "fees.computed": frozenset({"catalogue", "currency", "statements", "total"}),
    # Live media (server/domain/media.py), written by the node's media service.
    "media.joined": frozenset({"member", "publishes"}),
    "media.left": frozenset({"member", "reason"}),
    "media.state": frozenset({"member", "conn", "state"}),
    "media.muted": frozenset({"member", "kind", "muted"}),
    "media.alert": frozenset({"member", "kind", "dark_ms"}),
    "recording.closed": frozenset(
        {
            "seat",
            "track",
            "file",
            "codec",
            "sha256",
            "size",
            "packets",
            "keyframes",
            "start_ms",
            "end_ms",
            "clock_rate",
            "first_pts",
            "sender_reports",
            "gaps",
            "cut",
        }
    ),
}


def schema_problems(event_type: str, data: dict[str, Any]) -> list[str]:
    """What is wrong with ``data`` for ``event_type`` (empty when it matches its schema)."""
    schema = EVENT_SCHEMAS.get(event_type)
    if schema is None:
        return [f"unknown event type {event_type}"]
    required = {k for k in schema if not k.endswith("?")}
    allowed = required | {k[:-1] for k in schema if k.endswith("?")}
    problems = [f"missing {k}" for k in sorted(required - data.keys())]
    problems += [f"unexpected {k}" for k in sorted(data.keys() - allowed)]
    return problems


def event_hash(raw: bytes) -> bytes:
    """RFC 6962 leaf hash of the event bytes: SHA-256(0x00 || bytes)."""
    return hashlib.sha256(b"\x00" + raw).digest()


@dataclass(frozen=True, slots=True)
class Draft:
    """An event decided by the domain, before the store gives it a ``seq`` and a time."""

    type: str
    actor: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Event:
    """A committed event with its exact bytes and hash."""

    session: str
    seq: int
    time_ms: int
    type: str
    actor: str
    data: dict[str, Any]
    raw: bytes
    hash: bytes

    def to_json(self) -> dict[str, Any]:
        """The event as sent to a client allowed to see all of it (hash in hex)."""
        return {
            "v": EVENT_VERSION,
            "session": self.session,
            "seq": self.seq,
            "t": self.time_ms,
            "type": self.type,
            "actor": self.actor,
            "data": self.data,
            "hash": self.hash.hex(),
        }


def seal(draft: Draft, session: str, seq: int, time_ms: int) -> Event:
    """Give a draft its place in the log and compute its canonical bytes and hash."""
    body = {
        "v": EVENT_VERSION,
        "session": session,
        "seq": seq,
        "t": time_ms,
        "type": draft.type,
        "actor": draft.actor,
        "data": draft.data,
    }
    raw = canonical_bytes(body)
    return Event(session, seq, time_ms, draft.type, draft.actor, draft.data, raw, event_hash(raw))


def event_from_bytes(raw: bytes) -> Event:
    """Rebuild an event from its stored bytes (which must be canonical)."""
    body = parse_canonical(raw)
    return Event(
        session=body["session"],
        seq=body["seq"],
        time_ms=body["t"],
        type=body["type"],
        actor=body["actor"],
        data=body["data"],
        raw=raw,
        hash=event_hash(raw),
    )


# What a concept's module registers with ``decide`` (server/domain/commands.py): the check of
# each of its command types, ``(state, principal, command) -> drafts``, and the parser of each of
# its unsigned staff envelopes, ``envelope -> command``.
Check = Callable[..., list[Draft]]
StaffParser = Callable[[dict[str, Any]], object]
