"""A seat enrols its key with its one-time code, and later proves it holds that key to log in.

What an outsider learns is nothing: an unknown session, an unknown seat, a wrong code and a code
used already all get the same answer, and only the source that sent wrong codes is slowed down
(``server/domain/access.py``), so nobody without a token can lock a seat. A code works once: a
seat with a key in the log refuses every further enrolment, so a code read off a printed sheet
after the seat enrolled yields nothing. Signed logins are single-use: each must carry a later
``t`` than the seat's last accepted login.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from typing import Any

from server.app.committer import Committer
from server.app.handlers.auth import AuthHandler
from server.app.handlers.reading import ReadHandler
from server.app.tokens import new_code
from server.domain.access import Backoff, retry_at_ms, token_generation
from server.domain.commands import Enrol
from server.domain.errors import Code, CommandError
from server.domain.recovery import RecoverSeat, recovering
from server.domain.recusal import ReviewRecusal, next_seat
from server.domain.roles import Principal, Role
from server.domain.signing import parse_signed, verify_signature
from server.store import access

LOGIN_SKEW_MS = 5 * 60 * 1000
MAX_FIELD = 4096  # longer than any seat id, code or base64 key


def source_key(remote: str | None) -> str:
    """Whom wrong codes are counted against: the address, or its /64 for IPv6 (one host's)."""
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return "unknown"
    if address.version == 6 and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address.ipv4_mapped or address) if address.version == 6 else str(address)


def refused() -> CommandError:
    """The one answer to every enrolment that does not succeed (tells an outsider nothing)."""
    return CommandError(
        Code.BAD_CODE,
        "enrolment refused: the code is wrong, used already, or not for this seat",
    )


def login_refused() -> CommandError:
    """The one answer to a login that is not accepted (unknown seat, bad signature, replay)."""
    return CommandError(
        Code.UNAUTHENTICATED,
        "login refused: unknown seat, no key enrolled, a bad signature, or a login used before",
    )


