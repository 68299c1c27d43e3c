"""The expert draw's shell: the pools it keeps, and the draw it makes once every share is in.

A pool names people, so it never enters the log: the desk writes it to
``DATA/draw/<session>/<sha256>.json`` (the canonical bytes the log's hash is of, 0600, written
whole under a temporary name and renamed; only for a draw the domain would open) before the
``draw.opened`` that names its hash, and the archive carries it
(``draw/<sha256>.json``). When a ``draw.revealed`` completes the shares, the desk submits
:class:`~server.domain.draw_session.MakeDraw` as the node (``node:timer``) with the pool read
back from that file; the domain checks the hash, derives the seed and draws. If the node stopped
in between, the admin's ``POST .../draw/make`` does the same (and a resend changes nothing: the
command id is the opened draw's).

Names leave the node in one place only, the admin's notice (``GET .../draw/notice``: who sits
where, for the staff who call the experts and check their identity at the booth), recomputed
from the pool and checked against the commitments in the log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any

from server.app.committer import Committer
from server.app.pending import Committed
from server.domain.commands import check_command_id
from server.domain.draw import Pool, identity, parse_pool, select
from server.domain.draw_session import MakeDraw, OpenDraw, check_open, rules_of, withheld
from server.domain.errors import Code, CommandError
from server.domain.roles import Principal, Role, require
from server.domain.state import SessionState

logger = logging.getLogger(__name__)

DONE = frozenset({Code.DRAW_MADE, Code.ID_REUSED, Code.SEALED})  # made already, or too late


def pool_folder(data_dir: Path, session: str) -> Path:
    return data_dir / "draw" / session


class DrawDesk:
    """Keeps pools, opens draws for the admin, makes them when the shares are in."""

    def __init__(self, data_dir: Path, committer: Committer) -> None:
        self._data_dir = data_dir
        self._committer = committer
        self._tasks: set[asyncio.Task[None]] = set()

    def pool_path(self, session: str, pool_hash: str) -> Path:
        return pool_folder(self._data_dir, session) / f"{pool_hash}.json"

    def _keep(self, session: str, pool: Pool) -> None:
        path = self.pool_path(session, pool.hash)
        if path.exists():
            return  # the same hash is the same bytes
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = path.with_suffix(".part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pool.raw)
            out.flush()
            os.fsync(out.fileno())
        partial.rename(path)  # complete or absent: never half a pool under its hash

    def load(self, session: str, pool_hash: str) -> Pool:
        """The kept pool of that hash (parsed again: its hash is recomputed, never trusted)."""
        try:
            raw = self.pool_path(session, pool_hash).read_bytes()
        except FileNotFoundError:
            raise CommandError(Code.NO_DRAW, f"this node does not hold pool {pool_hash}") from None
        return parse_pool(json.loads(raw))

    async def open(self, admin: Principal, session: str, body: dict[str, Any]) -> dict[str, Any]:
        """Open a draw over ``body["pool"]`` with ``body["rules"]``."""
        require(admin, Role.ADMIN, "only the admin opens the expert draw")
        command_id = check_command_id(body.get("id"))
        pool = await asyncio.to_thread(parse_pool, body.get("pool"))
        actor = Principal(Role.ADMIN, session, admin.subject)
        command = OpenDraw(pool, body.get("rules"))
        state = await self._committer.current_state(session)
        if state is None:
            raise CommandError(Code.UNKNOWN_SESSION, f"no session {session}")
        check_open(state, actor, command)  # a refused draw leaves no file of names behind
        await asyncio.to_thread(self._keep, session, pool)
        ack = await self._committer.submit(actor, command_id, command)
        return {**ack, "pool": pool.hash, "size": len(pool.experts)}

    async def make(self, session: str) -> dict[str, Any] | None:
        """Make the draw of ``session`` if every share is revealed; the ack, or None."""
        state = await self._committer.current_state(session)
        draw = None if state is None else state.draw
        if draw is None or draw.made is not None or withheld(draw):
            return None
        pool = await asyncio.to_thread(self.load, session, draw.pool)
        node = Principal(Role.NODE, session, "timer")
        try:
            return await self._committer.submit(node, f"draw.make.{draw.seq}", MakeDraw(pool))
        except CommandError as error:
            if error.code in DONE:
                return None
            raise

    async def observe(self, session: str, committed: list[Committed]) -> None:
        """Beside the fan-out: a reveal may complete the shares (made in a task of its own, as
        the committer does not wait for what it causes)."""
        if any(item.event.type == "draw.revealed" for item in committed):
            task = asyncio.create_task(self._make_logged(session), name=f"draw {session}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _make_logged(self, session: str) -> None:
        try:
            await self.make(session)
        except Exception:  # the admin's make retries; the session's other work goes on
            logger.exception("draw: making the draw of %s failed", session)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def people(self, state: SessionState) -> dict[str, dict[str, str]]:
        """Seat -> {expert, name} for the seats the draw filled and the reserves' replacement
        seats; nothing without a made draw."""
        if state.draw is None or state.draw.made is None:
            return {}
        notice = await self._notice(state)
        found = {m["seat"]: {"expert": m["expert"], "name": m["name"]} for m in notice["members"]}
        reserves = {r["rank"]: r for r in notice["reserves"]}
        for replaced in state.replacements:
            if replaced.reserve in reserves:
                reserve = reserves[replaced.reserve]
                found[replaced.by] = {"expert": reserve["expert"], "name": reserve["name"]}
        return found

    async def names(self, state: SessionState) -> dict[str, str]:
        """Seat -> the drawn expert's name, for the report (the seats that are members now)."""
        people = await self.people(state)
        return {seat: p["name"] for seat, p in people.items() if seat in state.seats}

    async def notice(self, admin: Principal, session: str) -> dict[str, Any]:
        """Who was drawn for which seat, and the reserves in order: for the admin only."""
        require(admin, Role.ADMIN, "only the admin reads the drawn experts' names")
        state = await self._committer.current_state(session)
        if state is None:
            raise CommandError(Code.UNKNOWN_SESSION, f"no session {session}")
        return await self._notice(state)

    async def _notice(self, state: SessionState) -> dict[str, Any]:
        """The drawn committee with names, recomputed from the kept pool and checked against the
        logged commitments (callers decide who may read it)."""
        draw = state.draw
        if draw is None or draw.made is None:
            raise CommandError(Code.DRAW_NOT_READY, "the experts are not drawn yet")
        pool = await asyncio.to_thread(self.load, state.session, draw.pool)
        seed = draw.made["seed"]
        seats = tuple(m["seat"] for m in draw.made["members"])  # as drawn, not as seated now
        outcome = select(pool, rules_of(state, draw.rules), bytes.fromhex(seed), seats)
        logged = [m["identity"] for m in draw.made["members"]]
        logged += [r["identity"] for r in draw.made["reserves"]]
        drawn = [d for _, d in outcome.members] + list(outcome.reserves)
        if [identity(d.expert, seed) for d in drawn] != logged:
            raise CommandError(Code.INTERNAL, "the kept pool does not give the logged committee")

        def person(d: Any) -> dict[str, Any]:
            e = d.expert
            return {"expert": e.id, "name": e.name, "organisation": e.organisation, "city": e.city}

        return {
            "members": [
                {"seat": seat, "specialty": d.specialty, **person(d)} for seat, d in outcome.members
            ],
            "reserves": [
                {"rank": n, "specialty": d.specialty, **person(d)}
                for n, d in enumerate(outcome.reserves, 1)
            ],
        }
