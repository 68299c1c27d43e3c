"""The admin revokes a staff token (a supervisor's laptop lost, a public-screen link leaked).

Revocation is an event in the session log (``tokens.revoked``, decided by
server/domain/access.py), so every node refuses the old tokens from the next request on, and open
sockets lose them at the next sweep (server/app/socket_grants.py). The admin gets a token of the
new generation for the same role and subject in the same answer, to hand to whoever should keep
the role.
"""

from __future__ import annotations

import secrets
from typing import Any

from server.app.committer import Committer
from server.app.handlers.auth import AuthHandler
from server.app.handlers.reading import ReadHandler
from server.domain.access import RevokeTokens, token_generation
from server.domain.commands import check_command_id
from server.domain.errors import Code, CommandError
from server.domain.roles import Principal, Role


class RevocationHandler:
    """Revoking staff tokens."""

    def __init__(self, committer: Committer, auth: AuthHandler, read: ReadHandler) -> None:
        self._committer = committer
        self._auth = auth
        self._read = read

    async def revoke(self, admin: Principal, session: str, body: dict[str, Any]) -> dict[str, Any]:
        """Log the revocation of ``body["role"]``/``body["subject"]``; a new token for them."""
        if admin.role is not Role.ADMIN:
            raise CommandError(Code.FORBIDDEN, "only the admin revokes tokens")
        command_id = body.get("id", f"revoke-{secrets.token_hex(6)}")
        check_command_id(command_id)
        role, subject, reason = body.get("role", ""), body.get("subject", ""), body.get("reason")
        command = RevokeTokens(role, subject, reason)  # the domain checks every field
        actor = Principal(Role.ADMIN, session, admin.subject)
        ack = await self._committer.submit(actor, command_id, command)
        state = await self._read.state(session)
        generation = token_generation(state, str(role), str(subject))
        renewed = Principal(Role(str(role)), session, str(subject))
        token = self._auth.tokens.issue(renewed, self._auth.now_s(), generation=generation)
        return {**ack, "generation": generation, "token": token}
