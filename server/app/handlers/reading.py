"""Reading a session as a principal may see it: catch-up, the current view, results."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from server.app.committer import Committer
from server.domain.errors import Code, CommandError
from server.domain.results_view import flags_view, results_view
from server.domain.roles import Principal
from server.domain.snapshot import state_from_json, state_to_json
from server.domain.state import SessionState
from server.domain.untrusted import MAX_INT
from server.domain.views import Viewer, event_view, state_view
from server.store import log

# Events sent in one answer; further behind gets a snapshot. A page costs its reader
# CATCH_UP_LIMIT / Limits.events_per_read reads (40 of a burst of 100 by default).
CATCH_UP_LIMIT = 2_000


def _free(events: int) -> None:
    """Reading without a budget (the node's own reads)."""


class ReadHandler:
    """What a principal may read of its session."""

    def __init__(self, engine: AsyncEngine, committer: Committer) -> None:
        self.engine = engine
        self._committer = committer

    async def state(self, session: str) -> SessionState:
        """The committer's projection of ``session`` (shared: do not await while using it)."""
        state = await self._committer.current_state(session)
        if state is None:
            raise CommandError(Code.UNKNOWN_SESSION, f"no session {session}")
        return state

    async def frozen_state(self, session: str) -> SessionState:
        """A private copy of the projection, for work that awaits while using it.

        The committer moves its cached projection on in place (even for a batch whose commit
        then fails), so a reader that awaits between uses (a report rendered against the tree
        root read before) would otherwise mix two heads.
        """
        return state_from_json(state_to_json(await self.state(session)))

    async def catch_up(
        self,
        principal: Principal,
        after: Any,
        afford: Callable[[int], None] = _free,
        snapshot_when_behind: bool = True,
    ) -> dict[str, Any]:
        """Events after ``after`` as this principal may see them, or a snapshot when far behind.

        ``afford`` is called with the number of events the answer will carry (a snapshot counts
        as a full page) before any of the work is done; it raises to refuse. Without
        ``snapshot_when_behind`` (HTTP ``GET …/events``: a reader that wants every event, as the
        auditor's page does) a client far behind gets the next page instead of a snapshot.
        """
        if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= MAX_INT:
            raise CommandError(Code.MALFORMED, "'after' must be a non-negative 64-bit integer seq")
        state = await self.state(principal.session)
        viewer = Viewer.of(principal)
        afford(min(max(state.seq - after, 0), CATCH_UP_LIMIT))
        if snapshot_when_behind and state.seq - after > CATCH_UP_LIMIT:
            return {"head": state.seq, "snapshot": state_view(state, viewer), "events": []}
        async with self.engine.connect() as conn:
            page = await log.read_after_txn(conn, principal.session, after, CATCH_UP_LIMIT)
        revealed = state.revealed
        views = [event_view(e, viewer, revealed) for e in page.events]
        return {"head": page.head, "events": views, "limited": page.limited}

    async def results(self, principal: Principal) -> dict[str, Any]:
        """Results and flags as this principal may see them (``None`` where it may not)."""
        state = await self.state(principal.session)
        viewer = Viewer.of(principal)
        return {
            "seq": state.seq,
            "results": results_view(state, viewer),
            "flags": flags_view(state, viewer),
        }

    async def snapshot(self, principal: Principal) -> dict[str, Any]:
        """The current state as this principal may see it."""
        state = await self.state(principal.session)
        return state_view(state, Viewer.of(principal))