class EnrolmentHandler:
    """Enrolment codes and signed logins."""

    def __init__(
        self,
        committer: Committer,
        auth: AuthHandler,
        read: ReadHandler,
        backoff: Backoff | None = None,
    ) -> None:
        self._committer = committer
        self._auth = auth
        self._read = read
        self.backoff = backoff or Backoff()

    async def enrol(
        self, session: str, seat: Any, code: Any, public_key: Any, source: str
    ) -> dict[str, Any]:
        """Check a seat's one-time code, append its key, and hand out the seat's token."""
        fields = (seat, code, public_key)
        if not all(isinstance(f, str) and 0 < len(f) <= MAX_FIELD for f in fields):
            raise CommandError(Code.MALFORMED, "seat, code and public_key are required text")
        now = self._auth.wall_ms()
        scope = access.seat_scope(session, seat)
        rule = self.backoff
        try:
            known = (await self._read.state(session)).seats.get(seat)
        except CommandError:
            known = None  # an unknown session answers as an unknown seat does
        try:
            generation = token_generation(await self._read.state(session), "expert", seat)
        except CommandError:
            generation = 0
        reset_ms = known.code_reset_ms if known is not None else 0
        async with self._read.engine.begin() as conn:
            per_seat = await access.failures_txn(conn, source, scope, reset_ms)
            per_source = await access.failures_txn(conn, source, access.ALL_SEATS)
            wait_until = max(
                retry_at_ms(per_seat.last_ms, per_seat.failures, rule.free_per_seat, rule),
                retry_at_ms(per_source.last_ms, per_source.failures, rule.free_per_source, rule),
            )
            if now < wait_until:  # not even checked: a waiting source learns nothing
                raise CommandError(
                    Code.TOO_MANY_ATTEMPTS,
                    "too many wrong enrolment codes from this address; wait and try again",
                    retry_after_ms=wait_until - now,
                )
            stored = await access.code_hash_txn(conn, session, seat)
            given = self._auth.tokens.code_hash(session, seat, code)  # computed for every seat
            right = stored is not None and hmac.compare_digest(stored, given)
            if known is None or known.key is not None:
                right = False  # an enrolled seat's code was used: it is worth nothing now
            if not right:
                await access.count_failure_txn(conn, source, scope, now, reset_ms)
                await access.count_failure_txn(conn, source, access.ALL_SEATS, now)
        if not right:  # raised after the commit, so the failure is counted
            raise refused()
        principal = Principal(Role.EXPERT, session, seat)
        # The id names the key, so a resend while the first is in flight is the same command.
        key_id = hashlib.sha256(public_key.encode()).hexdigest()[:16]
        try:
            ack = await self._committer.submit(principal, f"enrol-{key_id}", Enrol(public_key))
        except CommandError as error:
            if error.code is Code.ALREADY_ENROLLED:  # another request won the race
                raise refused() from error
            raise
        async with self._read.engine.begin() as conn:
            await access.clear_failures_txn(conn, scope, source)
        token = self._auth.tokens.issue(principal, self._auth.now_s(), generation=generation)
        return {**ack, "token": token}

    async def login(self, session: str, seat: Any, signed: Any, sig: Any) -> dict[str, Any]:
        """A new token for an enrolled seat that proves it holds the seat key."""
        raw, body = parse_signed(signed)  # before any lookup: malformed input says nothing
        try:
            state = await self._read.state(session)
        except CommandError as error:
            raise login_refused() from error
        known = state.seats.get(seat) if isinstance(seat, str) else None
        if known is None or known.key is None:
            raise login_refused()
        try:
            verify_signature(known.key, raw, sig)
        except CommandError as error:
            raise login_refused() from error
        want = {"type": "seat.login", "session": session, "seat": seat}
        if any(body.get(k) != v for k, v in want.items()):
            raise CommandError(Code.PAYLOAD_MISMATCH, "login payload is for something else")
        client_t = body.get("t")
        if (
            isinstance(client_t, bool)
            or not isinstance(client_t, int)
            or abs(client_t - self._auth.wall_ms()) > LOGIN_SKEW_MS
        ):
            raise CommandError(Code.PAYLOAD_MISMATCH, "login time is not within 5 minutes of now")
        async with self._read.engine.begin() as conn:
            if not await access.claim_login_txn(conn, session, seat, client_t):
                raise login_refused()
        principal = Principal(Role.EXPERT, session, seat)
        generation = token_generation(state, "expert", seat)  # a recovery moved it on
        return {
            "token": self._auth.tokens.issue(principal, self._auth.now_s(), generation=generation)
        }

    async def replace(
        self, supervisor: Principal, command_id: str, command: ReviewRecusal
    ) -> dict[str, Any]:
        """An approved recusal: the replacement seat's one-time code, stored before the
        ``seat.replaced`` that creates the seat is submitted, handed to the supervisor (never
        logged). The seat id is the domain's (``next_seat``); should another replacement take it
        first, the code is stored again for the seat the event names. Asked again for an approved
        recusal (a resend, or another supervisor's tab), a fresh code while the seat has not
        enrolled."""
        if supervisor.role is not Role.SUPERVISOR:
            raise CommandError(Code.FORBIDDEN, "only a supervisor decides on a recusal")
        session = supervisor.session
        state = await self._read.state(session)
        found = state.recusals.get(command.recusal) if isinstance(command.recusal, str) else None
        if found is not None and found.status == "approved":  # asked again (any tab, any id)
            made = next(r for r in state.replacements if r.recusal == found.id)
            answer = {"ok": True, "seq": made.seq, "seat": made.by}
            if made.by not in state.seats or state.seats[made.by].key is not None:
                return answer  # enrolled (or gone): no code is worth giving
            code = new_code()  # as for a recovery asked again: the latest code is the one
            await self._store_code(session, made.by, code)
            return {**answer, "code": code}
        venue = command.venue
        if found is not None and venue is None and found.seat in state.seats:
            venue = state.seats[found.seat].venue
        predicted = next_seat(state, venue) if isinstance(venue, str) else None
        code = new_code()
        if predicted is not None:
            await self._store_code(session, predicted, code)
        ack = await self._committer.submit(supervisor, command_id, command)
        state = await self._read.state(session)
        made = next(r for r in state.replacements if r.recusal == command.recusal)
        if made.by != predicted:  # another replacement took the seat number first
            await self._store_code(session, made.by, code)
        return {**ack, "seat": made.by, "code": code}

    async def _store_code(self, session: str, seat: str, code: str) -> None:
        async with self._read.engine.begin() as conn:
            await access.set_code_txn(
                conn, session, seat, self._auth.tokens.code_hash(session, seat, code)
            )

    async def recover(
        self, supervisor: Principal, command_id: str, command: RecoverSeat
    ) -> dict[str, Any]:
        """A failed device: revoke the seat's key (logged) and hand the supervisor a new code.

        The new code is stored before the revocation is submitted, and only for a seat that
        has a key (whose code is worth nothing anyway) or whose recovery is already logged (the
        supervisor asks again: the latest code is the one that works). The code is a secret:
        it goes to the supervisor in the answer, never into the log.
        """
        if supervisor.role is not Role.SUPERVISOR:
            raise CommandError(Code.FORBIDDEN, "only a supervisor approves a seat's recovery")
        session = supervisor.session
        state = await self._read.state(session)
        seat = command.seat if isinstance(command.seat, str) else ""
        found = state.seats.get(seat)
        if found is None:
            raise CommandError(Code.UNKNOWN_SEAT, f"no seat {command.seat!r} in this session")
        again = recovering(state, seat)
        if found.key is None and not again:
            raise CommandError(Code.NOT_ENROLLED, f"seat {seat} has no key to replace")
        code = new_code()
        async with self._read.engine.begin() as conn:
            await access.replace_code_txn(
                conn, session, seat, self._auth.tokens.code_hash(session, seat, code)
            )
        if again:
            return {"ok": True, "seq": found.revoked_seq, "code": code}
        ack = await self._committer.submit(supervisor, command_id, command)
        return {**ack, "code": code}
