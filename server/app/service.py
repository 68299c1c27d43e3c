"""The handler layer, one handler per concept (``server/app/handlers/``).

HTTP routes and socket.io handlers both call these; neither decides anything itself. ``Service``
only builds the handlers and holds them, so a route names the concept it uses
(``service.enrolment.enrol``), as Synapse's servlets name their handler.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from server.app.committer import Committer
from server.app.handlers.auth import AuthHandler
from server.app.handlers.clarification import ClarificationHandler
from server.app.handlers.commands import CommandHandler
from server.app.handlers.enrolment import EnrolmentHandler
from server.app.handlers.reading import ReadHandler
from server.app.handlers.reports import ReportHandler
from server.app.handlers.revocation import RevocationHandler
from server.app.handlers.sessions import SessionHandler
from server.app.secrets import Secret
from server.app.tokens import TokenMinter


class Service:
    """Every handler of this node."""

    def __init__(
        self,
        engine: AsyncEngine,
        committer: Committer,
        tokens: TokenMinter,
        admin_token: Secret,
        wall_ms: Callable[[], int] | None = None,
    ) -> None:
        self.engine = engine
        self.read = ReadHandler(engine, committer)
        self.auth = AuthHandler(tokens, admin_token, self.read, wall_ms)
        self.revocation = RevocationHandler(committer, self.auth, self.read)
        self.sessions = SessionHandler(committer, self.auth)
        self.enrolment = EnrolmentHandler(committer, self.auth, self.read)
        self.reports = ReportHandler(committer, self.auth, self.read)
        self.commands = CommandHandler(committer, self.reports)
        self.commands.enrolment = self.enrolment
        self.clarifications = ClarificationHandler(committer, self.auth, self.read)
        self.commands.clarifications = self.clarifications
