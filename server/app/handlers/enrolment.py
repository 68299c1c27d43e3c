"""A seat enrols its key with its one-time code, and later proves it holds that key to log in."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from server.app.committer import Committer
from server.app.handlers.auth import AuthHandler
from server.app.handlers.reading import ReadHandler
from server.app.tokens import MAX_CODE_ATTEMPTS
from server.domain.commands import Enrol
from server.domain.errors import Code, CommandError
from server.domain.roles import Principal, Role
from server.domain.signing import parse_signed, verify_signature
from server.store import log

LOGIN_SKEW_MS = 5 * 60 * 1000


class EnrolmentHandler:
    """Enrolment codes and signed logins."""

    def __init__(self, committer: Committer, auth: AuthHandler, read: ReadHandler) -> None:
        self._committer = committer
        self._auth = auth
        self._read = read

    async def enrol(self, session: str, seat: Any, code: Any, public_key: Any) -> dict[str, Any]:
        """Check a seat's one-time code, append its key, and hand out the seat's token."""
        if not isinstance(seat, str) or not isinstance(code, str):
            raise CommandError(Code.MALFORMED, "seat and code are required")
        tokens = self._auth.tokens
        async with self._read.engine.begin() as conn:
            stored = await log.code_hash_txn(conn, session, seat)
            if stored is None:
                raise CommandError(Code.UNKNOWN_SEAT, f"no seat {seat} in session {session}")
            digest, attempts = stored
            if attempts >= MAX_CODE_ATTEMPTS:
                raise CommandError(Code.BAD_CODE, "too many wrong codes; ask the host for help")
            wrong = not hmac.compare_digest(digest, tokens.code_hash(session, seat, code))
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
        ack = await self._committer.submit(principal, f"enrol-{key_id}", Enrol(public_key))
        return {**ack, "token": tokens.issue(principal, self._auth.now_s())}

    async def login(self, session: str, seat: Any, signed: Any, sig: Any) -> dict[str, Any]:
        """A new token for an enrolled seat that proves it holds the seat key."""
        state = await self._read.state(session)
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
        if not isinstance(client_t, int) or abs(client_t - self._auth.wall_ms()) > LOGIN_SKEW_MS:
            raise CommandError(Code.PAYLOAD_MISMATCH, "login time is not within 5 minutes of now")
        principal = Principal(Role.EXPERT, session, seat)
        return {"token": self._auth.tokens.issue(principal, self._auth.now_s())}
