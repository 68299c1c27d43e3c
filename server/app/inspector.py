"""The node's inspector (网上巡检): after scores come in, the pure rules are asked for findings
(:func:`server.domain.inspection.findings`) and each is logged as the node (``node:timer``).

It looks at a session at most once a second, and only after a ``score.set`` committed there:
the rules read only cells. The domain finds every finding again before logging it, and a
finding is logged once, so several nodes inspecting the same session log each flag once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

from server.app.committer import Committer
from server.app.pending import Committed
from server.domain.errors import Code, CommandError
from server.domain.inspection import ConnectionsSeen, InspectionFlag, findings
from server.domain.roles import Principal, Role

logger = logging.getLogger(__name__)

TICK_S = 1.0
DONE = frozenset({Code.NOT_DUE, Code.SEALED, Code.ID_REUSED})  # logged already, or too late
LOOKED_AT = frozenset({"score.set", "media.alert"})  # what the rules read


class Inspector:
    """Findings of the automated inspection, logged as flags."""

    def __init__(self, committer: Committer, tick_s: float = TICK_S) -> None:
        self._committer = committer
        self._tick_s = tick_s
        self._dirty: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inspector")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def observe(self, session: str, committed: list[Committed]) -> None:
        """Committed events (beside the fan-out): new scores, or a media alert, make a session
        worth a look."""
        if any(item.event.type in LOOKED_AT for item in committed):
            self._dirty.add(session)

    async def connections(self, session: str, seat: str, devices: list[str]) -> None:
        """The shell saw ``seat`` on sockets of several devices at once: logged once per set."""
        principal = Principal(Role.NODE, session, "timer")
        subject = ",".join(sorted(set(devices)))
        command_id = "conn." + hashlib.sha256(f"{seat}|{subject}".encode()).hexdigest()[:40]
        try:
            await self._committer.submit(principal, command_id, ConnectionsSeen(seat, devices))
        except CommandError as error:
            if error.code not in DONE:
                logger.warning("inspector: connections of %s/%s: %s", session, seat, error)

    async def tick(self) -> int:
        """Log every finding of the sessions that got scores; how many flags were logged."""
        logged = 0
        for session in sorted(self._dirty):
            self._dirty.discard(session)
            try:
                logged += await self._inspect(session)
            except Exception:  # one session's trouble must not stop the others' inspection
                logger.exception("inspector: session %s", session)
        return logged

    async def _inspect(self, session: str) -> int:
        state = await self._committer.current_state(session)
        if state is None or state.sealed is not None:
            return 0
        principal = Principal(Role.NODE, session, "timer")
        logged = 0
        for finding in findings(state):
            command_id = "insp." + hashlib.sha256(finding.key.encode()).hexdigest()[:40]
            command = InspectionFlag(finding.rule, finding.seat, finding.subject)
            try:
                await self._committer.submit(principal, command_id, command)
                logged += 1
            except CommandError as error:
                if error.code not in DONE:
                    raise
        return logged

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            await self.tick()
