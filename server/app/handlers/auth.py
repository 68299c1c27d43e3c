"""Who is asking: the admin's bearer token, and the session tokens of every other role."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any

from server.app.handlers.reading import ReadHandler
from server.app.secrets import Secret
from server.app.tokens import Claims, TokenMinter
from server.domain.access import token_generation
from server.domain.errors import Code, CommandError
from server.domain.roles import Principal, Role
from server.domain.state import SessionState


class AuthHandler:
    """Turns bearer tokens into principals."""

    def __init__(
        self,
        tokens: TokenMinter,
        admin_token: Secret,
        read: ReadHandler,
        wall_ms: Callable[[], int] | None = None,
    ) -> None:
        self.tokens = tokens
        self._admin_token = admin_token
        self._read = read
        self.wall_ms = wall_ms or (lambda: int(time.time() * 1000))

    def now_s(self) -> int:
        """Wall-clock seconds, for token expiry."""
        return self.wall_ms() // 1000

    def admin_principal(self, bearer: str | None) -> Principal:
        """The admin, when ``bearer`` is this node's admin token."""
        expected = self._admin_token.reveal().encode()
        if bearer is None or not hmac.compare_digest(bearer.encode(), expected):
            raise CommandError(Code.UNAUTHENTICATED, "admin token required")
        return Principal(Role.ADMIN, "*", "admin")

    async def authenticate(self, token: Any, *, bidder: bool = False) -> Principal:
        """The principal behind a bearer token that is neither expired nor revoked; a bidder's
        token only where ``bidder`` says it may be (its clarification's routes)."""
        return (await self.claims(token, bidder=bidder)).principal

    async def claims(self, token: Any, *, bidder: bool = False) -> Claims:
        """A token's verified claims, refused when expired or revoked."""
        claims = self.tokens.claims(token, self.now_s())
        if claims.principal.role is Role.BIDDER and not bidder:
            raise CommandError(Code.FORBIDDEN, "a bidder's token opens its clarification only")
        await self.check_current(claims)
        return claims

    async def check_current(self, claims: Claims) -> None:
        """Refuse claims whose expiry has passed or whose generation the log has revoked."""
        refusal = self.refusal(claims, await self.session_state(claims.principal.session))
        if refusal is not None:
            raise refusal

    async def session_state(self, session: str) -> SessionState | None:
        """The session's projection, None for an unknown session."""
        try:
            return await self._read.state(session)
        except CommandError:
            return None

    def refusal(self, claims: Claims, state: SessionState | None) -> CommandError | None:
        """Why ``claims`` no longer hold (``state`` is their session's), or None.

        An unknown session is not refused here: what the token is used for answers that itself.
        """
        if claims.exp <= self.now_s():
            return CommandError(Code.TOKEN_EXPIRED, "token expired; sign in again")
        principal = claims.principal
        if state is None:
            return None
        if token_generation(state, str(principal.role), principal.subject) != claims.generation:
            return CommandError(Code.TOKEN_REVOKED, "this token was revoked; ask for a new one")
        return None
