"""Who is asking: the admin's bearer token, and the session tokens of every other role."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any

from server.app.secrets import Secret
from server.app.tokens import TokenMinter
from server.domain.errors import Code, CommandError
from server.domain.roles import Principal, Role


class AuthHandler:
    """Turns bearer tokens into principals."""

    def __init__(
        self, tokens: TokenMinter, admin_token: Secret, wall_ms: Callable[[], int] | None = None
    ) -> None:
        self.tokens = tokens
        self._admin_token = admin_token
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

    def authenticate(self, token: Any) -> Principal:
        """The principal behind a bearer token."""
        return self.tokens.check(token, self.now_s())
