"""The handler layer: parses and authorizes requests, then asks the committer or the store.

HTTP routes and socket.io handlers both call this; neither decides anything itself.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from server.app.committer import Committer
from server.app.report_desk import ReportDesk
from server.app.secrets import Secret
from server.app.tokens import MAX_CODE_ATTEMPTS, TokenMinter, new_code, new_session_id
from server.domain.commands import (
    SIGNED_TYPES,
    AdvancePhase,
    Command,
    CreateSession,
    Enrol,
    SignedCommand,
    check_command_id,
    staff_command,
)
from server.domain.errors import Code, CommandError
from server.domain.lot import parse_lot
from server.domain.report_signing import report_state_view
from server.domain.results_view import flags_view, results_view
from server.domain.roles import Principal, Role
from server.domain.signing import parse_signed, verify_signature
from server.domain.state import SessionState, state_from_json, state_to_json
from server.domain.views import Viewer, event_view, state_view
from server.store import audit, log

MAX_ENVELOPE_CHARS = 16_384
CATCH_UP_LIMIT = 5_000  # events sent in one answer; further behind gets a snapshot
LOGIN_SKEW_MS = 5 * 60 * 1000
SUPERVISORS_PER_SESSION = 2


def parse_envelope(envelope: Any) -> tuple[str, Command]:
    """A client command ``{"id", "type", ...}`` as a domain command."""
    if not isinstance(envelope, dict):
        raise CommandError(Code.MALFORMED, "a command is a JSON object")
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


class Service:
    """What the server can be asked to do."""

    def __init__(
        self,
        engine: AsyncEngine,
        committer: Committer,
        tokens: TokenMinter,
        admin_token: Secret,
        wall_ms: Callable[[], int] | None = None,
    ) -> None:
        self.engine = engine
        self.committer = committer
        self.tokens = tokens
        self.admin_token = admin_token
        self._wall_ms = wall_ms or (lambda: int(time.time() * 1000))
        self.desk: ReportDesk | None = None  # set by make_app: renders the evaluation report

    def now_s(self) -> int:
        """Wall-clock seconds, for token expiry."""
        return self._wall_ms() // 1000

    def admin_principal(self, bearer: str | None) -> Principal:
        """The admin, when ``bearer`` is this node's admin token."""
        expected = self.admin_token.reveal().encode()
        if bearer is None or not hmac.compare_digest(bearer.encode(), expected):
            raise CommandError(Code.UNAUTHENTICATED, "admin token required")
        return Principal(Role.ADMIN, "*", "admin")

    def authenticate(self, token: Any) -> Principal:
        """The principal behind a bearer token."""
        return self.tokens.check(token, self.now_s())

    async def create_session(self, admin: Principal, lot: Any) -> dict[str, Any]:
        """Create a session; returns one-time enrolment codes and the other roles' tokens."""
        if admin.role is not Role.ADMIN:
            raise CommandError(Code.FORBIDDEN, "only an admin creates sessions")
        seats = parse_lot(lot).seat_ids()
        session = new_session_id()
        codes = {seat: new_code() for seat in seats}
        hashes = {seat: self.tokens.code_hash(session, seat, code) for seat, code in codes.items()}
        creator = Principal(Role.ADMIN, session, admin.subject)
        first = await self.committer.create_session(creator, CreateSession(lot), hashes)
        now = self.now_s()
        staff = {
            "supervisor": [
                self.tokens.issue(Principal(Role.SUPERVISOR, session, f"sup-{n}"), now)
                for n in range(1, SUPERVISORS_PER_SESSION + 1)
            ],
            "auditor": self.tokens.issue(Principal(Role.AUDITOR, session, "auditor"), now),
            "public": self.tokens.issue(Principal(Role.PUBLIC, session, "screen"), now),
        }
        return {"session": session, "seq": first.seq, "seats": seats, "codes": codes, **staff}

    async def enrol(self, session: str, seat: Any, code: Any, public_key: Any) -> dict[str, Any]:
        """Check a seat's one-time code, append its key, and hand out the seat's token."""
        if not isinstance(seat, str) or not isinstance(code, str):
            raise CommandError(Code.MALFORMED, "seat and code are required")
        async with self.engine.begin() as conn:
            stored = await log.code_hash_txn(conn, session, seat)
            if stored is None:
                raise CommandError(Code.UNKNOWN_SEAT, f"no seat {seat} in session {session}")
            digest, attempts = stored
            if attempts >= MAX_CODE_ATTEMPTS:
                raise CommandError(Code.BAD_CODE, "too many wrong codes; ask the host for help")
            wrong = not hmac.compare_digest(digest, self.tokens.code_hash(session, seat, code))
            if wrong:
                await log.count_failed_code_txn(conn, session, seat)
        if wrong:  # raised after the commit, so the failed attempt is counted
            raise CommandError(Code.BAD_CODE, "wrong enrolment code")
        principal = Principal(Role.EXPERT, session, seat)
        if not isinstance(public_key, str):
            raise CommandError(Code.MALFORMED, "public_key must be base64 text")
        # The id names the key: resending the same enrolment is idempotent, while a second
        # enrolment with another key is a new command and is refused as already_enrolled.
        key_id = hashlib.sha256(public_key.encode()).hexdigest()[:16]
        ack = await self.committer.submit(principal, f"enrol-{key_id}", Enrol(public_key))
        return {**ack, "token": self.tokens.issue(principal, self.now_s())}

    async def login(self, session: str, seat: Any, signed: Any, sig: Any) -> dict[str, Any]:
        """A new token for an enrolled seat that proves it holds the seat key."""
        state = await self._state(session)
        if not isinstance(seat, str) or seat not in state.seats:
            raise CommandError(Code.UNKNOWN_SEAT, f"no seat {seat!r}")
        key = state.seats[seat].key
        if key is None:
            raise CommandError(Code.NOT_ENROLLED, f"seat {seat} has not enrolled a key")
        raw, body = parse_signed(signed)
        verify_signature(key, raw, sig)
        want = {"type": "seat.login", "session": session, "seat": seat}
        if any(body.get(k) != v for k, v in want.items()):
            raise CommandError(Code.PAYLOAD_MISMATCH, "login payload is for something else")
        client_t = body.get("t")
        if not isinstance(client_t, int) or abs(client_t - self._wall_ms()) > LOGIN_SKEW_MS:
            raise CommandError(Code.PAYLOAD_MISMATCH, "login time is not within 5 minutes of now")
        principal = Principal(Role.EXPERT, session, seat)
        return {"token": self.tokens.issue(principal, self.now_s())}

    async def command(self, principal: Principal, envelope: Any) -> dict[str, Any]:
        """Run one client command; the ack comes after the commit."""
        if isinstance(envelope, dict) and envelope.get("type") == "report.issue":
            return await self._issue_report(principal, envelope)
        command_id, command = parse_envelope(envelope)
        if isinstance(command, SignedCommand) and command.type == "report.sign":
            ack = await self.committer.submit(principal, command_id, command)
            await self._refresh_report(principal.session)
            return ack
        if isinstance(command, AdvancePhase) and command.to == "scoring":
            # The blind codes (暗标错位评审) need randomness; the shell draws it, the domain
            # stays pure. A resend of the same id gets its stored ack before the draw is
            # looked at, so only the first, committed draw ever matters.
            command = replace(command, draw=secrets.token_hex(16))
        return await self.committer.submit(principal, command_id, command)

    async def _issue_report(self, principal: Principal, envelope: dict[str, Any]) -> dict[str, Any]:
        """Render the report from the log, keep its files, then issue its hashes (an event)."""
        command_id = check_command_id(envelope.get("id"))
        if principal.role not in (Role.SUPERVISOR, Role.ADMIN):
            raise CommandError(Code.FORBIDDEN, "only a supervisor or admin issues the report")
        if self.desk is None:
            raise CommandError(Code.REPORT_NOT_READY, "this node renders no reports")
        state = await self._frozen_state(principal.session)
        async with self.engine.connect() as conn:
            root = (await audit.load_tree_txn(conn, state.session, state.seq)).root()
        issue = await self.desk.render(state, self._wall_ms(), root)
        ack = await self.committer.submit(principal, command_id, issue)
        await self._refresh_report(principal.session)
        return {**ack, "report": issue.report, "content": issue.content}

    async def _refresh_report(self, session: str) -> None:
        if self.desk is not None:
            await self.desk.refresh_signed(await self._frozen_state(session))

    async def report(self, principal: Principal) -> dict[str, Any]:
        """The issued report's hashes and who signed (members, staff; not the public screen)."""
        if principal.role is Role.PUBLIC:
            raise CommandError(Code.FORBIDDEN, "the public screen does not see the report")
        return {"report": report_state_view(await self._state(principal.session))}

    async def _state(self, session: str) -> SessionState:
        state = await self.committer.current_state(session)
        if state is None:
            raise CommandError(Code.UNKNOWN_SESSION, f"no session {session}")
        return state

    async def _frozen_state(self, session: str) -> SessionState:
        """A private copy of the projection, for work that awaits while using it.

        The committer moves its cached projection on in place (even for a batch whose commit
        then fails), so a reader that awaits between uses (a report rendered against the tree
        root read before) would otherwise mix two heads.
        """
        return state_from_json(state_to_json(await self._state(session)))

    async def catch_up(self, principal: Principal, after: Any) -> dict[str, Any]:
        """Events after ``after`` as this principal may see them, or a snapshot when far behind."""
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise CommandError(Code.MALFORMED, "'after' must be a non-negative integer seq")
        state = await self._state(principal.session)
        viewer = Viewer.of(principal)
        if state.seq - after > CATCH_UP_LIMIT:
            return {"head": state.seq, "snapshot": state_view(state, viewer), "events": []}
        async with self.engine.connect() as conn:
            page = await log.read_after_txn(conn, principal.session, after, CATCH_UP_LIMIT)
        revealed = state.revealed
        views = [event_view(e, viewer, revealed) for e in page.events]
        return {"head": page.head, "events": views, "limited": page.limited}

    async def results(self, principal: Principal) -> dict[str, Any]:
        """Results and flags as this principal may see them (``None`` where it may not)."""
        state = await self._state(principal.session)
        viewer = Viewer.of(principal)
        return {
            "seq": state.seq,
            "results": results_view(state, viewer),
            "flags": flags_view(state, viewer),
        }

    async def snapshot(self, principal: Principal) -> dict[str, Any]:
        """The current state as this principal may see it."""
        state = await self._state(principal.session)
        return state_view(state, Viewer.of(principal))
