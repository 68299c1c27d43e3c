"""A session's beginning and its end by decision: the admin posts a lot (seats get one-time
codes, other roles tokens), and records the tenderer's decision to stop after a referred fault
(the seal, decided by server/domain/sealing.py)."""

from __future__ import annotations

import secrets
from typing import Any

from server.app.committer import Committer
from server.app.handlers.auth import AuthHandler
from server.app.tokens import new_code, new_session_id
from server.domain.commands import CreateSession, check_command_id
from server.domain.errors import Code, CommandError
from server.domain.lot import parse_lot
from server.domain.roles import Principal, Role
from server.domain.sealing import SealSession

SUPERVISORS_PER_SESSION = 2


class SessionHandler:
    """New sessions, and the tenderer's seal."""

    def __init__(self, committer: Committer, auth: AuthHandler) -> None:
        self._committer = committer
        self._auth = auth

    async def create_session(self, admin: Principal, lot: Any) -> dict[str, Any]:
        """Create a session; returns one-time enrolment codes and the other roles' tokens."""
        if admin.role is not Role.ADMIN:
            raise CommandError(Code.FORBIDDEN, "only an admin creates sessions")
        tokens = self._auth.tokens
        parsed = parse_lot(lot)
        seats = parsed.seat_ids()
        session = new_session_id()
        codes = {seat: new_code() for seat in seats}
        hashes = {seat: tokens.code_hash(session, seat, code) for seat, code in codes.items()}
        creator = Principal(Role.ADMIN, session, admin.subject)
        first = await self._committer.create_session(creator, CreateSession(lot), hashes)
        now = self._auth.now_s()
        staff = {
            "supervisor": [
                tokens.issue(Principal(Role.SUPERVISOR, session, f"sup-{n}"), now)
                for n in range(1, SUPERVISORS_PER_SESSION + 1)
            ],
            "auditor": tokens.issue(Principal(Role.AUDITOR, session, "auditor"), now),
            "public": tokens.issue(Principal(Role.PUBLIC, session, "screen"), now),
            # Each venue's staff hold the venue's share of the expert draw (draw_session.py).
            "venues": {
                venue.id: tokens.issue(Principal(Role.VENUE, session, venue.id), now)
                for venue in parsed.venues
            },
        }
        return {"session": session, "seq": first.seq, "seats": seats, "codes": codes, **staff}

    async def seal(self, admin: Principal, session: str, body: dict[str, Any]) -> dict[str, Any]:
        """The tenderer decided to stop after a fault was referred to it: seal, with the reason."""
        if admin.role is not Role.ADMIN:
            raise CommandError(Code.FORBIDDEN, "only the admin records the tenderer's decision")
        command_id = check_command_id(body.get("id", f"seal-{secrets.token_hex(6)}"))
        actor = Principal(Role.ADMIN, session, admin.subject)
        return await self._committer.submit(
            actor, command_id, SealSession("tenderer", body.get("reason"))
        )
