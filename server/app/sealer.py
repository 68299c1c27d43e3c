"""The node's own acts on a session's lifecycle: the fault rule's timer and the seal.

The domain decides (:mod:`server.domain.faults`, :mod:`server.domain.sealing`); this shell only
reads the clock and submits, as the principal with role ``node``. Two duties:

- a session paused for a fault is looked at every ``tick_s``: once :func:`faults.due` says its
  deadline passed, :class:`FaultTimer` goes to the committer with the time read;
- a closed session is sealed once its media room has ended and every recording is in the log
  (a recording logged after the seal would be refused, and unbound from the archive). The close's
  own command waits for that (:meth:`Sealer.seal_closed`), so its ack means "closed and sealed";
  a seal that could not be made then (media slow to close) is retried on the ticks.

Before a fault seals a session the media room ends too, for the same reason. Every node may do
this for every session: command ids are fixed per act, and the domain refuses a second seal.
What the sealer watches is found at start from the store and then from committed events.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from server.app.committer import Committer
from server.app.pending import Committed
from server.domain import faults
from server.domain.commands import Command
from server.domain.errors import Code, CommandError
from server.domain.roles import Principal, Role
from server.domain.sealing import SealSession
from server.domain.state import Phase
from server.store.log import unsealed_sessions_txn

logger = logging.getLogger(__name__)

TICK_S = 1.0
MEDIA_END_S = 15.0  # how long the close waits for recordings to be logged before the ticks retry
DONE = frozenset({Code.SEALED, Code.ID_REUSED, Code.NOT_DUE})  # another node or run did it


class MediaEnd(Protocol):
    """What the sealer needs of live media: end a session's room, recordings logged."""

    async def end_session(self, session: str, timeout_s: float) -> bool:
        """Close the room; True once every recording of the session is in the log."""
        ...


class Sealer:
    """The fault rule's timer and the seal after the close, for every session of this node."""

    def __init__(
        self,
        engine: AsyncEngine,
        committer: Committer,
        now_ms: Callable[[], int],
        media: MediaEnd | None = None,
        tick_s: float = TICK_S,
    ) -> None:
        self._engine = engine
        self._committer = committer
        self._now_ms = now_ms
        self.media = media
        self._tick_s = tick_s
        self._watch: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._locks: dict[str, asyncio.Lock] = {}

    async def start(self) -> None:
        """Watch what the store says is unsealed, then tick."""
        self._task = asyncio.create_task(self._run(), name="sealer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def observe(self, session: str, committed: list[Committed]) -> None:
        """Committed events (the committer's fan-out): a fault or a close starts the watch."""
        for item in committed:
            event = item.event
            if event.type == "session.sealed":
                self._watch.discard(session)
            elif (event.type == "session.paused" and event.data.get("fault")) or (
                event.type == "phase.changed" and event.data.get("to") == Phase.CLOSED
            ):
                self._watch.add(session)

    async def tick(self, now_ms: int) -> None:
        """Apply every due fault rule and retry every pending seal."""
        for session in sorted(self._watch):
            try:
                await self._look(session, now_ms)
            except Exception:  # one session's trouble must not stop the others' timers
                logger.exception("sealer: session %s", session)

    async def seal_closed(self, session: str) -> int | None:
        """End the media room, then seal the closed session; the seal's ``seq``, or None if
        media is not done yet (the ticks try again)."""
        async with self._lock(session):
            if self.media is not None and not await self.media.end_session(session, MEDIA_END_S):
                logger.warning("session %s closed; its seal waits for recordings", session)
                return None
            await self._submit(session, "seal.closed", SealSession("closed"))
        self._forget(session)
        state = await self._committer.current_state(session)
        return state.sealed.seq if state is not None and state.sealed is not None else None

    async def _look(self, session: str, now_ms: int) -> None:
        state = await self._committer.current_state(session)
        if state is None or state.sealed is not None:
            self._forget(session)
        elif state.phase is Phase.CLOSED:
            await self.seal_closed(session)
        else:
            passed = faults.deadline(state)
            if passed is None or state.paused is None:
                self._watch.discard(session)  # resumed, or referred: nothing for the timer now
            elif now_ms >= passed.at_ms:
                await self._apply_rule(session, f"fault.{state.paused.seq}", passed.rule, now_ms)

    async def _apply_rule(self, session: str, fault_id: str, rule: str, now_ms: int) -> None:
        async with self._lock(session):
            media = self.media if rule == "during" else None  # a seal: the room ends first
            if media is not None and not await media.end_session(session, MEDIA_END_S):
                return  # the next tick tries again
            await self._submit(session, f"{fault_id}.{rule}", faults.FaultTimer(now_ms))

    async def _submit(self, session: str, command_id: str, command: Command) -> None:
        principal = Principal(Role.NODE, session, "timer")
        try:
            await self._committer.submit(principal, command_id, command)
        except CommandError as error:
            if error.code not in DONE:
                raise
            logger.info("sealer: %s for %s already done (%s)", command_id, session, error.code)

    def _forget(self, session: str) -> None:
        self._watch.discard(session)
        lock = self._locks.get(session)
        if lock is not None and not lock.locked():
            del self._locks[session]

    def _lock(self, session: str) -> asyncio.Lock:
        return self._locks.setdefault(session, asyncio.Lock())

    async def _run(self) -> None:
        async with self._engine.connect() as conn:
            candidates = await unsealed_sessions_txn(conn)
        for session in candidates:
            state = await self._committer.current_state(session)
            if state is not None and (
                state.phase is Phase.CLOSED or faults.deadline(state) is not None
            ):
                self._watch.add(session)
        while True:
            await self.tick(self._now_ms())
            await asyncio.sleep(self._tick_s)
