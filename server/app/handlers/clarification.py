"""Clarification (澄清) at the edge: the supervisor's approval hands out the bidder's token, and
the bidder reads its question and answers it over HTTP (server/app/clarification_http.py).

A bidder token (role ``bidder``, subject ``<bidder>.<clarification>``) opens only these two
routes: every other read, and every socket, refuses it (``AuthHandler.claims``).
"""

from __future__ import annotations

import secrets
from typing import Any

from server.app.committer import Committer
from server.app.handlers.auth import AuthHandler
from server.app.handlers.reading import ReadHandler
from server.domain.clarification import (
    AnswerClarification,
    ReviewClarification,
    bidder_subject,
)
from server.domain.commands import check_command_id
from server.domain.errors import Code, CommandError
from server.domain.roles import Principal, Role


class ClarificationHandler:
    """The bidder's side of a clarification, and its token."""

    def __init__(self, committer: Committer, auth: AuthHandler, read: ReadHandler) -> None:
        self._committer = committer
        self._auth = auth
        self._read = read

    async def approve(
        self, supervisor: Principal, command_id: str, command: ReviewClarification
    ) -> dict[str, Any]:
        """Approve (logged), then the bidder's token: for this bidder and this question only.
        A resend gets the same ack and a token again (tokens are not stored, only checked)."""
        ack = await self._committer.submit(supervisor, command_id, command)
        state = await self._read.state(supervisor.session)
        found = state.clarifications[str(command.clarification)]
        subject = bidder_subject(found.bidder, found.id)
        principal = Principal(Role.BIDDER, supervisor.session, subject)
        token = self._auth.tokens.issue(principal, self._auth.now_s())
        return {**ack, "bidder": found.bidder, "token": token}

    async def question(self, bidder: Principal) -> dict[str, Any]:
        """What the bidder may read: its question, the project, and its own answer if any."""
        state = await self._read.state(bidder.session)
        name, _, cid = bidder.subject.partition(".")
        found = state.clarifications.get(cid)
        if found is None or found.bidder != name or found.status == "drafted":
            raise CommandError(Code.FORBIDDEN, "this token opens no clarification")
        if found.status == "declined":
            raise CommandError(Code.FORBIDDEN, "this clarification was withdrawn")
        listed = state.lot.bidder(name)
        return {
            "clarification": found.id,
            "project": {"code": state.lot.project_code, "name": state.lot.project_name},
            "bidder": {"id": name, "name": listed.name if listed else name},
            "question": found.question,
            "status": found.status,
            "answer": found.answer if found.status == "answered" else None,
            "closed": str(state.phase) == "closed" or state.sealed is not None,
        }

    async def answer(self, bidder: Principal, body: dict[str, Any]) -> dict[str, Any]:
        command_id = check_command_id(body.get("id", f"ans-{secrets.token_hex(6)}"))
        return await self._committer.submit(
            bidder, command_id, AnswerClarification(body.get("answer"))
        )
