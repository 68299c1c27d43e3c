"""The evaluation report: rendered from the log, issued as an event, re-rendered once signed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from server.app.committer import Committer
from server.app.handlers.auth import AuthHandler
from server.app.handlers.reading import ReadHandler
from server.app.report_desk import ReportDesk
from server.domain.commands import check_command_id
from server.domain.errors import Code, CommandError
from server.domain.report_signing import report_state_view
from server.domain.roles import PUBLIC_VIEW_ROLES, Principal, Role
from server.domain.state import SessionState
from server.store import audit, log


class ReportHandler:
    """Issuing the report and reading its state."""

    def __init__(self, committer: Committer, auth: AuthHandler, read: ReadHandler) -> None:
        self._committer = committer
        self._auth = auth
        self._read = read
        self.desk: ReportDesk | None = None  # set by make_app: renders the evaluation report
        # set by make_app: the drawn experts' names by seat (server/app/draw_desk.py), if a draw
        self.names: Callable[[SessionState], Awaitable[dict[str, str]]] | None = None

    async def issue(self, principal: Principal, envelope: dict[str, Any]) -> dict[str, Any]:
        """Render the report from the log, keep its files, then issue its hashes (an event)."""
        command_id = check_command_id(envelope.get("id"))
        if principal.role not in (Role.SUPERVISOR, Role.ADMIN):
            raise CommandError(Code.FORBIDDEN, "only a supervisor or admin issues the report")
        if self.desk is None:
            raise CommandError(Code.REPORT_NOT_READY, "this node renders no reports")
        state = await self._read.frozen_state(principal.session)
        async with self._read.engine.connect() as conn:
            done = await log.find_acks_txn(conn, state.session, [(principal.actor, command_id)])
            if done:  # a resend: the stored ack, without rendering anything again
                ack = done[(principal.actor, command_id)].ack
                issued = (await log.read_after_txn(conn, state.session, ack["seq"] - 1, 1)).events
                data = issued[0].data if issued else {}
                return {**ack, "report": data.get("report"), "content": data.get("content")}
            root = (await audit.load_tree_txn(conn, state.session, state.seq)).root()
        names = await self.names(state) if self.names is not None else None
        content = self.desk.content(state, self._auth.wall_ms(), root, names)
        if state.report is not None and await self.desk.unchanged(state, content):
            # Issuing what is issued already would only wipe the signatures collected so far.
            report = state.report
            return {
                "ok": True,
                "seq": report.seq,
                "report": report.hash,
                "content": report.content,
                "unchanged": True,
            }
        issue = await self.desk.render(content)
        ack = await self._committer.submit(principal, command_id, issue)
        await self.refresh(principal.session)
        return {**ack, "report": issue.report, "content": issue.content}

    async def refresh(self, session: str) -> None:
        """Render the signed report again after a signature."""
        if self.desk is not None:
            await self.desk.refresh_signed(await self._read.frozen_state(session))

    async def report(self, principal: Principal) -> dict[str, Any]:
        """The issued report's hashes and who signed (members, staff; not the public screen)."""
        if principal.role in PUBLIC_VIEW_ROLES:
            raise CommandError(Code.FORBIDDEN, "the public screen does not see the report")
        return {"report": report_state_view(await self._read.state(principal.session))}
